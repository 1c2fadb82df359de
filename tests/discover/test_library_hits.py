"""The library the sources see marks the liked songs that were earlier picks (hits), from gold/picks
of the weeks before only (hand-written picks, committed to the Delta table as the publish step does)."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

from tests.discover.kit import sid, tiny_library, write_silver_tracks
from weekly_discovery.discover.library import LibraryMissing, read_library
from weekly_discovery.lake import METRICS, PICKS, SILVER_TRACKS, Lake, delta

DS = "2026-11-23"


def write_picks(lake: Lake, ds: str, names: list[str]) -> None:
    delta.write_date(lake, PICKS, ds, pa.table({"track_id": [sid(n) for n in names],
                                                "source": ["reccobeats"] * len(names)}))


def test_hits_are_liked_songs_published_in_an_earlier_week(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    write_silver_tracks(lake, DS, tiny_library())  # liked: a1, a3, b1; disliked: b2
    write_picks(lake, "2026-11-09", ["a3", "c2"])  # a3 was offered and then saved; c2 was never saved
    write_picks(lake, "2026-11-16", ["b2"])  # offered, then put in the disliked playlist: not a hit
    write_picks(lake, DS, ["a1"])  # this very week's picks are not "earlier"
    write_picks(lake, "2026-11-30", ["b1"])  # nor a later week's (a backfill of DS runs after it)
    library = read_library(lake, DS)
    assert library.hits == frozenset({sid("a3")})


def test_a_rerun_of_a_weeks_picks_replaces_them(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    write_silver_tracks(lake, DS, tiny_library())
    write_picks(lake, "2026-11-09", ["a3"])
    write_picks(lake, "2026-11-09", ["b1"])  # the week published again, with other picks
    assert read_library(lake, DS).hits == frozenset({sid("b1")})


def test_no_picks_yet_means_no_hits(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    write_silver_tracks(lake, DS, tiny_library())
    assert read_library(lake, DS).hits == frozenset()


def test_the_library_is_the_weeks_rows_only(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    tiny = tiny_library()
    write_silver_tracks(lake, DS, tiny)
    later = dataclasses.replace(tiny, saved=[(at, t) for at, t in tiny.saved if t == sid("b1")])
    write_silver_tracks(lake, "2026-11-30", later)  # a week later the user kept only b1
    library = read_library(lake, DS)
    assert library.liked == frozenset(sid(n) for n in ("a1", "a3", "b1"))
    assert library.disliked == frozenset({sid("b2")})
    assert [t.track_id for t in library.candidate_tracks] == [sid("c1"), sid("a2"), sid("a1")]  # by position
    assert read_library(lake, "2026-11-30").liked == frozenset({sid("b1")})


def test_a_week_the_ingest_ran_with_no_song_is_an_empty_library_not_a_missing_one(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    write_silver_tracks(lake, "2026-11-16", tiny_library())  # another week has rows
    with pytest.raises(LibraryMissing, match=f"run the spotify_ingest DAG for {DS}"):
        read_library(lake, DS)
    folder = lake.partition(SILVER_TRACKS, DS)
    folder.mkdir(parents=True)
    (folder / METRICS).write_text('{"totals": {"tracks": 0}}')  # what the ingest records beside its commit
    assert read_library(lake, DS).known == frozenset()
