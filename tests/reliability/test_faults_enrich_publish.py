"""Enrichment (the ReccoBeats fallback) and publishing under a faulty API give the clean run's results.

Two runs from the same silver tracks: one against a clean stand-in, one against a stand-in where
20% of requests fail (429 with Retry-After, 503) and access tokens expire after one second, so
the publish run (which honours Retry-After for real) keeps refreshing its token; one request is
answered 401 (token rejected) as well. Spotify's
audio features are forbidden (as for every app registered today), so enrichment falls back to
ReccoBeats. Compared: every raw feature batch, the feature cache (the whole MERGEd table), feature
quarantine, enriched tracks and their metrics, the publish record and the picks (Delta tables, read with
delta-rs), the playlist file beside them, and the playlist's items in the stand-in's state.

Left out of the comparison, and only these: wall-clock times (``fetched_at``, ``written_at``,
``created_at``, ``published_at``), request counts, which must differ under faults, and the
playlist's ``snapshot_id`` (an opaque version tag; the stand-in hashes the items' added-at times
into it). Instead the playlist's revision (how many writes were applied) must be equal.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from devtools.standin import FaultConfig, StandIn, generate_demo_library
from tests.reliability.conftest import copy_lake, ingest, make_api, make_config, sorted_rows, table_rows
from weekly_discovery.lake import (
    AUDIO_FEATURES,
    PICKS,
    PUBLISHED,
    QUARANTINE_FEATURES,
    RECOMMENDATIONS,
    TRACKS_ENRICHED,
)
from weekly_discovery.lake import delta
from weekly_discovery.core.errors import TransientError
from weekly_discovery.enrich import job as enrich_job
from weekly_discovery.enrich.fetch import fetch_features
from weekly_discovery.enrich.providers.base import ProviderContext
from weekly_discovery.lake.layout import Lake
from weekly_discovery.recommend.publish.playlist import publish
from weekly_discovery.spotify.client import RetryPolicy

pytestmark = pytest.mark.spark

DS = "2026-11-23"
SEED = 9
PLAYLIST = "Weekly Discovery"
RUN_SPECIFIC = {"fetched_at", "written_at", "created_at", "published_at", "snapshot_id"}
COUNTS = {"requests", "new_batches"}  # request counts (a publish record's "requests" lists writes: kept)
DATED_TABLES = [QUARANTINE_FEATURES, TRACKS_ENRICHED, PUBLISHED, PICKS]
POLICY = RetryPolicy(max_attempts=12, base_delay_s=0.05, max_delay_s=0.5)


def scrub(value: Any) -> Any:
    """``value`` without the run-specific keys, at any depth."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()
                if k not in RUN_SPECIFIC and not (k in COUNTS and isinstance(v, int))}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def recommendations(library, count: int = 230) -> list[str]:
    """Hand-picked 'recommendations': catalogue tracks the user has not rated, in id order."""
    rated = library.role_track_ids("liked") | library.role_track_ids("disliked")
    return [t for t in sorted(library.tracks) if t not in rated][:count]


def write_recommendations(lake: Lake, track_ids: list[str]) -> None:
    """The score step's output, written by hand: publishing is what is under test."""
    delta.write_date(lake, RECOMMENDATIONS, DS, pa.table({
        "rank": list(range(1, len(track_ids) + 1)), "track_id": track_ids,
        "uri": [f"spotify:track:{t}" for t in track_ids]}))
    (lake.partition(RECOMMENDATIONS, DS) / "_metrics.json").write_text(json.dumps({"model_version": "hand-written-1"}))


def enrich_and_publish(spark, standin: StandIn, lake: Lake, config, sleep) -> None:
    context = ProviderContext(config.enrichment, spotify_api=lambda: make_api(standin, policy=POLICY),
                              sleep=lambda seconds: None)  # ReccoBeats' Retry-After: recorded by the stand-in only
    fetch_features(lake, DS, config.enrichment, context)
    enrich_job.enrich_date(spark, lake, DS, config.enrichment)
    publish_with_task_retries(make_api(standin, policy=POLICY, sleep=sleep), lake)


def publish_with_task_retries(api, lake: Lake, tries: int = 4) -> None:
    """Publish as Airflow runs the task: a transient failure reruns it. Creating the playlist is
    never retried inside a run (a 503 on ``POST /me/playlists`` may come after Spotify created it),
    so a 503 there fails the attempt and the next one looks for the playlist before creating it."""
    for attempt in range(1, tries + 1):
        try:
            publish(api, lake, DS, PLAYLIST)
            return
        except TransientError:
            if attempt == tries:
                raise


def readable(row: dict) -> dict:
    """A ``gold/published`` row's record is a JSON string: parsed, so that its run-specific keys can go."""
    return {**row, "record": json.loads(row["record"])} if isinstance(row.get("record"), str) else row


def lake_result(lake: Lake) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in sorted(Path(lake.root, "raw", "features").rglob("*.json")):
        out[str(path.relative_to(lake.root))] = scrub(json.loads(path.read_text()))
    out[str(AUDIO_FEATURES)] = sorted_rows([scrub(r) for r in table_rows(lake, AUDIO_FEATURES)])  # every date's
    for table in DATED_TABLES:
        out[str(table)] = sorted_rows([scrub(readable(r)) for r in table_rows(lake, table, DS)])
        metrics = lake.partition(table, DS) / "_metrics.json"
        if metrics.is_file():
            out[f"{table}/_metrics.json"] = scrub(json.loads(metrics.read_text()))
    published = Path(lake.table(PUBLISHED))  # the files beside the table (the playlist file), not its log
    out["published files"] = {str(p.relative_to(published)): scrub(json.loads(p.read_text()))
                              for p in sorted(published.rglob("*.json")) if "_delta_log" not in p.parts}
    return out


def playlist_state(library) -> list[tuple[str, list[str]]]:
    return [(p.id, p.revision, p.track_ids()) for p in library.playlists.values() if p.name == PLAYLIST]


def test_faults_and_expiring_tokens_give_the_clean_lake_and_playlist(spark, tmp_path):
    clean_library = generate_demo_library(seed=SEED, n_tracks=600)
    wanted = recommendations(clean_library)
    with StandIn(clean_library, audio_features="forbidden") as clean:
        extra = f'\n[enrichment]\nproviders = ["spotify", "reccobeats"]\nreccobeats_url = "{clean.reccobeats_url}"\n'
        config = make_config(clean, tmp_path / "clean", extra)
        ingest(spark, clean, config, DS)
        faulty_lake = copy_lake(config.lake, tmp_path / "faulty" / "lake")
        write_recommendations(config.lake, wanted)
        enrich_and_publish(spark, clean, config.lake, config, sleep=lambda seconds: None)
        assert clean.count("/reccobeats") > 1 and clean.count("GET /v1/audio-features", status=403) == 1
        port = clean.port
    expected_lake = lake_result(config.lake)
    assert expected_lake["silver/tracks_enriched"] and expected_lake["silver/audio_features"]
    assert [r["track_id"] for r in sorted(expected_lake["gold/picks"], key=lambda r: r["rank"])] == wanted
    assert [r["record"]["tracks"] for r in expected_lake["gold/published"]] == [len(wanted)]
    [(playlist_id, revision, items)] = playlist_state(clean_library)
    # one file beside the table: the playlist's id under its name (whatever the file is called)
    assert [f["playlists"][PLAYLIST]["id"] for f in expected_lake["published files"].values()] == [playlist_id]
    assert items == wanted and revision == 3  # one replace and two adds of at most 100 tracks

    faulty_library = generate_demo_library(seed=SEED, n_tracks=600)
    # 20% random failures, plus a scripted 503 and 429 on each path so that both always occur
    script = {"/reccobeats": [503, 429], "PUT /v1/playlists/{playlist_id}/items": [503],
              "POST /v1/playlists/{playlist_id}/items": [429], "POST /v1/me/playlists": [401]}
    faults = FaultConfig(seed=4, fail_rate=0.2, fail_statuses=(429, 503), retry_after=1, token_ttl=1, script=script)
    with StandIn(faulty_library, audio_features="forbidden", faults=faults, port=port) as faulty:  # same URLs
        faulty_config = make_config(faulty, tmp_path / "faulty", extra)
        write_recommendations(faulty_lake, wanted)
        enrich_and_publish(spark, faulty, faulty_lake, faulty_config, sleep=time.sleep)
        log = faulty.request_log
    # the faults really happened, on both paths
    reccobeats = [r.status for r in log if r.route.startswith("/reccobeats")]
    publishing = [r.status for r in log if r.route.startswith("/v1/") and "audio-features" not in r.route]
    assert {429, 503} <= set(reccobeats) and {429, 503} <= set(publishing)
    assert 401 in publishing  # the scripted rejection of the token while creating the playlist
    # every 1 s token ran out: the client refreshed before using an expired one, many times over
    assert sum(1 for r in log if r.route == "/api/token" and r.status == 200) >= 5

    assert lake_result(faulty_lake) == expected_lake
    # one playlist, same id, same items, no write applied twice
    assert playlist_state(faulty_library) == [(playlist_id, 3, wanted)]
