"""One week's training: labelled set -> CV of every candidate -> refit -> champion decision -> lake.

:func:`train_week` is what ``jobs/train.py`` runs; it is here (not in the job file) so the Spark
tests can run it on the shared session. It logs one line per step and returns the model card.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from weekly_discovery.core.vocabulary import POST_FEATURES
from weekly_discovery.lake import Lake
from weekly_discovery.recommend.model import families as cand
from weekly_discovery.recommend.model import scikit as sk
from weekly_discovery.recommend.model import store
from weekly_discovery.recommend.model.columns import GROUP, LABEL, WEIGHT
from weekly_discovery.recommend.model.predict import describe
from weekly_discovery.recommend.profile import with_artist_profile
from weekly_discovery.recommend.training import cross_validation
from weekly_discovery.recommend.training.dataset import LabelledSet, Negatives, labelled_set
from weekly_discovery.recommend.training.feedback import reaction_rows
from weekly_discovery.recommend.training.selection import (
    CandidateResult,
    Decision,
    best_of,
    candidate_features,
    check_trainable,
    coefficient_lines,
    decide,
    evaluate,
    metrics_text,
    prepare_local,
    refit,
    spark_rows,
    train_candidates,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

REFIT_POOL = "post_refit"
# The refit's pool, declared so Spark does not warn in every training log that it "has not been configured"
# (weights and shares as Spark gives an undeclared pool).
POOLS_XML = f"""<?xml version="1.0"?>
<allocations>
  <pool name="{REFIT_POOL}">
    <schedulingMode>FIFO</schedulingMode>
    <weight>1</weight>
    <minShare>0</minShare>
  </pool>
</allocations>
"""


def train_conf() -> dict[str, str]:
    """The training session's settings: fair scheduling between the grid's job and the post's Spark ML refit
    (see :func:`_in_pool`; with a single job at a time, as in scoring, it schedules as FIFO does), and the
    file that declares the refit's pool. The file is written where the driver runs (the scheduler lives
    there, also in cluster mode), in the temp folder, under a name of this user's; its content never changes."""
    import os
    import tempfile

    path = os.path.join(tempfile.gettempdir(), f"weekly-discovery-{os.getuid()}-fairscheduler.xml")
    try:
        with open(path, encoding="utf-8") as fh:
            current = fh.read()
    except OSError:
        current = None
    if current != POOLS_XML:
        fd, staged = tempfile.mkstemp(prefix=".fairscheduler-", dir=os.path.dirname(path))
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(POOLS_XML)
        os.replace(staged, path)
    return {"spark.scheduler.mode": "FAIR", "spark.scheduler.allocation.file": path}


@dataclass(frozen=True)
class TrainSettings:
    """What a training run needs besides the data (from the config's [model] table)."""

    features: tuple[str, ...] = POST_FEATURES
    folds: int = 5
    seed: int = 42
    threshold: float = 0.5
    grid: tuple[cand.Candidate, ...] = field(default_factory=lambda: tuple(cand.default_grid()))
    artist_profile: bool = True  # challengers also see their artist's average features (model/profile.py)
    negatives: Negatives = field(default_factory=Negatives)  # background, unsaved and their weights
    unsaved_after_weeks: int = 4  # a pick not saved this many weeks after it was offered is a weak negative


def train_week(enriched: "DataFrame", lake: Lake, ds: str, settings: TrainSettings,
               more_background: "Callable[[int], DataFrame] | None" = None) -> dict[str, Any]:
    """Train, select and store the model of ``ds``; update the champion pointer; return the card.

    A rerun of a week whose version is frozen (later weeks were trained since, see
    :mod:`weekly_discovery.recommend.model.store`) trains nothing: it returns the stored card, and the
    lake is left as it was, so later weeks' records keep pointing at the model that won.
    """
    frozen = store.frozen_card(lake, ds)
    if frozen is not None:
        _log_reuse(lake, ds, frozen, settings)
        return frozen
    started = time.monotonic()
    features = tuple(settings.features)
    reaction, reaction_counts = reaction_rows(enriched.sparkSession, lake, ds, enriched, settings.unsaved_after_weeks)
    training_input = enriched if reaction is None else enriched.unionByName(reaction, allowMissingColumns=True)
    labelled = labelled_set(training_input, features, settings.negatives, more_background)
    labelled.counts["reaction"] = reaction_counts
    for line in labelled.summary_lines():
        log.info("%s", line)
    # the artist averages are always added (cheap), so an incumbent that used them can be re-evaluated.
    # The labelled set is small: it is collected once, with its folds, for every later step.
    frame = prepare_local(with_artist_profile(labelled.df, enriched), settings.folds, settings.seed)
    check_trainable(frame, settings.folds)
    artists = int(frame[GROUP].nunique())
    log.info("cross-validation: %d folds grouped by primary artist (%d artists), seed %d, features %s%s",
             settings.folds, artists, settings.seed, ", ".join(features),
             " (challengers also: each feature's average over the track's artist)" if settings.artist_profile else "")

    grid = list(settings.grid)
    if not grid or grid[0].name != cand.BASELINE:
        grid = [cand.baseline(), *[c for c in grid if c.name != cand.BASELINE]]
    incumbent = store.incumbent_for(lake, ds)
    plan = _incumbent_plan(incumbent, frame, grid, features, settings)
    cv_started = time.monotonic()
    # The post's Spark ML refit needs no CV result: its rows are cached first (one small job, before the
    # grid's tasks hold both cores), then it runs in its own thread and fair-scheduler pool (_in_pool), so
    # its JVM warm-up (~5 s for a process's first Spark ML fit) overlaps the grid's Python worker start-up
    # and its one-task jobs take turns with the grid's tasks instead of queueing behind all of them.
    baseline_rows = spark_rows(frame, [LABEL, *features])
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="spark-refit") as pool:
            baseline_future = pool.submit(_in_pool, REFIT_POOL, refit, grid[0], baseline_rows, features,
                                          settings.seed)
            evaluated = train_candidates(frame, features, grid, settings.folds, settings.seed, settings.threshold,
                                         artist_profile=settings.artist_profile, extra=plan.extra)
            results = evaluated[:len(grid)]
            best = best_of(results)
            best_features = candidate_features(best.candidate, features, settings.artist_profile)
            log.info("selected %s by CV ROC AUC: %s", best.candidate.label(), metrics_text(best.cv))
            baseline_result = results[0]
            challenger = None if best is baseline_result else refit(best.candidate, frame, best_features,
                                                                     settings.seed)
            baseline_model = baseline_future.result()
    finally:
        baseline_rows.unpersist()
    model = baseline_model if challenger is None else challenger
    log.info("cross-validation and refits: %.1f s", time.monotonic() - cv_started)
    baseline_desc = describe(baseline_result.candidate, baseline_model, features)
    log.info("the post's model (%s) refit on all %d rows with Spark ML, coefficients on raw feature scales:",
             baseline_result.candidate.label(), labelled.counts["rows"])
    for line in coefficient_lines(baseline_desc):
        log.info("%s", line)
    best_desc = describe(best.candidate, model, best_features)

    decision = _decide(plan, frame, best_features, best, results, evaluated[len(grid):], settings)
    log.info("champion decision: %s", decision.reason)
    pu = positive_unlabeled(labelled, frame, best)
    if pu is not None:
        log.info("positive-unlabeled: %s", pu_text(pu))

    card = {
        "version": ds,
        "ds": ds,
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "features": list(best_features),  # the champion's input columns: what scoring computes
        "configured_features": list(features),
        "artist_profile": settings.artist_profile,
        "threshold": settings.threshold,
        "folds": {"k": settings.folds, "seed": settings.seed, "grouped_by": "primary_artist_id",
                  "assignment": "artists ordered by sha256('<seed>:<artist id>'), dealt round-robin"},
        "training": {**labelled.counts, "artists": artists},
        "baseline": {**baseline_result.candidate.to_dict(), "features": list(features),
                     "coefficients": baseline_desc["coefficients"],
                     "intercept": baseline_desc["intercept"], "metrics": baseline_result.cv},
        "candidates": [r.to_dict() for r in results],
        "champion": {**best.candidate.to_dict(), "label": best.candidate.label(), "metrics": best.cv,
                     **{k: v for k, v in best_desc.items() if k != "scale"},
                     **({"coefficient_scale": best_desc["scale"]} if "scale" in best_desc else {})},
        "promotion": {"promoted": decision.promote, "reason": decision.reason, "incumbent": decision.incumbent},
        "pu": pu,
        "artifacts": {"model": store.MODEL_DIR, "baseline": store.BASELINE_DIR},
        "duration_s": round(time.monotonic() - started, 1),
    }
    path = store.write_version(lake, ds, {store.MODEL_DIR: model, store.BASELINE_DIR: baseline_model}, card)
    incumbent_version = decision.incumbent["version"] if decision.incumbent else None
    pointer = store.record_decision(lake, ds, promoted=decision.promote, incumbent=incumbent_version,
                                    reason=decision.reason)
    log.info("model version %s written to %s; champion now %s (%s)", ds, path, pointer["version"],
             store.pointer_path(lake))
    return card


def positive_unlabeled(labelled: LabelledSet, frame: "pd.DataFrame", best: CandidateResult) -> dict[str, Any] | None:
    """How the selected model's scores become P(liked) when it learned from background songs, else None.

    Elkan and Noto (KDD 2008): a classifier g of labelled (liked) against unlabeled songs estimates
    P(labelled | x) = c P(liked | x), with c the label frequency, estimated as g's mean over held-out liked
    songs (:func:`weekly_discovery.recommend.training.metrics.summarize`); scoring divides by it. ``weight_ratio`` is
    W_1 / W_0 of the training rows, which undoes the class balancing first (:func:`sk.unweighted`). The
    prior printed is the share of the unlabeled songs that are liked by the same estimate.
    """
    if not labelled.uses_background:
        return None
    c = best.cv.get("label_frequency")
    if not c:
        return None
    labels = frame[LABEL].to_numpy()
    weights = frame[WEIGHT].to_numpy() if WEIGHT in frame.columns else None
    ratio = sk.labelled_share(labels, weights) if sk.weighs_rows(best.candidate) else 1.0
    positives, unlabeled = int((labels == 1).sum()), int((labels == 0).sum())
    prior = min(1.0, (1.0 - c) / c * positives / unlabeled) if unlabeled and c < 1 else 0.0
    return {"method": "Elkan & Noto 2008: P(liked | x) = P(labelled | x) / c, c = mean over held-out liked songs",
            "label_frequency": round(float(c), 6), "weight_ratio": round(float(ratio), 6),
            "unlabeled_prior": round(float(prior), 4)}


def pu_text(pu: dict[str, Any]) -> str:
    """One line: the label frequency, the weight ratio and the estimated share of liked unlabeled songs."""
    return (f"label frequency c = {pu['label_frequency']:.3f} (the held-out liked songs' mean score), so a "
            f"score becomes P(liked) = P(labelled) / c; about {pu['unlabeled_prior']:.0%} of the unlabeled songs "
            "would be liked by that estimate")


def _in_pool(pool: str, fn, *args):
    """``fn(*args)`` with this thread's Spark jobs in the scheduler pool ``pool``.

    Under ``spark.scheduler.mode=FAIR`` (:func:`train_conf`) a free core goes to the pool with fewer
    running tasks, so the post's refit (dozens of one-task jobs, one per optimizer step) runs beside the
    grid's tasks instead of queueing behind all of them (FIFO). Under FIFO the pool is ignored.
    """
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is not None:
        context.setLocalProperty("spark.scheduler.pool", pool)
    return fn(*args)


def _log_reuse(lake: Lake, ds: str, card: dict[str, Any], settings: TrainSettings) -> None:
    later = store.later_weeks(lake, ds)
    log.info("model version %s exists and week(s) %s were trained after it: versions later weeks rely on are "
             "immutable, so this rerun reuses it (trained %s, %s) and trains nothing", ds, ", ".join(later),
             card.get("trained_at"), (card.get("champion") or {}).get("label"))
    stored = {"features": tuple(card.get("configured_features") or ()), "folds": (card.get("folds") or {}).get("k"),
              "seed": (card.get("folds") or {}).get("seed"), "threshold": card.get("threshold"),
              "artist_profile": card.get("artist_profile")}
    now = {"features": tuple(settings.features), "folds": settings.folds, "seed": settings.seed,
           "threshold": settings.threshold, "artist_profile": settings.artist_profile}
    changed = [f"{key} {stored[key]} -> {now[key]}" for key in now if stored[key] != now[key]]
    if changed:
        log.warning("the [model] settings changed since version %s was trained (%s); they apply from the next "
                    "week on", ds, "; ".join(str(c) for c in changed))


@dataclass(frozen=True)
class _IncumbentPlan:
    """How the incumbent champion is re-evaluated: with the grid (``extra``), after it, or not at all."""

    incumbent: store.ChampionRef | None = None
    unknown: tuple[str, ...] = ()
    same_rows: bool = True
    extra: list[cross_validation.Evaluation] = field(default_factory=list)


def _incumbent_plan(incumbent: store.ChampionRef | None, frame: "pd.DataFrame", grid: list[cand.Candidate],
                    features: tuple[str, ...], settings: TrainSettings) -> _IncumbentPlan:
    """Decide before the grid runs how the incumbent will be re-evaluated, so that its k fits join
    the grid's Spark job (its configuration is usually one of the grid's, and then costs nothing)."""
    if incumbent is None:
        return _IncumbentPlan()
    unknown = tuple(f for f in incumbent.features if f not in frame.columns)
    if unknown:
        return _IncumbentPlan(incumbent, unknown)
    same_rows = bool(frame[list(incumbent.features)].notna().all(axis=None))
    log.info("re-evaluating the current champion %s (%s, features %s) on the same folds%s",
             incumbent.version, incumbent.candidate.label(), ", ".join(incumbent.features),
             "" if same_rows else " (on the rows that have all its features; the new model is re-evaluated there too)")
    in_grid = any(c == incumbent.candidate and candidate_features(c, features, settings.artist_profile)
                  == incumbent.features for c in grid)
    if same_rows and in_grid:
        return _IncumbentPlan(incumbent, same_rows=True)
    complete = () if same_rows else tuple(incumbent.features)
    return _IncumbentPlan(incumbent, same_rows=same_rows,
                          extra=[cross_validation.Evaluation(incumbent.candidate, tuple(incumbent.features), complete)])


def _decide(plan: _IncumbentPlan, frame: "pd.DataFrame", features: tuple[str, ...], best: CandidateResult,
            results: list[CandidateResult], extra: list[CandidateResult], settings: TrainSettings) -> Decision:
    """Compare the week's best with the incumbent champion re-evaluated on the same folds.

    "Re-evaluated" means its configuration (family, parameters, features) is cross-validated on
    this week's folds, exactly as the candidates were: the stored model itself was fitted on
    earlier data that overlaps these folds, so scoring it here would flatter it.
    """
    incumbent = plan.incumbent
    if incumbent is None:
        return decide(best.cv, None)
    info = {"version": incumbent.version, **incumbent.candidate.to_dict(), "features": list(incumbent.features)}
    if incumbent.candidate == best.candidate and incumbent.features == features:
        decision = decide(best.cv, best.cv, incumbent=info)
        return Decision(decision.promote, f"{decision.reason} (same configuration)", decision.incumbent)
    if plan.unknown:
        return decide(best.cv, None, incumbent=info, note=(
            f"the current champion ({incumbent.version}) uses feature(s) {', '.join(plan.unknown)} that this "
            "week's data lacks, so it cannot be re-evaluated: the new model replaces it"))
    if extra:
        old_cv = extra[0].cv
    else:  # its configuration is one of this week's grid: the same fits on the same folds
        old_cv = next(r.cv for r in results if r.candidate == incumbent.candidate)
    new_cv = best.cv
    if not plan.same_rows:
        new_cv = evaluate(frame, [cross_validation.Evaluation(best.candidate, features, tuple(incumbent.features))],
                          settings.folds, settings.seed, settings.threshold)[0][0]
    log.info("current champion on this week's folds: %s", metrics_text(old_cv))
    return decide(new_cv, old_cv, incumbent=info)
