"""The stand-in's discovery endpoints: Spotify's answers validate against the OpenAPI spec, the demo
library has albums the user has not heard, and ReccoBeats' recommendations look like the real ones."""

from __future__ import annotations

import pytest
import requests

from devtools.standin import FaultConfig, StandIn
from devtools.standin.library import UNHEARD_ARTISTS
from tests.standin import test_openapi_conformance as conformance  # skips with it where ../shared is absent
from tests.standin.test_openapi_conformance import library, standin  # noqa: F401 - the same seeded stand-in


@pytest.fixture(scope="module")
def get(standin):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {standin.issue_access_token()}"
    return lambda url, **params: session.get(url, params=params, timeout=10)


def top_liked_artists(library, k):
    counts = {}
    for _, track_id in library.saved:
        artist = library.tracks[track_id].artists[0].id
        counts[artist] = counts.get(artist, 0) + 1
    return sorted(counts, key=lambda a: (-counts[a], a))[:k]


def in_library(library):
    return set().union(*(library.role_track_ids(r) for r in ("liked", "disliked", "reference", "candidates")))


def test_the_most_liked_artists_have_albums_the_user_has_not_heard(library):
    heard = in_library(library)
    for artist in top_liked_artists(library, UNHEARD_ARTISTS):
        unheard = [a for a in library.artist_albums(artist)
                   if not {t.id for t in library.album_tracks(a.id)} & heard]
        assert len(unheard) >= 2, artist


def test_the_catalogue_keeps_its_size_and_album_counts_stay_true(library):
    assert len(library.tracks) == 3000
    for album in {t.album.id: t.album for t in library.tracks.values()}.values():
        assert album.total_tracks == len(library.album_tracks(album.id))


def test_artist_albums_pages_validate_and_follow_next(standin, library, get):
    validator = conformance._validator(conformance._response_schema("/artists/{id}/albums", "get", 200))
    artist = max(top_liked_artists(library, 20), key=lambda a: len(library.artist_albums(a)))
    expected = [a.id for a in library.artist_albums(artist) if a.album_type in ("album", "single")]
    assert len(expected) > 10
    page = get(f"{standin.api_base_url}artists/{artist}/albums", include_groups="album,single", limit=10).json()
    seen = []
    while True:
        conformance._assert_valid(validator, page)
        assert page["limit"] == 10 and all(a["album_group"] in ("album", "single") for a in page["items"])
        seen += [a["id"] for a in page["items"]]
        if not page["next"]:
            break
        assert "include_groups=album%2Csingle" in page["next"]
        page = get(page["next"]).json()
    assert seen == expected


def test_album_tracks_validate(standin, library, get):
    validator = conformance._validator(conformance._response_schema("/albums/{id}/tracks", "get", 200))
    album = next(iter(library.tracks.values())).album
    page = get(f"{standin.api_base_url}albums/{album.id}/tracks", limit=50).json()
    conformance._assert_valid(validator, page)
    assert [t["id"] for t in page["items"]] == [t.id for t in library.album_tracks(album.id)]
    assert "album" not in page["items"][0]


@pytest.mark.parametrize("path, params, status", [
    ("artists/{artist}/albums", {"limit": 11}, 400),
    ("artists/{artist}/albums", {"limit": 0}, 400),
    ("albums/{album}/tracks", {"limit": 51}, 400),
    ("artists/0000000000000000000000/albums", {}, 404),
    ("albums/0000000000000000000000/tracks", {}, 404),
])
def test_errors_validate(standin, library, get, path, params, status):
    track = next(iter(library.tracks.values()))
    url = standin.api_base_url + path.format(artist=track.artists[0].id, album=track.album.id)
    answer = get(url, **params)
    assert answer.status_code == status
    spec_path = "/artists/{id}/albums" if path.startswith("artists") else "/albums/{id}/tracks"
    conformance._assert_valid(conformance._error_validator(spec_path, "get", status), answer.json())


def test_reccobeats_recommendations_are_deterministic_and_include_library_songs(standin, library):
    seeds = [track_id for _, track_id in library.saved[:5]]
    url = f"{standin.reccobeats_url}/v1/track/recommendation"
    first = requests.get(url, params={"seeds": ",".join(seeds), "size": 100}, timeout=10).json()["content"]
    again = requests.get(url, params={"seeds": ",".join(seeds), "size": 100}, timeout=10).json()["content"]
    other = requests.get(url, params={"seeds": ",".join(seeds[1:]), "size": 100}, timeout=10).json()["content"]
    assert first == again and first != other and len(first) == 100
    ids = [row["href"].removeprefix("https://open.spotify.com/track/") for row in first]
    assert set(ids) & in_library(library) and not set(ids) & set(seeds)
    row = first[0]
    assert set(row) >= {"id", "trackTitle", "artists", "durationMs", "isrc", "href"}
    assert row["id"] == library.tracks[ids[0]].reccobeats_id  # ReccoBeats' own id, not Spotify's
    assert row["artists"][0]["href"].startswith("https://open.spotify.com/artist/")


@pytest.mark.parametrize("params", [{"seeds": ""}, {"seeds": ",".join(["x"] * 6)}, {"seeds": "a", "size": 101}])
def test_reccobeats_refuses_bad_requests(standin, params):
    answer = requests.get(f"{standin.reccobeats_url}/v1/track/recommendation", params=params, timeout=10)
    assert answer.status_code == 400


def test_reccobeats_faults_give_429_with_retry_after(library):
    with StandIn(library, faults=FaultConfig(fail_first_n=1, fail_statuses=(429,), retry_after=3)) as standin:
        seeds = library.saved[0][1]
        answer = requests.get(f"{standin.reccobeats_url}/v1/track/recommendation", params={"seeds": seeds}, timeout=10)
        assert (answer.status_code, answer.headers["Retry-After"]) == (429, "3")
        assert standin.count("GET /reccobeats/v1/track/recommendation", status=429) == 1
