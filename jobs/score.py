"""Score one date's candidate playlists with the champion model and write the recommendations.

Run it with the venv's spark-submit (see docs/stack.md)::

    spark-submit --master local[2] jobs/score.py --lake /srv/weekly-discovery/lake --ds 2026-11-23 \\
        --config ~/weekly-discovery.toml [--params '{"top_n": 20}']

``--lake`` defaults to ``$WEEKLY_DISCOVERY_LAKE`` and ``--config`` to ``$WEEKLY_DISCOVERY_CONFIG``; the
config's ``[model]`` threshold, top_n and max_per_artist apply, with a manual run's Params (``--params``,
e.g. ``top_n``) on top (:func:`weekly_discovery.spark.runner.job_config`). It reads
``silver/tracks_enriched/ds=D`` and the
champion in force for D (``models/like_model/champion.json``), and writes, each partition staged
and renamed into place:

- ``gold/scores/ds=D``            every candidate track with its probability (null: no usable features),
  of the catalogue only its ``CATALOGUE_SCORES_KEPT`` most probable (:func:`weekly_discovery.recommend.score.scores_kept`);
- ``gold/recommendations/ds=D``   the top N new tracks, each with its ``source`` and one-line ``reason``,
  with ``_metrics.json`` ("N of M" per playlist and per discovery source).

Candidates are the role-``candidates`` rows: the candidate playlists' songs and the songs the discover
DAG found; and, when ``[discover] sources`` lists ``catalog``, every song of the ``[discover] catalog``
file not in the library, read here by Spark (:mod:`weekly_discovery.recommend.catalog`: malformed rows
quarantined and counted, never fatal). Novelty: no song of a library role, none published in the
``[discover] novelty_weeks`` weeks before D (``gold/picks``, :mod:`weekly_discovery.recommend.history`), none
the user removed from the playlist (``gold/removed_picks``, :mod:`weekly_discovery.recommend.removals`); the
sources are mixed round-robin (:func:`weekly_discovery.recommend.score.recommend`).

Only the per-playlist counts and the top N rows come to the driver. The transforms are in
:mod:`weekly_discovery.recommend.score`. Exit status 2: input or champion missing (the log says what to run).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from weekly_discovery.core.config import Model
from weekly_discovery.discover.sources.catalog import describe_file
from weekly_discovery.lake import (
    METRICS,
    RECOMMENDATIONS,
    SCORES,
    TRACKS_ENRICHED,
    Lake,
    check_ds,
)
from weekly_discovery.recommend import catalog, removals, store
from weekly_discovery.recommend import score as sc
from weekly_discovery.spark.runner import (
    enriched_input,
    job_config,
    job_parser,
    job_session,
    parse_job_args,
    run_job,
)
from weekly_discovery.spark.session import write_partition

log = logging.getLogger("weekly_discovery.jobs.score")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return parse_job_args(job_parser(__doc__, settings=True), argv)


def score_date(spark, lake: Lake, ds: str, champion: store.ChampionRef, settings: Model,
               novelty_weeks: int = 12, catalogue: dict[str, Any] | None = None) -> dict[str, Any]:
    """Score ``ds`` with the ``[model]`` settings (threshold, top_n, max_per_artist), keeping out the
    library and the picks of the ``novelty_weeks`` weeks before; write gold/scores and
    gold/recommendations; return the metrics. ``catalogue``: the catalogue file to score too (``path``,
    with its ``size`` and ``modified`` as the metrics record them), or None."""
    from pyspark.sql import Observation
    from pyspark.sql.types import StringType, StructField, StructType

    enriched = spark.read.parquet(str(lake.partition(TRACKS_ENRICHED, ds)))
    model = store.load_model(champion)
    catalogue_rows, observed = None, None
    if catalogue:
        observed = Observation("catalogue")
        catalogue_rows = catalog.catalogue_candidates(catalog.read_catalogue(spark, catalogue["path"]),
                                                      sc.known_track_ids(enriched), catalogue["path"], observed,
                                                      offered=sc.candidate_rows(enriched).select("track_id"))
    # cached with the model's features: a catalogue pick's reason needs them, and the file is read once
    wide = sc.scored_rows(model, enriched, champion.features, settings.threshold, catalogue_rows).cache()
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
    top = sc.recommend(scores, excluded, settings.top_n, settings.max_per_artist)
    recommendations = [row.asDict(recursive=True) for row in top.collect()]  # <= top_n rows
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
        "max_per_artist": settings.max_per_artist,
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
    outputs = {"scores": lake.partition(SCORES, ds), "recommendations": lake.partition(RECOMMENDATIONS, ds)}
    write_partition(sc.scores_kept(scores), lake, outputs["scores"], "parquet", extra_json={METRICS: metrics})
    # the rows written are the rows logged: build the partition from the collected top N
    schema = StructType([*top.schema.fields, StructField("reason", StringType())])
    written = spark.createDataFrame(recommendations, schema=schema) if recommendations else \
        top.selectExpr("*", "cast(null as string) as reason")
    write_partition(written, lake, outputs["recommendations"], "parquet", extra_json={METRICS: metrics})
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
    for r in recommendations:
        log.info("%3d. reason: %s", r["rank"], r["reason"])
    for name, path in outputs.items():
        log.info("score ds=%s wrote %s: %s", ds, name, path)
    return metrics


def run(args: argparse.Namespace) -> None:
    lake = Lake(args.lake)
    ds = check_ds(args.ds)
    config = job_config(args)
    model = config.model
    enriched_input(lake, ds)
    champion = store.champion_for_scoring(lake, ds)  # fail before paying for a Spark session
    catalogue = None
    if "catalog" in config.discover.sources:  # the file must be there: the same check as the discover task's
        catalogue = describe_file(config.discover.catalog).as_dict()
    with job_session(f"weekly-discovery-score-{ds}") as spark:
        score_date(spark, lake, ds, champion, model, config.discover.novelty_weeks, catalogue)


def main(argv: Sequence[str] | None = None) -> int:
    return run_job("score", parse_args, run, argv)


if __name__ == "__main__":
    sys.exit(main())
