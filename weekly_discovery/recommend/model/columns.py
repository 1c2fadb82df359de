"""The column names a model is fitted on and writes: the labelled rows' and the scored rows'.

The labelled set (:mod:`weekly_discovery.recommend.training.dataset`) builds rows with these columns, the
fitting code (:mod:`.families`, :mod:`.scikit`) reads them, and :mod:`.predict` adds :data:`SCORE`.
"""

from __future__ import annotations

#: One row of the labelled set: its track, its group for the folds (the primary artist), its label
#: (1 liked, 0 not), its kind (liked, disliked, removed, unsaved, background) and its row weight.
TRACK_ID, GROUP, LABEL, KIND, WEIGHT = "track_id", "group_id", "label", "kind", "weight"

#: Spark ML's columns: the assembled (and scaled) feature vectors, the balanced class weight, the
#: probability vector a classifier writes.
FEATURES_VECTOR = "features"
SCALED_VECTOR = "scaled_features"
CLASS_WEIGHT = "class_weight"
PROBABILITY = "probability"

#: What scoring adds: the model's probability that the track is liked.
SCORE = "score"
