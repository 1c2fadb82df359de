"""End-to-end runs through real Airflow (`airflow dags test`) with real spark-submit jobs,
against the Spotify stand-in over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.standin import StandIn


@pytest.fixture(scope="session")
def airflow_db() -> dict[str, str]:
    """The session's Airflow home (set in tests/conftest.py), with its metadata DB migrated."""
    env = dict(os.environ)
    result = subprocess.run(["airflow", "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return env


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
    args = ["airflow", "dags", "test", dag_id, ds]
    if conf:
        args += ["--conf", json.dumps(conf)]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
    return DagRun(result.returncode, result.stdout + result.stderr)
