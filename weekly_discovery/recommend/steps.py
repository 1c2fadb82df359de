"""The weekly model's two Spark steps, train and score, shared by the three entry points that run them.

``jobs/train.py`` and ``jobs/score.py`` run one step each; ``jobs/weekly.py`` (the weekly DAG's one Spark
task) runs both in one Spark session, which saves a spark-submit (~6.6 s: the JVM, the session and its first
job) on a step that always follows the other. Each step is split the same way:

- ``*_step(...)`` checks the input in the driver and returns what the step needs (no Spark yet), so a
  missing input fails before a Spark session is paid for;
- :func:`train` / :func:`score` do the Spark work on the session they are given.

The logic itself is in :mod:`weekly_discovery.recommend.week` (training) and
:mod:`weekly_discovery.recommend.score` (the scoring transforms).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from weekly_discovery.core.config import Config, Model
from weekly_discovery.lake import (
    METRICS,
    RECOMMENDATIONS,
    SCORES,
    TRACKS_ENRICHED,
    Lake,
    tree_bytes,
)
from weekly_discovery.recommend import cap, catalog, removals, store
from weekly_discovery.recommend import score as sc
from weekly_discovery.recommend.dataset import Negatives
from weekly_discovery.recommend.models import GRIDS
from weekly_discovery.recommend.week import TrainSettings, train_week
from weekly_discovery.spark import delta
from weekly_discovery.spark.runner import enriched_input

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainStep:
    """A checked training input: the enriched date exists and the ``[model]`` settings are valid."""

    lake: Lake
    ds: str
    settings: TrainSettings
    catalogue: str | None = None  # the [discover] catalog file when that source is on: part of the background

    def input_bytes(self) -> int:
        """What training reads: the week's enriched rows (sizes the session, see ``job_session``)."""
        return enriched_bytes(self.lake, self.ds)


def enriched_bytes(lake: Lake, ds: str) -> int:
    """The size of ``silver/tracks_enriched``'s folder of ``ds``: one listing, an upper bound of what a job reads
    (after a rerun it also holds files the table no longer uses, until VACUUM deletes them)."""
    return tree_bytes(lake.partition(TRACKS_ENRICHED, ds))


def catalogue_path(config: Config) -> str | None:
    """The ``[discover] catalog`` file when the ``catalog`` source is on (its songs are scored weekly), else None."""
    return config.discover.catalog if "catalog" in config.discover.sources else None


def train_step(lake: Lake, ds: str, model: Model, catalogue: str | None = None) -> TrainStep:
    """The training of ``ds`` with the config's ``[model]`` table; fails (LakeError) without the enriched input.
    ``catalogue``: :func:`catalogue_path`."""
    enriched_input(lake, ds)
    settings = TrainSettings(features=tuple(model.features), folds=model.folds, seed=model.seed,
                             threshold=model.threshold, grid=tuple(GRIDS[model.grid]()),
                             artist_profile=model.artist_profile,
                             negatives=Negatives(background=model.background, unsaved_weight=model.unsaved_weight,
                                                 seed=model.seed),
                             unsaved_after_weeks=model.unsaved_after_weeks)
    return TrainStep(lake, ds, settings, catalogue)


def train(spark, step: TrainStep) -> dict[str, Any]:
    """Train, select and store the model of the step's week; return its card. With a catalogue, a sample of it
    (one song per liked song) joins the week's candidates when the background is drawn
    (:func:`weekly_discovery.recommend.catalog.background_rows`); the file is not read otherwise."""
    enriched = delta.read_date(spark, step.lake, TRACKS_ENRICHED, step.ds)
    more = None  # (size) -> the catalogue's sample
    if step.catalogue:
        more = functools.partial(catalog.background_rows, spark, step.catalogue, enriched, seed=step.settings.seed)
    return train_week(enriched, step.lake, step.ds, step.settings, more_background=more)


@dataclass(frozen=True)
class ScoreStep:
    """A checked scoring input. ``champion`` None: resolved when scoring starts (after a training step)."""

    lake: Lake
    ds: str
    settings: Model
    novelty_weeks: int
    catalogue: dict[str, Any] | None
    champion: store.ChampionRef | None = None

    def input_bytes(self) -> int:
        """What scoring reads: the week's enriched rows and the catalogue file, if one is scored."""
        return enriched_bytes(self.lake, self.ds) + int((self.catalogue or {}).get("size") or 0)


def score_step(lake: Lake, ds: str, config: Config, describe_catalogue: Callable[[str], Any], *,
               champion: bool = True) -> ScoreStep:
    """The scoring of ``ds`` with the config's ``[model]`` and ``[discover]`` settings, its input checked.

    ``describe_catalogue`` checks the ``[discover] catalog`` file (the discover stage's
    ``describe_file``: a stage does not import another, so the job passes it in); it runs only when
    ``[discover] sources`` lists ``catalog``. With ``champion`` the champion in force for ``ds`` is
    resolved now (fails with the fix when there is none); without it, when :func:`score` starts, i.e.
    after the training step of the same job has written it.
    """
    enriched_input(lake, ds)
    ref = store.champion_for_scoring(lake, ds) if champion else None
    catalogue = None
    if "catalog" in config.discover.sources:  # the file must be there: the same check as the discover task's
        catalogue = describe_catalogue(config.discover.catalog).as_dict()
    return ScoreStep(lake, ds, config.model, config.discover.novelty_weeks, catalogue, ref)


def score(spark, step: ScoreStep) -> dict[str, Any]:
    """Score the step's date with its champion (the one in force now if not resolved yet); return the metrics."""
    champion = step.champion or store.champion_for_scoring(step.lake, step.ds)
    return score_date(spark, step.lake, step.ds, champion, step.settings, step.novelty_weeks, step.catalogue)


@contextlib.contextmanager
def timed(name: str, ds: str) -> Iterator[None]:
    """Log ``<name> ds=<D> done in <s> s`` when a step of a several-step job ends (as a one-step job's runner
    does), or which step stopped the job: the runner then logs the error itself."""
    started = time.monotonic()
    try:
        yield
    except BaseException:
        log.error("%s ds=%s stopped after %.1f s: the job's later steps do not run", name, ds,
                  time.monotonic() - started)
        raise
    log.info("%s ds=%s done in %.1f s", name, ds, time.monotonic() - started)


def score_date(spark, lake: Lake, ds: str, champion: store.ChampionRef, settings: Model,
               novelty_weeks: int = 12, catalogue: dict[str, Any] | None = None) -> dict[str, Any]:
    """Score ``ds`` with the ``[model]`` settings (threshold, top_n, max_per_artist), keeping out the
    library and the picks of the ``novelty_weeks`` weeks before; write gold/scores and
    gold/recommendations; return the metrics. ``catalogue``: the catalogue file to score too (``path``,
    with its ``size`` and ``modified`` as the metrics record them), or None."""
    from pyspark.sql import Observation
    from pyspark.sql.types import StringType, StructField, StructType

    enriched = delta.read_date(spark, lake, TRACKS_ENRICHED, ds)
    model = store.load_model(champion)
    catalogue_rows, observed = None, None
    if catalogue:
        observed = Observation("catalogue")
        catalogue_rows = catalog.catalogue_candidates(catalog.read_catalogue(spark, catalogue["path"]),
                                                      sc.known_track_ids(enriched), catalogue["path"], observed,
                                                      offered=sc.candidate_rows(enriched).select("track_id"))
    # cached with the model's features: a catalogue pick's reason needs them, and the file is read once
    wide = sc.scored_rows(model, enriched, champion.features, settings.threshold, catalogue_rows, champion.pu).cache()
    scores = wide.select(*sc.SCORE_COLUMNS)
    playlists = [row.asDict() for row in sc.playlist_summary(scores).collect()]  # reads every row: observed now
    catalogue_metrics = None
    if catalogue:
        summary = next((p for p in playlists if p["source_key"] == catalog.SOURCE_KEY), None) or {}
        catalogue_metrics = {**catalogue, **catalog.counts_summary(observed.get),
                             "scored": summary.get("scored", 0), "recommended": summary.get("recommended", 0),
                             "scores_kept": min(summary.get("scored", 0), sc.CATALOGUE_SCORES_KEPT)}
    recent, removed = removals.kept_out_ids(lake, ds, novelty_weeks)  # removed by the user: out for good
    kept_out = sorted(set(recent) | set(removed))
    excluded = sc.excluded_track_ids(enriched, spark.createDataFrame([(t,) for t in kept_out], "track_id string"))
    per_artist = cap.resolve(settings.max_per_artist, settings.top_n, cap.liked_artist_counts(enriched))
    top = sc.recommend(scores, excluded, settings.top_n, per_artist)
    recommendations = [row.asDict(recursive=True) for row in top.collect()]  # <= top_n rows
    pool, short = None, ""
    if len(recommendations) < settings.top_n:  # say where the pool ran out (one more small job)
        pool = sc.pool_counts(scores, excluded, per_artist)
        short = sc.short_week_reason(pool, len(recommendations), settings.top_n, settings.threshold, per_artist)
    reasons = sc.pick_reasons(enriched, recommendations, champion.features, wide,
                              catalogue["path"] if catalogue else None)
    for r in recommendations:
        r["reason"] = reasons.get(r["track_id"], "")
    sources: dict[str, int] = {}
    for r in recommendations:
        sources[r["source"]] = sources.get(r["source"], 0) + 1
    metrics = {
        "ds": ds,
        "model_version": champion.version,
        "model": {**champion.candidate.to_dict(), "features": list(champion.features)},
        "threshold": settings.threshold,
        "top_n": settings.top_n,
        "max_per_artist": per_artist,
        "max_per_artist_setting": settings.max_per_artist,
        "probability": "P(liked): the score over the label frequency (positive-unlabeled)" if champion.pu
                       else "the model's probability",
        "pool": pool,
        "short_week": short,
        "playlists": playlists,
        "candidates": {"rows": sum(p["total"] for p in playlists), "scored": sum(p["scored"] for p in playlists),
                       "recommended": sum(p["recommended"] for p in playlists)},
        "recommended": len(recommendations),
        "novelty_weeks": novelty_weeks,
        "recently_published_excluded": len(recent),
        "removed_by_you_excluded": len(removed),
        "picks_per_source": sources,
        "catalogue": catalogue_metrics,
    }
    outputs = {"scores": SCORES, "recommendations": RECOMMENDATIONS}
    for table in outputs.values():  # a crash from here on leaves the date without metrics: not scored
        folder = lake.partition(table, ds)
        (folder / METRICS).unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)  # where the metrics go, even for a date without rows
    delta.write_date(sc.scores_kept(scores), lake, SCORES, ds, metrics=metrics)
    # the rows written are the rows logged: build the date's rows from the collected top N
    schema = StructType([*top.schema.fields, StructField("reason", StringType())])
    written = spark.createDataFrame(recommendations, schema=schema) if recommendations else \
        top.selectExpr("*", "cast(null as string) as reason")
    delta.write_date(written, lake, RECOMMENDATIONS, ds, metrics=metrics)
    wide.unpersist()

    log.info("scored with champion %s (%s, features %s)", champion.version, champion.candidate.label(),
             ", ".join(champion.features))
    log.info("novelty: %d songs published in the %d weeks before %s kept out, %d you removed from the playlist, "
             "and every library song; picks per source: %s", len(recent), novelty_weeks, ds, len(removed),
             ", ".join(f"{k} {v}" for k, v in sorted(sources.items())) or "none")
    if catalogue_metrics:
        c = catalogue_metrics
        log.info("catalogue %s: %d rows read, %d in your library and %d found by another source (dropped), "
                 "%d quarantined%s, %d scored, %d at or above the threshold; gold/scores keeps its %d most probable",
                 c["path"], c["rows"], c["in_library"], c["offered_by_others"], c["quarantined"], f" (by field: {c['quarantined_by_field']})" if c["quarantined"] else "",
                 c["scored"], c["recommended"], c["scores_kept"])
    for line in sc.summary_lines(playlists, recommendations, settings.threshold):
        log.info("%s", line)
    log.info("at most %d songs per artist (%s)", per_artist,
             "[model] max_per_artist = \"auto\": from how concentrated your liked songs are on a few artists"
             if settings.max_per_artist == cap.AUTO else "[model] max_per_artist")
    if short:
        log.warning("a short week: %s", short)
    for r in recommendations:
        log.info("%3d. reason: %s", r["rank"], r["reason"])
    for name, table in outputs.items():
        log.info("score ds=%s wrote %s: %s (ds=%s)", ds, name, lake.table(table), ds)
    return metrics
