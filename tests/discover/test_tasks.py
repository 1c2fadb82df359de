"""The discover DAG's task (config -> partition -> clients -> gather -> asset event) and its place in the chain."""

from __future__ import annotations

import types

from tests.discover.kit import read_candidates, write_silver_tracks
from tests.ingest.conftest import make_api
from weekly_discovery.discover import tasks as discover_tasks
from weekly_discovery.lake import Lake
from weekly_discovery.settings.config import load_config

DS = "2026-11-23"


def test_the_task_gathers_the_configured_sources_into_the_week_and_announces_it(tmp_path, tiny, tiny_standin,
                                                                                monkeypatch):
    lake = Lake(str(tmp_path / "lake"))
    write_silver_tracks(lake, DS, tiny)
    path = tmp_path / "weekly-discovery.toml"
    path.write_text(f'[sources]\nliked = ["saved_tracks"]\n[lake]\nroot = "{lake.root}"\n'
                    f'[discover]\nsources = ["artists", "playlists"]\ntop_artists = 2\n'
                    f'reccobeats_url = "{tiny_standin.reccobeats_url}"\n', encoding="utf-8")
    monkeypatch.setattr(discover_tasks, "load_run_config", lambda: load_config(path, env={}))
    asked = []
    monkeypatch.setattr("weekly_discovery.airflow.runtime.spotify_api",
                        lambda conn_id: asked.append(conn_id) or make_api(tiny_standin))
    event = types.SimpleNamespace(extra=None)

    result = discover_tasks.discover({"params": {"ds": DS}}, event)

    assert asked == ["spotify_default"]  # the artists source needs the Spotify connection
    assert event.extra == {"ds": DS, "lake_root": str(lake.root)}
    assert list(result["sources"]) == ["artists", "playlists"]
    rows = read_candidates(lake, DS)
    assert result["candidates"] == len(rows) == 4  # a4, a2 (artists); c1, a2 (playlists): see test_gather


def test_no_spotify_connection_is_looked_up_when_no_source_needs_it(tmp_path, tiny, tiny_standin, monkeypatch):
    lake = Lake(str(tmp_path / "lake"))
    write_silver_tracks(lake, DS, tiny)
    path = tmp_path / "weekly-discovery.toml"
    path.write_text(f'[sources]\nliked = ["saved_tracks"]\n[lake]\nroot = "{lake.root}"\n'
                    '[discover]\nsources = ["playlists"]\n', encoding="utf-8")
    monkeypatch.setattr(discover_tasks, "load_run_config", lambda: load_config(path, env={}))
    monkeypatch.setattr("weekly_discovery.airflow.runtime.spotify_api", lambda conn_id: 1 / 0)
    result = discover_tasks.discover({"params": {"ds": DS}}, types.SimpleNamespace(extra=None))
    assert result["candidates"] == 2


def test_the_chain_is_ingest_then_discover_then_enrich():
    from airflow.models import DagBag

    from tests.dags.test_dag_integrity import REPO

    dags = DagBag(dag_folder=str(REPO / "dags")).dags

    def scheduled_on(dag_id):
        return {asset.name for asset in dags[dag_id].timetable.asset_condition.objects}

    def outlets(dag_id):
        return {o.name for t in dags[dag_id].tasks for o in t.outlets}

    assert outlets("spotify_ingest") == {"weekly_discovery.silver_tracks"}
    assert scheduled_on("spotify_discover") == {"weekly_discovery.silver_tracks"}
    assert outlets("spotify_discover") == {"weekly_discovery.candidates"}
    assert scheduled_on("spotify_enrich") == {"weekly_discovery.candidates"}


def test_the_feature_fetch_wants_the_discovered_candidates_too(tmp_path):
    from tests.discover.kit import ADA
    from tests.discover.test_gather import row
    from tests.enrich.lakekit import library
    from weekly_discovery.discover.store import write_candidates
    from weekly_discovery.enrich.cache import wanted_ids
    from weekly_discovery.settings.config import Enrichment

    lake = Lake(str(tmp_path / "lake"))
    library(lake, DS, {"liked": ["L1xxxxxxxxxxxxxxxxxxxx"]})
    assert wanted_ids(lake, DS, Enrichment()).ids == ("L1xxxxxxxxxxxxxxxxxxxx",)  # no discovery yet: the library
    write_candidates(lake, DS, [row("artists", 0, "a4", ADA), row("reccobeats", 0, "a4", ADA),
                                row("reccobeats", 1, "c1", ADA)], {})
    assert wanted_ids(lake, DS, Enrichment()).ids == ("L1xxxxxxxxxxxxxxxxxxxx", "a4xxxxxxxxxxxxxxxxxxxx",
                                                      "c1xxxxxxxxxxxxxxxxxxxx")
