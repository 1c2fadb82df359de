"""One week's scoring: the champion's probability for every candidate, the picks, both written to the lake.

:func:`score_date` is what the score step runs (:mod:`weekly_discovery.recommend.job`): it reads the week's
enriched rows (and the catalogue file, if one is scored), scores them with the champion, keeps the library,
the recent picks and the removed ones out, caps each artist, writes ``gold/scores`` and
``gold/recommendations`` with their ``_metrics.json``, and logs one line per step and each pick's reason.
The transforms are in :mod:`weekly_discovery.recommend.scoring.score`.
"""

from __future__ import annotations

import logging
from typing import Any

from weekly_discovery.lake import METRICS, RECOMMENDATIONS, SCORES, TRACKS_ENRICHED, Lake
from weekly_discovery.recommend.model import store
from weekly_discovery.recommend.publish import removals
from weekly_discovery.recommend.scoring import cap, catalog
from weekly_discovery.recommend.scoring import score as sc
from weekly_discovery.settings.config import Model
from weekly_discovery.spark import delta

log = logging.getLogger(__name__)


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
