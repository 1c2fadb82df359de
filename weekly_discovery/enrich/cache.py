"""The feature cache and the "which ids to ask" rule, read without a JVM (delta-rs, a few columns only).

The cache is ``silver/audio_features``, one Delta table updated with ``MERGE``: one row per
(``track_id``, ``fetched_ds``), with ``status`` ok / missing / quarantined. The run of date D adds
(or, on a rerun, updates) the rows of the ids it asked, ``fetched_ds`` = D. **The cache as of D**
(:func:`features_as_of`) is, per track id, its row with the greatest ``fetched_ds`` strictly before D:
what a full snapshot of the cache before D used to hold. For date D the fetch step asks only for the
ids of the library and of the week's discovered candidates (``silver/candidates``) that

* have no row in the cache as of D (never asked), or
* are missing or quarantined there and either ``missing_retry_days`` have passed since the date
  that recorded them (``fetched_ds``; counted from D, not the wall clock, so reruns agree), or a
  provider has been added to ``enrichment.providers`` since (``providers_asked``).

Rows with status ok are never asked again. "Strictly before D" makes a rerun of D ask the same ids
as the first run did (its own rows of D do not count); the Spark look-up job and the fetch task both
call :func:`wanted_ids`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from weekly_discovery.core.errors import UserError
from weekly_discovery.core.vocabulary import (
    FEATURE_COLUMNS,
    STATUS_OK,
)
from weekly_discovery.lake import (
    AUDIO_FEATURES,
    CANDIDATES,
    MANIFEST,
    METRICS,
    SILVER_TRACKS,
    Lake,
    PartitionDate,
    arrow_source,
)
from weekly_discovery.lake import delta
from weekly_discovery.settings.config import Enrichment

if TYPE_CHECKING:
    import pyarrow as pa

CACHE_COLUMNS = (
    "track_id", "status", "source", "fetched_at", "fetched_ds", "providers_asked", "detail", *FEATURE_COLUMNS,
)
CACHE_KEYS = ("track_id", "fetched_ds")
"""The cache's key: the run of D merges its rows by (track id, D)."""


class FeatureInputError(UserError, RuntimeError):
    """An input of the enrichment step is missing; the message says which step to run."""


@dataclass(frozen=True)
class CacheEntry:
    status: str
    fetched_ds: str
    providers_asked: tuple[str, ...]


@dataclass(frozen=True)
class Wanted:
    """The ids to ask on date ``ds`` and why the others are not asked."""

    ds: PartitionDate
    ids: tuple[str, ...]  # sorted, distinct
    library: int  # distinct track ids in silver tracks of ds
    known: int  # status ok in the cache: never asked again
    backing_off: int  # missing/quarantined, retry not due yet
    retrying: int  # missing/quarantined, asked again (back-off over, or a provider was added)
    previous_ds: str | None  # the newest fetched_ds of the cache as of ds (None: nothing cached before ds)

    def summary(self) -> dict[str, object]:
        return {
            "ds": self.ds, "library": self.library, "wanted": len(self.ids), "known": self.known,
            "backing_off": self.backing_off, "retrying": self.retrying, "previous_snapshot": self.previous_ds,
        }


def silver_tracks_written(lake: Lake, ds: PartitionDate) -> bool:
    """Whether ingest wrote the silver tracks of ``ds``: the date has rows, or (an empty library) its
    ``_metrics.json``, which the normalize job writes after every commit."""
    return delta.has_date(lake, SILVER_TRACKS, ds) or (lake.partition(SILVER_TRACKS, ds) / METRICS).is_file()


def require_silver_tracks(lake: Lake, ds: PartitionDate) -> None:
    """:class:`FeatureInputError` naming the DAG to run when :func:`silver_tracks_written` is false."""
    if not silver_tracks_written(lake, ds):
        raise FeatureInputError(
            f"no silver tracks for ds={ds} ({lake.table(SILVER_TRACKS)}): run the ingest DAG (spotify_ingest) "
            f"for {ds} first"
        )


def _distinct_ids(lake: Lake, table, ds: PartitionDate) -> list[str]:
    import pyarrow.compute as pc

    data = delta.read(lake, table, ds, columns=["track_id"])
    if data is None:
        return []
    return sorted(pc.unique(data.column("track_id").drop_null()).to_pylist())


def silver_track_ids(lake: Lake, ds: PartitionDate) -> list[str]:
    """Distinct track ids of the silver tracks of ``ds``, sorted (reads one column)."""
    require_silver_tracks(lake, ds)
    return _distinct_ids(lake, SILVER_TRACKS, ds)


def candidate_track_ids(lake: Lake, ds: PartitionDate) -> list[str]:
    """Distinct track ids of ``silver/candidates`` of ``ds`` (the songs discovery found), sorted.

    Empty when the discover DAG has not run for ``ds`` (a week from before discovery, or a backfill):
    the library alone is enriched then.
    """
    return _distinct_ids(lake, CANDIDATES, ds)


def features_as_of(lake: Lake, ds: PartitionDate, columns: Sequence[str] | None = None, *, inclusive: bool = False,
                   track_ids: Sequence[str] | None = None) -> "pa.Table | None":
    """The feature cache as of ``ds``: per track id, its row with the greatest ``fetched_ds`` before ``ds``.

    Strictly before ``ds`` (what the run of ``ds`` starts from, the same on a rerun); with ``inclusive``,
    on or before ``ds`` (the cache once the run of ``ds`` has merged its rows: what a reader downstream of
    that run, e.g. the training of ``ds``, sees). ``columns`` (default: all) always get ``track_id`` first;
    ``track_ids`` limits the read to those tracks. One row per track id, sorted by it; None when the cache
    was never written.
    """
    filters = [("fetched_ds", "<=" if inclusive else "<", ds)]
    if track_ids is not None:
        filters.append(("track_id", "in", list(track_ids)))
    return delta.newest_per_key(lake, AUDIO_FEATURES, "track_id", "fetched_ds",
                                columns if columns is not None else CACHE_COLUMNS, filters)


def read_cache_state(lake: Lake, ds: PartitionDate) -> dict[str, CacheEntry]:
    """track id -> (status, fetched_ds, providers asked) of the cache as of ``ds`` (empty when there is none)."""
    table = features_as_of(lake, ds, ["status", "fetched_ds", "providers_asked"])
    if table is None:
        return {}
    state = {}
    for track_id, status, fetched_ds, asked in zip(*(table.column(c).to_pylist() for c in table.column_names)):
        state[track_id] = CacheEntry(status, fetched_ds, tuple(p for p in (asked or "").split(",") if p))
    return state


def retry_due(entry: CacheEntry, ds: PartitionDate, chain: tuple[str, ...], retry_days: int) -> bool:
    """Whether a missing/quarantined id is asked again on ``ds``."""
    if entry.status == STATUS_OK:
        return False
    days = (dt.date.fromisoformat(ds) - dt.date.fromisoformat(entry.fetched_ds)).days
    return days >= retry_days or bool(set(chain) - set(entry.providers_asked))


def wanted_ids(lake: Lake, ds: PartitionDate, enrichment: Enrichment) -> Wanted:
    """The library ids of ``ds`` to ask the providers for (see the module docstring)."""
    # the discovered candidates get their features from the same chain and cache as the library
    library = sorted(set(silver_track_ids(lake, ds)) | set(candidate_track_ids(lake, ds)))
    state = read_cache_state(lake, ds)
    previous = max((entry.fetched_ds for entry in state.values()), default=None)
    wanted, known, backing_off, retrying = [], 0, 0, 0
    for track_id in library:
        entry = state.get(track_id)
        if entry is None:
            wanted.append(track_id)
        elif entry.status == STATUS_OK:
            known += 1
        elif retry_due(entry, ds, enrichment.providers, enrichment.missing_retry_days):
            wanted.append(track_id)
            retrying += 1
        else:
            backing_off += 1
    return Wanted(ds, tuple(wanted), len(library), known, backing_off, retrying, previous)


def file_lookup(lake: Lake, ds: PartitionDate) -> tuple[set[str], set[str]]:
    """(ids looked up, ids found usable) in the file provider's raw partition of ``ds``.

    The partition exists once its ``_manifest.json`` is there (the look-up job writes it last)."""
    path = lake.raw_features_partition("file", ds)
    if not (path / MANIFEST).is_file():
        raise FeatureInputError(
            f"enrichment.providers lists \"file\" but the file look-up for ds={ds} has not run ({path}): "
            "run the lookup_file task (jobs/lookup_features_file.py) first"
        )
    table = _read_raw(path, ["track_id", "status"])
    asked, found = set(), set()
    for track_id, status in zip(table.column("track_id").to_pylist(), table.column("status").to_pylist()):
        asked.add(track_id)
        if status == "hit":
            found.add(track_id)
    return asked, found


def _read_raw(path, columns: list[str]):
    """The Parquet files of a raw partition (plain files, not a table)."""
    import pyarrow as pa
    import pyarrow.dataset as ds_

    # Only part files: Spark's _SUCCESS and our _manifest.json start with "_".
    source, filesystem = arrow_source(path)
    dataset = ds_.dataset(source, filesystem=filesystem, format="parquet", ignore_prefixes=["_", "."])
    if not dataset.files:  # an empty partition (nothing was wanted that day)
        return pa.table({name: pa.array([], pa.string()) for name in columns})
    return dataset.to_table(columns=columns)
