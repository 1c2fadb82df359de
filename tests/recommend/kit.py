"""Hand-made ``silver/tracks_enriched`` rows for the model, score and publish tests.

The shape is the enrich step's output: the silver tracks columns, the audio feature columns typed
as the quality rules declare them, ``feature_source`` and ``feature_status``. Rows are built as
dicts and turned into a pyarrow table, which a test writes as a date of the Delta table (jobs, through
delta-rs) or hands to Spark (``spark.createDataFrame(table)``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa

from weekly_discovery.lake import TRACKS_ENRICHED, delta
from weekly_discovery.lake.layout import Lake

SILVER_COLUMNS = [
    ("track_id", pa.string()), ("track_uri", pa.string()), ("name", pa.string()),
    ("artist_ids", pa.list_(pa.string())), ("artist_names", pa.list_(pa.string())),
    ("primary_artist_id", pa.string()), ("primary_artist_name", pa.string()),
    ("album_id", pa.string()), ("album_name", pa.string()), ("album_release_date", pa.string()),
    ("duration_ms", pa.int64()), ("explicit", pa.bool_()), ("added_at", pa.timestamp("us", tz="UTC")),
    ("role", pa.string()), ("source_key", pa.string()), ("source_id", pa.string()),
    ("source_name", pa.string()), ("snapshot_id", pa.string()), ("position", pa.int32()),
]
FEATURE_TYPES = [
    ("danceability", pa.float64()), ("energy", pa.float64()), ("speechiness", pa.float64()),
    ("instrumentalness", pa.float64()), ("acousticness", pa.float64()), ("liveness", pa.float64()),
    ("valence", pa.float64()), ("loudness", pa.float64()), ("tempo", pa.float64()), ("key", pa.int32()),
    ("mode", pa.int32()), ("time_signature", pa.int32()),
]
ENRICHED_SCHEMA = pa.schema(
    [pa.field(n, t, nullable=(n != "track_id")) for n, t in SILVER_COLUMNS]
    + [pa.field(n, t) for n, t in FEATURE_TYPES]
    + [pa.field("feature_source", pa.string()), pa.field("feature_status", pa.string())]
)
FEATURES = [n for n, _ in FEATURE_TYPES]
SOURCES = {
    "liked": ("saved_tracks", "Liked Songs"),
    "liked2": ("playlist-LikedPlaylist00000000000", "Sunday Morning"),
    "disliked": ("playlist-Disliked0000000000000000", "Skip Immediately"),
    "candidates": ("playlist-CandidatesA0000000000000", "Discovery Mix"),
    "candidates2": ("playlist-CandidatesB0000000000000", "Death Metal"),
}
NEUTRAL = {"danceability": 0.5, "energy": 0.5, "speechiness": 0.05, "instrumentalness": 0.1, "acousticness": 0.5,
           "liveness": 0.1, "valence": 0.5, "loudness": -8.0, "tempo": 120.0, "key": 5, "mode": 1,
           "time_signature": 4}


def sid(name: str) -> str:
    """A 22-character id from a short name (``sid("tA")`` -> ``tA00000000000000000000``)."""
    return name.ljust(22, "0")[:22]


def row(track: str, role: str, *, artist: str = "ar1", source: str | None = None, position: int = 0,
        status: str = "ok", duration_ms: int | None = 200_000, **features: Any) -> dict[str, Any]:
    """One enriched row: track ``sid(track)`` in ``role`` from ``source`` (a key of SOURCES, default the role's).

    Features default to NEUTRAL and are null unless ``status`` is ok (as the enrich step writes them);
    pass e.g. ``tempo=None`` for a feature the provider could not detect.
    """
    source_key, source_name = SOURCES[source or role]
    track_id, artist_id = sid(track), sid(artist)
    values = {**NEUTRAL, **features} if status == "ok" else {name: None for name in FEATURES}
    return {
        "track_id": track_id, "track_uri": f"spotify:track:{track_id}", "name": f"Song {track}",
        "artist_ids": [artist_id], "artist_names": [f"Artist {artist}"],
        "primary_artist_id": artist_id, "primary_artist_name": f"Artist {artist}",
        "album_id": sid("al" + artist), "album_name": "An Album", "album_release_date": "2024-01-01",
        "duration_ms": duration_ms, "explicit": False,
        "added_at": dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc),
        "role": role, "source_key": source_key, "source_id": None if source_key == "saved_tracks" else source_key[9:],
        "source_name": source_name, "snapshot_id": None, "position": position,
        **{name: values[name] for name in FEATURES},
        "feature_source": "reccobeats" if status == "ok" else None, "feature_status": status,
    }


def table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=ENRICHED_SCHEMA)


def write_enriched(lake: Lake, ds: str, rows: Iterable[dict[str, Any]]) -> Path:
    """Write date ``ds`` of ``silver/tracks_enriched`` (one Delta commit) and its ``_metrics.json``, as the enrich
    job would; returns the date's folder."""
    delta.write_date(lake, TRACKS_ENRICHED, ds, table(rows))
    path = lake.partition(TRACKS_ENRICHED, ds)
    path.mkdir(parents=True, exist_ok=True)
    (path / "_metrics.json").write_text("{}\n")
    return path


def taste_rows(n_liked: int = 24, n_disliked: int = 16, n_artists: int = 10, seed: int = 3) -> list[dict[str, Any]]:
    """A small, learnable library: liked songs are acoustic and quiet, disliked ones loud and energetic.

    The classes overlap a little (noise), so the logistic regression's optimum is finite.
    """
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(n_liked + n_disliked):
        liked = i < n_liked
        energy = min(1.0, max(0.0, rng.gauss(0.35 if liked else 0.75, 0.18)))
        acoustic = min(1.0, max(0.0, rng.gauss(0.7 if liked else 0.2, 0.2)))
        rows.append(row(f"t{i:03d}", "liked" if liked else "disliked", artist=f"ar{i % n_artists:02d}",
                        position=i, energy=round(energy, 4), acousticness=round(acoustic, 4),
                        loudness=round(rng.gauss(-10 if liked else -5, 2.5), 3),
                        tempo=round(rng.gauss(115, 20), 2), danceability=round(rng.uniform(0.2, 0.8), 4)))
    return rows
