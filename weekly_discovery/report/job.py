"""Compute one date's library report (feature ranges, top artists, correlations, coverage) into report.json.

Run it with the venv's spark-submit (SPARK_HOME = the venv's site-packages/pyspark,
PYSPARK_PYTHON = the venv's python, see docs/stack.md)::

    spark-submit --master local[2] jobs/report.py --lake /srv/weekly-discovery/lake --ds 2026-11-23 \\
        --config ~/weekly-discovery.toml

``--lake`` defaults to ``$WEEKLY_DISCOVERY_LAKE`` and ``--config`` to ``$WEEKLY_DISCOVERY_CONFIG``; the
settings are the config's ``[report]`` table (bin_width, top_artist_min_tracks, strong_correlation) and
its ``[model] features`` (the correlation matrix's). It reads date D of the Delta table
``silver/tracks_enriched`` (and the ``_metrics.json`` beside it) and writes ``reports/library/ds=D/report.json``
(a plain file, written atomically; the date's old ``index.html`` is removed first, ``render`` writes the
new one last), with the fingerprint of that input and those settings
(:mod:`weekly_discovery.report.freshness`: the report DAG skips this job while they are unchanged).
Only aggregates reach the driver. Rendering the HTML is a separate step
(:func:`weekly_discovery.report.render.render_report`). Exit status 2: the input is missing
(the log says which step to run).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from typing import Any

from weekly_discovery.core.errors import UserError
from weekly_discovery.lake import METRICS, TRACKS_ENRICHED, Lake, PartitionDate, delta, read_json, write_atomic
from weekly_discovery.report.analysis import summary_lines
from weekly_discovery.report.compute import ReportSettings, build_report
from weekly_discovery.report.freshness import FINGERPRINT_KEY, input_fingerprint, report_settings
from weekly_discovery.report.paths import INDEX_HTML, REPORT_JSON, report_dir
from weekly_discovery.spark.delta import read_date
from weekly_discovery.spark.runner import job_config, job_parser, job_session, parse_job_args, run_job

log = logging.getLogger(__name__)

# Only what the report reads: Spark prunes the other Parquet columns of the Delta table.
_CONTEXT_COLUMNS = ("track_id", "role", "source_key", "source_name", "primary_artist_id", "primary_artist_name",
                    "feature_status", "feature_source")


class InputMissing(UserError, RuntimeError):
    """The enriched tracks of the date are not there."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return parse_job_args(job_parser(__doc__, settings=True), argv)


def check_input(lake: Lake, ds: PartitionDate) -> None:
    """Raise :class:`InputMissing` unless enrichment ran for ``ds``: the table has rows of that date, or (a
    library without tracks) the date's ``_metrics.json`` is there. Reads the Delta log only (no JVM)."""
    if delta.has_date(lake, TRACKS_ENRICHED, ds):
        return
    if delta.exists(lake, TRACKS_ENRICHED) and (lake.partition(TRACKS_ENRICHED, ds) / METRICS).is_file():
        return
    raise InputMissing(f"no enriched tracks of ds={ds} in {lake.table(TRACKS_ENRICHED)}: run the enrich step "
                       f"(the spotify_enrich DAG) for {ds} first")


def run_report(spark, lake: Lake, ds: PartitionDate, settings: ReportSettings,
               fingerprint: dict[str, Any] | None = None) -> dict:
    """Compute and write ``report.json`` for ``ds`` (with ``fingerprint``, what it was computed from); return
    the report. The caller has checked the input (:func:`check_input`)."""
    partition = lake.partition(TRACKS_ENRICHED, ds)  # the date's folder: its _metrics.json, and its name
    metrics_path = partition / METRICS
    metrics = read_json(metrics_path) if metrics_path.is_file() else None
    if metrics is None:
        log.warning("no %s beside the enriched tracks: the coverage section will lack the quality gates", METRICS)
    columns = [*_CONTEXT_COLUMNS, *dict.fromkeys([*settings.ratio_features, *settings.correlation_features])]
    # Not cached: each aggregate re-reads only its Parquet columns, which on 1M rows cost the same time as
    # caching the table (benchmarks/report_job.py) without holding it in memory.
    tracks = read_date(spark, lake, TRACKS_ENRICHED, ds).select(*columns)
    report = build_report(tracks, ds, settings, enrichment_metrics=metrics, input_table=lake.relative(partition))
    if fingerprint is not None:  # the report DAG skips this job while it still matches (report/freshness.py)
        report[FINGERPRINT_KEY] = fingerprint
    write_report_json(lake, ds, report)
    return report


def write_report_json(lake: Lake, ds: PartitionDate, report: dict) -> None:
    """``reports/library/ds=D/report.json``, written atomically. The date's ``index.html`` goes first: a page
    shows the numbers of the report.json beside it, and ``render`` writes the new page last."""
    folder = report_dir(lake, ds)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / INDEX_HTML).unlink(missing_ok=True)
    body = (json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()
    write_atomic(folder / REPORT_JSON, body)


def run(args: argparse.Namespace) -> None:
    lake = Lake(args.lake)
    ds = args.ds
    config = job_config(args)
    check_input(lake, ds)  # fail on missing input before paying for a Spark session
    # taken before any row is read: an input rewritten while the job runs makes the next run compute again
    fingerprint = input_fingerprint(lake, ds, config)
    size = sum(f["size"] for f in fingerprint["input"]["files"].values())  # the date's files in the Delta log
    with job_session(f"weekly-discovery-report-{ds}", input_bytes=size) as spark:
        report = run_report(spark, lake, ds, report_settings(config), fingerprint)
    for line in summary_lines(report, html_path=None):
        log.info(line)
    log.info("report ds=%s wrote %s", ds, report_dir(lake, ds) / REPORT_JSON)


def main(argv: Sequence[str] | None = None) -> int:
    return run_job("report", parse_args, run, argv)
