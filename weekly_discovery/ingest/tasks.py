"""The work behind the ingest DAG's Python tasks (the DAG file only wires them)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from weekly_discovery.airflow.runtime import (
    TaskRun,
    fail_fast_on_user_errors,
    load_run_config,
    resolve_partition,
    spotify_api,
)
from weekly_discovery.core.vocabulary import ROLES
from weekly_discovery.lake import BRONZE_ITEMS, METRICS, QUARANTINE_ITEMS, SILVER_TRACKS, Lake, PartitionDate
from weekly_discovery.lake.delta import has_date
from weekly_discovery.settings.config import load_config

log = logging.getLogger(__name__)


def prepare(context: dict[str, Any]) -> dict[str, Any]:
    """Validate the config and fix the partition date before anything is fetched."""
    with fail_fast_on_user_errors():
        config = load_run_config()
        ds = resolve_partition(context, config).ds
    for role in ROLES:
        names = ", ".join(s.describe() for s in config.sources_in(role)) or "-"
        log.info("config %s: %s = %s", config.path, role, names)
    log.info("partition ds=%s, lake %s", ds, config.lake_root)
    return TaskRun(ds, config.lake_root, str(config.path)).to_xcom()


def extract(xcom: Mapping[str, Any], full_resync: bool) -> dict[str, Any]:
    """Extract every configured source into the raw layer for the run's date."""
    from weekly_discovery.ingest.extract import extract_library

    with fail_fast_on_user_errors():
        run = TaskRun.from_xcom(xcom)
        config = load_config(run.config_path)
        api = spotify_api(config.spotify_connection_id)
        summary = extract_library(api, config.lake, config, run.ds, full_resync=full_resync)
    return summary.to_dict()


def publish_tracks(xcom: Mapping[str, Any], outlet_event: Any) -> dict[str, Any]:
    """Log what landed where and announce the run's date of the silver tracks table to downstream DAGs."""
    run = TaskRun.from_xcom(xcom)
    lake = Lake(run.lake_root)
    metrics = tracks_metrics(lake, run.ds)
    for line in landed_lines(lake, run.ds, metrics):
        log.info("%s", line)
    outlet_event.extra = {"ds": str(run.ds), "lake_root": run.lake_root}
    return metrics["totals"]


def tracks_metrics(lake: Lake, ds: PartitionDate) -> dict[str, Any]:
    """The normalize job's metrics of ``ds``: written after its silver tracks commit, they are the proof
    the date was normalized (a date can have no tracks, so no rows)."""
    path = lake.partition(SILVER_TRACKS, ds) / METRICS
    if not path.is_file():
        state = "has rows" if has_date(lake, SILVER_TRACKS, ds) else "has no rows"
        raise FileNotFoundError(f"{path} is missing ({SILVER_TRACKS} {state} for ds={ds}): the normalize job did "
                                f"not complete for {ds}; rerun the ingest DAG for that date")
    return json.loads(path.read_text())


def landed_lines(lake: Lake, ds: str, metrics: dict[str, Any]) -> list[str]:
    """Human-readable lines: counts per source and where each output table's date is."""
    lines = []
    for key, m in sorted(metrics["sources"].items()):
        reasons = ", ".join(f"{r}={n}" for r, n in sorted(m["quarantined"].items()) if n)
        lines.append(f"{m['role']:<10} {m.get('name') or key}: {m['tracks']} tracks from {m['items']} items "
                     f"({m['mode']}; quarantined {m['quarantined_total']}{': ' + reasons if reasons else ''})")
    totals = metrics["totals"]
    lines.append(f"total: {totals['tracks']} tracks ({totals['unique_tracks']} distinct per role) from "
                 f"{totals['sources']} sources, {totals['quarantined_total']} items quarantined")
    for table in (BRONZE_ITEMS, SILVER_TRACKS, QUARANTINE_ITEMS):
        lines.append(f"{table}: ds={ds} of the Delta table {lake.table(table)}")
    return lines
