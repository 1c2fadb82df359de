"""Binary classification metrics per fold: in Spark over all folds (:func:`fold_metrics`), or for one
held-out fold in numpy inside a cross-validation task (:func:`local_fold_metrics`), by the same
definitions:

- ``roc_auc``: the probability that a random liked track scores above a random disliked one,
  ties counting one half (Mann-Whitney; equals scikit-learn's ``roc_auc_score``).
- ``pr_auc``: average precision, the step-wise area under the precision-recall curve (equals
  scikit-learn's ``average_precision_score``; Spark's ``areaUnderPR`` interpolates linearly instead,
  which overstates it).
- ``accuracy`` and ``confusion`` ``[[tn, fp], [fn, tp]]`` at a threshold: a track is predicted
  liked when its probability is **>= threshold** (the rule the recommendations use).

A fold whose held-out part has a single class has no ROC AUC (and no PR AUC without positives):
it is left out of the mean and reported as null. Cross-validated figures are the mean and the
standard deviation (population, ddof = 0) of the per-fold values; accuracy and the confusion
matrix are pooled over all held-out predictions.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SCORE = "score"


def fold_metrics(
    predictions: "DataFrame",
    *,
    label_col: str = "label",
    score_col: str = SCORE,
    fold_col: str = "fold",
    threshold: float = 0.5,
) -> list[dict[str, Any]]:
    """One dict per fold: ``fold, rows, positives, negatives, roc_auc, pr_auc, tn, fp, fn, tp``.

    ``predictions`` has a 0/1 label, a probability-of-liked score and a fold number. The rows
    are first reduced to one row per (fold, distinct score), so ties are handled exactly.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    grouped = predictions.groupBy(fold_col, score_col).agg(
        F.sum(F.col(label_col)).cast("double").alias("pos"),
        F.sum(1.0 - F.col(label_col)).cast("double").alias("neg"),
    )
    below = Window.partitionBy(fold_col).orderBy(F.col(score_col).asc()).rowsBetween(Window.unboundedPreceding, -1)
    above = Window.partitionBy(fold_col).orderBy(F.col(score_col).desc()).rowsBetween(
        Window.unboundedPreceding, Window.currentRow
    )
    curve = (
        grouped.withColumn("neg_below", F.coalesce(F.sum("neg").over(below), F.lit(0.0)))
        .withColumn("tp_cum", F.sum("pos").over(above))
        .withColumn("fp_cum", F.sum("neg").over(above))
    )
    predicted_liked = F.col(score_col) >= F.lit(float(threshold))
    per_fold = curve.groupBy(fold_col).agg(
        F.sum("pos").alias("P"),
        F.sum("neg").alias("N"),
        F.sum(F.col("pos") * (F.col("neg_below") + 0.5 * F.col("neg"))).alias("auc_num"),
        F.sum(F.when(F.col("pos") > 0, F.col("pos") * F.col("tp_cum") / (F.col("tp_cum") + F.col("fp_cum")))
              .otherwise(0.0)).alias("ap_num"),
        F.sum(F.when(predicted_liked, F.col("pos")).otherwise(0.0)).alias("tp"),
        F.sum(F.when(predicted_liked, F.col("neg")).otherwise(0.0)).alias("fp"),
    )
    out = []
    for row in sorted(per_fold.collect(), key=lambda r: r[fold_col]):
        p, n = row["P"], row["N"]
        tp, fp = int(round(row["tp"])), int(round(row["fp"]))
        out.append({
            "fold": row[fold_col],
            "rows": int(round(p + n)),
            "positives": int(round(p)),
            "negatives": int(round(n)),
            "roc_auc": row["auc_num"] / (p * n) if p > 0 and n > 0 else None,
            "pr_auc": row["ap_num"] / p if p > 0 else None,
            "tn": int(round(n)) - fp,
            "fp": fp,
            "fn": int(round(p)) - tp,
            "tp": tp,
        })
    return out


def local_fold_metrics(labels: "Any", scores: "Any", threshold: float = 0.5) -> dict[str, Any]:
    """One held-out fold's ``rows, positives, negatives, roc_auc, pr_auc, tn, fp, fn, tp`` (as
    :func:`fold_metrics`), from 0/1 ``labels`` and probability-of-liked ``scores`` (array-likes).

    ``roc_auc`` is scikit-learn's ``roc_auc_score`` (Mann-Whitney, ties one half) and ``pr_auc`` its
    ``average_precision_score`` (step-wise), the definitions of the module docstring.
    """
    import numpy as np
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(labels, dtype=float)
    s = np.asarray(scores, dtype=float)
    p = int((y == 1).sum())
    n = len(y) - p
    predicted = s >= float(threshold)
    tp, fp = int((predicted & (y == 1)).sum()), int((predicted & (y == 0)).sum())
    return {
        "rows": len(y),
        "positives": p,
        "negatives": n,
        "roc_auc": float(roc_auc_score(y, s)) if p and n else None,
        "pr_auc": float(average_precision_score(y, s)) if p else None,
        "tn": n - fp,
        "fp": fp,
        "fn": p - tp,
        "tp": tp,
    }


def summarize(per_fold: list[dict[str, Any]]) -> dict[str, Any]:
    """The cross-validated figures of a model from its per-fold metrics (see module docstring)."""
    tn, fp, fn, tp = (sum(f[key] for f in per_fold) for key in ("tn", "fp", "fn", "tp"))
    total = tn + fp + fn + tp
    roc = [f["roc_auc"] for f in per_fold if f["roc_auc"] is not None]
    pr = [f["pr_auc"] for f in per_fold if f["pr_auc"] is not None]
    return {
        "roc_auc": _mean(roc),
        "roc_auc_sd": _sd(roc),
        "pr_auc": _mean(pr),
        "pr_auc_sd": _sd(pr),
        "accuracy": (tp + tn) / total if total else None,
        "confusion": [[tn, fp], [fn, tp]],
        "label_frequency": _label_frequency(per_fold),
        "folds": [
            {"fold": f["fold"], "rows": f["rows"], "positives": f["positives"],
             "roc_auc": _round(f["roc_auc"]), "pr_auc": _round(f["pr_auc"])}
            for f in per_fold
        ],
    }


def _label_frequency(per_fold: list[dict[str, Any]]) -> float | None:
    """Elkan and Noto's c: the held-out labelled positives' mean P(labelled | x) (None without them)."""
    n = sum(f.get("pu_positives") or 0 for f in per_fold)
    return sum(f.get("pu_sum") or 0.0 for f in per_fold) / n if n else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _sd(values: list[float]) -> float | None:
    if not values:
        return None
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)
