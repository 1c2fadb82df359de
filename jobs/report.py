"""Compute one date's library report (feature ranges, top artists, correlations, coverage) into report.json.

Run it with the venv's spark-submit (SPARK_HOME = the venv's site-packages/pyspark,
PYSPARK_PYTHON = the venv's python, see docs/stack.md)::

    spark-submit --master local[2] jobs/report.py --lake /srv/weekly-discovery/lake --ds 2026-11-23 \\
        [--bin-width 0.1] [--top-artist-min-tracks 3] [--strong-correlation 0.5] \\
        [--features danceability,energy,...]

``--lake`` defaults to ``$WEEKLY_DISCOVERY_LAKE``; the other options default to the config's
``[report]`` defaults and ``[model] features``. It reads ``silver/tracks_enriched/ds=D`` (and its
``_metrics.json``) and writes ``reports/library/ds=D/report.json``, staged and renamed into place.
Only aggregates reach the driver. Rendering the HTML is a separate step
(:func:`weekly_discovery.report.render.render_report`). Exit status 2: the input is missing
(the log says which step to run).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence

from weekly_discovery.core.config import Report
from weekly_discovery.core.vocabulary import FEATURE_COLUMNS, POST_FEATURES
from weekly_discovery.lake.layout import METRICS, Lake, LakeError, PartitionWriter, check_ds, read_json
from weekly_discovery.report.analysis import bin_count, summary_lines
from weekly_discovery.report.compute import ReportSettings, build_report
from weekly_discovery.report.paths import REPORT_JSON, report_dir
from weekly_discovery.spark.cli import job_parser, parse_job_args
from weekly_discovery.spark.logs import setup_job_logging

log = logging.getLogger("weekly_discovery.jobs.report")

# Only what the report reads: Spark prunes the other Parquet columns.
_CONTEXT_COLUMNS = ("track_id", "role", "source_key", "source_name", "primary_artist_id", "primary_artist_name",
                    "feature_status", "feature_source")


class InputMissing(RuntimeError):
    """The enriched tracks of the date are not there."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = Report()
    parser = job_parser(__doc__)
    parser.add_argument("--bin-width", type=float, default=defaults.bin_width)
    parser.add_argument("--top-artist-min-tracks", type=int, default=int(defaults.top_artist_min_tracks))
    parser.add_argument("--strong-correlation", type=float, default=defaults.strong_correlation)
    parser.add_argument("--features", default=",".join(POST_FEATURES),
                        help="comma-separated features of the correlation matrix (default: the model's)")
    args = parse_job_args(parser, argv)
    try:
        bin_count(args.bin_width)
    except ValueError as exc:
        parser.error(str(exc))
    args.features = tuple(f.strip() for f in args.features.split(",") if f.strip())
    unknown = [f for f in args.features if f not in FEATURE_COLUMNS]
    if unknown or not args.features:
        parser.error(f"--features: unknown feature(s) {unknown}; expected names from {', '.join(FEATURE_COLUMNS)}")
    return args


def input_partition(lake: Lake, ds: str):
    partition = lake.partition("silver", "tracks_enriched", ds)
    if not (lake.exists(partition) and any(partition.glob("*.parquet"))):
        raise InputMissing(f"no enriched tracks at {partition}: run the enrich step (the spotify_enrich DAG) "
                           f"for {ds} first")
    return partition


def run_report(spark, lake: Lake, ds: str, settings: ReportSettings) -> dict:
    """Compute and write ``report.json`` for ``ds``; return the report."""
    partition = input_partition(lake, ds)
    metrics_path = partition / METRICS
    metrics = read_json(metrics_path) if metrics_path.is_file() else None
    if metrics is None:
        log.warning("no %s beside the enriched tracks: the coverage section will lack the quality gates", METRICS)
    columns = [*_CONTEXT_COLUMNS, *dict.fromkeys([*settings.ratio_features, *settings.correlation_features])]
    # Not cached: each aggregate re-reads only its Parquet columns, which on 1M rows cost the same time as
    # caching the table (benchmarks/report_job.py) without holding it in memory.
    tracks = spark.read.parquet(str(partition)).select(*columns)
    report = build_report(tracks, ds, settings, enrichment_metrics=metrics, input_table=lake.relative(partition))
    with PartitionWriter(lake, report_dir(lake, ds)) as writer:
        writer.write_bytes(REPORT_JSON, (json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n").encode())
    return report


def main(argv: Sequence[str] | None = None) -> int:
    setup_job_logging()
    args = parse_args(argv)
    started = time.monotonic()
    try:
        lake = Lake(args.lake)
        ds = check_ds(args.ds)
        input_partition(lake, ds)  # fail on missing input before paying for a Spark session
    except (LakeError, InputMissing) as exc:
        log.error("report ds=%s failed: %s", args.ds, exc)
        return 2
    settings = ReportSettings(bin_width=args.bin_width, top_artist_min_tracks=args.top_artist_min_tracks,
                              strong_correlation=args.strong_correlation, correlation_features=args.features)

    from weekly_discovery.spark.session import get_spark

    spark = get_spark(f"weekly-discovery-report-{ds}")
    try:
        report = run_report(spark, lake, ds, settings)
    finally:
        spark.stop()
    for line in summary_lines(report, html_path=None):
        log.info(line)
    log.info("report ds=%s wrote %s in %.1f s", ds, report_dir(lake, ds) / REPORT_JSON, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
