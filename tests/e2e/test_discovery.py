"""Issue 13 end to end: a config with NO candidate playlist gets a full playlist of new songs, two Mondays
in a row, through real Airflow (`airflow dags test`) against the stand-in: ingest -> discover -> enrich ->
weekly. Lean on purpose (a small library, the quick grid, top_n 8): it is the one discovery e2e run."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from devtools.standin import StandIn, generate_demo_library
from tests.e2e.conftest import dags_test, pipeline_env
from weekly_discovery.lake.layout import Lake

pytestmark = pytest.mark.e2e
MONDAYS = ("2026-11-23", "2026-11-30")
CHAIN = ("spotify_ingest", "spotify_discover", "spotify_enrich", "weekly_recommendations")
TOP_N = 8


@pytest.fixture(scope="module")
def weeks(airflow_db, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("discovery")
    library = generate_demo_library(seed=7, n_tracks=500)
    with StandIn(library, audio_features="forbidden") as standin:
        config_path = tmp / "weekly-discovery.toml"
        sources = "".join(f"{role} = {json.dumps(list(library.role_sources(role)))}\n"
                          for role in ("liked", "disliked", "reference"))  # no candidates: none configured
        config_path.write_text(
            f"[sources]\n{sources}\n[lake]\nroot = \"lake\"\n"
            f"[enrichment]\nproviders = [\"spotify\", \"reccobeats\"]\nreccobeats_url = \"{standin.reccobeats_url}\"\n"
            f"[model]\ngrid = \"quick\"\ntop_n = {TOP_N}\n"
            f"[discover]\nsources = [\"reccobeats\", \"artists\"]\nreccobeats_url = \"{standin.reccobeats_url}\"\n",
            encoding="utf-8")
        env = pipeline_env(airflow_db, standin, config_path)
        playlists = {}
        for ds in MONDAYS:
            for dag_id in CHAIN:
                run = dags_test(env, dag_id, ds)
                assert run.returncode == 0, f"{dag_id} {ds} failed:\n{run.output[-6000:]}"
            published = json.loads((tmp / "lake" / "gold" / "published" / f"ds={ds}" / "_publish.json").read_text())
            playlists[ds] = standin.library.playlists[published["playlist_id"]].track_ids()
        yield {"lake": Lake(str(tmp / "lake")), "playlists": playlists}


def picks(lake: Lake, ds: str) -> list[dict]:
    return pq.read_table(str(lake.partition("gold", "picks", ds) / "part-00000.parquet")).to_pylist()


def library_ids(lake: Lake, ds: str) -> set[str]:
    rows = pq.read_table(str(lake.partition("silver", "tracks", ds)), columns=["track_id", "role"]).to_pylist()
    return {r["track_id"] for r in rows if r["role"] in ("liked", "disliked", "reference")}


def test_each_week_fills_the_playlist_with_new_songs_found_by_discovery(weeks):
    lake = weeks["lake"]
    for ds in MONDAYS:
        week = picks(lake, ds)
        assert len(week) == TOP_N, f"{ds}: {len(week)} picks"
        assert [p["track_id"] for p in week] == weeks["playlists"][ds]  # what the playlist holds, in rank order
        assert not {p["track_id"] for p in week} & library_ids(lake, ds)
        assert {p["source"] for p in week} <= {"reccobeats", "artists"}  # no candidate playlist exists
        assert all(p["reason"] for p in week)


def test_two_consecutive_weeks_publish_disjoint_playlists(weeks):
    first, second = (set(weeks["playlists"][ds]) for ds in MONDAYS)
    assert len(first) == len(second) == TOP_N and not first & second


def test_each_source_stays_within_its_budget(weeks):
    for ds in MONDAYS:
        metrics = json.loads((weeks["lake"].partition("silver", "candidates", ds) / "_metrics.json").read_text())
        for name, m in metrics["sources"].items():
            assert m["requests"] <= m["budget"], (ds, name, m)
