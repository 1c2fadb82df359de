"""Publishing records the history of picks (gold/picks) only when the playlist is really updated."""

from __future__ import annotations

from tests.recommend.publish.conftest import DS, DS2, make_api, write_recommendations
from tests.recommend.publish.test_publish import NAME, catalogue
from weekly_discovery.lake import PICKS, delta
from weekly_discovery.recommend.publish.history import recent_pick_ids
from weekly_discovery.recommend.publish.playlist import publish


def read_picks(lake, ds):
    """The week's rows of the Delta table gold/picks, with their ``ds``, in rank order."""
    rows = delta.read_rows(lake, PICKS, ds, ["ds", "rank", "track_id", "track_uri", "name", "artist_names",
                                             "primary_artist_id", "primary_artist_name", "source", "probability",
                                             "reason", "playlist_id"])
    return sorted(rows, key=lambda r: r["rank"])


def test_a_published_week_records_its_picks_in_rank_order(standin, library, lake):
    tracks = catalogue(library, 3)
    write_recommendations(lake, DS, tracks)
    result = publish(make_api(standin), lake, DS, NAME)
    picks = read_picks(lake, DS)
    assert [(p["ds"], p["rank"], p["track_id"], p["track_uri"], p["playlist_id"]) for p in picks] == [
        (DS, 1, tracks[0], f"spotify:track:{tracks[0]}", result.playlist_id),
        (DS, 2, tracks[1], f"spotify:track:{tracks[1]}", result.playlist_id),
        (DS, 3, tracks[2], f"spotify:track:{tracks[2]}", result.playlist_id),
    ]
    # recommendations written before sources existed count as the playlists' songs, with no reason
    assert {(p["source"], p["reason"], p["artist_names"][0]) for p in picks} == {("playlists", "", "Someone")}
    assert picks[0]["probability"] == 0.99
    assert recent_pick_ids(lake, DS2, 12) == sorted(tracks)


def test_a_dry_run_and_a_skipped_week_record_no_picks(standin, library, lake):
    write_recommendations(lake, DS, catalogue(library, 3))
    publish(make_api(standin), lake, DS, NAME, dry_run=True)
    assert not delta.exists(lake, PICKS)
    write_recommendations(lake, DS2, [])  # an empty week is skipped (allow_empty is off)
    result = publish(make_api(standin), lake, DS2, NAME)
    assert result.skipped and not delta.exists(lake, PICKS)
