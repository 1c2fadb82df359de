"""Train the weekly like/dislike model on one date's enriched library and decide the champion.

Run it with the venv's spark-submit (SPARK_HOME = the venv's site-packages/pyspark,
PYSPARK_PYTHON = the venv's python, see docs/stack.md)::

    spark-submit --master local[2] jobs/train.py --lake /srv/weekly-discovery/lake --ds 2026-11-23 \\
        --config ~/weekly-discovery.toml

``--lake`` defaults to ``$WEEKLY_DISCOVERY_LAKE`` and ``--config`` to ``$WEEKLY_DISCOVERY_CONFIG``; the
model settings (features, folds, seed, threshold, grid, artist_profile) are the config's ``[model]``
table (:func:`weekly_discovery.spark.runner.job_config`). It reads date D of ``silver/tracks_enriched`` (a Delta
table) and writes the files of ``models/like_model/version=D/``, the card last (the selected model: ``model.skops`` for a scikit-learn challenger, a Spark
ML PipelineModel for the post's model; the post's baseline, refit by Spark ML; ``model_card.json``),
then updates ``models/like_model/champion.json``. A rerun of a week after which later weeks were trained
reuses its stored version and changes nothing (versions later records point at are immutable, see
:mod:`weekly_discovery.recommend.model.store`). The logic is in :mod:`weekly_discovery.recommend`
(the step: :mod:`weekly_discovery.recommend.job`; ``jobs/weekly.py`` runs it then scoring in one Spark session);
see docs/model.md. The cross-validation grid runs as Spark tasks of single-node scikit-learn fits
(:mod:`weekly_discovery.recommend.model.scikit`): the labelled set is one person's likes and dislikes. Exit status 2
means the input is missing or too small (the log says what to do).
"""

from __future__ import annotations

import weekly_discovery.spark.installed_pyspark  # noqa: F401  first: pyspark from the installed package

# isort: split
import sys

from weekly_discovery.recommend import job

if __name__ == "__main__":
    sys.exit(job.train_main(doc=__doc__))
