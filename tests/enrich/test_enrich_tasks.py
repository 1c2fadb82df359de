"""The enrich DAG's Python task bodies, called directly with hand-made Airflow contexts.

The fetch task reads the Spotify connection from ``AIRFLOW_CONN_SPOTIFY_DEFAULT`` (the stand-in's
connection JSON), as a deployment would from its secrets backend.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.enrich.conftest import D1, D2, StandIn, feature_requests
from tests.enrich.lakekit import silver_row, tid, write_config, write_silver
from weekly_discovery.airflow.assets import SILVER_TRACKS
from weekly_discovery.enrich import tasks as enrich_tasks
from weekly_discovery.lake.layout import Lake


@dataclass
class Event:
    extra: dict
    timestamp: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 11, 23, 6, tzinfo=dt.timezone.utc))


def run_context(events=None, params=None, logical_date=None, run_after=None):
    return {
        "triggering_asset_events": {SILVER_TRACKS: events} if events is not None else {},
        "params": params or {"ds": None},
        "logical_date": logical_date,
        "dag_run": SimpleNamespace(run_after=run_after or dt.datetime(2026, 11, 30, 7, tzinfo=dt.timezone.utc)),
    }


@pytest.fixture
def config(tmp_path, monkeypatch):
    cfg = write_config(tmp_path, tmp_path / "lake", 'providers = ["spotify", "file"]\nmissing_retry_days = 14\n'
                       '[enrichment.file]\npath = "features.csv"\n')
    monkeypatch.setenv("WEEKLY_DISCOVERY_CONFIG", str(cfg.path))
    monkeypatch.delenv("WEEKLY_DISCOVERY_LAKE", raising=False)
    return cfg


def test_partition_comes_from_the_newest_triggering_event(config):
    events = [Event({"ds": D1, "lake_root": config.lake_root}), Event({"ds": D2, "lake_root": config.lake_root})]
    run = enrich_tasks.prepare(run_context(events))
    assert run == {"ds": D2, "lake_root": config.lake_root, "config_path": str(config.path),
                   "providers": ["spotify", "file"], "use_file": True}


def test_an_explicit_ds_param_wins_over_the_triggering_event(config):
    """One rule for every DAG (airflow.runtime.resolve_partition); this DAG used to prefer the event."""
    events = [Event({"ds": D1, "lake_root": config.lake_root}), Event({"ds": D2, "lake_root": config.lake_root})]
    run = enrich_tasks.prepare(run_context(events, params={"ds": "2026-01-01"}))
    assert run == {"ds": "2026-01-01", "lake_root": config.lake_root, "config_path": str(config.path),
                   "providers": ["spotify", "file"], "use_file": True}


def test_partition_falls_back_to_the_param_then_the_run_date(config):
    assert enrich_tasks.prepare(run_context(params={"ds": "2026-01-05"}))["ds"] == "2026-01-05"
    assert enrich_tasks.prepare(run_context([Event({})]))["ds"] == "2026-11-30"  # run_after of a manual run
    logical = dt.datetime(2026, 11, 9, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert enrich_tasks.prepare(run_context(logical_date=logical))["ds"] == "2026-11-10"  # in UTC


def test_an_event_naming_another_lake_fails_without_retries(config, tmp_path):
    # issue 12 item 3: an asset event must not be able to point the run at another lake
    from airflow.sdk.exceptions import AirflowFailException

    other = str(tmp_path / "elsewhere")
    with pytest.raises(AirflowFailException, match="names the lake .*elsewhere.*configured lake"):
        enrich_tasks.prepare(run_context([Event({"ds": D1, "lake_root": other})]))


def test_bad_ds_fails_without_retries(config):
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="partition date must look like 2026-11-23"):
        enrich_tasks.prepare(run_context([Event({"ds": "23/11/2026"})]))


def test_file_in_chain_short_circuits(config):
    run = {"ds": "2026-11-23", "lake_root": "lake", "config_path": "wd.toml"}  # what prepare hands on, with:
    assert enrich_tasks.file_in_chain({**run, "use_file": True, "providers": ["file"]}) is True
    assert enrich_tasks.file_in_chain({**run, "use_file": False, "providers": ["spotify"]}) is False


def test_fetch_task_uses_the_airflow_connection(demo, tmp_path, monkeypatch):
    with StandIn(demo, audio_features="forbidden") as server:
        monkeypatch.setenv("AIRFLOW_CONN_SPOTIFY_DEFAULT", server.connection_json())
        cfg = write_config(tmp_path, tmp_path / "lake", f'reccobeats_url = "{server.reccobeats_url}"\n')
        lake = Lake(cfg.lake_root)
        write_silver(lake, D1, [silver_row(tid(x), "liked", i) for i, x in enumerate("ABC")])
        summary = enrich_tasks.fetch({"ds": D1, "lake_root": cfg.lake_root, "config_path": str(cfg.path)})
        assert summary["requests"] == {"spotify": 1, "reccobeats": 1}
        assert feature_requests(server) == {"spotify": 1, "reccobeats": 1}
    json.dumps(summary)  # XCom-serializable


def test_fetch_task_fails_fast_when_the_file_look_up_is_missing(tmp_path):
    from airflow.sdk.exceptions import AirflowFailException

    cfg = write_config(tmp_path, tmp_path / "lake", 'providers = ["file"]\n[enrichment.file]\npath = "f.csv"\n')
    write_silver(Lake(cfg.lake_root), D1, [silver_row(tid("A"))])
    with pytest.raises(AirflowFailException, match="run the lookup_file task"):
        enrich_tasks.fetch({"ds": D1, "lake_root": cfg.lake_root, "config_path": str(cfg.path)})


def test_publish_logs_coverage_and_sets_the_event_extra(tmp_path, caplog):
    lake = Lake(str(tmp_path / "lake"))
    partition = lake.partition("silver", "tracks_enriched", D1)
    partition.mkdir(parents=True)
    metrics = {
        "roles": {"liked": {"tracks": 4, "with_features": 3, "coverage": 0.75, "by_source": {"reccobeats": 3},
                            "by_status": {"missing": 1, "ok": 3}}},
        "library": {"tracks": 4, "with_features": 3, "coverage": 0.75, "by_source": {"reccobeats": 3},
                    "by_status": {"missing": 1, "ok": 3}},
        "gates": {"checked": 3, "passed": 3, "quarantined": 0, "quarantined_by_field": {}, "unknown_kept": {}},
        "providers": {"reccobeats": {"ran": True, "status": "ok", "requests": 1}},
    }
    (partition / "_metrics.json").write_text(json.dumps(metrics))
    event = SimpleNamespace(extra=None)
    with caplog.at_level("INFO"):
        result = enrich_tasks.publish({"ds": D1, "lake_root": lake.root, "config_path": "wd.toml"}, event)
    assert event.extra == {"ds": D1, "lake_root": lake.root}
    assert result == {"liked": 0.75}
    assert ("coverage liked: 3 of 4 tracks have features (75.0%); by source: reccobeats 3; without: missing 1"
            in caplog.text)
    assert "provider reccobeats: ran True, status ok, requests 1" in caplog.text
    assert str(Path(lake.root, "silver", "tracks_enriched", f"ds={D1}")) in caplog.text
