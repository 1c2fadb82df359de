"""Score one date's candidate playlists with the champion model and write the recommendations.

Run it with the venv's spark-submit (see docs/stack.md)::

    spark-submit --master local[2] jobs/score.py --lake /srv/weekly-discovery/lake --ds 2026-11-23 \\
        --top-n 30 --max-per-artist 2 --threshold 0.5

``--lake`` defaults to ``$WEEKLY_DISCOVERY_LAKE``. It reads ``silver/tracks_enriched/ds=D`` and the
champion in force for D (``models/like_model/champion.json``), and writes, each partition staged
and renamed into place:

- ``gold/scores/ds=D``            every candidate track with its probability (null: no usable features);
- ``gold/recommendations/ds=D``   the top N new tracks, with ``_metrics.json`` ("N of M" per playlist).

Only the per-playlist counts and the top N rows come to the driver. The transforms are in
:mod:`weekly_discovery.recommend.score`. Exit status 2: input or champion missing (the log says what to run).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from weekly_discovery.core.config import Model
from weekly_discovery.lake.layout import METRICS, Lake, LakeError, check_ds
from weekly_discovery.recommend import score as sc
from weekly_discovery.recommend import store
from weekly_discovery.spark.cli import enriched_input, job_parser, parse_job_args
from weekly_discovery.spark.logs import setup_job_logging
from weekly_discovery.spark.session import get_spark, write_partition

log = logging.getLogger("weekly_discovery.jobs.score")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = Model()
    parser = job_parser(__doc__)
    parser.add_argument("--top-n", type=int, default=defaults.top_n)
    parser.add_argument("--max-per-artist", type=int, default=defaults.max_per_artist)
    parser.add_argument("--threshold", type=float, default=defaults.threshold)
    args = parse_job_args(parser, argv)
    if args.top_n < 1 or args.max_per_artist < 1 or not 0.0 <= args.threshold <= 1.0:
        parser.error("--top-n and --max-per-artist must be >= 1 and --threshold between 0 and 1")
    return args


def score_date(spark, lake: Lake, ds: str, champion: store.ChampionRef, args: argparse.Namespace) -> dict[str, Any]:
    """Score ``ds``, write gold/scores and gold/recommendations; return the metrics."""
    enriched = spark.read.parquet(str(lake.partition("silver", "tracks_enriched", ds)))
    model = store.load_model(champion)
    scores = sc.score_candidates(model, enriched, champion.features, args.threshold).cache()
    playlists = [row.asDict() for row in sc.playlist_summary(scores).collect()]
    top = sc.recommend(scores, sc.known_track_ids(enriched), args.top_n, args.max_per_artist)
    recommendations = [row.asDict(recursive=True) for row in top.collect()]  # <= top_n rows
    metrics = {
        "ds": ds,
        "model_version": champion.version,
        "model": {**champion.candidate.to_dict(), "features": list(champion.features)},
        "threshold": args.threshold,
        "top_n": args.top_n,
        "max_per_artist": args.max_per_artist,
        "playlists": playlists,
        "candidates": {"rows": sum(p["total"] for p in playlists), "scored": sum(p["scored"] for p in playlists),
                       "recommended": sum(p["recommended"] for p in playlists)},
        "recommended": len(recommendations),
    }
    outputs = {"scores": lake.partition("gold", "scores", ds), "recommendations": lake.partition("gold", "recommendations", ds)}
    write_partition(scores.orderBy("source_key", "position"), lake, outputs["scores"], "parquet",
                    extra_json={METRICS: metrics})
    # the rows written are the rows logged: build the partition from the collected top N
    written = spark.createDataFrame(recommendations, schema=top.schema) if recommendations else top
    write_partition(written, lake, outputs["recommendations"], "parquet", extra_json={METRICS: metrics})
    scores.unpersist()

    log.info("scored with champion %s (%s, features %s)", champion.version, champion.candidate.label(),
             ", ".join(champion.features))
    for line in sc.summary_lines(playlists, recommendations, args.threshold):
        log.info("%s", line)
    for name, path in outputs.items():
        log.info("score ds=%s wrote %s: %s", ds, name, path)
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    setup_job_logging()
    args = parse_args(argv)
    started = time.monotonic()
    try:
        lake = Lake(args.lake)
        ds = check_ds(args.ds)
        enriched_input(lake, ds)
        champion = store.champion_for_scoring(lake, ds)  # fail before paying for a Spark session
    except (LakeError, store.NoChampion) as exc:
        log.error("score ds=%s failed: %s", args.ds, exc)
        return 2

    spark = get_spark(f"weekly-discovery-score-{ds}")
    try:
        score_date(spark, lake, ds, champion, args)
    finally:
        spark.stop()
    log.info("score ds=%s done in %.1f s", ds, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
