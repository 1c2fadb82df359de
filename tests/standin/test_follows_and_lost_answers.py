"""Deleting a playlist is an unfollow, and a write's answer can be lost after the write happened.

Both are how the real service behaves and what publishing must cope with (issue 12, items 7 and 8):
on Spotify "delete playlist" in the app removes the user as a follower, the playlist itself stays
readable; and a POST whose answer times out or comes back 5xx may still have been carried out.
"""

from __future__ import annotations

import pytest
import requests
import spotipy

from devtools.standin import FaultConfig, StandIn, generate_demo_library
from devtools.standin.server import DROP_CONNECTION


@pytest.fixture
def library():
    return generate_demo_library(seed=5, n_tracks=300)


def _session(server: StandIn, scopes: str | None = None) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {server.issue_access_token(scopes)}"
    return session


def _listed_ids(session: requests.Session, server: StandIn) -> list[str]:
    ids, url = [], server.api_base_url + "me/playlists?limit=50"
    while url:
        page = session.get(url).json()
        ids += [p["id"] for p in page["items"]]
        url = page["next"]
    return ids


def test_an_unfollowed_playlist_still_answers_get_but_is_no_longer_listed(library):
    owned = next(p for p in library.playlists.values() if p.owner_id == library.user_id)
    with StandIn(library) as server:
        session = _session(server)
        base = server.api_base_url
        uri = f"spotify:playlist:{owned.id}"
        assert session.get(f"{base}playlists/{owned.id}/followers/contains").json() == [True]
        assert session.get(f"{base}me/library/contains", params={"uris": uri}).json() == [True]

        sp = spotipy.Spotify(auth=server.issue_access_token(), retries=0, status_retries=0)
        sp.prefix = base
        sp.current_user_unfollow_playlist(owned.id)  # what "delete" in the Spotify app does

        assert owned.id in library.playlists and library.playlists[owned.id].followed is False
        answer = session.get(f"{base}playlists/{owned.id}")
        assert answer.status_code == 200 and answer.json()["name"] == owned.name
        assert owned.id not in _listed_ids(session, server)
        assert len(_listed_ids(session, server)) == len(library.playlists) - 1
        assert session.get(f"{base}playlists/{owned.id}/followers/contains").json() == [False]
        assert session.get(f"{base}me/library/contains", params={"uris": uri}).json() == [False]

        assert session.put(f"{base}playlists/{owned.id}/followers", json={"public": False}).status_code == 200
        assert owned.id in _listed_ids(session, server)
        assert session.get(f"{base}playlists/{owned.id}/followers/contains").json() == [True]


def test_library_contains_answers_in_order_and_checks_its_input(library):
    owned = next(p for p in library.playlists.values() if p.owner_id == library.user_id)
    saved_id = library.saved[0][1]
    unsaved_id = next(t for t in library.tracks if t not in {s for _, s in library.saved})
    with StandIn(library) as server:
        session = _session(server)
        url = server.api_base_url + "me/library/contains"
        uris = [f"spotify:track:{unsaved_id}", f"spotify:playlist:{owned.id}", f"spotify:track:{saved_id}",
                "spotify:playlist:" + "0" * 22]
        assert session.get(url, params={"uris": ",".join(uris)}).json() == [False, True, True, False]
        assert session.get(url).status_code == 400
        assert session.get(url, params={"uris": "not-a-uri"}).status_code == 400
        assert session.get(url, params={"uris": ",".join([f"spotify:track:{saved_id}"] * 41)}).status_code == 400
        assert _session(server, "user-read-email").get(url, params={"uris": uris[0]}).status_code == 403


def test_unfollowing_needs_a_modify_scope_and_an_existing_playlist(library):
    owned = next(p for p in library.playlists.values() if p.owner_id == library.user_id)
    with StandIn(library) as server:
        base = server.api_base_url
        read_only = _session(server, "playlist-read-private")
        assert read_only.delete(f"{base}playlists/{owned.id}/followers").status_code == 403
        assert library.playlists[owned.id].followed is True
        assert _session(server).delete(f"{base}playlists/{'0' * 22}/followers").status_code == 404


@pytest.mark.parametrize("lost", [503, DROP_CONNECTION])
def test_a_lost_answer_comes_after_the_write_happened(library, lost):
    faults = FaultConfig(lose_answers={"POST /v1/me/playlists": [lost]})
    with StandIn(library, faults=faults) as server:
        session = _session(server)
        url = server.api_base_url + "me/playlists"
        before = len(library.playlists)
        if lost == DROP_CONNECTION:
            with pytest.raises(requests.ConnectionError):
                session.post(url, json={"name": "Lost answer"})
        else:
            answer = session.post(url, json={"name": "Lost answer"})
            assert answer.status_code == 503 and answer.json()["error"]["status"] == 503
        # the write was applied all the same, once
        assert [p.name for p in library.playlists.values()].count("Lost answer") == 1
        assert len(library.playlists) == before + 1
        assert server.count("POST /v1/me/playlists", status=lost) == 1
        # the next request is answered normally: only the scripted answer was lost
        assert session.post(url, json={"name": "Second"}).status_code == 201


def test_a_failed_write_does_not_use_up_a_lost_answer(library):
    faults = FaultConfig(lose_answers={"POST /v1/me/playlists": [503]})
    with StandIn(library, faults=faults) as server:
        url = server.api_base_url + "me/playlists"
        assert _session(server).post(url, json={}).status_code == 400  # no name: nothing was written
        assert _session(server).post(url, json={"name": "Kept"}).status_code == 503
        assert [p.name for p in library.playlists.values()].count("Kept") == 1


def test_private_playlists_are_listed_only_with_playlist_read_private(library):
    private = [p.id for p in library.playlists.values() if p.owner_id == library.user_id and not p.public
               and not p.collaborative]
    assert private
    with StandIn(library) as server:
        full = _listed_ids(_session(server), server)
        without = _listed_ids(_session(server, "user-library-read playlist-read-collaborative"), server)
    assert set(private) <= set(full) and not set(private) & set(without)
    assert set(without) == set(full) - set(private)
