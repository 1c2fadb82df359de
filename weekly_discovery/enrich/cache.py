"""The feature cache and the "which ids to ask" rule, read with pyarrow (a few columns only).

The cache is ``silver/audio_features``: a full snapshot per date, one row per track id ever asked,
with ``status`` ok / missing / quarantined. For date D the fetch step asks only for the ids of the
library and of the week's discovered candidates (``silver/candidates``) that

* have no row in the newest snapshot strictly before D (never asked), or
* are missing or quarantined there and either ``missing_retry_days`` have passed since the date
  that recorded them (``fetched_ds``; counted from D, not the wall clock, so reruns agree), or a
  provider has been added to ``enrichment.providers`` since (``providers_asked``).

Rows with status ok are never asked again. "Strictly before D" makes a rerun of D ask the same ids
as the first run did; the Spark look-up job and the fetch task both call :func:`wanted_ids`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from weekly_discovery.core.config import Enrichment
from weekly_discovery.core.errors import UserError
from weekly_discovery.core.vocabulary import (
    FEATURE_COLUMNS,
    STATUS_OK,
)
from weekly_discovery.lake import (
    AUDIO_FEATURES,
    CANDIDATES,
    SILVER_TRACKS,
    Lake,
    arrow_source,
    check_ds,
    list_partitions,
)

CACHE_COLUMNS = (
    "track_id", "status", "source", "fetched_at", "fetched_ds", "providers_asked", "detail", *FEATURE_COLUMNS,
)


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

    ds: str
    ids: tuple[str, ...]  # sorted, distinct
    library: int  # distinct track ids in silver tracks of ds
    known: int  # status ok in the cache: never asked again
    backing_off: int  # missing/quarantined, retry not due yet
    retrying: int  # missing/quarantined, asked again (back-off over, or a provider was added)
    previous_ds: str | None  # the snapshot the cache state came from

    def summary(self) -> dict[str, object]:
        return {
            "ds": self.ds, "library": self.library, "wanted": len(self.ids), "known": self.known,
            "backing_off": self.backing_off, "retrying": self.retrying, "previous_snapshot": self.previous_ds,
        }


def silver_track_ids(lake: Lake, ds: str) -> list[str]:
    """Distinct track ids of the silver tracks partition of ``ds``, sorted (reads one column)."""
    import pyarrow.compute as pc

    path = lake.partition(SILVER_TRACKS, ds)
    if not lake.exists(path):
        raise FeatureInputError(
            f"no silver tracks for ds={ds} ({path}): run the ingest DAG (spotify_ingest) for {ds} first"
        )
    table = _read(path, ["track_id"])
    ids = pc.unique(table.column("track_id").drop_null()).to_pylist()
    return sorted(ids)


def candidate_track_ids(lake: Lake, ds: str) -> list[str]:
    """Distinct track ids of ``silver/candidates/ds=<ds>`` (the songs discovery found), sorted.

    Empty when the discover DAG has not run for ``ds`` (a week from before discovery, or a backfill):
    the library alone is enriched then.
    """
    import pyarrow.compute as pc

    path = lake.partition(CANDIDATES, ds)
    if not lake.exists(path):
        return []
    table = _read(path, ["track_id"])
    return sorted(pc.unique(table.column("track_id").drop_null()).to_pylist())


def previous_snapshot_ds(lake: Lake, ds: str) -> str | None:
    """The newest cache snapshot strictly before ``ds`` (None on the first run)."""
    check_ds(ds)
    earlier = [d for d in list_partitions(lake.table(AUDIO_FEATURES)) if d < ds]
    return earlier[-1] if earlier else None


def read_cache_state(lake: Lake, snapshot_ds: str | None) -> dict[str, CacheEntry]:
    """track id -> (status, fetched_ds, providers asked) of one snapshot (empty for None)."""
    if snapshot_ds is None:
        return {}
    table = _read(lake.partition(AUDIO_FEATURES, snapshot_ds), ["track_id", "status", "fetched_ds", "providers_asked"])
    state = {}
    for track_id, status, fetched_ds, asked in zip(*(table.column(c).to_pylist() for c in table.column_names)):
        state[track_id] = CacheEntry(status, fetched_ds, tuple(p for p in (asked or "").split(",") if p))
    return state


def retry_due(entry: CacheEntry, ds: str, chain: tuple[str, ...], retry_days: int) -> bool:
    """Whether a missing/quarantined id is asked again on ``ds``."""
    if entry.status == STATUS_OK:
        return False
    days = (dt.date.fromisoformat(ds) - dt.date.fromisoformat(entry.fetched_ds)).days
    return days >= retry_days or bool(set(chain) - set(entry.providers_asked))


def wanted_ids(lake: Lake, ds: str, enrichment: Enrichment) -> Wanted:
    """The library ids of ``ds`` to ask the providers for (see the module docstring)."""
    check_ds(ds)
    # the discovered candidates get their features from the same chain and cache as the library
    library = sorted(set(silver_track_ids(lake, ds)) | set(candidate_track_ids(lake, ds)))
    previous = previous_snapshot_ds(lake, ds)
    state = read_cache_state(lake, previous)
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


def file_lookup(lake: Lake, ds: str) -> tuple[set[str], set[str]]:
    """(ids looked up, ids found usable) in the file provider's partition of ``ds``."""
    path = lake.raw_features_partition("file", ds)
    if not lake.exists(path):
        raise FeatureInputError(
            f"enrichment.providers lists \"file\" but the file look-up for ds={ds} has not run ({path}): "
            "run the lookup_file task (jobs/lookup_features_file.py) first"
        )
    table = _read(path, ["track_id", "status"])
    asked, found = set(), set()
    for track_id, status in zip(table.column("track_id").to_pylist(), table.column("status").to_pylist()):
        asked.add(track_id)
        if status == "hit":
            found.add(track_id)
    return asked, found


def _read(path: Path, columns: list[str]):
    import pyarrow as pa
    import pyarrow.dataset as ds_

    # Only part files: Spark's _SUCCESS and our _metrics.json / _manifest.json start with "_".
    source, filesystem = arrow_source(path)
    dataset = ds_.dataset(source, filesystem=filesystem, format="parquet", ignore_prefixes=["_", "."])
    if not dataset.files:  # an empty partition (nothing was wanted that day)
        return pa.table({name: pa.array([], pa.string()) for name in columns})
    return dataset.to_table(columns=columns)
