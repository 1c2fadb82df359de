"""Compute one date's library report (feature ranges, top artists, correlations, coverage) into report.json.

Run it with the venv's spark-submit (SPARK_HOME = the venv's site-packages/pyspark,
PYSPARK_PYTHON = the venv's python, see docs/stack.md)::

    spark-submit --master local[2] jobs/report.py --lake /srv/weekly-discovery/lake --ds 2026-11-23 \\
        --config ~/weekly-discovery.toml

``--lake`` defaults to ``$WEEKLY_DISCOVERY_LAKE`` and ``--config`` to ``$WEEKLY_DISCOVERY_CONFIG``; the
settings are the config's ``[report]`` table (bin_width, top_artist_min_tracks, strong_correlation) and
its ``[model] features`` (the correlation matrix's). It reads ``silver/tracks_enriched/ds=D`` (and its
``_metrics.json``) and writes ``reports/library/ds=D/report.json``, staged and renamed into place, with
the fingerprint of that input and those settings (:mod:`weekly_discovery.report.freshness`: the report DAG
skips this job while they are unchanged).
Only aggregates reach the driver. Rendering the HTML is a separate step
(:func:`weekly_discovery.report.render.render_report`). Exit status 2: the input is missing
(the log says which step to run).
"""

from __future__ import annotations

import weekly_discovery.spark.installed_pyspark  # noqa: F401  first: pyspark from the installed package

# isort: split
import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from weekly_discovery.core.errors import UserError
from weekly_discovery.lake import METRICS, TRACKS_ENRICHED, Lake, PartitionWriter, check_ds, read_json, tree_bytes
from weekly_discovery.report.analysis import summary_lines
from weekly_discovery.report.compute import ReportSettings, build_report
from weekly_discovery.report.freshness import FINGERPRINT_KEY, input_fingerprint, report_settings
from weekly_discovery.report.paths import REPORT_JSON, report_dir
from weekly_discovery.spark.runner import job_config, job_parser, job_session, parse_job_args, run_job

log = logging.getLogger("weekly_discovery.jobs.report")

# Only what the report reads: Spark prunes the other Parquet columns.
_CONTEXT_COLUMNS = ("track_id", "role", "source_key", "source_name", "primary_artist_id", "primary_artist_name",
                    "feature_status", "feature_source")


class InputMissing(UserError, RuntimeError):
    """The enriched tracks of the date are not there."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return parse_job_args(job_parser(__doc__, settings=True), argv)


def input_partition(lake: Lake, ds: str):
    partition = lake.partition(TRACKS_ENRICHED, ds)
    if not (lake.exists(partition) and any(partition.glob("*.parquet"))):
        raise InputMissing(f"no enriched tracks at {partition}: run the enrich step (the spotify_enrich DAG) "
                           f"for {ds} first")
    return partition


def run_report(spark, lake: Lake, ds: str, settings: ReportSettings,
               fingerprint: dict[str, Any] | None = None) -> dict:
    """Compute and write ``report.json`` for ``ds`` (with ``fingerprint``, what it was computed from); return
    the report."""
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
    if fingerprint is not None:  # the report DAG skips this job while it still matches (report/freshness.py)
        report[FINGERPRINT_KEY] = fingerprint
    with PartitionWriter(lake, report_dir(lake, ds)) as writer:
        writer.write_bytes(REPORT_JSON, (json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n").encode())
    return report


def run(args: argparse.Namespace) -> None:
    lake = Lake(args.lake)
    ds = check_ds(args.ds)
    config = job_config(args)
    input_partition(lake, ds)  # fail on missing input before paying for a Spark session
    # taken before any row is read: an input rewritten while the job runs makes the next run compute again
    fingerprint = input_fingerprint(lake, ds, config)
    size = tree_bytes(lake.partition(TRACKS_ENRICHED, ds))
    with job_session(f"weekly-discovery-report-{ds}", input_bytes=size) as spark:
        report = run_report(spark, lake, ds, report_settings(config), fingerprint)
    for line in summary_lines(report, html_path=None):
        log.info(line)
    log.info("report ds=%s wrote %s", ds, report_dir(lake, ds) / REPORT_JSON)


def main(argv: Sequence[str] | None = None) -> int:
    return run_job("report", parse_args, run, argv)


if __name__ == "__main__":
    sys.exit(main())
