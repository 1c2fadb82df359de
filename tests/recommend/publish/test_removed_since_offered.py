"""The third novelty rule: a pick the user took out of the playlist is seen at the next publish and never
offered again (gold/removed_picks), with hand-written histories."""

from __future__ import annotations

import pyarrow.parquet as pq

from tests.recommend.publish.conftest import DS, DS2, make_api, write_recommendations
from tests.recommend.publish.test_publish import NAME, catalogue
from weekly_discovery.recommend.publish import publish
from weekly_discovery.recommend.removals import removed_pick_ids

DS3 = "2026-12-07"


def remove_from_playlist(library, playlist_id, track_ids):
    """What the user does in the Spotify app: take songs out of the playlist."""
    playlist = library.playlists[playlist_id]
    playlist.items[:] = [e for e in playlist.items if e.track_id not in set(track_ids)]


def stored(lake, offered):
    path = lake.partition("gold", "removed_picks", offered) / "part-00000.parquet"
    return sorted((r["track_id"], r["offered_ds"], r["detected_ds"]) for r in pq.read_table(str(path)).to_pylist())


def test_a_pick_removed_from_the_playlist_is_recorded_at_the_next_publish_and_kept_out_after(standin, library, lake):
    week1, week2 = catalogue(library, 3), catalogue(library, 3, offset=3)
    write_recommendations(lake, DS, week1)
    first = publish(make_api(standin), lake, DS, NAME)
    assert first.removed_since_offered == []  # a new playlist: nothing was offered before
    remove_from_playlist(library, first.playlist_id, [week1[1]])

    write_recommendations(lake, DS2, week2)
    second = publish(make_api(standin), lake, DS2, NAME)
    assert second.removed_since_offered == [week1[1]]
    assert stored(lake, DS) == [(week1[1], DS, DS2)]
    # scoring DS2 itself ran before DS2's publish saw the removal: a rerun of it must see what it saw then
    assert removed_pick_ids(lake, DS2) == []
    assert removed_pick_ids(lake, DS3) == [week1[1]]
    # and it stays out for good, long after the novelty window
    assert removed_pick_ids(lake, "2027-11-29") == [week1[1]]


def test_a_rerun_of_the_publish_adds_nothing_twice_and_loses_nothing(standin, library, lake):
    week1, week2 = catalogue(library, 4), catalogue(library, 2, offset=10)
    write_recommendations(lake, DS, week1)
    first = publish(make_api(standin), lake, DS, NAME)
    remove_from_playlist(library, first.playlist_id, [week1[0], week1[3]])
    write_recommendations(lake, DS2, week2)
    publish(make_api(standin), lake, DS2, NAME)
    # rerun of DS2: the playlist now holds DS2's picks, all still there: DS's record is untouched
    again = publish(make_api(standin), lake, DS2, NAME)
    assert again.removed_since_offered == []
    assert stored(lake, DS) == sorted([(week1[0], DS, DS2), (week1[3], DS, DS2)])
    assert removed_pick_ids(lake, DS3) == sorted([week1[0], week1[3]])


def test_a_user_who_removes_nothing_has_no_removals_and_a_dry_run_records_none(standin, library, lake):
    week1 = catalogue(library, 3)
    write_recommendations(lake, DS, week1)
    first = publish(make_api(standin), lake, DS, NAME)
    write_recommendations(lake, DS2, catalogue(library, 3, offset=3))
    remove_from_playlist(library, first.playlist_id, [week1[2]])
    dry = publish(make_api(standin), lake, DS2, NAME, dry_run=True)
    assert dry.removed_since_offered == [] and not lake.partition("gold", "removed_picks", DS).exists()
    kept = publish(make_api(standin), lake, DS2, NAME)
    assert kept.removed_since_offered == [week1[2]]
