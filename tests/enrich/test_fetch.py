"""The fetch step: which ids are asked, of which provider, in how many requests, and what lands in raw.

Real providers over real HTTP against the stand-in; request counts are read from the stand-in's own
request log. The feature-cache rows earlier runs would have merged are written here by hand.
"""

from __future__ import annotations

import json
import logging
import math

import pytest

from tests.enrich.conftest import D1, D2, StandIn, asked_batches, context, enrichment, feature_requests
from tests.enrich.lakekit import (
    cache_row,
    library,
    read_json,
    silver_row,
    tid,
    write_file_lookup,
    write_silver,
    write_cache,
)
from weekly_discovery.enrich.cache import FeatureInputError, wanted_ids
from weekly_discovery.enrich.fetch import fetch_features, request_counts
from weekly_discovery.enrich.providers.reccobeats import ReccoBeatsFeatures
from weekly_discovery.lake.layout import Lake

ROLES = ("liked", "disliked", "reference", "candidates")
FORBIDDEN_WARNING = (
    "Spotify's /audio-features answers 403: apps registered after 27 Nov 2024 (and development-mode apps) "
    "lost this endpoint; using the next provider (reccobeats)"
)


def demo_library(lake: Lake, demo, ds: str) -> list[str]:
    """Silver tracks for ``ds`` from the demo library's roles; returns the distinct ids."""
    roles = {role: sorted(demo.role_track_ids(role)) for role in ROLES}
    library(lake, ds, roles)
    return sorted({t for ids in roles.values() for t in ids})


def flat(batches: list[list[str]]) -> list[str]:
    return [i for batch in batches for i in batch]


def test_forbidden_spotify_falls_back_to_reccobeats_with_one_warning(forbidden: StandIn, demo, lake, caplog):
    ids = demo_library(lake, demo, D1)
    rows = sum(len(demo.role_track_ids(r)) for r in ROLES)
    assert rows > len(ids) == 174  # some tracks sit in several sources: asked once each
    enr = enrichment(forbidden)
    with caplog.at_level(logging.WARNING):
        summary = fetch_features(lake, D1, enr, context(forbidden, enr))

    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [FORBIDDEN_WARNING]  # once, although Spotify would have needed 2 batches
    assert feature_requests(forbidden) == {"spotify": 1, "reccobeats": math.ceil(174 / 40)}
    assert forbidden.count("/reccobeats", status=400) == 0
    batches = asked_batches(lake, "reccobeats", D1)
    assert [len(b) for b in batches] == [40, 40, 40, 40, 14]
    assert sorted(flat(batches)) == ids  # every id asked exactly once
    unknown_to_reccobeats = [t for t in ids if demo.reccobeats_features_for(t) is None]
    assert (summary.resolved, summary.unresolved) == (174 - len(unknown_to_reccobeats), len(unknown_to_reccobeats))
    assert summary.requests == {"spotify": 1, "reccobeats": 5}
    spotify_manifest = read_json(lake.raw_features_partition("spotify", D1) / "_manifest.json")
    assert spotify_manifest["status"] == "off" and spotify_manifest["batches"] == []
    assert spotify_manifest["note"] == FORBIDDEN_WARNING


def test_spotify_first_then_reccobeats_only_for_what_spotify_lacks(standin: StandIn, demo, lake):
    ids = demo_library(lake, demo, D1)
    enr = enrichment(standin)
    summary = fetch_features(lake, D1, enr, context(standin, enr))
    spotify_batches = asked_batches(lake, "spotify", D1)
    assert [len(b) for b in spotify_batches] == [100, 74]
    unknown_to_spotify = sorted(t for t in ids if demo.features_for(t) is None)
    assert len(unknown_to_spotify) == 5
    assert asked_batches(lake, "reccobeats", D1) == [unknown_to_spotify]
    assert feature_requests(standin) == {"spotify": 2, "reccobeats": 1}
    assert summary.unresolved == 0  # the two providers' gaps are disjoint in this library
    # the body is stored as the API's response object, null entries included
    body = json.loads((lake.raw_features_partition("spotify", D1) / "batch-00000.json").read_text())
    assert len(body["audio_features"]) == 100 and body["audio_features"].count(None) == sum(
        1 for t in spotify_batches[0] if demo.features_for(t) is None)
    request = read_json(lake.raw_features_partition("spotify", D1) / "batch-00000.request.json")
    assert request["ids"] == spotify_batches[0] and request["requests"] == 1 and request["fetched_at"].endswith("Z")
    assert request_counts(lake, D1) == {"spotify": 2, "reccobeats": 1}


def test_known_ids_cost_nothing_and_new_ids_cost_one_request_per_batch(forbidden: StandIn, demo, lake):
    ids = demo_library(lake, demo, D1)
    # what the enrich job of D1 would have stored: every id, ok or missing
    write_cache(lake, [cache_row(t, "ok" if demo.reccobeats_features_for(t) else "missing", D1,
                                        source="reccobeats") for t in ids])
    new = sorted(t for t in demo.tracks if t not in set(ids))[:3]
    rows = [silver_row(t, "liked", i) for i, t in enumerate(ids)]
    write_silver(lake, D2, rows)
    enr = enrichment(forbidden)
    summary = fetch_features(lake, D2, enr, context(forbidden, enr))
    assert feature_requests(forbidden) == {"spotify": 0, "reccobeats": 0}  # a second run: zero requests
    assert summary.wanted["known"] == 174 - 5 and summary.wanted["backing_off"] == 5
    assert request_counts(lake, D2) == {"spotify": 0, "reccobeats": 0}

    write_silver(lake, D2, rows + [silver_row(t, "candidates", i) for i, t in enumerate(new)])
    fetch_features(lake, D2, enr, context(forbidden, enr))
    assert feature_requests(forbidden) == {"spotify": 1, "reccobeats": 1}  # the 403 probe + ceil(3/40)
    assert asked_batches(lake, "reccobeats", D2) == [new]


def test_missing_ids_back_off_counted_from_the_partition_date(lake, tmp_path):
    day0 = "2026-11-02"
    write_silver(lake, "2026-12-01", [silver_row(tid(x), "liked", i) for i, x in enumerate("KMQN")])
    write_silver(lake, "2026-12-02", [silver_row(tid(x), "liked", i) for i, x in enumerate("KMQN")])
    write_cache(lake, [
        cache_row(tid("K"), "ok", day0, source="reccobeats", danceability=0.5),
        cache_row(tid("M"), "missing", day0),
        cache_row(tid("Q"), "quarantined", day0),
    ])
    enr = enrichment_for(("spotify", "reccobeats"), missing_retry_days=30)
    day29 = wanted_ids(lake, "2026-12-01", enr)
    assert (day29.ids, day29.known, day29.backing_off, day29.retrying) == ((tid("N"),), 1, 2, 0)
    day30 = wanted_ids(lake, "2026-12-02", enr)
    assert (day30.ids, day30.known, day30.backing_off, day30.retrying) == (
        tuple(sorted([tid("M"), tid("N"), tid("Q")])), 1, 0, 2)
    assert day30.previous_ds == day0
    # a provider added since the ids were found missing: asked again at once
    grown = wanted_ids(lake, "2026-12-01", enrichment_for(("spotify", "reccobeats", "file"), missing_retry_days=30))
    assert grown.ids == tuple(sorted([tid("M"), tid("N"), tid("Q")]))
    # the order changed but no provider was added: still backing off
    reordered = wanted_ids(lake, "2026-12-01", enrichment_for(("reccobeats", "spotify"), missing_retry_days=30))
    assert reordered.ids == (tid("N"),)


def test_missing_ids_are_not_asked_before_the_back_off_ends(forbidden: StandIn, lake):
    write_cache(lake, [cache_row(tid("M"), "missing", D1, providers_asked="reccobeats")])
    write_silver(lake, D2, [silver_row(tid("M"))])
    enr = enrichment(forbidden, ("reccobeats",), missing_retry_days=8)
    fetch_features(lake, D2, enr, context(forbidden, enr))  # 7 days later
    assert feature_requests(forbidden)["reccobeats"] == 0
    write_silver(lake, "2026-11-24", [silver_row(tid("M"))])
    fetch_features(lake, "2026-11-24", enr, context(forbidden, enr))  # 8 days later
    assert asked_batches(lake, "reccobeats", "2026-11-24") == [[tid("M")]]


def test_rerun_of_the_same_date_reuses_its_raw_batches(forbidden: StandIn, demo, lake, caplog):
    ids = demo_library(lake, demo, D1)
    enr = enrichment(forbidden)
    first = fetch_features(lake, D1, enr, context(forbidden, enr))
    folder = lake.raw_features_partition("reccobeats", D1)
    bodies = {p.name: p.read_bytes() for p in folder.glob("batch-*")}
    forbidden.reset_counts()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = fetch_features(lake, D1, enr, context(forbidden, enr))
    assert feature_requests(forbidden) == {"spotify": 0, "reccobeats": 0}
    assert {p.name: p.read_bytes() for p in folder.glob("batch-*")} == bodies
    assert (again.resolved, again.unresolved) == (first.resolved, first.unresolved)
    manifest = read_json(folder / "_manifest.json")
    assert (manifest["reused_batches"], manifest["new_batches"], manifest["requests"]) == (5, 0, 0)
    assert len(manifest["batches"]) == 5 and manifest["answered"] == first.resolved
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        FORBIDDEN_WARNING + " (as an earlier run of this date found)"]
    assert sorted(flat(asked_batches(lake, "reccobeats", D1))) == ids


class CrashingAfter:
    """A real ReccoBeats provider that dies (like a killed worker) on its n-th batch."""

    def __init__(self, inner, n):
        self.inner, self.n, self.calls = inner, n, 0
        self.name, self.batch_size, self.identity = inner.name, inner.batch_size, inner.identity

    def fetch(self, ids):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt("worker killed")
        return self.inner.fetch(ids)


def test_a_crash_loses_only_the_batch_in_flight(forbidden: StandIn, demo, lake):
    ids = demo_library(lake, demo, D1)
    enr = enrichment(forbidden, ("reccobeats",))
    crashing = CrashingAfter(ReccoBeatsFeatures(forbidden.reccobeats_url), 3)
    with pytest.raises(KeyboardInterrupt):
        fetch_features(lake, D1, enr, providers={"reccobeats": crashing})
    folder = lake.raw_features_partition("reccobeats", D1)
    assert not (folder / "_manifest.json").exists()
    assert len(asked_batches(lake, "reccobeats", D1)) == 2
    (folder / "batch-00002.json").write_text('{"content": [')  # a body whose request file never landed
    (folder / ".batch-00002.request.json.tmp").write_text("{")
    forbidden.reset_counts()

    fetch_features(lake, D1, enr, context(forbidden, enr))
    assert feature_requests(forbidden)["reccobeats"] == math.ceil((174 - 80) / 40)
    batches = asked_batches(lake, "reccobeats", D1)
    assert sorted(flat(batches)) == ids and len(flat(batches)) == len(ids)  # nobody asked twice
    assert json.loads((folder / "batch-00002.json").read_text())["content"]  # replaced by a real answer
    assert not list(folder.glob(".*.tmp"))
    assert len(read_json(folder / "_manifest.json")["batches"]) == 5


def test_ids_found_in_the_file_earlier_in_the_order_are_not_asked(forbidden: StandIn, demo, lake):
    ids = demo_library(lake, demo, D1)
    hits, malformed = ids[:100], ids[100:110]
    write_file_lookup(lake, D1, [{"track_id": t, "status": "hit", "danceability": 0.5} for t in hits]
                      + [{"track_id": t, "status": "malformed", "detail": "energy=x"} for t in malformed]
                      + [{"track_id": t, "status": "absent"} for t in ids[110:]])
    enr = enrichment(forbidden, ("file", "reccobeats"))
    summary = fetch_features(lake, D1, enr, context(forbidden, enr))
    assert sorted(flat(asked_batches(lake, "reccobeats", D1))) == ids[100:]  # malformed rows count as absent
    assert feature_requests(forbidden) == {"spotify": 0, "reccobeats": 2}
    assert [(p.name, p.answered, p.requests) for p in summary.providers][0] == ("file", 100, 0)


def test_file_later_in_the_order_only_resolves_what_the_apis_lacked(forbidden: StandIn, demo, lake):
    ids = demo_library(lake, demo, D1)
    write_file_lookup(lake, D1, [{"track_id": t, "status": "hit"} for t in ids])
    enr = enrichment(forbidden, ("reccobeats", "file"))
    summary = fetch_features(lake, D1, enr, context(forbidden, enr))
    assert sorted(flat(asked_batches(lake, "reccobeats", D1))) == ids
    assert summary.unresolved == 0
    assert [(p.name, p.answered) for p in summary.providers] == [("reccobeats", 169), ("file", 5)]


def test_file_in_the_chain_without_its_look_up_says_which_task_to_run(forbidden: StandIn, demo, lake):
    demo_library(lake, demo, D1)
    enr = enrichment(forbidden, ("file", "reccobeats"))
    with pytest.raises(FeatureInputError, match="run the lookup_file task"):
        fetch_features(lake, D1, enr, context(forbidden, enr))


def test_no_silver_tracks_says_which_dag_to_run(lake, forbidden):
    with pytest.raises(FeatureInputError, match="run the ingest DAG \\(spotify_ingest\\) for 2026-11-16 first"):
        fetch_features(lake, D1, enrichment(forbidden))


def test_nothing_wanted_builds_no_provider(lake):
    """No ids to ask: no Spotify connection is looked up, no request is made, manifests still record it."""
    write_silver(lake, D2, [silver_row(tid("K"))])
    write_cache(lake, [cache_row(tid("K"), "ok", D1, source="spotify")])

    def no_connection():
        raise AssertionError("the Spotify connection was looked up")

    from weekly_discovery.enrich.providers.base import ProviderContext

    enr = enrichment_for(("spotify", "reccobeats"))
    summary = fetch_features(lake, D2, enr, ProviderContext(enr, spotify_api=no_connection))
    assert summary.requests == {"spotify": 0, "reccobeats": 0}
    assert read_json(lake.raw_features_partition("spotify", D2) / "_manifest.json")["status"] == "idle"


def enrichment_for(providers, **kwargs):
    from weekly_discovery.settings.config import Enrichment

    return Enrichment(providers=tuple(providers), reccobeats_url="http://127.0.0.1:9", **kwargs)
