"""The report DAG's wiring and its Python tasks' choices (date, lake, summary), without running Airflow."""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace

import pytest

from tests.report.conftest import make_report, write_report
from weekly_discovery.airflow.assets import ENRICHED_TRACKS, LIBRARY_REPORT
from weekly_discovery.report import tasks as report_tasks


def event(ds, lake_root, minute=0):
    return SimpleNamespace(extra={"ds": ds, "lake_root": lake_root},
                           timestamp=dt.datetime(2026, 11, 23, 7, minute, tzinfo=dt.timezone.utc))


def context(events=None, params=None, run_after=dt.datetime(2026, 11, 25, 6, tzinfo=dt.timezone.utc)):
    return {"params": params or {}, "triggering_asset_events": {ENRICHED_TRACKS: events or []},
            "logical_date": None, "dag_run": SimpleNamespace(run_after=run_after)}


def test_date_and_lake_from_the_newest_triggering_event(tmp_path, caplog):
    config_lake, event_lake = str(tmp_path / "a"), str(tmp_path / "b")
    ctx = context([event("2026-11-16", event_lake), event("2026-11-23", event_lake, 5)])
    with caplog.at_level(logging.INFO):
        assert report_tasks.run_partition(ctx, config_lake) == ("2026-11-23", event_lake,
                                                                "from the tracks_enriched event")
    assert "several events triggered this run (2026-11-16, 2026-11-23)" in caplog.text
    assert "using the event's lake" in caplog.text


def test_ds_param_wins_then_the_run_date(tmp_path):
    lake = str(tmp_path)
    assert report_tasks.run_partition(context([event("2026-11-23", lake)], {"ds": "2026-11-02"}), lake)[0] \
        == "2026-11-02"
    assert report_tasks.run_partition(context(), lake) == ("2026-11-25", lake, "from the run date")
    with pytest.raises(ValueError):
        report_tasks.run_partition(context([event("../../x", lake)]), lake)


def test_render_task_logs_the_summary_and_where_to_open_it(lake, caplog):
    write_report(lake, make_report("2026-11-23"))
    outlet = SimpleNamespace(extra=None)
    with caplog.at_level(logging.INFO):
        result = report_tasks.render({"ds": "2026-11-23", "lake_root": lake.root}, outlet)
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
    assert [t.task_id for t in dag.topological_sort()] == ["prepare", "report", "render"]
    assert dag.max_active_runs == 1 and "weekly-discovery" in dag.tags and len(dag.doc_md) > 100
    assert [a.name for a in dag.timetable.asset_condition.objects] == [ENRICHED_TRACKS.name]
    render = dag.get_task("render")
    assert [o.name for o in render.outlets] == [LIBRARY_REPORT.name]
    report = dag.get_task("report")
    assert report.application.endswith("jobs/report.py")
    assert "--strong-correlation" in report.application_args
    assert all(t.retries >= 1 for t in dag.tasks)
