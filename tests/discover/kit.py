"""A tiny hand-made world for the discovery tests: a stand-in catalogue and the matching silver/tracks.

Three artists, four albums, nine songs. The user likes a1, a3 (Ada) and b1 (Bo), dislikes b2, and keeps
a candidate playlist "Friends Mix" with c1, a2 and a1. Everything else is new to the user:

    Ada  AlbA2 "Second Light" (single, 2026-05-01): a4
         AlbA1 "First Light"  (album,  2024-03-01): a1 (liked), a2, a3 (liked)
    Bo   AlbB1 "Bo Sides"     (album,  2023-01-01): b1 (liked), b2 (disliked)
    Cy   AlbC1 "Cy Songs"     (album,  2022-01-01): c1, c2
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyarrow as pa

from devtools.standin.library import Album, Artist, DemoLibrary, Playlist, PlaylistEntry, Track
from tests.enrich.lakekit import SILVER_SCHEMA
from weekly_discovery.lake import ALBUM_TRACKS, CANDIDATES, METRICS, SILVER_TRACKS, Lake, delta

CANDIDATE_COLUMNS = ("ds", "source", "rank", "track_id", "track_uri", "name", "artist_ids", "artist_names",
                     "seed_track_ids", "seed_artist_id", "seed_artist_name", "album_id", "album_name",
                     "playlist_id", "playlist_name", "catalogue", "reccobeats_id")
"""silver/candidates' columns (written out here, not imported from the code under test)."""

FEATURES = {"danceability": 0.5, "energy": 0.5, "speechiness": 0.05, "instrumentalness": 0.1,
            "acousticness": 0.5, "liveness": 0.1, "valence": 0.5, "loudness": -8.0, "tempo": 120.0,
            "key": 5, "mode": 1, "time_signature": 4}


def sid(name: str) -> str:
    """A valid 22-character Spotify id from a short name: ``sid("a1")`` -> ``a1xxxxxxxxxxxxxxxxxxxx``."""
    return name.ljust(22, "x")


ADA, BO, CY = Artist(sid("ArtAda"), "Ada"), Artist(sid("ArtBo"), "Bo"), Artist(sid("ArtCy"), "Cy")
ALB_A1 = Album(sid("AlbA1"), "First Light", "2024-03-01", (ADA,), "album", 3)
ALB_A2 = Album(sid("AlbA2"), "Second Light", "2026-05-01", (ADA,), "single", 1)
ALB_B1 = Album(sid("AlbB1"), "Bo Sides", "2023-01-01", (BO,), "album", 2)
ALB_C1 = Album(sid("AlbC1"), "Cy Songs", "2022-01-01", (CY,), "album", 2)
SONGS = {  # name -> (artist, album, track number)
    "a1": (ADA, ALB_A1, 1), "a2": (ADA, ALB_A1, 2), "a3": (ADA, ALB_A1, 3), "a4": (ADA, ALB_A2, 1),
    "b1": (BO, ALB_B1, 1), "b2": (BO, ALB_B1, 2), "c1": (CY, ALB_C1, 1), "c2": (CY, ALB_C1, 2),
}
LIKED_AT = {"a1": "2026-11-20T10:00:00Z", "a3": "2026-06-01T10:00:00Z", "b1": "2025-01-01T10:00:00Z"}
USER = "tinyuser"
PLAYLIST_ID = sid("PlFriends")


def rb_id(name: str) -> str:
    return f"00000000-0000-4000-8000-{name.encode().hex().rjust(12, '0')}"


def tiny_library() -> DemoLibrary:
    tracks = {
        sid(name): Track(sid(name), f"Song {name}", [artist], album, 200_000, dict(FEATURES), "x",
                         track_number=number, reccobeats_id=rb_id(name))
        for name, (artist, album, number) in SONGS.items()
    }
    saved = [(at, sid(name)) for name, at in sorted(LIKED_AT.items(), key=lambda kv: kv[1], reverse=True)]
    disliked = Playlist(sid("PlDisliked"), "Nope", USER, [PlaylistEntry.of_track(sid("b2"), "2026-01-01T00:00:00Z")])
    friends = Playlist(PLAYLIST_ID, "Friends Mix", USER,
                       [PlaylistEntry.of_track(sid(n), "2026-02-01T00:00:00Z") for n in ("c1", "a2", "a1")])
    return DemoLibrary(USER, "Tiny", tracks, saved, {p.id: p for p in (disliked, friends)},
                       {"liked": ["saved_tracks"], "disliked": [disliked.id], "candidates": [friends.id]}, seed=0)


def _row(track: Track, role: str, key: str, position: int, added_at: str, source_id: str | None,
         source_name: str) -> dict[str, Any]:
    return {
        "track_id": track.id, "track_uri": track.uri, "name": track.name,
        "artist_ids": [a.id for a in track.artists], "artist_names": [a.name for a in track.artists],
        "primary_artist_id": track.artists[0].id, "primary_artist_name": track.artists[0].name,
        "album_id": track.album.id, "album_name": track.album.name, "album_release_date": track.album.release_date,
        "duration_ms": track.duration_ms, "explicit": False,
        "added_at": dt.datetime.fromisoformat(added_at.replace("Z", "+00:00")),
        "role": role, "source_key": key, "source_id": source_id, "source_name": source_name,
        "snapshot_id": None, "position": position,
    }


def write_silver_tracks(lake: Lake, ds: str, library: DemoLibrary) -> None:
    """Date ``ds`` of ``silver/tracks`` as the ingest would write it for ``library`` (Liked Songs and playlists)."""
    rows = [_row(library.tracks[t], "liked", "saved_tracks", i, at, None, "Liked Songs")
            for i, (at, t) in enumerate(library.saved)]
    for role, sources in library.roles.items():
        for source in sources:
            if source == "saved_tracks":
                continue
            playlist = library.playlists[source]
            rows += [_row(library.tracks[e.track_id], role, f"playlist-{playlist.id}", i, e.added_at, playlist.id,
                          playlist.name) for i, e in enumerate(playlist.items) if e.kind == "track"]
    # a Delta commit, on a folder or a bucket alike
    delta.write_date(lake, SILVER_TRACKS, ds, pa.Table.from_pylist(rows, schema=SILVER_SCHEMA))


def read_candidates(lake: Lake, ds: str) -> list[dict[str, Any]]:
    """Date ``ds`` of ``silver/candidates`` with its ``ds`` column, by source then rank (Delta keeps no row order)."""
    rows = delta.read_rows(lake, CANDIDATES, ds, columns=list(CANDIDATE_COLUMNS))
    return sorted(rows, key=lambda r: (r["source"], r["rank"]))


def read_album_cache(lake: Lake) -> list[dict[str, Any]]:
    """Every row of ``silver/album_tracks``, by album then position."""
    return sorted(delta.read_rows(lake, ALBUM_TRACKS), key=lambda r: (r["album_id"], r["position"]))


def metrics_of(lake: Lake, ds: str) -> dict[str, Any]:
    """The ``_metrics.json`` of date ``ds`` of ``silver/candidates``."""
    return json.loads((lake.partition(CANDIDATES, ds) / METRICS).read_bytes())
