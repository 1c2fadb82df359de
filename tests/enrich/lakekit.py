"""A tiny lake for the enrichment tests: Delta tables written with delta-rs, configs written by hand.

Shared by tests/enrich (no Spark), tests/enrich/test_enrich.py and tests/enrich/test_enrich_jobs.py. Tables
(silver tracks, the feature cache) go through :mod:`weekly_discovery.lake.delta` (``write_date``,
``merge``), as the jobs would write them; raw partitions (the file look-up) are plain files.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from weekly_discovery.lake import delta
from weekly_discovery.lake.layout import AUDIO_FEATURES, SILVER_TRACKS, Lake, Table
from weekly_discovery.settings.config import Config, load_config

# silver/tracks columns (weekly_discovery.spark.schemas.TRACKS_SCHEMA), as pyarrow types
SILVER_COLUMNS = [
    ("track_id", pa.string()), ("track_uri", pa.string()), ("name", pa.string()),
    ("artist_ids", pa.list_(pa.string())), ("artist_names", pa.list_(pa.string())),
    ("primary_artist_id", pa.string()), ("primary_artist_name", pa.string()),
    ("album_id", pa.string()), ("album_name", pa.string()), ("album_release_date", pa.string()),
    ("duration_ms", pa.int64()), ("explicit", pa.bool_()), ("added_at", pa.timestamp("us", tz="UTC")),
    ("role", pa.string()), ("source_key", pa.string()), ("source_id", pa.string()),
    ("source_name", pa.string()), ("snapshot_id", pa.string()), ("position", pa.int32()),
]
SILVER_SCHEMA = pa.schema([pa.field(n, t, nullable=(n != "track_id")) for n, t in SILVER_COLUMNS])
ROLE_SOURCE = {"liked": "saved_tracks", "disliked": "playlist-Disliked0000000000000000",
               "reference": "playlist-Reference000000000000000", "candidates": "playlist-Candidates00000000000000"}


def tid(name: str) -> str:
    """A valid 22-character Spotify id from a short name (``tid("A")`` -> ``trackA0000...``)."""
    return f"track{name}".ljust(22, "0")[:22]


def silver_row(track_id: str, role: str = "liked", position: int = 0, duration_ms: int | None = 200_000,
               source_key: str | None = None) -> dict[str, Any]:
    key = source_key or ROLE_SOURCE[role]
    return {
        "track_id": track_id, "track_uri": f"spotify:track:{track_id}", "name": f"Song {track_id[:8]}",
        "artist_ids": ["Artist1".ljust(22, "0")], "artist_names": ["Artist One"],
        "primary_artist_id": "Artist1".ljust(22, "0"), "primary_artist_name": "Artist One",
        "album_id": "Album1".ljust(22, "0"), "album_name": "Album One", "album_release_date": "2024-01-01",
        "duration_ms": duration_ms, "explicit": False,
        "added_at": dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc),
        "role": role, "source_key": key, "source_id": None if key == "saved_tracks" else key[9:],
        "source_name": "Liked Songs" if key == "saved_tracks" else key, "snapshot_id": None, "position": position,
    }


def write_silver(lake: Lake, ds: str, rows: Iterable[dict[str, Any]]) -> None:
    """Write date ``ds`` of ``silver/tracks`` (one Delta commit, as the normalize job would)."""
    delta.write_date(lake, SILVER_TRACKS, ds, pa.Table.from_pylist(list(rows), schema=SILVER_SCHEMA))


def library(lake: Lake, ds: str, roles: dict[str, list[str]]) -> None:
    """Silver tracks for ``ds``: ``{"liked": [ids...], "disliked": [...]}``, positions in list order."""
    rows = [silver_row(t, role, i) for role, ids in roles.items() for i, t in enumerate(ids)]
    return write_silver(lake, ds, rows)


def write_config(folder: Path, lake_root: Path, enrichment: str = "", name: str = "wd.toml") -> Config:
    """A config with Liked Songs only and the given ``[enrichment]`` body (TOML text)."""
    text = f'[sources]\nliked = ["saved_tracks"]\n\n[lake]\nroot = "{lake_root}"\n\n[enrichment]\n{enrichment}\n'
    path = folder / name
    path.write_text(text)
    return load_config(path, env={})


def read_parquet(path: Path) -> list[dict[str, Any]]:
    """The rows of a raw partition's Parquet files (the file look-up): plain files, not a table."""
    import pyarrow.dataset as ds_

    return ds_.dataset(str(path), format="parquet", ignore_prefixes=["_", "."]).to_table().to_pylist()


def read_date(lake: Lake, table: Table, ds: str, order: Iterable[str] = ("track_id",)) -> list[dict[str, Any]]:
    """One date of a Delta table (without ``ds``), sorted by ``order``: Delta keeps no row order."""
    rows = delta.read_rows(lake, table, ds)
    keys = list(order)
    return sorted(rows, key=lambda r: tuple(_sortable(r[k]) for k in keys))


def read_cache(lake: Lake) -> list[dict[str, Any]]:
    """Every row of the feature cache, sorted by (track_id, fetched_ds)."""
    return sorted(delta.read_rows(lake, AUDIO_FEATURES), key=lambda r: (r["track_id"], r["fetched_ds"]))


def _sortable(value: Any) -> tuple[bool, Any]:
    return (value is not None, value if value is not None else 0)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


FEATURES = ["danceability", "energy", "speechiness", "instrumentalness", "acousticness", "liveness", "valence",
            "loudness", "tempo", "key", "mode", "time_signature", "duration_ms"]
_FEATURE_TYPES = {name: pa.float64() for name in FEATURES} | {
    "key": pa.int32(), "mode": pa.int32(), "time_signature": pa.int32(), "duration_ms": pa.int64()}
CACHE_SCHEMA = pa.schema(
    [("track_id", pa.string()), ("status", pa.string()), ("source", pa.string()),
     ("fetched_at", pa.timestamp("us", tz="UTC")), ("fetched_ds", pa.string()), ("providers_asked", pa.string()),
     ("detail", pa.string())] + [(name, _FEATURE_TYPES[name]) for name in FEATURES])
FILE_LOOKUP_SCHEMA = pa.schema(
    [("track_id", pa.string()), ("status", pa.string()), ("detail", pa.string()), ("malformed_rows", pa.int32())]
    + [(name, pa.float64()) for name in FEATURES])


def cache_row(track_id: str, status: str, fetched_ds: str, providers_asked: str = "spotify,reccobeats",
              source: str | None = None, **features: Any) -> dict[str, Any]:
    return {"track_id": track_id, "status": status, "source": source if status == "ok" else None,
            "fetched_at": dt.datetime.fromisoformat(fetched_ds + "T06:00:00+00:00"), "fetched_ds": fetched_ds,
            "providers_asked": providers_asked, "detail": None, **{n: features.get(n) for n in FEATURES}}


def write_cache(lake: Lake, rows: Iterable[dict[str, Any]]) -> None:
    """Hand-written rows of the feature cache ``silver/audio_features``, merged by (track_id, fetched_ds)
    as the enrich job of each row's ``fetched_ds`` would have merged them."""
    delta.merge(lake, AUDIO_FEATURES, pa.Table.from_pylist(list(rows), schema=CACHE_SCHEMA), ["track_id", "fetched_ds"])


def write_file_lookup(lake: Lake, ds: str, rows: Iterable[dict[str, Any]], manifest: dict | None = None) -> Path:
    """A hand-written ``raw/features/provider=file/ds=<ds>`` (what the look-up job would have written)."""
    path = lake.raw_features_partition("file", ds)
    path.mkdir(parents=True, exist_ok=True)
    full = [{"detail": None, "malformed_rows": 0, **{n: None for n in FEATURES}, **r} for r in rows]
    pq.write_table(pa.Table.from_pylist(full, schema=FILE_LOOKUP_SCHEMA), path / "part-00000.parquet")
    (path / "_manifest.json").write_text(json.dumps(manifest or {"provider": "file", "ds": ds,
                                                                  "file_modified_at": "2026-01-01T00:00:00Z"}))
    return path
