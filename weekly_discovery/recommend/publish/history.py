"""The history of published picks, the Delta table ``gold/picks`` (one date per published week): written
when a week's playlist is really updated, read to keep recent picks out of the next weeks (novelty).

One row per published song (schema :data:`PICK_COLUMNS`, a contract shared with the report's picks
section): ``ds``, ``rank`` (1-based), ``track_id``, ``track_uri``, ``name``, ``artist_names``,
``primary_artist_id``, ``primary_artist_name``, ``source`` (reccobeats, artists, catalog, playlists),
``probability``, ``reason`` and the ``playlist_id`` it went to. A dry run or a skipped week writes
nothing: only what the user was really offered counts as offered. A week is written with
:func:`weekly_discovery.lake.delta.write_date` (one commit; a rerun replaces that week only). A year is
~1,500 rows: delta-rs reads them in plain Python, no Spark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from weekly_discovery.lake import PICKS, Lake, PartitionDate
from weekly_discovery.lake import delta

PICK_COLUMNS = ("ds", "rank", "track_id", "track_uri", "name", "artist_names", "primary_artist_id",
                "primary_artist_name", "source", "probability", "reason", "playlist_id")


def pick_schema() -> Any:
    import pyarrow as pa

    types = {"rank": pa.int32(), "artist_names": pa.list_(pa.string()), "probability": pa.float64()}
    return pa.schema([pa.field(name, types.get(name, pa.string())) for name in PICK_COLUMNS])


def pick_rows(ds: PartitionDate, recommendations: Sequence[Mapping[str, Any]], playlist_id: str) -> list[dict[str, Any]]:
    """``gold/picks`` rows from the week's ``gold/recommendations`` rows (in rank order) and the playlist."""
    return [{
        "ds": ds, "rank": int(r["rank"]), "track_id": r["track_id"], "track_uri": r.get("uri") or r.get("track_uri"),
        "name": r.get("name"), "artist_names": list(r.get("artists") or r.get("artist_names") or []),
        "primary_artist_id": r.get("primary_artist_id"), "primary_artist_name": r.get("primary_artist_name"),
        "source": r.get("source") or "playlists",
        "probability": None if r.get("probability") is None else float(r["probability"]),
        "reason": r.get("reason") or "", "playlist_id": playlist_id,
    } for r in sorted(recommendations, key=lambda r: r["rank"])]


def write_picks(lake: Lake, ds: PartitionDate, rows: Sequence[Mapping[str, Any]]) -> str:
    """Replace week ``ds``'s picks with ``rows`` (one commit; other weeks untouched); returns what was written,
    for the log (``gold/picks ds=<ds>``)."""
    import pyarrow as pa

    delta.write_date(lake, PICKS, ds, pa.Table.from_pylist(list(rows), schema=pick_schema()))
    return f"{PICKS} ds={ds} ({lake.table(PICKS)})"


def read_picks(lake: Lake, ds: str | None = None, columns: Sequence[str] = PICK_COLUMNS,
               before: str | None = None) -> list[dict[str, Any]]:
    """The picks of week ``ds`` (or of every week, or of the weeks strictly before ``before``), by week then rank.

    ``columns`` may name ``ds``; the rows are sorted by ``(ds, rank)`` whichever columns are returned."""
    wanted = list(dict.fromkeys(["ds", "rank", *columns]))
    filters = []
    if ds is not None:
        filters.append(("ds", "=", ds))
    if before is not None:
        filters.append(("ds", "<", before))
    rows = delta.read_rows(lake, PICKS, columns=wanted, filters=filters)
    rows.sort(key=lambda r: (r["ds"], r["rank"] if r["rank"] is not None else 0))
    return [{c: r[c] for c in columns} for r in rows]


def published_weeks(lake: Lake) -> list[str]:
    """The weeks that have picks in ``gold/picks``, oldest first."""
    return delta.dates(lake, PICKS)


def window_weeks(ds: PartitionDate, weeks: int, published: Sequence[str]) -> list[str]:
    """The published weeks that keep their songs out of week ``ds``: strictly before ``ds`` and at most
    ``weeks`` x 7 days before it (``weeks`` 12: the twelve Mondays before; 0: none)."""
    day = dt.date.fromisoformat(ds)
    return [w for w in published if 0 < (day - dt.date.fromisoformat(w)).days <= 7 * weeks]


def recent_pick_ids(lake: Lake, ds: PartitionDate, weeks: int) -> list[str]:
    """Distinct track ids published in the :func:`window_weeks` of ``ds``, sorted."""
    window = window_weeks(ds, weeks, published_weeks(lake))
    if not window:
        return []
    rows = delta.read_rows(lake, PICKS, columns=["track_id"], filters=[("ds", "in", window)])
    return sorted({r["track_id"] for r in rows if r["track_id"]})
