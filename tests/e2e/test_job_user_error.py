"""`airflow dags test weekly_recommendations` on a lake whose enriched partition has no labelled rows:
the weekly job's training step (real spark-submit of jobs/weekly.py) exits 2, a user error, and its task
(``train_and_score``) fails at once, without retry; scoring never starts.

Before the exit-status contract, the same run retried train twice with 2-4 minutes of back-off
(seen on a real library: an empty labelled set retried for six minutes).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3

import pytest

from tests.e2e.conftest import dags_test
from tests.recommend.kit import row, write_enriched
from weekly_discovery.lake import delta
from weekly_discovery.lake.layout import SCORES, Lake

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

DS = "2026-10-05"  # a date no other end-to-end test runs this DAG for (they share one metadata DB)


def task_instances(env: dict[str, str], dag_id: str, ds: str) -> dict[str, tuple[str, int]]:
    """``{task_id: (state, try_number)}`` of the DAG's run for ``ds``, read from the metadata DB that
    ``airflow dags test`` wrote (the SQLite file of ``env``'s Airflow home; this process's own Airflow
    settings may point elsewhere, depending on which tests ran before)."""
    conn = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") or f"sqlite:///{env['AIRFLOW_HOME']}/airflow.db"
    assert conn.startswith("sqlite:///"), conn
    with contextlib.closing(sqlite3.connect(conn[len("sqlite:///"):])) as db:
        rows = db.execute(
            "SELECT ti.task_id, ti.state, ti.try_number FROM task_instance ti JOIN dag_run dr"
            " ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id"
            " WHERE dr.dag_id = ? AND dr.logical_date LIKE ?", (dag_id, f"{ds}%")).fetchall()
    assert rows, f"no task instances of {dag_id} for {ds} in {conn}"
    return {task_id: (str(state), int(try_number)) for task_id, state, try_number in rows}


def test_a_spark_jobs_user_error_fails_its_task_without_retry(airflow_db, tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    write_enriched(lake, DS, [row("c1", "candidates", artist="ar20", position=0),
                              row("c2", "candidates", artist="ar21", position=1)])  # nothing liked or disliked
    config = tmp_path / "weekly-discovery.toml"
    config.write_text(f'[sources]\nliked = ["saved_tracks"]\n\n[lake]\nroot = "{lake.root}"\n')
    env = dict(airflow_db, WEEKLY_DISCOVERY_CONFIG=str(config),
               AIRFLOW_CONN_SPARK_DEFAULT=json.dumps({"conn_type": "spark", "host": "local[2]"}))
    env.pop("WEEKLY_DISCOVERY_LAKE", None)

    run = dags_test(env, "weekly_recommendations", DS)

    assert run.returncode != 0, run.output[-5000:]
    states = task_instances(env, "weekly_recommendations", DS)
    assert states["prepare"] == ("success", 1)
    assert states["train_and_score"] == ("failed", 1), run.output[-5000:]  # not up_for_retry, no second try
    assert states["publish"][0] == "upstream_failed" and states["vacuum"][0] == "upstream_failed"
    assert set(states) == {"prepare", "train_and_score", "publish", "vacuum"}
    # (no wall-clock bound: a retried train would show as try_number 2 or 3 above, whatever the machine's load)
    # the task log a person reads: the job's message with its fix, then why the task was not retried
    assert f"train ds={DS} stopped after" in run.output  # the step that stopped the job; scoring never started
    assert not delta.has_date(lake, SCORES, DS)
    assert f"train_and_score ds={DS} failed: the training set has 0 liked and 0 other usable tracks" in run.output
    assert "Add liked songs; keep [model] background" in run.output
    assert "the Spark job stopped on a user error (exit status 2); retrying won't help" in run.output
