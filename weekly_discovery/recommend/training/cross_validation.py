"""The cross-validation grid as Spark tasks: one single-node scikit-learn fit per (configuration, fold).

The (configuration x fold) grid is a list of tasks; Spark runs them as ``mapInPandas`` tasks (one
partition each, as many at once as the cluster has cores) over the labelled rows shipped once as a
broadcast, each task fitting one estimator (:mod:`weekly_discovery.recommend.model.scikit`) on k-1 folds
and scoring the held-out fold. Only per-fold metrics come back to the driver. Each task also returns the
held-out liked songs' mean probability with the class weights undone: Elkan and Noto's estimate of the
label frequency (positive-unlabeled learning, docs/model.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from weekly_discovery.recommend.model.columns import LABEL, TRACK_ID, WEIGHT
from weekly_discovery.recommend.model.scikit import (
    fit_arrays,
    labelled_share,
    positive_probability,
    row_weights,
    unweighted,
    weighs_rows,
)
from weekly_discovery.recommend.training.folds import FOLD
from weekly_discovery.recommend.training.metrics import local_fold_metrics

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

    from weekly_discovery.recommend.model.families import Candidate

#: An optional column of the CV frame: the label a held-out row is judged by, when it is not the label it is
#: trained with (the benchmark hides the Kaggle dislikes from training and scores against them).
TRUTH = "truth"

@dataclass(frozen=True)
class Evaluation:
    """One configuration to cross-validate: its features, and the columns a row must have non-null
    to take part (the incumbent champion is compared on the rows that have all its features)."""

    candidate: "Candidate"
    features: tuple[str, ...]
    complete_for: tuple[str, ...] = ()


TASK_SCHEMA = ("evaluation int, fold int, rows long, positives long, negatives long, roc_auc double, "
               "pr_auc double, tn long, fp long, fn long, tp long, pu_positives long, pu_sum double, seconds double")


def run_task(frame: "pd.DataFrame", evaluation: Evaluation, fold: int, seed: int,
             threshold: float, threads: int = 1) -> dict[str, Any] | None:
    """Fit on every fold but ``fold``, score ``fold``; its metrics (None if it holds no row)."""
    started = time.process_time()
    rows = frame
    if evaluation.complete_for:
        rows = rows[rows[list(evaluation.complete_for)].notna().all(axis=1)]
    test = rows[FOLD].to_numpy() == fold
    if not test.any():
        return None
    x = rows[list(evaluation.features)].to_numpy(dtype=float)
    y = rows[LABEL].to_numpy(dtype=float)
    weights = row_weights(rows)
    train_weights = None if weights is None else weights[~test]
    model = fit_arrays(evaluation.candidate, x[~test], y[~test], seed, threads, train_weights)
    scores = positive_probability(model, x[test])
    truth = rows[TRUTH].to_numpy(dtype=float)[test] if TRUTH in rows.columns else y[test]
    metrics = local_fold_metrics(truth, scores, threshold)
    # Elkan-Noto: the held-out labelled positives' mean P(labelled | x), the class weights undone
    ratio = labelled_share(y[~test], train_weights) if weighs_rows(evaluation.candidate) else 1.0
    held = y[test] == 1
    pu_sum = float(unweighted(scores[held], ratio).sum())
    return {**metrics, "pu_positives": int(held.sum()), "pu_sum": pu_sum, "fold": fold,
            "seconds": time.process_time() - started}


def _cost(evaluation: Evaluation) -> float:
    """A rough relative cost, so the largest fits start first and the last wave is short."""
    p, name = evaluation.candidate.params, evaluation.candidate.name
    if name == "random_forest":
        return float(p.get("numTrees", 100)) * float(p.get("maxDepth") or 16)
    if name == "forests":
        return float(p.get("numTrees", 100)) * float(p.get("maxDepth") or 16) + float(p.get("extraTrees", 150)) * 16
    if name == "gbt":
        return 4.0 * float(p.get("maxIter", 50)) * float(p.get("maxDepth", 3))
    return 1.0


def cross_validate_grid(spark: "SparkSession", frame: "pd.DataFrame", evaluations: list[Evaluation], k: int,
                        seed: int, threshold: float, threads: int = 1) -> list[tuple[list[dict[str, Any]], float]]:
    """Per evaluation, (its per-fold metrics in fold order, the seconds its fits took in all).

    ``frame`` holds the labelled rows (``fold``, ``label`` and every feature column any evaluation
    reads), sorted by track id. One Spark job: a task per (evaluation, fold), largest first.
    """
    import pandas as pd

    if not evaluations:
        return []
    frame = frame.sort_values(TRACK_ID, kind="stable").reset_index(drop=True) if TRACK_ID in frame.columns \
        else frame
    columns = sorted({LABEL, FOLD, *(c for e in evaluations for c in (*e.features, *e.complete_for)),
                      *(c for c in (WEIGHT, TRUTH) if c in frame.columns)})
    shared = spark.sparkContext.broadcast((frame[columns], list(evaluations)))
    tasks = sorted(((i, fold) for i in range(len(evaluations)) for fold in range(k)),
                   key=lambda t: (-_cost(evaluations[t[0]]), t))

    def run(batches):
        data, evals = shared.value
        for batch in batches:
            out = [run_task(data, evals[int(i)], int(fold), seed, threshold, threads)
                   for i, fold in zip(batch["evaluation"], batch["fold"])]
            out = [{**o, "evaluation": int(i)} for o, i in zip(out, batch["evaluation"]) if o is not None]
            yield pd.DataFrame(out, columns=[c.split()[0] for c in TASK_SCHEMA.split(", ")])

    collected = _one_task_per_partition(spark, tasks).mapInPandas(run, TASK_SCHEMA).collect()
    shared.unpersist()
    out: list[tuple[list[dict[str, Any]], float]] = [([], 0.0) for _ in evaluations]
    for r in sorted(collected, key=lambda r: (r["evaluation"], r["fold"])):
        folds, seconds = out[r["evaluation"]]
        entry = r.asDict()
        seconds += entry.pop("seconds")
        entry.pop("evaluation")
        folds.append(entry)
        out[r["evaluation"]] = (folds, seconds)
    return out


def _one_task_per_partition(spark: "SparkSession", tasks: list[tuple[int, int]]) -> "DataFrame":
    """The task list as a DataFrame with one task per partition, in the given order."""
    rdd = spark.sparkContext.parallelize(tasks, numSlices=len(tasks))
    return spark.createDataFrame(rdd, "evaluation int, fold int")
