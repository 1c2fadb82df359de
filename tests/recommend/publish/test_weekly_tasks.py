"""The weekly_recommendations DAG's Python task bodies, called with hand-made Airflow contexts.

The publish task reads the Spotify connection from ``AIRFLOW_CONN_SPOTIFY_DEFAULT`` (the stand-in's
connection JSON), as a deployment would from its secrets backend.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from tests.recommend.publish.conftest import DS, publish_record, write_recommendations
from weekly_discovery.airflow.assets import ENRICHED_TRACKS
from weekly_discovery.lake.layout import Lake
from weekly_discovery.recommend import tasks as weekly_tasks
from weekly_discovery.settings.config import load_config


@dataclass
class Event:
    extra: dict
    timestamp: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 11, 23, 6, tzinfo=dt.timezone.utc))


def context(events=None, params=None):
    return {
        "triggering_asset_events": {ENRICHED_TRACKS: events} if events is not None else {},
        "params": {"ds": None, "top_n": None, "playlist_name": None, "dry_run": False, **(params or {})},
        "logical_date": None,
        "dag_run": SimpleNamespace(run_after=dt.datetime(2026, 11, 30, 7, tzinfo=dt.timezone.utc)),
    }


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "wd.toml"
    path.write_text(f'[sources]\nliked = ["saved_tracks"]\n\n[lake]\nroot = "{tmp_path / "lake"}"\n\n'
                    '[model]\ntop_n = 25\nmax_per_artist = 3\nfeatures = ["energy", "tempo"]\nseed = 7\n')
    monkeypatch.setenv("WEEKLY_DISCOVERY_CONFIG", str(path))
    monkeypatch.delenv("WEEKLY_DISCOVERY_LAKE", raising=False)
    return load_config(path, env={})


def test_prepare_takes_the_event_date_and_the_config(config, caplog):
    caplog.set_level("INFO")
    run = weekly_tasks.prepare(context([Event({"ds": DS, "lake_root": config.lake_root})]))
    assert run == {
        "ds": DS, "lake_root": config.lake_root, "config_path": str(config.path), "params": "{}",
        "playlist_name": "Weekly Discovery", "dry_run": False, "allow_empty": False, "allow_backfill": False,
    }
    # the jobs read the settings from the config themselves (--config); the task log shows them
    assert "model: features energy,tempo; 5 folds grouped by artist, seed 7; threshold 0.5" in caplog.text
    assert "recommendations: top 25, at most 3 per artist, into the playlist 'Weekly Discovery'" in caplog.text


def test_params_of_a_manual_run_win(config, caplog):
    caplog.set_level("INFO")
    run = weekly_tasks.prepare(context(params={"ds": "2026-12-07", "top_n": 10, "playlist_name": " Fresh ",
                                               "dry_run": True}))
    assert (run["ds"], run["playlist_name"], run["dry_run"]) == ("2026-12-07", "Fresh", True)
    assert json.loads(run["params"]) == {"top_n": 10, "playlist_name": " Fresh "}  # the jobs apply them again
    assert config.with_params(json.loads(run["params"])).model.top_n == 10
    assert "recommendations: top 10, at most 3 per artist, into the playlist 'Fresh'" in caplog.text
    assert weekly_tasks.prepare(context())["ds"] == "2026-11-30"  # no event, no param: the run date


def test_allow_empty_and_allow_backfill_params_reach_the_publish_step(config):
    run = weekly_tasks.prepare(context(params={"allow_empty": True, "allow_backfill": True}))
    assert (run["allow_empty"], run["allow_backfill"]) == (True, True)
    run = weekly_tasks.prepare(context(params={"allow_empty": False}))
    assert (run["allow_empty"], run["allow_backfill"]) == (False, False)


def test_the_dag_declares_allow_empty_and_allow_backfill_off_by_default():
    import weekly_recommendations  # dags/, on sys.path as Airflow puts it there (tests/conftest.py)

    params = weekly_recommendations.weekly_recommendations().params
    assert params["allow_empty"] is False and params["allow_backfill"] is False


def test_publish_task_skips_an_empty_week_succeeds_and_sends_nothing(config, standin, library, monkeypatch,
                                                                      caplog):
    monkeypatch.setenv("AIRFLOW_CONN_SPOTIFY_DEFAULT", standin.connection_json())
    lake = Lake(config.lake_root)
    write_recommendations(lake, DS, [])
    run = {"ds": DS, "lake_root": config.lake_root, "config_path": str(config.path),
           "playlist_name": "Weekly Discovery", "dry_run": False, "allow_empty": False, "allow_backfill": False}
    caplog.set_level("INFO")

    result = weekly_tasks.publish(run, SimpleNamespace(extra=None))

    assert result["skipped"] and "allow_empty" in result["skipped"]
    assert standin.request_log == [] and library.playlists == before_playlists(library)
    assert "allow_empty" in caplog.text and "not published" in caplog.text
    assert publish_record(lake, DS)["skipped"] == result["skipped"]

    # with the param, the same run publishes (an empty playlist is created and remembered)
    result = weekly_tasks.publish({**run, "allow_empty": True})
    assert result["skipped"] is None and library.playlists[result["playlist_id"]].track_ids() == []


def before_playlists(library):
    """The demo library's own playlists: publishing added none."""
    return {k: v for k, v in library.playlists.items() if v.name != "Weekly Discovery"}


def test_bad_params_fail_without_retries(config):
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="top_n"):
        weekly_tasks.prepare(context(params={"top_n": 0}))
    with pytest.raises(AirflowFailException, match="23.11.2026"):
        weekly_tasks.prepare(context(params={"ds": "23.11.2026"}))


def test_publish_task_updates_the_playlist_logs_it_and_sets_the_event(config, standin, library, monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_SPOTIFY_DEFAULT", standin.connection_json())
    lake = Lake(config.lake_root)
    uris = write_recommendations(lake, DS, sorted(library.tracks)[:4])
    run = {"ds": DS, "lake_root": config.lake_root, "config_path": str(config.path),
           "playlist_name": "Weekly Discovery", "dry_run": False}
    event = SimpleNamespace(extra=None)
    caplog.set_level("INFO")

    result = weekly_tasks.publish(run, event)

    playlist = library.playlists[result["playlist_id"]]
    assert [f"spotify:track:{t}" for t in playlist.track_ids()] == uris
    assert event.extra == {"ds": DS, "lake_root": config.lake_root, "playlist_id": playlist.id,
                           "snapshot_id": playlist.snapshot_id, "dry_run": False}
    assert "Discovery Mix: 4 of 9 songs recommended (probability >= 0.5)" in caplog.text
    assert "  1. Song 0 - Someone (0.990, Discovery Mix)" in caplog.text
    assert f"https://open.spotify.com/playlist/{playlist.id}" in caplog.text
    assert publish_record(lake, DS)["tracks"] == 4


def test_publish_task_without_recommendations_fails_without_retries(config, tmp_path):
    from airflow.sdk.exceptions import AirflowFailException

    run = {"ds": DS, "lake_root": config.lake_root, "config_path": str(config.path),
           "playlist_name": "Weekly Discovery", "dry_run": True}
    with pytest.raises(AirflowFailException, match="run the score step"):
        weekly_tasks.publish(run)
