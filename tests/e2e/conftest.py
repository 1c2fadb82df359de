"""End-to-end runs through real Airflow (`airflow dags test`) with real spark-submit jobs,
against the Spotify stand-in over HTTP.

As in `make demo`, the `airflow` commands run in forks of one warm process per test worker
(:mod:`devtools.warm_airflow`: Airflow imported and its in-process execution API built once, ~6 s of CPU
saved per command; each command is still its own process with its own environment), and the
spark-submits get the demo's small-job settings (:func:`devtools.demo.small_job_env`), as every
Spark JVM of the test session does (tests/conftest.py).
``WEEKLY_DISCOVERY_WARM_AIRFLOW=off`` runs plain ``airflow`` commands instead."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools import warm_airflow
from devtools.standin import StandIn


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory) -> dict[str, str]:
    """The session's Airflow home (set in tests/conftest.py), with its metadata DB migrated; the environment
    names the warm Airflow process the commands of :func:`dags_test` run in, and the small-job Spark settings."""
    folder = tmp_path_factory.mktemp("e2e-airflow")
    env = dict(os.environ)  # SPARK_SUBMIT_OPTS: the small-job settings, set for the whole session (tests/conftest.py)
    result = subprocess.run(["airflow", "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with warm_airflow.warm_server(env, folder / "warm-airflow.log") as warm_env:
        yield warm_env


@dataclass
class DagRun:
    returncode: int
    output: str


def pipeline_env(base: dict[str, str], standin: StandIn, config_path: Path) -> dict[str, str]:
    env = dict(base)
    env.update(
        AIRFLOW_CONN_SPOTIFY_DEFAULT=standin.connection_json(),
        AIRFLOW_CONN_SPARK_DEFAULT=json.dumps({"conn_type": "spark", "host": "local[2]"}),
        WEEKLY_DISCOVERY_CONFIG=str(config_path),
    )
    env.pop("WEEKLY_DISCOVERY_LAKE", None)
    return env


def dags_test(env: dict[str, str], dag_id: str, ds: str, conf: dict | None = None) -> DagRun:
    args = ["dags", "test", dag_id, ds]
    if conf:
        args += ["--conf", json.dumps(conf)]
    result = subprocess.run(warm_airflow.command(args, env), env=env, capture_output=True, text=True, timeout=900)
    return DagRun(result.returncode, result.stdout + result.stderr)
