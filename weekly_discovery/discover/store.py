"""How the discovery stage's output lands in the lake: raw answers, ``silver/candidates``, the album cache.

* ``raw/discover/source=<name>/ds=<date>/answer-00000.json`` ...: every answer verbatim (the final
  answer of each request: attempts the retry policy repeated are not kept), and ``_manifest.json``
  listing what was asked for each file, the requests used and the budget;
* ``silver/candidates/ds=<date>/part-00000.parquet``: one row per (track_id, source), with provenance,
  and ``_metrics.json`` (per source: requests, budget, songs found, new to the library, status);
* ``silver/album_tracks/ds=<date>/part-00000.parquet``: every album track list read so far, a full
  snapshot per date (the previous snapshot strictly before the date plus this week's), so a rerun of a
  date reads exactly what its first run read.

Every partition is written through :class:`~weekly_discovery.lake.PartitionWriter`: it appears whole or
not at all, and a rerun of the same date replaces only its own partition.
"""

from __future__ import annotations

import io
from typing import Any, Iterable, Mapping

from weekly_discovery.discover.sources.base import AlbumTrack, Candidate, RequestBudget, SourceResult
from weekly_discovery.lake import (
    MANIFEST,
    METRICS,
    Lake,
    LakeError,
    PartitionWriter,
    arrow_source,
    check_ds,
    list_partitions,
)
from weekly_discovery.lake.layout import ALBUM_TRACKS, CANDIDATES, RAW, RAW_DISCOVER, check_provider

PART = "part-00000.parquet"

CANDIDATE_COLUMNS = (
    "ds", "source", "rank", "track_id", "track_uri", "name", "artist_ids", "artist_names",
    "seed_track_ids", "seed_artist_id", "seed_artist_name", "album_id", "album_name",
    "playlist_id", "playlist_name", "catalogue", "reccobeats_id",
)
"""``silver/candidates`` columns: ``rank`` is the order in which the source offered the song (0-based)."""

ALBUM_TRACK_COLUMNS = (
    "album_id", "album_name", "album_artist_id", "album_release_date", "track_id", "track_name",
    "artist_ids", "artist_names", "track_number", "read_ds",
)


def _candidates_schema() -> Any:
    import pyarrow as pa

    text, texts = pa.string(), pa.list_(pa.string())
    types = {"rank": pa.int32(), "artist_ids": texts, "artist_names": texts, "seed_track_ids": texts}
    return pa.schema([pa.field(name, types.get(name, text), nullable=name not in ("ds", "source", "track_id"))
                      for name in CANDIDATE_COLUMNS])


def _album_tracks_schema() -> Any:
    import pyarrow as pa

    texts = pa.list_(pa.string())
    types = {"artist_ids": texts, "artist_names": texts, "track_number": pa.int32()}
    return pa.schema([pa.field(name, types.get(name, pa.string())) for name in ALBUM_TRACK_COLUMNS])


def raw_partition(lake: Lake, source: str, ds: str) -> Any:
    """``raw/discover/source=<name>/ds=<date>``: one source's answers of one week."""
    return lake.path(RAW, RAW_DISCOVER, f"source={check_provider(source)}", f"ds={check_ds(ds)}")


def answer_file_name(index: int) -> str:
    if not isinstance(index, int) or index < 0:
        raise LakeError(f"answer index must be a non-negative integer, got {index!r}")
    return f"answer-{index:05d}.json"


def write_raw(lake: Lake, source: str, ds: str, result: SourceResult, budget: RequestBudget) -> Any:
    """Keep a source's answers verbatim, with a manifest of what was asked."""
    final = raw_partition(lake, source, ds)
    files = []
    with PartitionWriter(lake, final) as writer:
        for index, answer in enumerate(result.answers):
            name = answer_file_name(index)
            writer.write_bytes(name, answer.body)
            files.append({"file": name, "endpoint": answer.endpoint, "params": dict(answer.params),
                          "status": answer.status})
        writer.write_json(MANIFEST, {
            "source": source, "ds": ds, "requests": budget.used, "budget": budget.limit,
            "status": result.status, "answers": files,
        })
    return final


def candidate_rows(ds: str, candidates: Iterable[Candidate]) -> list[dict[str, Any]]:
    """``silver/candidates`` rows: one per (track_id, source), the first offer kept, ranked per source."""
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    rank: dict[str, int] = {}
    for c in candidates:
        if (c.track_id, c.source) in seen:
            continue
        seen.add((c.track_id, c.source))
        rows.append({
            "ds": ds, "source": c.source, "rank": rank.setdefault(c.source, 0), "track_id": c.track_id,
            "track_uri": f"spotify:track:{c.track_id}", "name": c.name, "artist_ids": list(c.artist_ids),
            "artist_names": list(c.artist_names), "seed_track_ids": list(c.seed_track_ids),
            "seed_artist_id": c.seed_artist_id, "seed_artist_name": c.seed_artist_name, "album_id": c.album_id,
            "album_name": c.album_name, "playlist_id": c.playlist_id, "playlist_name": c.playlist_name,
            "catalogue": c.catalogue, "reccobeats_id": c.reccobeats_id,
        })
        rank[c.source] += 1
    return rows


def _parquet_bytes(rows: list[dict[str, Any]], schema: Any) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), buffer)
    return buffer.getvalue()


def write_candidates(lake: Lake, ds: str, rows: list[dict[str, Any]], metrics: Mapping[str, Any]) -> Any:
    final = lake.partition(CANDIDATES, check_ds(ds))
    with PartitionWriter(lake, final) as writer:
        writer.write_bytes(PART, _parquet_bytes(rows, _candidates_schema()))
        writer.write_json(METRICS, dict(metrics))
    return final


def read_parquet_rows(partition: Any) -> list[dict[str, Any]]:
    import pyarrow.dataset as pads

    source, filesystem = arrow_source(partition)
    return pads.dataset(source, format="parquet", filesystem=filesystem, ignore_prefixes=["_", "."]).to_table().to_pylist()


def read_album_tracks(lake: Lake, before_ds: str) -> dict[str, tuple[AlbumTrack, ...]]:
    """Album id -> its track list, from the newest snapshot strictly before ``before_ds`` (empty: none yet)."""
    check_ds(before_ds)
    dates = [d for d in list_partitions(lake.table(ALBUM_TRACKS)) if d < before_ds]
    if not dates:
        return {}
    albums: dict[str, list[AlbumTrack]] = {}
    for row in read_parquet_rows(lake.partition(ALBUM_TRACKS, dates[-1])):
        row["artist_ids"], row["artist_names"] = tuple(row["artist_ids"] or ()), tuple(row["artist_names"] or ())
        albums.setdefault(row["album_id"], []).append(AlbumTrack(**row))
    return {album_id: tuple(tracks) for album_id, tracks in albums.items()}


def write_album_tracks(lake: Lake, ds: str, albums: Mapping[str, tuple[AlbumTrack, ...]]) -> Any:
    """The full snapshot of the album track lists known at ``ds``, sorted by album then track number."""
    rows = [
        {**track.__dict__, "artist_ids": list(track.artist_ids), "artist_names": list(track.artist_names)}
        for album_id in sorted(albums) for track in albums[album_id]
    ]
    final = lake.partition(ALBUM_TRACKS, check_ds(ds))
    with PartitionWriter(lake, final) as writer:
        writer.write_bytes(PART, _parquet_bytes(rows, _album_tracks_schema()))
    return final
