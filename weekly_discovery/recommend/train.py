"""Cross-validate every candidate on grouped folds, pick the best, refit it, decide the champion.

Used by ``jobs/train.py`` (weekly) and ``benchmarks/model_quality.py`` (the figures in docs/model.md),
so both measure the same code. Every function takes the labelled DataFrame with its ``fold``
column (:func:`prepare`), which is cached once: each candidate is fitted once per fold.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import reduce
from typing import TYPE_CHECKING, Any, Callable

from weekly_discovery.core.errors import UserError
from weekly_discovery.recommend import models as cand
from weekly_discovery.recommend.dataset import GROUP, LABEL, TRACK_ID
from weekly_discovery.recommend.folds import FOLD, assign_folds
from weekly_discovery.recommend.metrics import fold_metrics, summarize
from weekly_discovery.recommend.profile import model_features

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 2  # a library's labelled set is a few thousand rows: two tasks per stage on two cores
FIT_THREADS_ENV = "WEEKLY_DISCOVERY_FIT_THREADS"
DEFAULT_FIT_THREADS = 2  # folds fitted at once: Spark jobs on a few thousand rows are latency-bound


def fit_threads() -> int:
    """How many folds are fitted concurrently (``$WEEKLY_DISCOVERY_FIT_THREADS``, default 2).

    Each fit is a chain of small Spark jobs; submitting two folds' jobs at once fills the gaps
    between them (a modest gain: 138 / 134 / 126 s for 1 / 2 / 4 threads on the benchmark's 10k
    labelled rows). The results do not depend on it: every fit is seeded and reads the same
    cached, fixed partitions.
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


def check_trainable(data: "DataFrame", k: int) -> None:
    """Fail with the fix when the set is too small for k grouped folds with both classes to learn from."""
    from pyspark.sql import functions as F

    row = data.agg(
        F.count(F.lit(1)).alias("n"), F.sum(LABEL).alias("pos"), F.countDistinct(GROUP).alias("groups")
    ).first()
    n, pos, groups = row["n"], int(row["pos"] or 0), row["groups"]
    neg = n - pos
    if pos < 2 or neg < 2 or groups < k:
        raise TrainingError(
            f"the labelled set has {pos} liked and {neg} disliked usable tracks from {groups} artists; "
            f"cross-validation needs at least 2 of each and {k} artists (model.folds = {k}). Add disliked "
            "songs to a disliked playlist (or liked ones), check the enrichment coverage, or lower model.folds."
        )


def cross_validate(
    candidate: cand.Candidate,
    data: "DataFrame",
    features: tuple[str, ...] | list[str],
    k: int,
    seed: int,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Fit ``candidate`` on k-1 folds and score the held-out fold, for each fold; return the CV metrics.

    The k fits run on :func:`fit_threads` threads; the metrics are one Spark job over all folds.
    """
    def held_out(fold: int) -> "DataFrame":
        model = cand.fit(candidate, data.where(data[FOLD] != fold), features, seed)
        return cand.predict(model, data.where(data[FOLD] == fold)).select(FOLD, LABEL, cand.SCORE)

    with ThreadPoolExecutor(max_workers=min(k, fit_threads()), thread_name_prefix="cv-fold") as pool:
        per_fold = list(pool.map(held_out, range(k)))
    predictions = reduce(lambda a, b: a.unionByName(b), per_fold)
    return summarize(fold_metrics(predictions, score_col=cand.SCORE, threshold=threshold))


def candidate_features(candidate: cand.Candidate, features: tuple[str, ...] | list[str],
                       artist_profile: bool) -> tuple[str, ...]:
    """The columns ``candidate`` learns from: the post's model takes the features as they are (it is
    the 2016 model exactly); the challengers add the artist profile when it is on."""
    if candidate.name == cand.BASELINE:
        return tuple(features)
    return model_features(features, artist_profile)


def train_candidates(
    data: "DataFrame",
    features: tuple[str, ...] | list[str],
    candidates: list[cand.Candidate],
    k: int,
    seed: int,
    threshold: float = 0.5,
    on_result: Callable[[CandidateResult], None] | None = None,
    artist_profile: bool = False,
) -> list[CandidateResult]:
    """Cross-validate each candidate in turn (logging one line each); results in the same order.

    With ``artist_profile`` the challengers also learn from the ``artist_avg_*`` columns, which
    ``data`` must then carry (:func:`weekly_discovery.recommend.profile.with_artist_profile`).
    """
    results = []
    for index, candidate in enumerate(candidates, 1):
        started = time.monotonic()
        cv = cross_validate(candidate, data, candidate_features(candidate, features, artist_profile), k, seed,
                            threshold)
        result = CandidateResult(candidate, cv, time.monotonic() - started)
        log.info("candidate %d/%d %s: %s (%.1f s)", index, len(candidates), candidate.label(),
                 metrics_text(cv), result.seconds)
        results.append(result)
        if on_result is not None:
            on_result(result)
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


def refit(candidate: cand.Candidate, data: "DataFrame", features: tuple[str, ...] | list[str],
          seed: int) -> "PipelineModel":
    """``candidate`` fitted on every labelled row (what is stored and scores the candidates)."""
    return cand.fit(candidate, data, features, seed)


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
