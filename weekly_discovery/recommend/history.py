"""The history of published picks, ``gold/picks/ds=<week>/part-00000.parquet``: written when a week's
playlist is really updated, read to keep recent picks out of the next weeks (novelty).

One row per published song (schema :data:`PICK_FIELDS`, a contract shared with the report's picks
section): ``ds``, ``rank`` (1-based), ``track_id``, ``track_uri``, ``name``, ``artist_names``,
``primary_artist_id``, ``primary_artist_name``, ``source`` (reccobeats, artists, catalog, playlists),
``probability``, ``reason`` and the ``playlist_id`` it went to. A dry run or a skipped week writes
nothing: only what the user was really offered counts as offered. A year is ~1,500 rows: pyarrow reads
them in plain Python, no Spark.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from typing import Any

from weekly_discovery.lake import PICKS, Lake, PartitionWriter, check_ds, list_partitions, partition_rows

PART = "part-00000.parquet"
PICK_COLUMNS = ("ds", "rank", "track_id", "track_uri", "name", "artist_names", "primary_artist_id",
                "primary_artist_name", "source", "probability", "reason", "playlist_id")


def pick_schema() -> Any:
    import pyarrow as pa

    types = {"rank": pa.int32(), "artist_names": pa.list_(pa.string()), "probability": pa.float64()}
    return pa.schema([pa.field(name, types.get(name, pa.string())) for name in PICK_COLUMNS])


def pick_rows(ds: str, recommendations: Sequence[Mapping[str, Any]], playlist_id: str) -> list[dict[str, Any]]:
    """``gold/picks`` rows from the week's ``gold/recommendations`` rows (in rank order) and the playlist."""
    return [{
        "ds": ds, "rank": int(r["rank"]), "track_id": r["track_id"], "track_uri": r.get("uri") or r.get("track_uri"),
        "name": r.get("name"), "artist_names": list(r.get("artists") or r.get("artist_names") or []),
        "primary_artist_id": r.get("primary_artist_id"), "primary_artist_name": r.get("primary_artist_name"),
        "source": r.get("source") or "playlists",
        "probability": None if r.get("probability") is None else float(r["probability"]),
        "reason": r.get("reason") or "", "playlist_id": playlist_id,
    } for r in sorted(recommendations, key=lambda r: r["rank"])]


def write_picks(lake: Lake, ds: str, rows: Sequence[Mapping[str, Any]]) -> Any:
    """Write week ``ds``'s picks as one partition (whole or not at all; a rerun replaces it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(list(rows), schema=pick_schema()), buffer)
    final = lake.partition(PICKS, check_ds(ds))
    with PartitionWriter(lake, final) as writer:
        writer.write_bytes(PART, buffer.getvalue())
    return final


def window_weeks(ds: str, weeks: int, published: Sequence[str]) -> list[str]:
    """The published weeks that keep their songs out of week ``ds``: strictly before ``ds`` and at most
    ``weeks`` x 7 days before it (``weeks`` 12: the twelve Mondays before; 0: none)."""
    day = dt.date.fromisoformat(check_ds(ds))
    return [w for w in published if 0 < (day - dt.date.fromisoformat(w)).days <= 7 * weeks]


def recent_pick_ids(lake: Lake, ds: str, weeks: int) -> list[str]:
    """Distinct track ids published in the :func:`window_weeks` of ``ds``, sorted."""
    ids: set[str] = set()
    for week in window_weeks(ds, weeks, list_partitions(lake.table(PICKS))):
        ids.update(r["track_id"] for r in partition_rows(lake, PICKS, week, ["track_id"]) if r["track_id"])
    return sorted(ids)
