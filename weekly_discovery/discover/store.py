"""How the discovery stage's output lands in the lake: raw answers, ``silver/candidates``, the album cache.

* ``raw/discover/source=<name>/ds=<date>/answer-00000.json`` ...: every answer verbatim (the final
  answer of each request: attempts the retry policy repeated are not kept), and ``_manifest.json``
  listing what was asked for each file, the requests used and the budget. Plain files, written in
  place; the manifest is written last (a rerun deletes the old one first), so a partition exists for a
  reader once its manifest does, and then holds every file it lists;
* ``silver/candidates``: a Delta table partitioned by ``ds``, one row per (track_id, source) with
  provenance. A run of a date replaces that date only, in one commit
  (:func:`weekly_discovery.lake.delta.write_date`); then ``ds=<date>/_metrics.json`` (per source:
  requests, budget, songs found, new to the library, status) records the run, also when it found no song;
* ``silver/album_tracks``: one Delta table of every album track list read so far, one row per
  (album_id, track_id) with the week it was read (``read_ds``), updated with ``MERGE``. The cache
  "as of" a date is the rows read strictly before it, so a rerun of a date reads exactly what its first
  run read; a run merges only the lists it read, and an existing row changes only to record an earlier read.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from weekly_discovery.discover.sources.base import AlbumTrack, Candidate, RequestBudget, SourceResult
from weekly_discovery.lake import (
    ALBUM_TRACKS,
    CANDIDATES,
    MANIFEST,
    METRICS,
    Lake,
    LakeError,
    PartitionDate,
    delta,
    parse_ds,
    write_atomic,
    write_json,
)
from weekly_discovery.lake.layout import RAW, RAW_DISCOVER, check_provider

CANDIDATE_COLUMNS = (
    "ds", "source", "rank", "track_id", "track_uri", "name", "artist_ids", "artist_names",
    "seed_track_ids", "seed_artist_id", "seed_artist_name", "album_id", "album_name",
    "playlist_id", "playlist_name", "catalogue", "reccobeats_id",
)
"""``silver/candidates`` columns: ``rank`` is the order in which the source offered the song (0-based)."""

ALBUM_TRACK_COLUMNS = (
    "album_id", "album_name", "album_artist_id", "album_release_date", "track_id", "track_name",
    "artist_ids", "artist_names", "track_number", "position", "read_ds",
)
"""``silver/album_tracks`` columns: ``position`` is the song's place in the album's list as Spotify gave it."""
ALBUM_TRACK_KEYS = ("album_id", "track_id")
EARLIER_READ = "s.read_ds < t.read_ds"
"""When a merged row replaces a kept one: only to record an earlier read (a backfill of an older week)."""


def _candidates_schema() -> Any:
    import pyarrow as pa

    text, texts = pa.string(), pa.list_(pa.string())
    types = {"rank": pa.int32(), "artist_ids": texts, "artist_names": texts, "seed_track_ids": texts}
    return pa.schema([pa.field(name, types.get(name, text), nullable=name not in ("ds", "source", "track_id"))
                      for name in CANDIDATE_COLUMNS])


def _album_tracks_schema() -> Any:
    import pyarrow as pa

    texts = pa.list_(pa.string())
    types = {"artist_ids": texts, "artist_names": texts, "track_number": pa.int32(), "position": pa.int32()}
    return pa.schema([pa.field(name, types.get(name, pa.string())) for name in ALBUM_TRACK_COLUMNS])


# ---- raw answers ------------------------------------------------------------------------------------

def raw_partition(lake: Lake, source: str, ds: PartitionDate) -> Any:
    """``raw/discover/source=<name>/ds=<date>``: one source's answers of one week."""
    return lake.path(RAW, RAW_DISCOVER, f"source={check_provider(source)}", f"ds={parse_ds(ds)}")  # a path part: checked as the lake checks its own


def answer_file_name(index: int) -> str:
    if not isinstance(index, int) or index < 0:
        raise LakeError(f"answer index must be a non-negative integer, got {index!r}")
    return f"answer-{index:05d}.json"


def write_raw(lake: Lake, source: str, ds: PartitionDate, result: SourceResult, budget: RequestBudget) -> Any:
    """Keep a source's answers verbatim, with a manifest of what was asked, written last.

    The files are written in place: the old manifest goes first (from then until the new one is written
    the partition does not exist for readers, and a crash in between leaves it so until the rerun), then
    the answers, then answers of an earlier run that this one did not give, then the manifest."""
    folder = raw_partition(lake, source, ds)
    manifest = folder / MANIFEST
    manifest.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for index, answer in enumerate(result.answers):
        name = answer_file_name(index)
        write_atomic(folder / name, answer.body)
        files.append({"file": name, "endpoint": answer.endpoint, "params": dict(answer.params),
                      "status": answer.status})
    written = {f["file"] for f in files}
    for stale in folder.glob("answer-*.json"):
        if stale.name not in written:
            stale.unlink(missing_ok=True)
    write_json(manifest, {
        "source": source, "ds": ds, "requests": budget.used, "budget": budget.limit,
        "status": result.status, "answers": files,
    })
    return folder


# ---- silver/candidates --------------------------------------------------------------------------------

def candidate_rows(ds: PartitionDate, candidates: Iterable[Candidate]) -> list[dict[str, Any]]:
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


def write_candidates(lake: Lake, ds: PartitionDate, rows: list[dict[str, Any]], metrics: Mapping[str, Any]) -> Any:
    """Replace date ``ds`` of ``silver/candidates`` with ``rows`` (one commit), then write its ``_metrics.json``.

    Returns the table's folder. No rows (a week whose sources found nothing new) leaves the date without
    rows; the metrics file still records the run. A rerun deletes the old metrics file first, so a crash
    before the new one is written leaves the date without a record of a run."""
    import pyarrow as pa

    folder = lake.partition(CANDIDATES, ds)
    (folder / METRICS).unlink(missing_ok=True)  # a rerun: the old run's record goes before its rows change
    delta.write_date(lake, CANDIDATES, ds, pa.Table.from_pylist(rows, schema=_candidates_schema()))
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / METRICS, dict(metrics))
    return lake.table(CANDIDATES)


# ---- silver/album_tracks --------------------------------------------------------------------------------

def read_album_tracks(lake: Lake, before_ds: PartitionDate) -> dict[str, tuple[AlbumTrack, ...]]:
    """Album id -> its track list (in Spotify's order), as the cache held them before ``before_ds``: the rows
    read strictly before that week (empty: none yet)."""
    albums: dict[str, list[AlbumTrack]] = {}
    # filtered here, not with filters=: files written by a delta-rs MERGE hold string_view columns, which
    # pyarrow's dataset filter cannot compare with a string
    rows = [r for r in delta.read_rows(lake, ALBUM_TRACKS, columns=list(ALBUM_TRACK_COLUMNS))
            if r["read_ds"] is not None and r["read_ds"] < before_ds]
    for row in sorted(rows, key=lambda r: (r["album_id"], *_order(r), r["track_id"])):
        row["artist_ids"], row["artist_names"] = tuple(row["artist_ids"] or ()), tuple(row["artist_names"] or ())
        albums.setdefault(row["album_id"], []).append(AlbumTrack(**row))
    return {album_id: tuple(tracks) for album_id, tracks in albums.items()}


def _order(row: Mapping[str, Any]) -> tuple[int, int]:
    """Spotify's order: ``position``; rows without one (an album cache upgraded from the pre-Delta lake,
    weekly_discovery/upgrade_lake.py) by their track number, which is that order on single-disc albums."""
    if row["position"] is not None:
        return 0, row["position"]
    return 1, row["track_number"] if row["track_number"] is not None else -1


def album_track_rows(tracks: Iterable[AlbumTrack]) -> list[dict[str, Any]]:
    """``silver/album_tracks`` rows of the tracks read in a run: one per (album_id, track_id), the first kept."""
    rows, seen = [], set()
    for track in tracks:
        key = (track.album_id, track.track_id)
        if key in seen:
            continue
        seen.add(key)
        rows.append({**track.__dict__, "artist_ids": list(track.artist_ids), "artist_names": list(track.artist_names)})
    return rows


def merge_album_tracks(lake: Lake, ds: PartitionDate, tracks: Iterable[AlbumTrack]) -> int:
    """Merge the album track lists read in week ``ds`` into ``silver/album_tracks`` (one commit), keyed by
    (album_id, track_id): new rows are inserted, a kept row changes only to record an earlier read.
    Nothing read: no commit. Returns the rows merged."""
    import pyarrow as pa

    rows = album_track_rows(tracks)
    if rows:
        delta.merge(lake, ALBUM_TRACKS, pa.Table.from_pylist(rows, schema=_album_tracks_schema()),
                    ALBUM_TRACK_KEYS, ds=ds, update_when=EARLIER_READ)
    return len(rows)
