"""`airflow dags test spotify_ingest` end to end: stand-in -> raw -> spark-submit normalize -> silver."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from devtools.standin import StandIn, generate_demo_library, write_demo_config
from tests.e2e.conftest import dags_test, pipeline_env
from weekly_discovery.lake.layout import Lake

pytestmark = pytest.mark.e2e


def expected_tracks_per_source(library) -> dict[str, int]:
    """Written from the library itself, not from the pipeline: one row per distinct real track."""
    out = {"saved_tracks": len({t for _, t in library.saved})}
    for role, sources in library.roles.items():
        for source in sources:
            if source != "saved_tracks":
                out[f"playlist-{source}"] = len(set(library.playlists[source].track_ids()))
    return out


def test_ingest_dag_lands_the_library_and_a_second_week_costs_one_request_per_source(airflow_db, tmp_path):
    library = generate_demo_library(seed=7)
    with StandIn(library) as standin:
        config_path = write_demo_config(library, tmp_path / "weekly-discovery.toml")
        with config_path.open("a") as fh:
            fh.write('\n[lake]\nroot = "lake"\n')
        env = pipeline_env(airflow_db, standin, config_path)

        run = dags_test(env, "spotify_ingest", "2026-11-16")
        assert run.returncode == 0, run.output[-5000:]
        lake = Lake(str(tmp_path / "lake"))
        table = pq.read_table(lake.partition("silver", "tracks", "2026-11-16"))
        counts = {}
        for key in table.column("source_key").to_pylist():
            counts[key] = counts.get(key, 0) + 1
        assert counts == expected_tracks_per_source(library)
        # the task log a person reads: progress lines, counts, paths; never a secret
        assert "saved_tracks: page 14 of 14, 700 of 700 items" in run.output
        assert "silver/tracks: " + str(lake.partition("silver", "tracks", "2026-11-16")) in run.output
        for secret in (standin.client_secret, standin.refresh_token):
            assert secret not in run.output

        standin.reset_counts()
        week2 = dags_test(env, "spotify_ingest", "2026-11-23")
        assert week2.returncode == 0, week2.output[-5000:]
        assert standin.count("/v1/") == 1 + len(expected_tracks_per_source(library))
        metrics = json.loads((lake.partition("silver", "tracks", "2026-11-23") / "_metrics.json").read_text())
        assert {m["mode"] for m in metrics["sources"].values()} == {"unchanged"}
        week2_table = pq.read_table(lake.partition("silver", "tracks", "2026-11-23"))
        assert week2_table.sort_by("track_id").equals(table.sort_by("track_id"))


def test_revoked_token_fails_the_dag_at_once_with_the_fix(airflow_db, tmp_path):
    library = generate_demo_library(seed=7, n_tracks=300)
    with StandIn(library) as standin:
        config_path = write_demo_config(library, tmp_path / "weekly-discovery.toml")
        standin.revoke_refresh_token()
        run = dags_test(pipeline_env(airflow_db, standin, config_path), "spotify_ingest", "2026-11-16")
        assert run.returncode != 0
        assert "invalid_grant" in run.output and "make spotify-auth" in run.output
        assert standin.count("POST /api/token") == 1  # AirflowFailException: no task retries
