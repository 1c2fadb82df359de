"""Cross-validate every candidate on grouped folds, pick the best, refit it, decide the champion.

Used by ``jobs/train.py`` (weekly) and ``benchmarks/model_quality.py`` (the figures in docs/model.md),
so both measure the same code. The labelled rows and their ``fold`` come from Spark (:func:`prepare`,
cached in one partition, which the post's Spark ML refit reads); the cross-validation collects them
once as a small pandas frame (:func:`local_rows`) and runs the whole (configuration x fold) grid as
one Spark job of single-node scikit-learn fits (:mod:`weekly_discovery.recommend.model.scikit`).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Union

from weekly_discovery.core.errors import UserError
from weekly_discovery.recommend.model import families as cand
from weekly_discovery.recommend.model import scikit as sk
from weekly_discovery.recommend.model.columns import GROUP, LABEL, TRACK_ID
from weekly_discovery.recommend.profile import model_features
from weekly_discovery.recommend.training import cross_validation
from weekly_discovery.recommend.training.folds import FOLD, assign_folds
from weekly_discovery.recommend.training.metrics import summarize

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.ml import PipelineModel
    from pyspark.sql import DataFrame

    Rows = Union[DataFrame, pd.DataFrame]

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 1  # a few thousand rows: one cached partition, so the post's Spark ML fit is one task per step
FIT_THREADS_ENV = "WEEKLY_DISCOVERY_FIT_THREADS"
DEFAULT_FIT_THREADS = 1  # threads per scikit-learn forest fit: Spark already runs one fit per core


def fit_threads() -> int:
    """Threads per scikit-learn forest fit (``$WEEKLY_DISCOVERY_FIT_THREADS``, default 1).

    Spark runs one (configuration, fold) fit per core at once, so one thread per fit fills the
    machine; more helps only on a cluster with idle cores. The results do not depend on it: every
    tree is seeded, whichever thread grows it.
    """
    value = os.environ.get(FIT_THREADS_ENV, str(DEFAULT_FIT_THREADS))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{FIT_THREADS_ENV} must be a positive integer, got {value!r}")
    return int(value)


class TrainingError(UserError, ValueError):
    """The labelled set cannot be cross-validated (too few tracks or artists); the message says why."""


@dataclass
class CandidateResult:
    candidate: cand.Candidate
    cv: dict[str, Any]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {**self.candidate.to_dict(), "cv": self.cv, "seconds": round(self.seconds, 1)}

    @property
    def roc_auc(self) -> float:
        value = self.cv.get("roc_auc")
        return float("-inf") if value is None else value


@dataclass(frozen=True)
class Decision:
    """Whether the new model replaces the champion, and the sentence the card and the log carry."""

    promote: bool
    reason: str
    incumbent: dict[str, Any] | None = field(default=None)


def prepare(labelled: "DataFrame", k: int, seed: int, partitions: int = DEFAULT_PARTITIONS) -> "DataFrame":
    """The labelled rows with their fold, in a fixed order and partitioning, cached.

    Sorting by track id before the fixed coalesce gives every run the same rows in the same
    partitions, which seeded tree learners need to draw the same samples.
    """
    with_folds = assign_folds(labelled, k, seed, GROUP)
    data = with_folds.orderBy(TRACK_ID).coalesce(partitions).cache()
    data.count()
    return data


def prepare_local(labelled: "DataFrame", k: int, seed: int) -> "pd.DataFrame":
    """The labelled rows collected once (the week's one pass over the data) with their fold, sorted by
    track id: id, artist group, label, fold and every numeric column (features, artist profile).

    The folds follow the same rule as :func:`prepare` (:func:`weekly_discovery.recommend.training.folds.python_folds`
    is its plain-Python twin), computed on the driver: the set is one person's likes and dislikes.
    """
    from weekly_discovery.recommend.training.folds import python_folds

    numeric = _numeric_columns(labelled)
    frame = labelled.select(TRACK_ID, GROUP, LABEL, *numeric).toPandas()
    frame[FOLD] = frame[GROUP].map(python_folds(frame[GROUP], k, seed)).astype("int32")
    return frame.sort_values(TRACK_ID, kind="stable").reset_index(drop=True)


def _numeric_columns(df: "DataFrame") -> list[str]:
    return [f.name for f in df.schema.fields
            if f.dataType.typeName() in ("double", "float", "integer", "long") and f.name not in (LABEL, FOLD)]


def spark_rows(frame: "pd.DataFrame", columns: list[str] | tuple[str, ...]) -> "DataFrame":
    """``frame``'s ``columns`` as a cached Spark DataFrame in one partition (for the post's Spark ML fit:
    one task per optimizer step, no shuffle, no re-reading)."""
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    df = spark.createDataFrame(frame[list(columns)]).coalesce(1).cache()
    df.count()
    return df


def check_trainable(data: "Rows", k: int) -> None:
    """Fail with the fix when the set is too small for k grouped folds with both classes to learn from."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        n, pos, groups = len(data), int(data[LABEL].sum()), int(data[GROUP].nunique())
    else:
        from pyspark.sql import functions as F

        row = data.agg(
            F.count(F.lit(1)).alias("n"), F.sum(LABEL).alias("pos"), F.countDistinct(GROUP).alias("groups")
        ).first()
        n, pos, groups = row["n"], int(row["pos"] or 0), row["groups"]
    neg = n - pos
    if pos < 2 or neg < 2 or groups < k:
        raise TrainingError(
            f"the training set has {pos} liked and {neg} other usable tracks (disliked, removed or unsaved "
            f"picks, background) from {groups} artists; cross-validation needs at least 2 of each and {k} "
            f"artists (model.folds = {k}). Add liked songs; keep [model] background = \"auto\" with discovery "
            "on ([discover] sources), whose songs are the background, or add songs to a disliked playlist; "
            "check the enrichment coverage, or lower model.folds."
        )


def local_rows(data: "Rows") -> "pd.DataFrame":
    """The labelled rows as a pandas frame sorted by track id: the id, label, fold and every numeric
    (feature or profile) column. The set is one person's likes and dislikes, so it fits the driver."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    numeric = _numeric_columns(data)
    frame = data.select(TRACK_ID, LABEL, FOLD, *numeric).toPandas()
    return frame.sort_values(TRACK_ID, kind="stable").reset_index(drop=True)


def evaluate(
    data: "Rows",
    evaluations: list[cross_validation.Evaluation],
    k: int,
    seed: int,
    threshold: float = 0.5,
) -> list[tuple[dict[str, Any], float]]:
    """(CV metrics, seconds of fitting) of each evaluation: k fits each, all in one Spark job.

    ``data`` is the labelled set with its ``fold`` (a Spark DataFrame from :func:`prepare`, or
    :func:`local_rows` of it). The seconds are the CPU time of the evaluation's k fits summed.
    """
    from pyspark.sql import SparkSession

    frame = local_rows(data)
    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    results = cross_validation.cross_validate_grid(spark, frame, evaluations, k, seed, threshold, fit_threads())
    return [(summarize(per_fold), seconds) for per_fold, seconds in results]


def cross_validate(
    candidate: cand.Candidate,
    data: "Rows",
    features: tuple[str, ...] | list[str],
    k: int,
    seed: int,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Fit ``candidate`` on k-1 folds and score the held-out fold, for each fold; return the CV metrics."""
    return evaluate(data, [cross_validation.Evaluation(candidate, tuple(features))], k, seed, threshold)[0][0]


def candidate_features(candidate: cand.Candidate, features: tuple[str, ...] | list[str],
                       artist_profile: bool) -> tuple[str, ...]:
    """The columns ``candidate`` learns from: the post's model takes the features as they are (it is
    the 2016 model exactly); the challengers add the artist profile when it is on."""
    if candidate.name == cand.BASELINE:
        return tuple(features)
    return model_features(features, artist_profile)


def train_candidates(
    data: "Rows",
    features: tuple[str, ...] | list[str],
    candidates: list[cand.Candidate],
    k: int,
    seed: int,
    threshold: float = 0.5,
    on_result: Callable[[CandidateResult], None] | None = None,
    artist_profile: bool = False,
    extra: list[cross_validation.Evaluation] = (),
) -> list[CandidateResult]:
    """Cross-validate each candidate (one Spark job for the whole grid); log one line each; results in order.

    With ``artist_profile`` the challengers also learn from the ``artist_avg_*`` columns, which
    ``data`` must then carry (:func:`weekly_discovery.recommend.profile.with_artist_profile`).
    ``extra`` evaluations (the incumbent champion's configuration) run in the same job; their
    results follow the candidates' in the returned list.
    """
    evaluations = [cross_validation.Evaluation(c, candidate_features(c, features, artist_profile)) for c in candidates]
    evaluations += list(extra)
    started = time.monotonic()
    outcomes = evaluate(data, evaluations, k, seed, threshold)
    log.info("cross-validation of %d configuration(s) x %d folds: %.1f s", len(evaluations), k,
             time.monotonic() - started)
    results = []
    for index, (evaluation, (cv, seconds)) in enumerate(zip(evaluations, outcomes), 1):
        result = CandidateResult(evaluation.candidate, cv, seconds)
        if index <= len(candidates):
            log.info("candidate %d/%d %s: %s (fits %.1f s)", index, len(candidates), evaluation.candidate.label(),
                     metrics_text(cv), result.seconds)
            if on_result is not None:
                on_result(result)
        results.append(result)
    return results


def best_of(results: list[CandidateResult]) -> CandidateResult:
    """The highest mean CV ROC AUC; a tie goes to the earlier (simpler) candidate in the grid."""
    if not results:
        raise TrainingError("no candidate was cross-validated")
    best = results[0]
    for result in results[1:]:
        if result.roc_auc > best.roc_auc:
            best = result
    return best


def decide(new: dict[str, Any], old: dict[str, Any] | None, *, incumbent: dict[str, Any] | None = None,
           note: str = "") -> Decision:
    """Promote the new model unless the incumbent, re-evaluated on the same folds, is strictly better.

    ``new`` and ``old`` are CV metric dicts of the new model and of the current champion on the
    same folds (mean ``roc_auc`` decides; a tie promotes the new model, trained on fresher data).
    ``old`` None means there is no champion, or it could not be re-evaluated (``note`` says why):
    the new model is promoted. ``incumbent`` describes the champion (``version``, ``name``, ...)
    for the card; its ``cv`` is set to ``old``.
    """
    version = (incumbent or {}).get("version")
    info = None if incumbent is None else {**incumbent, "cv": old}
    if old is None:
        return Decision(True, note or "no current champion: the new model becomes the first champion", info)
    new_auc, old_auc = new.get("roc_auc"), old.get("roc_auc")
    if old_auc is None:
        return Decision(True, f"the current champion ({version}) has no ROC AUC on this week's folds; "
                              "the new model replaces it", info)
    if new_auc is None:
        return Decision(False, f"the new model has no ROC AUC on this week's folds; the current champion "
                               f"({version}, {old_auc:.4f}) stays", info)
    if new_auc >= old_auc:
        return Decision(True, f"new model ROC AUC {new_auc:.4f} >= current champion ({version}) "
                              f"{old_auc:.4f} on the same folds of this week's data: the new model is champion",
                        info)
    return Decision(False, f"current champion ({version}) ROC AUC {old_auc:.4f} > new model "
                           f"{new_auc:.4f} on the same folds of this week's data: the champion stays", info)


def refit(candidate: cand.Candidate, data: "Rows", features: tuple[str, ...] | list[str],
          seed: int) -> "PipelineModel | sk.SklearnModel":
    """``candidate`` fitted on every labelled row (what is stored and scores the candidates).

    The post's model is fitted by Spark ML on the cached Spark rows (its stored form and its
    coefficient table stay the 2016 model's); a challenger by scikit-learn on the driver.
    """
    import pandas as pd

    if candidate.name == cand.BASELINE:
        rows = spark_rows(data, [LABEL, *features]) if isinstance(data, pd.DataFrame) else data
        try:
            return cand.fit(candidate, rows, features, seed)
        finally:
            if rows is not data:
                rows.unpersist()
    return sk.fit(candidate, local_rows(data), features, seed)


def metrics_text(cv: dict[str, Any]) -> str:
    """``ROC AUC 0.8512 +- 0.0123, PR AUC 0.8610, accuracy 0.7731``: one log line's worth."""
    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    return (f"ROC AUC {fmt(cv.get('roc_auc'))} +- {fmt(cv.get('roc_auc_sd'))}, PR AUC {fmt(cv.get('pr_auc'))}, "
            f"accuracy {fmt(cv.get('accuracy'))}, confusion [[tn, fp], [fn, tp]] = {cv.get('confusion')}")


def coefficient_lines(description: dict[str, Any]) -> list[str]:
    """The post's printout: one line per feature with its coefficient, then the intercept."""
    lines = [f"  {name:<18} {value: .6f}" for name, value in description["coefficients"].items()]
    lines.append(f"  {'intercept':<18} {description['intercept']: .6f}")
    return lines
