"""What publishing refuses to do to the user's Spotify account (issue 12, items 3, 7, 8 and 9).

* item 3: the stored playlist is replaced only if the user owns it and it carries the configured
  name (a swapped lake's ``_playlist.json`` may name any playlist the owner can edit);
* item 7: ``POST /me/playlists`` is never blindly retried, and an owned playlist of that name is
  reused instead of creating a second one;
* item 8: a playlist the user deleted (on Spotify: unfollowed, still readable) is noticed;
* item 9: an empty week or an older week does not replace the live playlist without a parameter.

As in test_publish.py: spotipy over real HTTP to the stand-in; assertions read the stand-in's
request log and library.
"""

from __future__ import annotations

import json

import pytest

from devtools.standin import FaultConfig, Playlist, PlaylistEntry, StandIn
from devtools.standin.server import DROP_CONNECTION
from tests.recommend.publish.conftest import DS, DS2, make_api, publish_record, write_recommendations
from weekly_discovery.core.errors import TransientError, UserError
from weekly_discovery.lake import PUBLISHED, delta
from weekly_discovery.lake.layout import read_json
from weekly_discovery.recommend.publish.playlist import (
    DESCRIPTION,
    PlaylistCreateUncertain,
    PlaylistRefused,
    publish,
)

NAME = "Weekly Discovery"
CREATE = "POST /v1/me/playlists"
DS0 = "2026-11-16"


def owned_playlists(library, name):
    return [p for p in library.playlists.values() if p.name == name and p.owner_id == library.user_id]


def catalogue(library, n, offset=0):
    return sorted(library.tracks)[offset:offset + n]


def add_playlist(library, playlist_id, name, *, owner_id=None, collaborative=False, tracks=(), description=""):
    playlist = Playlist(id=playlist_id, name=name, owner_id=owner_id or library.user_id,
                        collaborative=collaborative, owner_display_name=owner_id or library.display_name,
                        items=[PlaylistEntry.of_track(t, "2026-11-01T00:00:00Z") for t in tracks],
                        description=description)
    library.playlists[playlist_id] = playlist
    return playlist


def store_playlist_id(lake, name, playlist_id):
    """``gold/published/_playlist.json`` as a previous run (or a swapped lake) left it, written by hand."""
    folder = lake.table("gold", "published")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_playlist.json").write_text(json.dumps({"playlists": {name: {
        "id": playlist_id, "uri": f"spotify:playlist:{playlist_id}", "name": name,
        "url": f"https://open.spotify.com/playlist/{playlist_id}", "created_ds": DS0}}}))


def spotify_writes(standin):
    return [f"{r.method} {r.route}" for r in standin.request_log if r.route.startswith("/v1/") and r.method != "GET"]


# -- item 3: only the owner's playlist with the configured name is replaced ------------------------

def test_a_stored_playlist_of_another_owner_is_refused(standin, library, lake):
    theirs = add_playlist(library, "Collab" + "0" * 16, NAME, owner_id="someone-else", collaborative=True,
                          tracks=catalogue(library, 3, offset=300))
    before = list(theirs.items)
    store_playlist_id(lake, NAME, theirs.id)
    write_recommendations(lake, DS, catalogue(library, 5))

    with pytest.raises(PlaylistRefused) as raised:
        publish(make_api(standin), lake, DS, NAME)

    assert isinstance(raised.value, UserError)  # retrying cannot help: the task fails at once
    message = str(raised.value)
    assert theirs.id in message and "someone-else" in message and library.user_id in message
    assert "_playlist.json" in message  # the fix: where the id comes from
    assert theirs.items == before and spotify_writes(standin) == []
    assert owned_playlists(library, NAME) == []


def test_a_stored_playlist_with_another_name_is_refused(standin, library, lake):
    mine = add_playlist(library, "RoadTrip" + "0" * 14, "Road trip", tracks=catalogue(library, 4, offset=300))
    before = list(mine.items)
    store_playlist_id(lake, NAME, mine.id)
    write_recommendations(lake, DS, catalogue(library, 5))

    with pytest.raises(PlaylistRefused) as raised:
        publish(make_api(standin), lake, DS, NAME)

    message = str(raised.value)
    assert "'Road trip'" in message and f"'{NAME}'" in message and "_playlist.json" in message
    assert mine.items == before and spotify_writes(standin) == []


def test_a_refused_playlist_fails_the_task_without_retries(standin, library, lake):
    from airflow.sdk.exceptions import AirflowFailException

    from weekly_discovery.airflow.runtime import fail_fast_on_user_errors

    mine = add_playlist(library, "RoadTrip" + "0" * 14, "Road trip")
    store_playlist_id(lake, NAME, mine.id)
    write_recommendations(lake, DS, catalogue(library, 5))
    with pytest.raises(AirflowFailException, match="Road trip"):
        with fail_fast_on_user_errors():
            publish(make_api(standin), lake, DS, NAME)


# -- item 7: create once, reuse an owned playlist of that name --------------------------------------

def test_an_owned_playlist_with_the_name_is_reused_instead_of_a_second_one(standin, library, lake):
    # e.g. the lake was lost, or a run crashed between creating the playlist and remembering it;
    # 60 newer playlists push it to the second page of /me/playlists (50 a page)
    existing = add_playlist(library, "Existing" + "0" * 14, NAME, tracks=catalogue(library, 2, offset=300),
                            description=DESCRIPTION)  # created by an earlier run: it carries the marker
    for i in range(60):
        add_playlist(library, f"Other{i:017d}", f"Mix {i}")
    uris = write_recommendations(lake, DS, catalogue(library, 5))

    result = publish(make_api(standin), lake, DS, NAME)

    assert CREATE not in spotify_writes(standin)
    assert owned_playlists(library, NAME) == [existing]
    assert result.playlist_id == existing.id and not result.created
    assert [f"spotify:track:{t}" for t in existing.track_ids()] == uris
    stored = read_json(lake.table("gold", "published") / "_playlist.json")["playlists"][NAME]
    assert stored["id"] == existing.id


@pytest.mark.parametrize("lost", [503, DROP_CONNECTION], ids=["5xx-after-the-fact", "connection-dropped"])
def test_a_create_whose_answer_is_lost_is_not_retried_and_the_new_playlist_is_found(library, lake, lost):
    uris = write_recommendations(lake, DS, catalogue(library, 5))
    with StandIn(library, faults=FaultConfig(lose_answers={CREATE: [lost]})) as standin:
        result = publish(make_api(standin), lake, DS, NAME)
        creates = standin.count(CREATE)

    assert creates == 1  # never a second POST /me/playlists
    [playlist] = owned_playlists(library, NAME)
    assert result.playlist_id == playlist.id and result.created
    assert [f"spotify:track:{t}" for t in playlist.track_ids()] == uris
    assert read_json(lake.table("gold", "published") / "_playlist.json")["playlists"][NAME]["id"] == playlist.id


def test_a_failed_create_that_made_nothing_fails_for_a_task_retry_which_creates_it(library, lake):
    uris = write_recommendations(lake, DS, catalogue(library, 5))
    with StandIn(library, faults=FaultConfig(script={CREATE: [503]})) as standin:
        api = make_api(standin)
        with pytest.raises(PlaylistCreateUncertain) as raised:
            publish(api, lake, DS, NAME)
        assert isinstance(raised.value, TransientError)  # Airflow retries the task, minutes later
        assert "503" in str(raised.value)
        assert standin.count(CREATE) == 1 and owned_playlists(library, NAME) == []

        result = publish(api, lake, DS, NAME)  # the task's retry: looks again, then creates
        assert standin.count(CREATE) == 2
    [playlist] = owned_playlists(library, NAME)
    assert result.created and [f"spotify:track:{t}" for t in playlist.track_ids()] == uris


def test_a_rate_limited_create_is_retried_since_spotify_did_not_carry_it_out(library, lake):
    write_recommendations(lake, DS, catalogue(library, 5))
    with StandIn(library, faults=FaultConfig(script={CREATE: [429]})) as standin:
        result = publish(make_api(standin), lake, DS, NAME)
        assert [r.status for r in standin.request_log if f"{r.method} {r.route}" == CREATE] == [429, 201]
    assert [p.id for p in owned_playlists(library, NAME)] == [result.playlist_id]


# -- item 8: a deleted playlist is an unfollowed one -----------------------------------------------

def test_a_playlist_the_user_deleted_on_spotify_is_created_again(standin, library, lake):
    write_recommendations(lake, DS, catalogue(library, 5))
    api = make_api(standin)
    first = publish(api, lake, DS, NAME)
    api.sp.current_user_unfollow_playlist(first.playlist_id)  # "delete" in the Spotify app
    assert api.sp.playlist(first.playlist_id)["id"] == first.playlist_id  # Spotify still answers the GET
    old = library.playlists[first.playlist_id]
    revision = old.revision

    uris = write_recommendations(lake, DS2, catalogue(library, 7, offset=100))
    second = publish(api, lake, DS2, NAME)

    assert second.created and second.playlist_id != first.playlist_id
    assert old.revision == revision  # the deleted one is left alone
    new = library.playlists[second.playlist_id]
    assert new.followed and [f"spotify:track:{t}" for t in new.track_ids()] == uris
    stored = read_json(lake.table("gold", "published") / "_playlist.json")["playlists"][NAME]
    assert stored["id"] == second.playlist_id


# -- item 9: an empty or older week needs an explicit parameter -------------------------------------

def test_an_empty_week_leaves_the_live_playlist_alone(standin, library, lake, caplog):
    uris = write_recommendations(lake, DS, catalogue(library, 10))
    api = make_api(standin)
    first = publish(api, lake, DS, NAME)
    write_recommendations(lake, DS2, [])
    standin.reset_counts()
    caplog.set_level("INFO", logger="weekly_discovery.recommend.publish.playlist")

    result = publish(api, lake, DS2, NAME)

    assert standin.request_log == []  # not a single request to Spotify
    assert [f"spotify:track:{t}" for t in library.playlists[first.playlist_id].track_ids()] == uris
    assert result.skipped and "no recommendations" in result.skipped and "allow_empty" in result.skipped
    assert "allow_empty" in caplog.text
    record = publish_record(lake, DS2)
    assert record["skipped"] == result.skipped and record["snapshot_id"] is None and record["tracks"] == 0


def test_an_empty_week_on_a_dry_run_is_skipped_too_and_writes_nothing(standin, library, lake):
    write_recommendations(lake, DS, [])
    result = publish(make_api(standin), lake, DS, NAME, dry_run=True)
    assert result.skipped and standin.request_log == []
    assert not delta.exists(lake, PUBLISHED) and publish_record(lake, DS) is None


def test_an_older_week_does_not_replace_a_newer_one_unless_allowed(standin, library, lake, caplog):
    old_uris = write_recommendations(lake, DS, catalogue(library, 5))
    new_uris = write_recommendations(lake, DS2, catalogue(library, 6, offset=100))
    api = make_api(standin)
    live = publish(api, lake, DS2, NAME)
    live_record = publish_record(lake, DS2)
    playlist = library.playlists[live.playlist_id]
    standin.reset_counts()
    caplog.set_level("INFO", logger="weekly_discovery.recommend.publish.playlist")

    backfill = publish(api, lake, DS, NAME)

    assert standin.request_log == []
    assert [f"spotify:track:{t}" for t in playlist.track_ids()] == new_uris
    assert backfill.skipped and DS2 in backfill.skipped and "allow_backfill" in backfill.skipped
    assert "allow_backfill" in caplog.text
    assert publish_record(lake, DS)["skipped"] == backfill.skipped
    assert publish_record(lake, DS2) == live_record

    allowed = publish(api, lake, DS, NAME, allow_backfill=True)
    assert allowed.skipped is None and allowed.playlist_id == live.playlist_id
    assert [f"spotify:track:{t}" for t in playlist.track_ids()] == old_uris


def test_a_skipped_rerun_keeps_the_record_of_what_that_week_published(standin, library, lake):
    write_recommendations(lake, DS, catalogue(library, 5))
    write_recommendations(lake, DS2, catalogue(library, 6, offset=100))
    api = make_api(standin)
    published = publish(api, lake, DS, NAME)
    earlier = publish_record(lake, DS)
    publish(api, lake, DS2, NAME)

    again = publish(api, lake, DS, NAME)  # a manual rerun of the older week

    assert again.skipped
    record = publish_record(lake, DS)
    assert record["skipped"] == again.skipped and record["earlier_record"] == earlier
    assert earlier["snapshot_id"] == published.snapshot_id


def test_the_last_published_week_is_found_in_the_records_of_an_older_lake(standin, library, lake):
    """_playlist.json written before the week was remembered there: the publish records still tell."""
    write_recommendations(lake, DS, catalogue(library, 5))
    write_recommendations(lake, DS2, catalogue(library, 6, offset=100))
    api = make_api(standin)
    live = publish(api, lake, DS2, NAME)
    store_playlist_id(lake, NAME, live.playlist_id)  # the old format: no published_ds
    assert publish(api, lake, DS, NAME).skipped


def test_the_client_does_not_repeat_a_create_that_timed_out(standin):
    """The contract publishing relies on: a call marked ``idempotent=False`` is not repeated after a
    timeout (it may have reached Spotify), while an idempotent one is retried."""
    import requests

    from weekly_discovery.spotify.errors import SpotifyUnavailable

    calls = []

    def create(*args, **kwargs):
        calls.append(args)
        raise requests.ReadTimeout("read timed out")

    api = make_api(standin)
    with pytest.raises(SpotifyUnavailable):
        api.call(create, NAME, idempotent=False)
    assert len(calls) == 1
    with pytest.raises(SpotifyUnavailable):
        api.call(create, NAME)
    assert len(calls) == 1 + api.policy.max_attempts


def test_a_token_that_cannot_list_private_playlists_asks_to_authorize_again(library, lake):
    """Without playlist-read-private, /me/playlists leaves private playlists out: the stored (private)
    playlist would look deleted and every run would create another one."""
    from weekly_discovery.spotify.errors import REAUTHORIZE_HINT, ReauthorizationRequired

    write_recommendations(lake, DS, catalogue(library, 5))
    with StandIn(library, scopes="user-library-read playlist-modify-private") as standin:
        with pytest.raises(ReauthorizationRequired) as raised:
            publish(make_api(standin), lake, DS, NAME)
        assert spotify_writes(standin) == []
    assert "playlist-read-private" in str(raised.value) and REAUTHORIZE_HINT in str(raised.value)
    assert owned_playlists(library, NAME) == []
