"""DAG integrity: every DAG file imports cleanly, declares its policy, and does no I/O at parse time."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((REPO / "dags").glob("*.py"))
EXPECTED_DAGS = {"spotify_ingest", "spotify_discover", "spotify_enrich", "library_report", "weekly_recommendations"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.models import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))  # examples are off via AIRFLOW__CORE__LOAD_EXAMPLES


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_expected_dags_present(dagbag):
    assert EXPECTED_DAGS <= set(dagbag.dag_ids)


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_dag_policy(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.doc_md and len(dag.doc_md) > 100
    assert "weekly-discovery" in dag.tags
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    for task in dag.tasks:
        assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_every_spark_task_submits_a_job_file_of_the_repository(dagbag):
    from weekly_discovery.airflow.spark_submit import PackagedSparkSubmitOperator

    applications = {task.application for dag in dagbag.dags.values() for task in dag.tasks
                    if isinstance(task, PackagedSparkSubmitOperator)}
    assert applications == {str(REPO / "jobs" / f"{name}.py")
                            for name in ("normalize", "lookup_features_file", "enrich", "report", "weekly")}


def _exec_dag_file(path: Path) -> None:
    """Import the DAG file afresh, as each parse does (dags/ is on sys.path, as Airflow puts it: tests/conftest.py)."""
    sys.modules.pop(path.stem, None)
    importlib.import_module(path.stem)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_parsing_looks_up_no_connection_or_variable(path, monkeypatch):
    from airflow.sdk import BaseHook, Variable

    calls = []
    monkeypatch.setattr(BaseHook, "get_connection", classmethod(lambda cls, *a, **k: calls.append(("conn", a))))
    monkeypatch.setattr(Variable, "get", staticmethod(lambda *a, **k: calls.append(("var", a))))
    _exec_dag_file(path)
    assert calls == []


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_parse_time_under_half_a_second(path):
    _exec_dag_file(path)  # warm imports shared by all DAGs (airflow itself)
    best = min(_timed(_exec_dag_file, path) for _ in range(3))
    assert best < 0.5, f"{path.name} took {best:.2f}s to parse"


def _timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started
