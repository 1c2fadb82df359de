"""The playlist is created once, its items replaced on every run, in chunks of at most 100 URIs.

Everything goes through spotipy and :class:`SpotifyAPI` over HTTP to the stand-in; assertions read
the stand-in's request log and its library (what Spotify would hold), not the code under test.
"""

from __future__ import annotations

import pytest

from devtools.standin import StandIn
from tests.recommend.publish.conftest import DS, DS2, make_api, publish_record, write_recommendations
from weekly_discovery.lake import PICKS, PUBLISHED, delta
from weekly_discovery.lake.layout import read_json
from weekly_discovery.recommend.publish.playlist import PublishInputError, chunks, publish
from weekly_discovery.spotify.errors import REAUTHORIZE_HINT, ReauthorizationRequired

NAME = "Weekly Discovery"
ITEMS = "/v1/playlists/{playlist_id}/items"


def api_writes(standin: StandIn) -> list[tuple[str, str, int]]:
    """(method, route, status) of every Web API request that is not a read."""
    return [(r.method, r.route, r.status) for r in standin.request_log
            if r.route.startswith("/v1/") and r.method != "GET"]


def owned_playlists(library, name):
    return [p for p in library.playlists.values() if p.name == name and p.owner_id == library.user_id]


def catalogue(library, n, offset=0):
    return sorted(library.tracks)[offset:offset + n]


def test_chunks():
    assert chunks([]) == [[]]
    assert [len(c) for c in chunks([str(i) for i in range(230)])] == [100, 100, 30]
    assert [len(c) for c in chunks([str(i) for i in range(200)])] == [100, 100]


def test_first_run_creates_a_private_playlist_and_fills_it_in_chunks_of_100(standin, library, lake):
    uris = write_recommendations(lake, DS, catalogue(library, 230))
    result = publish(make_api(standin), lake, DS, NAME)

    [playlist] = owned_playlists(library, NAME)
    assert playlist.public is False
    assert [f"spotify:track:{t}" for t in playlist.track_ids()] == uris  # rank order, each once
    assert api_writes(standin) == [("POST", "/v1/me/playlists", 201), ("PUT", ITEMS, 200),
                                   ("POST", ITEMS, 201), ("POST", ITEMS, 201)]
    # the stand-in answers 400 to more than 100 URIs: every write succeeding means none exceeded it
    assert result.created and result.playlist_id == playlist.id and result.tracks == 230
    assert result.snapshot_id == playlist.snapshot_id
    assert result.playlist_url == f"https://open.spotify.com/playlist/{playlist.id}"
    stored = read_json(lake.table("gold", "published") / "_playlist.json")
    assert stored["playlists"][NAME]["id"] == playlist.id
    record = publish_record(lake, DS)
    assert record["snapshot_id"] == playlist.snapshot_id and record["uris"] == uris
    assert [r["uris"] for r in record["requests"] if r["path"].endswith("/items")] == [100, 100, 30]
    # gold/published: one row for the week, the record's main fields as columns beside the whole record
    [row] = delta.read_rows(lake, PUBLISHED, DS)
    assert {k: row[k] for k in ("playlist_name", "playlist_id", "tracks", "snapshot_id", "model_version", "dry_run",
                                "skipped", "skipped_at")} == {
        "playlist_name": NAME, "playlist_id": playlist.id, "tracks": 230, "snapshot_id": playlist.snapshot_id,
        "model_version": "2026-11-16", "dry_run": False, "skipped": None, "skipped_at": None}
    assert row["published_at"] == record["published_at"]


def test_a_rerun_replaces_the_items_without_creating_or_duplicating(standin, library, lake):
    write_recommendations(lake, DS, catalogue(library, 120))
    api = make_api(standin)
    first = publish(api, lake, DS, NAME)
    standin.reset_counts()
    again = publish(api, lake, DS, NAME)

    [playlist] = owned_playlists(library, NAME)
    assert again.playlist_id == first.playlist_id == playlist.id and not again.created
    assert len(playlist.track_ids()) == 120 == len(set(playlist.track_ids()))
    assert api_writes(standin) == [("PUT", ITEMS, 200), ("POST", ITEMS, 201)]
    # the rerun's record replaced the first one: still one row for the week
    assert len(delta.read_rows(lake, PUBLISHED, DS)) == 1 and publish_record(lake, DS)["tracks"] == 120

    # next week: other songs, fewer of them; same playlist, only the new songs
    uris = write_recommendations(lake, DS2, catalogue(library, 30, offset=200))
    publish(api, lake, DS2, NAME)
    assert [f"spotify:track:{t}" for t in playlist.track_ids()] == uris
    assert len(owned_playlists(library, NAME)) == 1


def test_a_playlist_deleted_on_spotify_is_created_again(standin, library, lake):
    write_recommendations(lake, DS, catalogue(library, 5))
    api = make_api(standin)
    first = publish(api, lake, DS, NAME)
    del library.playlists[first.playlist_id]
    second = publish(api, lake, DS, NAME)
    assert second.created and second.playlist_id != first.playlist_id
    assert len(owned_playlists(library, NAME)) == 1


def test_another_name_gets_its_own_playlist(standin, library, lake):
    write_recommendations(lake, DS, catalogue(library, 3))
    api = make_api(standin)
    a, b = publish(api, lake, DS, NAME), publish(api, lake, DS, "Weekly Discovery (test)")
    assert a.playlist_id != b.playlist_id
    assert set(read_json(lake.table("gold", "published") / "_playlist.json")["playlists"]) == {
        NAME, "Weekly Discovery (test)"}


def test_no_recommendations_empty_the_playlist_when_allowed(standin, library, lake):
    """Only with ``allow_empty``: without it the week is skipped (test_publish_safety.py)."""
    write_recommendations(lake, DS, catalogue(library, 10))
    api = make_api(standin)
    publish(api, lake, DS, NAME)
    write_recommendations(lake, DS2, [])
    result = publish(api, lake, DS2, NAME, allow_empty=True)
    [playlist] = owned_playlists(library, NAME)
    assert playlist.track_ids() == [] and result.tracks == 0


def test_dry_run_sends_no_write_request_and_writes_nothing(standin, library, lake, caplog):
    write_recommendations(lake, DS, catalogue(library, 150))
    caplog.set_level("INFO", logger="weekly_discovery.recommend.publish.playlist")
    result = publish(make_api(standin), lake, DS, NAME, dry_run=True)

    assert api_writes(standin) == []
    assert owned_playlists(library, NAME) == []
    assert not (lake.table("gold", "published") / "_playlist.json").exists()
    assert not delta.exists(lake, PUBLISHED) and not delta.exists(lake, PICKS)
    assert result.dry_run and result.snapshot_id is None and result.tracks == 150
    assert [r["uris"] for r in result.requests] == [100, 50]
    assert "would create the private playlist 'Weekly Discovery'" in caplog.text

    # with a playlist already there, a dry run only reads
    api = make_api(standin)
    created = publish(api, lake, DS, NAME)
    standin.reset_counts()
    publish(api, lake, DS, NAME, dry_run=True)
    assert api_writes(standin) == []
    assert len(owned_playlists(library, NAME)[0].track_ids()) == 150 and created.created


def test_missing_write_scope_asks_to_authorize_again(library, lake):
    write_recommendations(lake, DS, catalogue(library, 3))
    with StandIn(library, scopes="user-library-read playlist-read-private") as standin:
        with pytest.raises(ReauthorizationRequired) as raised:
            publish(make_api(standin), lake, DS, NAME)
    message = str(raised.value)
    assert "playlist-modify-private" in message and "Insufficient client scope" in message
    assert REAUTHORIZE_HINT in message


def test_missing_write_scope_fails_the_task_without_retries(library, lake):
    from airflow.sdk.exceptions import AirflowFailException

    from weekly_discovery.airflow.runtime import fail_fast_on_user_errors

    write_recommendations(lake, DS, catalogue(library, 3))
    with StandIn(library, scopes="user-library-read") as standin:
        with pytest.raises(AirflowFailException, match="make spotify-auth"):
            with fail_fast_on_user_errors():
                publish(make_api(standin), lake, DS, NAME)


def test_missing_recommendations_say_which_step_to_run(standin, lake):
    with pytest.raises(PublishInputError, match="run the score step"):
        publish(make_api(standin), lake, DS, NAME)
