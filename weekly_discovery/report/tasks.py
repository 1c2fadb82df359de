"""The work behind the library report DAG's Python tasks (the DAG file only wires them)."""

from __future__ import annotations

import logging
from typing import Any

from weekly_discovery.airflow.runtime import fail_fast_on_user_errors, load_run_config, partition_date
from weekly_discovery.lake.layout import Lake, check_ds

log = logging.getLogger(__name__)


def triggering_partition(context: dict[str, Any], asset: Any) -> dict[str, str] | None:
    """``{"ds", "lake_root"}`` from the newest triggering event of ``asset`` whose extra names a date.

    Airflow folds the events that arrived while the DAG was busy into one run: the newest date is
    reported then (older dates can be rerun by hand with the ``ds`` param).
    """
    events_by_asset = context.get("triggering_asset_events") or {}
    try:
        events = list(events_by_asset[asset])
    except (KeyError, TypeError):
        events = [e for evs in getattr(events_by_asset, "values", lambda: [])() for e in evs]
    found = [e for e in events if isinstance(getattr(e, "extra", None), dict) and e.extra.get("ds")]
    if not found:
        return None
    newest = max(found, key=lambda e: (str(e.extra["ds"]), str(getattr(e, "timestamp", ""))))
    dates = sorted({str(e.extra["ds"]) for e in found})
    if len(dates) > 1:
        log.info("several events triggered this run (%s): reporting the newest, ds=%s", ", ".join(dates),
                 newest.extra["ds"])
    return {"ds": check_ds(str(newest.extra["ds"])), "lake_root": str(newest.extra.get("lake_root") or "")}


def run_partition(context: dict[str, Any], config_lake_root: str) -> tuple[str, str, str]:
    """``(ds, lake_root, origin)``: the ``ds`` param of a manual run wins, then the triggering
    ``tracks_enriched`` event (date and lake), then the run's date (airflow_runtime.partition_date)."""
    from weekly_discovery.airflow.assets import ENRICHED_TRACKS

    params = context.get("params") or {}
    if params.get("ds"):
        return check_ds(str(params["ds"])), config_lake_root, "from the ds param"
    event = triggering_partition(context, ENRICHED_TRACKS)
    if event:
        lake_root = config_lake_root
        if event["lake_root"] and Lake(event["lake_root"]).root != Lake(config_lake_root).root:
            log.warning("the triggering event names lake %s but the config says %s: using the event's lake",
                        event["lake_root"], config_lake_root)
            lake_root = event["lake_root"]
        return event["ds"], lake_root, "from the tracks_enriched event"
    return partition_date(context), config_lake_root, "from the run date"


def prepare(context: dict[str, Any]) -> dict[str, Any]:
    """Validate the config and fix the partition date and the report's settings."""
    with fail_fast_on_user_errors():
        config = load_run_config()
        ds, lake_root, origin = run_partition(context, config.lake_root)
    r = config.report
    log.info("partition ds=%s (%s), lake %s", ds, origin, lake_root)
    log.info("report settings: bins of %g, artists with more than %d liked tracks, strong correlation |r| >= %g, "
             "correlation over %s", r.bin_width, r.top_artist_min_tracks, r.strong_correlation,
             ", ".join(config.model.features))
    return {
        "ds": ds,
        "lake_root": lake_root,
        "config_path": str(config.path),
        "bin_width": str(r.bin_width),
        "top_artist_min_tracks": str(int(r.top_artist_min_tracks)),
        "strong_correlation": str(r.strong_correlation),
        "features": ",".join(config.model.features),
    }


def render(run: dict[str, Any], outlet_event: Any = None) -> dict[str, Any]:
    """Render index.html, log the summary and where to open it, announce the report."""
    from weekly_discovery.lake.layout import read_json
    from weekly_discovery.report.analysis import summary_lines
    from weekly_discovery.report.paths import REPORT_JSON, report_dir
    from weekly_discovery.report.render import render_report

    lake = Lake(run["lake_root"])
    path = render_report(lake, run["ds"])
    report = read_json(report_dir(lake, run["ds"]) / REPORT_JSON)
    for line in summary_lines(report, html_path=str(path), ui_route=ui_url(run["ds"])):
        log.info("%s", line)
    if outlet_event is not None:
        outlet_event.extra = {"ds": run["ds"], "lake_root": run["lake_root"]}
    return {"ds": run["ds"], "path": str(path)}


def ui_url(ds: str) -> str:
    """The report's address on the Airflow api-server (``[api] base_url`` + the plugin's route)."""
    from weekly_discovery.report.paths import ui_route

    try:
        from airflow.configuration import conf

        base = conf.get("api", "base_url", fallback="") or ""
    except Exception:  # noqa: BLE001 - outside Airflow the route alone is still useful
        base = ""
    return base.rstrip("/") + ui_route(ds) if base else ui_route(ds)
