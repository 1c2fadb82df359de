"""`airflow dags test weekly_recommendations` on a lake whose enriched partition has no labelled rows:
the train job (real spark-submit) exits 2, a user error, and its task fails at once, without retry.

Before the exit-status contract, the same run retried train twice with 2-4 minutes of back-off
(seen on a real library: an empty labelled set retried for six minutes).
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import dags_test
from tests.recommend.kit import row, write_enriched
from weekly_discovery.lake.layout import Lake

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

DS = "2026-10-05"  # a date no other end-to-end test runs this DAG for (they share one metadata DB)


def task_instances(dag_id: str, ds: str) -> dict[str, tuple[str, int]]:
    """``{task_id: (state, try_number)}`` of the DAG's run for ``ds``, read from the metadata DB."""
    import pendulum
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        [run] = session.query(DagRun).filter(DagRun.dag_id == dag_id,
                                             DagRun.logical_date == pendulum.parse(ds)).all()
        tis = session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id,
                                                 TaskInstance.run_id == run.run_id).all()
        return {ti.task_id: (str(ti.state), ti.try_number) for ti in tis}


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
    states = task_instances("weekly_recommendations", DS)
    assert states["prepare"] == ("success", 1)
    assert states["train"] == ("failed", 1), run.output[-5000:]  # not up_for_retry, no second try
    assert states["score"][0] == "upstream_failed" and states["publish"][0] == "upstream_failed"
    # (no wall-clock bound: a retried train would show as try_number 2 or 3 above, whatever the machine's load)
    # the task log a person reads: the job's message with its fix, then why the task was not retried
    assert f"train ds={DS} failed: the labelled set has 0 liked and 0 disliked usable tracks" in run.output
    assert "Add disliked songs to a disliked playlist" in run.output
    assert "the Spark job stopped on a user error (exit status 2); retrying won't help" in run.output
