"""The demo's ``airflow dags test`` runs show their real duration in the UI.

``dags test`` records a run's start as its logical date; the demo used to pass the partition date, so a
run made at 21:30 for that day's midnight lasted "21h30m" in the UI. It now passes the current time as the
logical date and the partition as the ``ds`` param (:func:`devtools.demo.dags_test`). This runs a one-task
DAG with those arguments and reads the run back from the metadata database the command wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from devtools import demo

pytestmark = pytest.mark.e2e

DAG_FILE = '''
from airflow.sdk import Param, dag, task
import pendulum


@dag(schedule="0 6 * * 1", start_date=pendulum.datetime(2026, 1, 5, tz="UTC"), catchup=False,
     params={"ds": Param(None, type=["null", "string"])})
def demo_like():
    @task
    def prepare(params=None):
        return {"ds": params["ds"]}

    prepare()


demo_like()
'''


def test_a_demo_dags_test_run_lasts_as_long_as_it_ran(tmp_path):
    home, dags = tmp_path / "airflow", tmp_path / "dags"
    dags.mkdir()
    (dags / "demo_like.py").write_text(DAG_FILE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(dags), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    airflow = str(Path(sys.executable).parent / "airflow")
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]

    before = dt.datetime.now(dt.timezone.utc)
    run = subprocess.run([airflow, *demo.dags_test("demo_like", "2026-11-23")], env=env, capture_output=True,
                         text=True, timeout=300)
    after = dt.datetime.now(dt.timezone.utc)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute("SELECT start_date, end_date, logical_date, conf, state FROM dag_run "
                          "WHERE dag_id = 'demo_like'").fetchall()
        xcom = db.execute("SELECT value FROM xcom WHERE dag_id = 'demo_like' AND task_id = 'prepare'").fetchall()
    assert len(rows) == 1, rows
    start, end, logical, conf, state = rows[0]

    def utc(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)

    assert state == "success"
    # started when the command ran (not at the partition's midnight) and ended within it
    assert before - dt.timedelta(seconds=2) <= utc(start) <= utc(end) <= after + dt.timedelta(seconds=2), rows
    assert utc(end) - utc(start) < after - before + dt.timedelta(seconds=2)
    assert before - dt.timedelta(seconds=2) <= utc(logical) <= after
    # the partition date still reaches the DAG, as its ds param
    assert "2026-11-23" in str(conf)
    assert [json.loads(v) for (v,) in xcom] == [{"ds": "2026-11-23"}]
