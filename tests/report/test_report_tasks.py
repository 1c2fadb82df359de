"""The report DAG's wiring and its Python tasks' choices (date, lake, summary), without running Airflow."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.report.conftest import make_report, write_model_outputs, write_report
from weekly_discovery.airflow.assets import LIBRARY_REPORT, RECOMMENDATIONS
from weekly_discovery.lake.layout import Lake
from weekly_discovery.report import tasks as report_tasks

# The partition rule (ds param, then the triggering event, then the run date) is tested once, in
# tests/airflow_layer/test_runtime.py, where resolve_partition lives.


def test_render_task_logs_the_summary_and_where_to_open_it(lake, caplog):
    write_report(lake, make_report("2026-11-23"))
    outlet = SimpleNamespace(extra=None)
    with caplog.at_level(logging.INFO):
        result = report_tasks.render({"ds": "2026-11-23", "lake_root": lake.root, "config_path": "wd.toml"}, outlet)
    assert outlet.extra == {"ds": "2026-11-23", "lake_root": lake.root}
    assert result["path"].endswith("reports/library/ds=2026-11-23/index.html")
    lines = [r.getMessage() for r in caplog.records if r.name == "weekly_discovery.report.tasks"]
    assert lines[0].startswith("library report ds=2026-11-23: 150 distinct tracks (liked 80, reference 80)")
    assert lines[1].startswith("strongest correlations over 400 tracks: energy and loudness: 0.86, "
                               "energy and acousticness: -0.72")
    assert lines[-2] == f"report: {result['path']}"
    assert lines[-1].endswith("/weekly-discovery/reports/2026-11-23/")


@pytest.fixture(scope="module")
def dag():
    from airflow.models import DagBag

    from tests.conftest import REPO

    bag = DagBag(dag_folder=str(REPO / "dags" / "library_report.py"))
    assert bag.import_errors == {}
    return bag.dags["library_report"]


def test_dag_wiring(dag):
    assert [t.task_id for t in dag.topological_sort()] == ["prepare", "analysis_needed", "report", "render"]
    assert dag.max_active_runs == 1 and "weekly-discovery" in dag.tags and len(dag.doc_md) > 100
    # either asset starts a run (Airflow's AssetAny): enrichment, and the weekly model's recommendations
    condition = dag.timetable.asset_condition
    assert type(condition).__name__ == "AssetAny"
    assert [a.name for a in condition.objects] == ["weekly_discovery.tracks_enriched",
                                                   "weekly_discovery.recommendations"]
    render = dag.get_task("render")
    assert [o.name for o in render.outlets] == [LIBRARY_REPORT.name]
    report = dag.get_task("report")
    assert report.application.endswith("jobs/report.py")
    assert "--config" in report.application_args  # the job reads [report] from the config itself
    assert all(t.retries >= 1 for t in dag.tasks)


def test_the_spark_analysis_can_be_skipped_and_render_still_runs(dag):
    """analysis_needed short-circuits report alone: render (a direct downstream of prepare and report, never of
    the short-circuit) runs when report is skipped and not when anything upstream failed."""
    from airflow.providers.standard.operators.python import ShortCircuitOperator

    gate, report, render = dag.get_task("analysis_needed"), dag.get_task("report"), dag.get_task("render")
    assert isinstance(gate, ShortCircuitOperator)
    assert gate.ignore_downstream_trigger_rules is False  # skip the direct downstream only
    assert gate.upstream_task_ids == {"prepare"} and gate.downstream_task_ids == {"report"}
    assert report.upstream_task_ids == {"analysis_needed"} and report.trigger_rule == "all_success"
    assert render.upstream_task_ids == {"prepare", "report"}
    assert render.trigger_rule == "none_failed"
    assert dag.params["recompute"] is False  # the default; a manual run may set it to recompute
    assert dag.params.get_param("recompute").schema["type"] == "boolean"


def _triggering_events(asset, ds, lake_root):
    """The ``triggering_asset_events`` Airflow hands a task run started by one event of ``asset``."""
    from airflow.sdk.api.datamodels._generated import AssetReferenceAssetEventDagRun
    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

    return TriggeringAssetEventsAccessor.build([AssetEventDagRunReferenceResult(
        asset=AssetReferenceAssetEventDagRun(name=asset.name, uri=asset.uri, extra={}),
        extra={"ds": ds, "lake_root": lake_root}, source_task_id="publish", source_dag_id="weekly_recommendations",
        source_run_id="asset_triggered__x", source_map_index=-1, source_aliases=[],
        timestamp=dt.datetime(2026, 11, 23, 9, tzinfo=dt.timezone.utc))])


def test_the_recommendations_event_renders_its_week_with_the_model_section(tmp_path, monkeypatch, caplog):
    """The weekly DAG no longer re-renders the page: its recommendations event starts the report DAG, whose run
    must take the event's date and lake (not the run's own date) and show the week's model."""
    config_lake = event_lake = tmp_path / "lake"  # an event naming another lake is refused (test_runtime.py)
    config = tmp_path / "wd.toml"
    config.write_text(f'[sources]\nliked = ["saved_tracks"]\n\n[lake]\nroot = "{config_lake}"\n')
    monkeypatch.setenv("WEEKLY_DISCOVERY_CONFIG", str(config))
    monkeypatch.delenv("WEEKLY_DISCOVERY_LAKE", raising=False)
    context = {"params": {"ds": None}, "logical_date": None,
               "dag_run": SimpleNamespace(run_after=dt.datetime(2026, 11, 25, 6, tzinfo=dt.timezone.utc)),
               "triggering_asset_events": _triggering_events(RECOMMENDATIONS, "2026-11-23", str(event_lake))}
    with caplog.at_level(logging.INFO):
        run = report_tasks.prepare(context)
    assert (run["ds"], run["lake_root"]) == ("2026-11-23", str(event_lake))
    assert "partition ds=2026-11-23 (from the recommendations event)" in caplog.text

    lake = Lake(str(event_lake))  # what the report job and the weekly DAG wrote there for that week
    write_report(lake, make_report("2026-11-23"))
    write_model_outputs(lake, "2026-11-23", label="Plain name")
    page = Path(report_tasks.render(run)["path"]).read_text()
    model = page.split('<section id="model">')[1]
    assert "not run yet" not in model
    assert "Model version 2026-11-23" in model
    assert "12 of 50" in model


def test_render_without_report_json_fails_without_retry(tmp_path):
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="no report for ds=2026-11-23 at .*: run the library_report DAG"):
        report_tasks.render({"ds": "2026-11-23", "lake_root": str(tmp_path / "lake"), "config_path": "wd.toml"})
