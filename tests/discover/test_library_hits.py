"""The library the sources see marks the liked songs that were earlier picks (hits), from gold/picks
of the weeks before only (hand-written picks)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from tests.discover.kit import sid, tiny_library, write_silver_tracks
from weekly_discovery.discover.library import read_library
from weekly_discovery.lake import Lake

DS = "2026-11-23"


def write_picks(lake: Lake, ds: str, names: list[str]) -> None:
    folder = lake.partition("gold", "picks", ds)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"ds": [ds] * len(names), "track_id": [sid(n) for n in names]}),
                   folder / "part-00000.parquet")


def test_hits_are_liked_songs_published_in_an_earlier_week(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    write_silver_tracks(lake, DS, tiny_library())  # liked: a1, a3, b1; disliked: b2
    write_picks(lake, "2026-11-09", ["a3", "c2"])  # a3 was offered and then saved; c2 was never saved
    write_picks(lake, "2026-11-16", ["b2"])  # offered, then put in the disliked playlist: not a hit
    write_picks(lake, DS, ["a1"])  # this very week's picks are not "earlier"
    library = read_library(lake, DS)
    assert library.hits == frozenset({sid("a3")})


def test_no_picks_yet_means_no_hits(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    write_silver_tracks(lake, DS, tiny_library())
    assert read_library(lake, DS).hits == frozenset()
