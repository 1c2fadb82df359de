"""The like/dislike model: labelled set, grouped folds, candidates, metrics, selection, storage.

Pure functions over Spark DataFrames and Spark ML pipelines; ``jobs/train.py`` and
``benchmarks/model_quality.py`` both call :func:`weekly_discovery.model.train.train_candidates`,
so the figures in docs/model.md come from the code that runs every week.

Modules, in the order a training run uses them:

- :mod:`.dataset`     tracks_enriched -> one row per labelled track (liked = 1, disliked = 0), with counts
                      of what was dropped and why;
- :mod:`.folds`       deterministic k folds grouped by primary artist (hash of artist id + seed);
- :mod:`.candidates`  the post's baseline and the challengers, each a Spark ML Pipeline;
- :mod:`.metrics`     ROC AUC, PR AUC (average precision), accuracy and confusion per fold, in one Spark job;
- :mod:`.train`       cross-validation of every candidate, the refit of the best, the champion decision;
- :mod:`.store`       model versions, model cards and the champion pointer in the lake.
"""
