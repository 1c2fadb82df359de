"""The artists source against the stand-in Spotify over real HTTP: paging, the 10-album limit, budgets."""

from __future__ import annotations

import pytest
import requests

from devtools.standin import FaultConfig, StandIn
from devtools.standin.library import Album, Track
from tests.discover.kit import ADA, FEATURES, sid, tiny_library
from tests.ingest.conftest import make_api
from weekly_discovery.discover.library import LikedTrack, UserLibrary
from weekly_discovery.discover.sources.artists import ArtistsSource, NoSpotifyClient
from weekly_discovery.discover.sources.base import Clients, RequestBudget, SourceContext
from weekly_discovery.settings.config import Discover

ALBUMS_ROUTE = "GET /v1/artists/{artist_id}/albums"
TRACKS_ROUTE = "GET /v1/albums/{album_id}/tracks"


def big_ada():
    """The tiny world plus 12 more singles by Ada (14 releases: two pages of 10) and a 60-song album."""
    lib = tiny_library()
    for i in range(12):
        album = Album(sid(f"AlbS{i:02d}"), f"Single {i}", f"2025-{i + 1:02d}-01", (ADA,), "single", 1)
        lib.tracks[sid(f"s{i:02d}")] = Track(sid(f"s{i:02d}"), f"Single song {i}", [ADA], album, 150_000, dict(FEATURES))
    box = Album(sid("AlbBox"), "The Box", "2020-01-01", (ADA,), "compilation", 60)
    for i in range(60):
        lib.tracks[sid(f"x{i:02d}")] = Track(sid(f"x{i:02d}"), f"Box {i}", [ADA], box, 150_000, dict(FEATURES),
                                            track_number=i + 1)
    return lib


def view(liked_names) -> UserLibrary:
    likes = tuple(LikedTrack(sid(n), ADA.id, "Ada", None) for n in liked_names)
    ids = frozenset(sid(n) for n in liked_names)
    return UserLibrary(ids, frozenset(), ids, likes, ())


def run(standin, library, *, budget=150, albums=None, **settings):
    s = Discover(top_artists=1, **settings)
    context = SourceContext(ds="2026-11-23", seed=0, library=library, settings=s, budget=RequestBudget("artists", budget),
                            clients=Clients(spotify=make_api(standin)), album_tracks=albums or {})
    return ArtistsSource(s).gather(context), context.budget


def test_follows_next_pages_of_ten_albums_and_of_fifty_tracks():
    lib = big_ada()
    with StandIn(lib) as standin:
        result, budget = run(standin, view(["a1"]), album_groups="album,single,compilation")
        assert standin.count(ALBUMS_ROUTE) == 2  # 15 releases: 10 + 5
        assert standin.count(TRACKS_ROUTE) == 15 + 1  # one page per album, two for the 60-song box
        assert standin.count(ALBUMS_ROUTE, status=400) == 0
        album_pages = [r.path for r in standin.request_log if r.route == ALBUMS_ROUTE.split(" ")[1]]
    assert budget.used == 18 and result.status == "done"
    assert len(result.candidates) == 3 + 12 + 60  # a2, a3, a4, the singles and the box; a1 is liked
    assert {t.album_id for t in result.album_tracks} == {sid("AlbA1"), sid("AlbA2"), sid("AlbBox")} | {
        sid(f"AlbS{i:02d}") for i in range(12)}
    assert len(album_pages) == 2
    params = [a.params for a in result.answers if a.endpoint.endswith("/albums")]
    assert [(p["limit"], p["offset"]) for p in params] == [(10, 0), (10, 10)]


def test_include_groups_leaves_out_compilations_by_default():
    with StandIn(big_ada()) as standin:
        result, _ = run(standin, view(["a1"]))
    assert sid("AlbBox") not in {c.album_id for c in result.candidates}


def test_more_than_ten_albums_a_page_is_refused_like_spotify_does():
    with StandIn(tiny_library()) as standin:
        token = standin.issue_access_token()
        answer = requests.get(f"{standin.api_base_url}artists/{ADA.id}/albums", params={"limit": 11},
                              headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"]["message"] == "Invalid limit"
    with pytest.raises(ValueError, match="albums_page_size"):
        Discover(albums_page_size=11)


def test_the_budget_stops_the_source_and_an_album_read_in_part_is_not_kept():
    with StandIn(big_ada()) as standin:
        result, budget = run(standin, view(["a1"]), budget=3, album_groups="album,single,compilation")
        # 2 album pages, then the first album (the newest single): the budget is gone before the next
        assert standin.count(ALBUMS_ROUTE) + standin.count(TRACKS_ROUTE) == 3
    assert (budget.used, result.status) == (3, "budget")
    assert "budget of 3 requests" in result.note
    assert len({t.album_id for t in result.album_tracks}) == 1


def test_albums_already_read_cost_no_request():
    lib = tiny_library()
    with StandIn(lib) as standin:
        first, _ = run(standin, view(["a1"]))
        kept = {}
        for track in first.album_tracks:
            kept.setdefault(track.album_id, ())
            kept[track.album_id] += (track,)
        standin.reset_counts()
        second, budget = run(standin, view(["a1"]), albums=kept)
        assert standin.count(TRACKS_ROUTE) == 0 and standin.count(ALBUMS_ROUTE) == 1
    assert budget.used == 1 and second.album_tracks == []
    assert [c.track_id for c in second.candidates] == [c.track_id for c in first.candidates]


def test_top_artists_by_liked_songs():
    likes = (LikedTrack(sid("a1"), ADA.id, "Ada", None), LikedTrack(sid("a3"), ADA.id, "Ada", None),
             LikedTrack(sid("b1"), sid("ArtBo"), "Bo", None), LikedTrack(sid("q1"), None, None, None))
    library = UserLibrary(frozenset(), frozenset(), frozenset(), likes, ())
    assert library.top_artists(5) == [(ADA.id, "Ada", 2), (sid("ArtBo"), "Bo", 1)]
    assert library.top_artists(1) == [(ADA.id, "Ada", 2)]


def test_without_a_spotify_client_the_message_names_the_fix():
    s = Discover()
    context = SourceContext(ds="2026-11-23", seed=0, library=view(["a1"]), settings=s,
                            budget=RequestBudget("artists", 5), clients=Clients())
    with pytest.raises(NoSpotifyClient, match="leave 'artists' out of discover.sources"):
        ArtistsSource(s).gather(context)


def test_spotify_faults_are_retried_by_the_client_within_one_request_of_the_budget():
    faults = FaultConfig(script={"GET /v1/artists": [429, 503]}, retry_after=0)
    with StandIn(tiny_library(), faults=faults) as standin:
        result, budget = run(standin, view(["a1"]))
        assert standin.count(ALBUMS_ROUTE) == 3 and standin.count(ALBUMS_ROUTE, status=200) == 1
    assert budget.used == 3 and result.status == "done"  # the albums page, then the two albums' tracks
    assert [c.track_id for c in result.candidates] == [sid("a4"), sid("a2"), sid("a3")]
