"""The third novelty rule: a pick the user took out of the playlist is seen when the next week's run starts
(before training, which learns from it) and never offered again (gold/removed_picks), with hand-written
histories."""

from __future__ import annotations

import json

from tests.recommend.publish.conftest import DS, DS2, make_api, write_recommendations
from tests.recommend.publish.test_publish import NAME, catalogue
from weekly_discovery.lake import REMOVED_PICKS, delta
from weekly_discovery.recommend.publish.playlist import detect_reaction, publish
from weekly_discovery.recommend.publish.removals import removed_pick_ids

DS3 = "2026-12-07"


def remove_from_playlist(library, playlist_id, track_ids):
    """What the user does in the Spotify app: take songs out of the playlist."""
    playlist = library.playlists[playlist_id]
    playlist.items[:] = [e for e in playlist.items if e.track_id not in set(track_ids)]


def stored(lake, offered):
    """The removals recorded for the week ``offered`` (its rows of the Delta table gold/removed_picks)."""
    rows = delta.read_rows(lake, REMOVED_PICKS, offered, ["track_id", "offered_ds", "detected_ds"])
    return sorted((r["track_id"], r["offered_ds"], r["detected_ds"]) for r in rows)


def test_a_pick_removed_from_the_playlist_is_recorded_when_the_next_week_starts_and_kept_out_after(
        standin, library, lake):
    week1, week2 = catalogue(library, 3), catalogue(library, 3, offset=3)
    assert detect_reaction(make_api(standin), lake, DS, NAME) == []  # no playlist yet: nothing to compare
    write_recommendations(lake, DS, week1)
    first = publish(make_api(standin), lake, DS, NAME)
    remove_from_playlist(library, first.playlist_id, [week1[1]])

    assert detect_reaction(make_api(standin), lake, DS2, NAME) == [week1[1]]
    assert stored(lake, DS) == [(week1[1], DS, DS2)]
    # week DS2 trains and scores after the detection: it sees the removal, and so does a rerun of it
    assert removed_pick_ids(lake, DS) == []
    assert removed_pick_ids(lake, DS2) == [week1[1]]
    write_recommendations(lake, DS2, week2)
    publish(make_api(standin), lake, DS2, NAME)
    assert removed_pick_ids(lake, DS2) == [week1[1]]
    # and it stays out for good, long after the novelty window
    assert removed_pick_ids(lake, "2027-11-29") == [week1[1]]


def test_a_rerun_or_a_retried_publish_adds_nothing_twice_and_loses_nothing(standin, library, lake):
    week1, week2 = catalogue(library, 4), catalogue(library, 2, offset=10)
    write_recommendations(lake, DS, week1)
    first = publish(make_api(standin), lake, DS, NAME)
    remove_from_playlist(library, first.playlist_id, [week1[0], week1[3]])
    assert sorted(detect_reaction(make_api(standin), lake, DS2, NAME)) == sorted([week1[0], week1[3]])
    write_recommendations(lake, DS2, week2)
    publish(make_api(standin), lake, DS2, NAME)
    publish(make_api(standin), lake, DS2, NAME)  # a retried publish reads no reaction
    # rerun of DS2: the playlist now holds DS2's picks: nothing is compared, DS's record is untouched
    assert detect_reaction(make_api(standin), lake, DS2, NAME) == []
    assert stored(lake, DS) == sorted([(week1[0], DS, DS2), (week1[3], DS, DS2)])
    assert removed_pick_ids(lake, DS3) == sorted([week1[0], week1[3]])


def test_a_publish_stopped_while_replacing_the_items_is_not_read_as_removals(standin, library, lake):
    """Issue 29's retried publish: the playlist already holds part of the new week when the next run starts."""
    week1 = catalogue(library, 4)
    write_recommendations(lake, DS, week1)
    first = publish(make_api(standin), lake, DS, NAME)
    state = lake.table("gold", "published") / "_playlist.json"
    data = json.loads(state.read_text())
    data["playlists"][NAME]["writing_ds"] = DS2  # DS2's publish died after it started replacing the items
    state.write_text(json.dumps(data))
    remove_from_playlist(library, first.playlist_id, week1)  # what the playlist holds is not DS's picks
    assert detect_reaction(make_api(standin), lake, DS3, NAME) == []
    assert not delta.exists(lake, REMOVED_PICKS)


def test_a_user_who_removes_nothing_has_no_removals(standin, library, lake):
    week1 = catalogue(library, 3)
    write_recommendations(lake, DS, week1)
    publish(make_api(standin), lake, DS, NAME)
    assert detect_reaction(make_api(standin), lake, DS2, NAME) == []
    assert not delta.exists(lake, REMOVED_PICKS)


def test_a_publish_that_fails_after_replacing_the_items_then_runs_again_records_no_removal(library, lake):
    """Issue 29, item 3, end to end: week 2's publish replaces the items, then every read-back fails (5xx), so
    the task fails with the playlist holding week 2's picks and _playlist.json still naming week 1. Neither
    the task's retry nor a cleared run of the whole DAG (which reads the reaction first) may record week 1's
    picks as removed by the user."""
    from devtools.standin import FaultConfig, StandIn

    week1, week2 = catalogue(library, 5), catalogue(library, 5, offset=5)
    with StandIn(library) as standin:
        write_recommendations(lake, DS, week1)
        playlist_id = publish(make_api(standin), lake, DS, NAME).playlist_id
        remove_from_playlist(library, playlist_id, [week1[0]])  # the one song the user really removed
        assert detect_reaction(make_api(standin), lake, DS2, NAME) == [week1[0]]
    write_recommendations(lake, DS2, week2)
    with StandIn(library, faults=FaultConfig(script={"GET /v1/playlists/{playlist_id}": [500] * 20})) as faulty:
        try:
            publish(make_api(faulty), lake, DS2, NAME)
        except Exception:  # noqa: BLE001 - the failure itself is what this test sets up
            pass
        else:
            raise AssertionError("the read-back was meant to fail")
        assert library.playlists[playlist_id].track_ids() == week2  # the items were replaced
    with StandIn(library) as standin:
        assert detect_reaction(make_api(standin), lake, DS2, NAME) == []  # the cleared run reads nothing
        publish(make_api(standin), lake, DS2, NAME)  # the retry succeeds
        assert detect_reaction(make_api(standin), lake, DS3, NAME) == []  # week 2's picks are all still there
    assert stored(lake, DS) == [(week1[0], DS, DS2)]
