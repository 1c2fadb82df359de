"""Issue 12 item 2: a run in which every provider errored fails at once, naming each answer and the fix.

ReccoBeats answering 401 to every request (a wrong URL, a service that now wants a key) used to
give a warning, 0% coverage and a green task; the failure surfaced two DAGs later. Providers that
answer "unknown id" are a different matter (coverage, checked per role: see test_coverage_defaults.py).
Real providers over real HTTP against the stand-in, which scripts the 401s.
"""

from __future__ import annotations

import pytest

from tests.enrich.conftest import D1, FaultConfig, StandIn, context, enrichment, feature_requests
from tests.enrich.lakekit import library, read_json, silver_row, tid, write_config, write_file_lookup, write_silver
from weekly_discovery.core.errors import UserError
from weekly_discovery.enrich import tasks as enrich_tasks
from weekly_discovery.enrich.fetch import fetch_features
from weekly_discovery.enrich.providers.base import AllProvidersFailed
from weekly_discovery.lake.layout import Lake

IDS = [tid(x) for x in "ABCDE"]
REJECTED = {"/reccobeats": [401] * 20}  # every request, as a service that now wants a key


def reccobeats_401(server: StandIn) -> str:
    return (f"reccobeats: ReccoBeats answers 401 at {server.reccobeats_url}/v1/audio-features: check "
            "enrichment.reccobeats_url (the service may have moved or now require a key)")


def test_reccobeats_answering_401_fails_the_fetch_with_its_answer_and_the_fix(demo, lake):
    library(lake, D1, {"liked": IDS[:3], "disliked": IDS[3:]})
    with StandIn(demo, faults=FaultConfig(script=REJECTED)) as server:
        enr = enrichment(server, providers=("reccobeats",))
        with pytest.raises(AllProvidersFailed) as failed:
            fetch_features(lake, D1, enr, context(server, enr))
        assert feature_requests(server)["reccobeats"] == 1  # a 401 is not retried
        assert isinstance(failed.value, UserError)  # the task fails at once
        assert str(failed.value) == (
            f"every audio-feature provider in enrichment.providers failed for ds={D1}, so none of the 5 tracks "
            f"to enrich got features. {reccobeats_401(server)}. Fix what the answer names, or add a \"file\" "
            "snapshot to enrichment.providers; the task is not retried (the same request would get the same "
            "answer)")
        manifest = read_json(lake.raw_features_partition("reccobeats", D1) / "_manifest.json")
        assert (manifest["status"], manifest["answered"], manifest["batches"]) == ("off", 0, [])

        # a rerun of the date with nothing changed fails the same way, without asking again
        with pytest.raises(AllProvidersFailed, match="ReccoBeats answers 401"):
            fetch_features(lake, D1, enr, context(server, enr))
        assert feature_requests(server)["reccobeats"] == 1


def test_spotify_403_then_reccobeats_401_names_both_answers(demo, lake):
    library(lake, D1, {"liked": IDS})
    with StandIn(demo, audio_features="forbidden", faults=FaultConfig(script=REJECTED)) as server:
        enr = enrichment(server)
        with pytest.raises(AllProvidersFailed) as failed:
            fetch_features(lake, D1, enr, context(server, enr))
        assert feature_requests(server) == {"spotify": 1, "reccobeats": 1}
        message = str(failed.value)
        assert ("got features. spotify: Spotify's /audio-features answers 403: apps registered after 27 Nov 2024 "
                f"(and development-mode apps) lost this endpoint; {reccobeats_401(server)}. Fix what the answer "
                "names, or add a \"file\" snapshot to enrichment.providers;") in message


def test_a_provider_that_answers_keeps_the_run_going(demo, lake):
    """The file snapshot answered (even "absent" for some ids): not every provider errored."""
    library(lake, D1, {"liked": IDS})
    write_file_lookup(lake, D1, [{"track_id": t, "status": "hit", "danceability": 0.5} for t in IDS[:2]]
                      + [{"track_id": t, "status": "absent"} for t in IDS[2:]])
    with StandIn(demo, faults=FaultConfig(script=REJECTED)) as server:
        enr = enrichment(server, providers=("reccobeats", "file"))
        summary = fetch_features(lake, D1, enr, context(server, enr))
    assert [(p.name, p.status) for p in summary.providers] == [("reccobeats", "off"), ("file", "ok")]
    assert (summary.resolved, summary.unresolved) == (2, 3)


def test_the_fetch_task_fails_without_retry(demo, tmp_path, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    with StandIn(demo, audio_features="forbidden", faults=FaultConfig(script=REJECTED)) as server:
        monkeypatch.setenv("AIRFLOW_CONN_SPOTIFY_DEFAULT", server.connection_json())
        cfg = write_config(tmp_path, tmp_path / "lake", f'reccobeats_url = "{server.reccobeats_url}"\n')
        write_silver(Lake(cfg.lake_root), D1, [silver_row(tid(x), "liked", i) for i, x in enumerate("ABC")])
        with pytest.raises(AirflowFailException, match="every audio-feature provider in enrichment.providers failed"):
            enrich_tasks.fetch({"ds": D1, "lake_root": cfg.lake_root, "config_path": str(cfg.path)})
