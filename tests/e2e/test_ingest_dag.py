"""`airflow dags test spotify_ingest` with a revoked refresh token: it fails at once, naming the fix.

The ingest DAG's run that lands a library (and its second week, one request per source) is part of the
chain in tests/e2e/test_pipeline.py."""

from __future__ import annotations


import pytest

from devtools.standin import StandIn, generate_demo_library, write_demo_config
from tests.e2e.conftest import dags_test, pipeline_env

pytestmark = pytest.mark.e2e


def test_revoked_token_fails_the_dag_at_once_with_the_fix(airflow_db, tmp_path):
    library = generate_demo_library(seed=7, n_tracks=300)
    with StandIn(library) as standin:
        config_path = write_demo_config(library, tmp_path / "weekly-discovery.toml")
        standin.revoke_refresh_token()
        run = dags_test(pipeline_env(airflow_db, standin, config_path), "spotify_ingest", "2026-11-16")
        assert run.returncode != 0
        assert "invalid_grant" in run.output and "make spotify-auth" in run.output
        assert standin.count("POST /api/token") == 1  # AirflowFailException: no task retries
