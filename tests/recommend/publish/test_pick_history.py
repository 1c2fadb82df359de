"""gold/picks: the history of published picks, its exact schema, and the novelty window read from it."""

from __future__ import annotations

import pyarrow as pa

from weekly_discovery.lake import PICKS, REMOVED_PICKS, Lake, delta
from weekly_discovery.recommend.publish.history import pick_rows, recent_pick_ids, window_weeks, write_picks

DS = "2026-11-23"


def rec(rank, track, source="reccobeats", probability=0.9):
    return {"rank": rank, "track_id": track, "uri": f"spotify:track:{track}", "name": f"Song {track}",
            "artists": ["Ada", "Bo"], "primary_artist_id": "ArtAda", "primary_artist_name": "Ada",
            "probability": probability, "source_key": f"discover-{source}", "source_name": "x", "source": source,
            "reason": f"why {track}"}


def test_the_picks_table_has_the_contract_schema(tmp_path):
    lake = Lake(str(tmp_path))
    write_picks(lake, DS, pick_rows(DS, [rec(2, "t2", "artists", 0.7), rec(1, "t1")], "PL1"))
    table = delta.read(lake, PICKS, DS, columns=["ds", "rank", "track_id", "track_uri", "name", "artist_names",
                                                 "primary_artist_id", "primary_artist_name", "source", "probability",
                                                 "reason", "playlist_id"])
    assert delta.dates(lake, PICKS) == [DS]
    assert sorted(f.name for f in delta.open_table(lake, PICKS).schema().fields) == sorted(table.column_names)
    table = table.sort_by("rank")
    assert table.schema == pa.schema([
        ("ds", pa.string()), ("rank", pa.int32()), ("track_id", pa.string()), ("track_uri", pa.string()),
        ("name", pa.string()), ("artist_names", pa.list_(pa.string())), ("primary_artist_id", pa.string()),
        ("primary_artist_name", pa.string()), ("source", pa.string()), ("probability", pa.float64()),
        ("reason", pa.string()), ("playlist_id", pa.string()),
    ])
    assert table.to_pylist() == [
        {"ds": DS, "rank": 1, "track_id": "t1", "track_uri": "spotify:track:t1", "name": "Song t1",
         "artist_names": ["Ada", "Bo"], "primary_artist_id": "ArtAda", "primary_artist_name": "Ada",
         "source": "reccobeats", "probability": 0.9, "reason": "why t1", "playlist_id": "PL1"},
        {"ds": DS, "rank": 2, "track_id": "t2", "track_uri": "spotify:track:t2", "name": "Song t2",
         "artist_names": ["Ada", "Bo"], "primary_artist_id": "ArtAda", "primary_artist_name": "Ada",
         "source": "artists", "probability": 0.7, "reason": "why t2", "playlist_id": "PL1"},
    ]


def test_the_window_is_the_weeks_strictly_before_within_novelty_weeks():
    published = ["2026-08-24", "2026-08-31", "2026-11-16", "2026-11-23", "2026-11-30"]
    # 12 weeks before 2026-11-23 is 2026-08-31 (84 days): in; 2026-08-24 (91 days): out;
    # the week itself and later weeks: out
    assert window_weeks(DS, 12, published) == ["2026-08-31", "2026-11-16"]
    assert window_weeks(DS, 1, published) == ["2026-11-16"]
    assert window_weeks(DS, 0, published) == []


def test_recent_pick_ids_reads_only_the_window(tmp_path):
    lake = Lake(str(tmp_path))
    write_picks(lake, "2026-08-24", pick_rows("2026-08-24", [rec(1, "old")], "PL1"))  # 13 weeks before: free again
    write_picks(lake, "2026-08-31", pick_rows("2026-08-31", [rec(1, "w12")], "PL1"))
    write_picks(lake, "2026-11-16", pick_rows("2026-11-16", [rec(1, "w1"), rec(2, "w1b")], "PL1"))
    write_picks(lake, DS, pick_rows(DS, [rec(1, "same-week")], "PL1"))  # a rerun of the week: not history
    assert recent_pick_ids(lake, DS, 12) == ["w1", "w12", "w1b"]  # sorted
    assert recent_pick_ids(lake, DS, 0) == []
    assert recent_pick_ids(Lake(str(tmp_path / "empty")), DS, 12) == []
    assert delta.has_date(lake, PICKS, DS)


def test_a_rerun_of_a_week_replaces_its_picks_only(tmp_path):
    lake = Lake(str(tmp_path))
    write_picks(lake, "2026-11-16", pick_rows("2026-11-16", [rec(1, "w1")], "PL1"))
    write_picks(lake, DS, pick_rows(DS, [rec(1, "first"), rec(2, "second")], "PL1"))
    write_picks(lake, DS, pick_rows(DS, [rec(1, "again")], "PL1"))  # a retried publish with other picks
    rows = delta.read_rows(lake, PICKS, columns=["ds", "track_id"])
    assert sorted((r["ds"], r["track_id"]) for r in rows) == [("2026-11-16", "w1"), (DS, "again")]
    assert recent_pick_ids(lake, "2026-11-30", 12) == ["again", "w1"]
    write_picks(lake, DS, [])  # an empty week published with allow_empty: the week has no picks
    assert delta.dates(lake, PICKS) == ["2026-11-16"]


def test_kept_out_ids_are_the_window_and_every_removal_seen_by_the_week(tmp_path):
    """The three novelty rules' lake side, with a hand-written history: the library is the third (enriched rows)."""
    from weekly_discovery.recommend.publish.removals import kept_out_ids

    lake = Lake(str(tmp_path))
    write_picks(lake, "2026-08-24", pick_rows("2026-08-24", [rec(1, "old"), rec(2, "old-removed")], "PL1"))
    write_picks(lake, "2026-11-16", pick_rows("2026-11-16", [rec(1, "w1")], "PL1"))
    delta.write_date(lake, REMOVED_PICKS, "2026-08-24",
                     pa.table({"track_id": ["old-removed", "seen-this-week", "seen-next-week"],
                               "offered_ds": ["2026-08-24"] * 3, "detected_ds": ["2026-08-31", DS, "2026-11-30"]}))
    # "old" is out of the 12-week window again; "old-removed" stays out for good; "seen-this-week" was detected
    # when this week's run started, before its training and scoring (and a rerun's); "seen-next-week" later
    assert kept_out_ids(lake, DS, 12) == (["w1"], ["old-removed", "seen-this-week"])
    assert kept_out_ids(lake, "2026-11-30", 12) == (["w1"], ["old-removed", "seen-next-week", "seen-this-week"])
    assert kept_out_ids(lake, DS, 0) == ([], ["old-removed", "seen-this-week"])
