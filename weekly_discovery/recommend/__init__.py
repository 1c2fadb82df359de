"""The recommend stage: learn the user's taste each week, score the candidates, publish the picks.

- :mod:`.job`: the Spark jobs (train, score, both in one session) that ``jobs/*.py`` launch;
  :mod:`.tasks`: the weekly DAG's Python tasks.
- :mod:`.training`: from the enriched library to a champion: the labelled set, folds, cross-validation,
  selection, one week's training.
- :mod:`.model`: what a model is and where it lives: the families, their scikit-learn and Spark ML forms,
  scoring with one, its file (skops) and the checks before loading, the versions and the champion.
- :mod:`.scoring`: the candidates scored, kept new, capped per artist, each pick with its reason.
- :mod:`.publish`: the playlist in the user's Spotify account, the history of picks, the removed ones.
- :mod:`.profile`: the artist-profile features, read by training and scoring alike.

Imports go one way: the job to training and scoring, those to the model, nothing back up.
"""
