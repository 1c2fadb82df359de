"""The API providers alone: real spotipy / requests over real HTTP against the stand-in, and hand-written bodies.

Expected feature values come from the stand-in's library object (the data it serves) or are written
by hand, never from the provider's own output.
"""

from __future__ import annotations

import json

import pytest

from tests.enrich.conftest import FaultConfig, StandIn, make_api
from weekly_discovery.core.vocabulary import FEATURE_COLUMNS
from weekly_discovery.enrich.providers import reccobeats as reccobeats_provider
from weekly_discovery.enrich.providers import spotify as spotify_provider
from weekly_discovery.enrich.providers.base import (
    API_PROVIDERS,
    FILE_PROVIDER,
    ProviderError,
    ProviderOff,
    ProviderUnavailable,
    spotify_id_from_href,
)
from weekly_discovery.enrich.providers.reccobeats import ReccoBeatsFeatures
from weekly_discovery.enrich.providers.spotify import SpotifyFeatures

A, B, C, X = "4uLU6hMCjMI75M1A2tKUQC", "7ouMYWpwJ422jRcDASZB7P", "2takcwOaAZWiXQijPHIx7B", "11dFghVXANMlKmJXsNCbNl"


def library_ids(demo, known_by_spotify: bool, known_by_reccobeats: bool, n: int) -> list[str]:
    ids = sorted(t.id for t in demo.tracks.values()
                 if (demo.features_for(t.id) is not None) == known_by_spotify
                 and (demo.reccobeats_features_for(t.id) is not None) == known_by_reccobeats)
    assert len(ids) >= n
    return ids[:n]


def test_registry_matches_the_config_names():
    from weekly_discovery.settings.config import PROVIDERS

    assert set(PROVIDERS) == {*API_PROVIDERS, FILE_PROVIDER}
    assert spotify_provider.BATCH_SIZE == 100 and reccobeats_provider.BATCH_SIZE == 40


def test_spotify_answers_rows_and_skips_null_entries(standin: StandIn, demo):
    known = library_ids(demo, True, True, 3)
    unknown = library_ids(demo, False, True, 1)
    result = SpotifyFeatures(make_api(standin)).fetch(known + unknown)
    assert set(result.rows) == set(known)
    for track_id in known:
        assert result.rows[track_id] == demo.features_for(track_id)  # all 13, time_signature included
    body = json.loads(result.body)
    assert body["audio_features"][3] is None  # the unknown id: a null entry, kept verbatim
    assert result.requests == 1
    assert standin.count("GET /v1/audio-features") == 1


def test_spotify_403_turns_the_provider_off_with_the_reason(demo):
    with StandIn(demo, audio_features="forbidden") as server:
        with pytest.raises(ProviderOff) as info:
            SpotifyFeatures(make_api(server)).fetch([A, B])
    assert info.value.reason.startswith(
        "Spotify's /audio-features answers 403: apps registered after 27 Nov 2024 (and development-mode apps) "
        "lost this endpoint")
    assert info.value.requests == 1


def test_reccobeats_maps_rows_back_through_href(standin: StandIn, demo):
    known = library_ids(demo, True, True, 3)
    unknown = library_ids(demo, True, False, 1)
    provider = ReccoBeatsFeatures(standin.reccobeats_url)
    result = provider.fetch(unknown + known)
    assert set(result.rows) == set(known)  # unknown ids are simply absent
    for track_id in known:
        expected = {**demo.reccobeats_features_for(track_id), "time_signature": None, "duration_ms": None}
        assert result.rows[track_id] == expected
    served_ids = [row["id"] for row in json.loads(result.body)["content"]]
    assert served_ids == [demo.reccobeats_id(t) for t in known]  # keyed by ReccoBeats' own ids
    assert not set(served_ids) & set(known)


def test_reccobeats_body_parsing_by_hand():
    body = json.dumps({"content": [
        {"id": "0a1b-uuid", "href": f"https://open.spotify.com/track/{A}", "danceability": 0.5, "tempo": 120.0,
         "key": 5, "mode": 1, "energy": 0.7, "time_signature": 4},
        {"id": "ffff-uuid", "href": f"https://open.spotify.com/intl-de/track/{B}?si=abc", "energy": 0.1},
        {"id": "dead-uuid", "href": f"https://open.spotify.com/track/{X}", "energy": 0.9},  # not asked
        {"id": "dup-uuid", "href": f"https://open.spotify.com/track/{A}", "danceability": 0.9},  # A again
        {"id": "bad-uuid", "href": "https://example.com/track/1", "energy": 0.2},
        None,
    ]}).encode()
    rows = reccobeats_provider.parse_body(body, [A, B, C])
    assert sorted(rows) == [A, B]
    assert rows[A] == {"danceability": 0.5, "energy": 0.7, "speechiness": None, "instrumentalness": None,
                       "acousticness": None, "liveness": None, "valence": None, "loudness": None, "tempo": 120.0,
                       "key": 5, "mode": 1, "time_signature": None, "duration_ms": None}
    assert rows[B]["energy"] == 0.1
    assert list(rows[A]) == list(FEATURE_COLUMNS)


@pytest.mark.parametrize("href, expected", [
    (f"https://open.spotify.com/track/{A}", A),
    (f"http://open.spotify.com/track/{A}?si=1", A),
    (f"https://open.spotify.com/intl-fr/track/{A}", A),
    (f"https://open.spotify.com/album/{A}", None),
    (f"https://open.spotify.com/track/{A}x", None),
    (None, None),
    (42, None),
])
def test_spotify_id_from_href(href, expected):
    assert spotify_id_from_href(href) == expected


def test_reccobeats_retries_429_then_5xx_and_honours_retry_after(demo):
    faults = FaultConfig(script={"/reccobeats": [429, 503]}, retry_after=7)
    sleeps: list[float] = []
    with StandIn(demo, faults=faults) as server:
        provider = ReccoBeatsFeatures(server.reccobeats_url, sleep=sleeps.append)
        result = provider.fetch(library_ids(demo, True, True, 2))
        assert [status for _, route, _, status in server.request_log] == [429, 503, 200]
    assert result.requests == 3 and len(result.rows) == 2
    assert sleeps[0] == 7  # Retry-After
    assert 1.0 <= sleeps[1] <= 2.0  # back-off after the 503 (attempt 2): 2 s * jitter in [0.5, 1]


def test_reccobeats_gives_up_after_bounded_attempts(demo):
    with StandIn(demo, faults=FaultConfig(script={"/reccobeats": [503] * 10})) as server:
        provider = ReccoBeatsFeatures(server.reccobeats_url, sleep=lambda s: None, max_attempts=4)
        with pytest.raises(ProviderUnavailable, match="kept failing \\(HTTP 503\\) through 4 attempts"):
            provider.fetch([A])
        assert server.count("/reccobeats") == 4


def test_reccobeats_retry_after_too_long_is_not_waited_for(demo):
    with StandIn(demo, faults=FaultConfig(script={"/reccobeats": [429]}, retry_after=3600)) as server:
        provider = ReccoBeatsFeatures(server.reccobeats_url, sleep=lambda s: pytest.fail("slept"))
        with pytest.raises(ProviderUnavailable, match="asked to wait 3600s"):
            provider.fetch([A])


def test_reccobeats_404_turns_it_off_and_400_is_an_error(demo):
    with StandIn(demo, faults=FaultConfig(script={"/reccobeats": [404, 400]})) as server:
        provider = ReccoBeatsFeatures(server.reccobeats_url, sleep=lambda s: None)
        with pytest.raises(ProviderOff, match="ReccoBeats answers 404 .* check enrichment.reccobeats_url"):
            provider.fetch([A])
        with pytest.raises(ProviderError, match="ReccoBeats answered 400"):
            provider.fetch([A])


def test_batch_size_limits_are_enforced_before_any_request(standin: StandIn):
    with pytest.raises(ValueError, match="1..40 ids"):
        ReccoBeatsFeatures(standin.reccobeats_url).fetch([A] * 41)
    with pytest.raises(ValueError, match="1..100 ids"):
        SpotifyFeatures(make_api(standin)).fetch([A] * 101)
    assert standin.count("GET /reccobeats") == 0 and standin.count("GET /v1/audio-features") == 0
