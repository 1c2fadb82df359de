"""The work behind the library report DAG's Python tasks (the DAG file only wires them)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from weekly_discovery.airflow.runtime import TaskRun, fail_fast_on_user_errors, load_run_config, resolve_partition
from weekly_discovery.lake import Lake

log = logging.getLogger(__name__)


def prepare(context: dict[str, Any]) -> dict[str, Any]:
    """Validate the config and fix the partition; the report job reads its settings from the config
    (``--config``: ``[report]`` and ``[model] features``), logged here."""
    with fail_fast_on_user_errors():
        config = load_run_config()
        ds, lake_root, origin = resolve_partition(context, config)
    r = config.report
    log.info("partition ds=%s (%s), lake %s", ds, origin, lake_root)
    log.info("report settings: bins of %g, artists with more than %d liked tracks, strong correlation |r| >= %g, "
             "correlation over %s", r.bin_width, r.top_artist_min_tracks, r.strong_correlation,
             ", ".join(config.model.features))
    return TaskRun(ds, lake_root, str(config.path)).to_xcom()


def analysis_needed(xcom: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> bool:
    """Whether the Spark analysis must run: False when ``report.json`` of the date was computed from the
    enriched tracks of the date and the settings there now (:mod:`weekly_discovery.report.freshness`), unless the
    ``recompute`` param asks for it. Logs why, either way; ``render`` then re-renders the page."""
    from weekly_discovery.report.freshness import decide
    from weekly_discovery.settings.config import load_config

    with fail_fast_on_user_errors():
        run = TaskRun.from_xcom(xcom)
        config = load_config(run.config_path)  # the file the job reads (--config), as prepare resolved it
    decision = decide(Lake(run.lake_root), run.ds, config, recompute=bool((params or {}).get("recompute")))
    log.info("%s", decision.reason)
    return decision.run_analysis


def render(xcom: Mapping[str, Any], outlet_event: Any = None) -> dict[str, Any]:
    """Render index.html, log the summary and where to open it, announce the report."""
    from weekly_discovery.lake import read_json
    from weekly_discovery.report.analysis import summary_lines
    from weekly_discovery.report.paths import REPORT_JSON, report_dir
    from weekly_discovery.report.render import render_report

    with fail_fast_on_user_errors():  # no report.json: run the report job first, a retry won't make one
        run = TaskRun.from_xcom(xcom)
        lake = Lake(run.lake_root)
        path = render_report(lake, run.ds)
    report = read_json(report_dir(lake, run.ds) / REPORT_JSON)
    for line in summary_lines(report, html_path=str(path), ui_route=ui_url(run.ds)):
        log.info("%s", line)
    if outlet_event is not None:
        outlet_event.extra = {"ds": str(run.ds), "lake_root": run.lake_root}
    return {"ds": str(run.ds), "path": str(path)}


def ui_url(ds: str) -> str:
    """The report's address on the Airflow api-server (``[api] base_url`` + the plugin's route)."""
    from weekly_discovery.report.paths import ui_route

    try:
        from airflow.configuration import conf

        base = conf.get("api", "base_url", fallback="") or ""
    except Exception:  # noqa: BLE001 - outside Airflow the route alone is still useful
        base = ""
    return base.rstrip("/") + ui_route(ds) if base else ui_route(ds)
