"""The album cache gives each album's songs in Spotify's order, also for rows without a ``position``
(an album cache upgraded from the pre-Delta lake: weekly_discovery/upgrade_lake.py)."""

from __future__ import annotations

from weekly_discovery.discover.sources.base import AlbumTrack
from weekly_discovery.discover.store import merge_album_tracks, read_album_tracks
from weekly_discovery.lake.layout import Lake

DS1, DS2 = "2026-11-16", "2026-11-23"


def song(album: str, track: str, number: int, position: int | None) -> AlbumTrack:
    return AlbumTrack(album_id=album, album_name="A", album_artist_id="ar" * 11, album_release_date="2020",
                      track_id=track * 22, track_name=track, artist_ids=("ar" * 11,), artist_names=("X",),
                      track_number=number, read_ds=DS1, position=position)


def test_songs_come_by_position_else_by_track_number(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    album_a, album_b = "a" * 22, "b" * 22
    merge_album_tracks(lake, DS1, [
        song(album_a, "z", 1, 2), song(album_a, "y", 2, 0), song(album_a, "x", 3, 1),  # position wins
        song(album_b, "a", 3, None), song(album_b, "c", 1, None), song(album_b, "b", 2, None),  # upgraded rows
    ])
    albums = read_album_tracks(lake, DS2)
    assert [t.track_name for t in albums[album_a]] == ["y", "x", "z"]
    assert [t.track_name for t in albums[album_b]] == ["c", "b", "a"]  # not by track id
    assert read_album_tracks(lake, DS1) == {}  # strictly before the week
