"""The person's reaction to earlier picks, as training rows: what the model learns from besides the library.

Two kinds of negatives come from the playlist this project publishes (strongest first):

- **removed**: a pick the person took out of the playlist (``gold/removed_picks``, detected before week
  ``D``: :func:`weekly_discovery.recommend.publish.removals.removed_pick_ids`); weight 1, as a disliked song;
- **unsaved**: a pick offered at least ``unsaved_after_weeks`` weeks before ``D`` and still not in a
  liked source on ``D`` (nor removed); a weak negative, weight ``[model] unsaved_weight``. A pick the
  person saved is in Liked Songs, so it is already a positive.

The rows take the enriched table's shape (role ``removed`` / ``unsaved``): name and artist from
``gold/picks``, features from the feature cache as the enrichment of ``D`` left it (``silver/audio_features``,
one Delta table with a row per (track id, ``fetched_ds``): per pick, its row with the greatest ``fetched_ds``
on or before ``D``, what the cache's snapshot of ``D`` used to hold; :func:`cached_features`), so
:func:`weekly_discovery.recommend.training.dataset.labelled_set` treats them like any source's rows. A pick whose
features the cache does not have is counted and left out (the log says how many).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from weekly_discovery.core.vocabulary import FEATURE_COLUMNS
from weekly_discovery.lake import AUDIO_FEATURES, Lake, PartitionDate
from weekly_discovery.lake import delta
from weekly_discovery.recommend.publish.history import read_picks
from weekly_discovery.recommend.publish.removals import removed_pick_ids
from weekly_discovery.recommend.training.dataset import LIKED, REMOVED, UNSAVED

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

PICK_INFO = ("track_id", "name", "primary_artist_id", "primary_artist_name")


@dataclass(frozen=True)
class Reaction:
    """The ids of the week's reaction negatives, and the picks they come from."""

    removed: tuple[str, ...]
    unsaved: tuple[str, ...]
    info: dict[str, dict[str, Any]]  # track id -> its gold/picks name and artist

    @property
    def ids(self) -> list[str]:
        return [*self.removed, *self.unsaved]


def unsaved_weeks(ds: PartitionDate, published: list[str], after_weeks: int) -> list[str]:
    """The published weeks whose picks are old enough to count as unsaved on ``ds``: offered at least
    ``after_weeks`` x 7 days before it (0: none)."""
    if after_weeks <= 0:
        return []
    day = dt.date.fromisoformat(ds)
    return [w for w in published if (day - dt.date.fromisoformat(w)).days >= 7 * after_weeks]


def reaction(lake: Lake, ds: PartitionDate, liked_ids: set[str], after_weeks: int) -> Reaction:
    """The removed picks and the unsaved ones of week ``ds`` (see the module docstring); ``liked_ids``
    are the songs in a liked source on ``ds``."""
    removed = [t for t in removed_pick_ids(lake, ds) if t not in liked_ids]
    info: dict[str, dict[str, Any]] = {}
    unsaved: list[str] = []
    picks = read_picks(lake, columns=["ds", *PICK_INFO], before=ds)  # by week, then rank
    old_enough = set(unsaved_weeks(ds, sorted({p["ds"] for p in picks}), after_weeks))
    for row in picks:
        week, track = row.pop("ds"), row["track_id"]
        if not track:
            continue
        info.setdefault(track, row)
        if week in old_enough and track not in liked_ids and track not in removed:
            unsaved.append(track)
    unsaved = sorted(set(unsaved))
    return Reaction(tuple(removed), tuple(unsaved), info)


def reaction_rows(spark: "SparkSession", lake: Lake, ds: PartitionDate, enriched: "DataFrame",
                  after_weeks: int) -> tuple["DataFrame | None", dict[str, int]]:
    """(The reaction rows in the enriched table's shape or None, their counts by kind): see the module."""
    from pyspark.sql import functions as F

    liked = {r["track_id"] for r in enriched.where(F.col("role") == LIKED).select("track_id").distinct().collect()}
    found = reaction(lake, ds, liked, after_weeks)
    counts = {REMOVED: len(found.removed), UNSAVED: len(found.unsaved), "without_features": 0}
    if not found.ids:
        return None, counts
    cached = cached_features(lake, ds, found.ids)
    if cached is None:
        counts["without_features"] = len(found.ids)
        log.warning("no feature cache (%s) in the lake: the %d removed and %d unsaved picks are left out of "
                    "training for %s", AUDIO_FEATURES, len(found.removed), len(found.unsaved), ds)
        return None, counts
    cache = spark.createDataFrame(cached)  # an Arrow table: no Python worker reads it back
    columns = [c for c in FEATURE_COLUMNS if c in cache.columns]
    kinds = [(t, REMOVED, i) for i, t in enumerate(found.removed)] + \
            [(t, UNSAVED, i) for i, t in enumerate(found.unsaved)]
    picks = spark.createDataFrame(
        [(t, kind, i, found.info.get(t, {}).get("name"), found.info.get(t, {}).get("primary_artist_id"),
          found.info.get(t, {}).get("primary_artist_name")) for t, kind, i in kinds],
        "track_id string, role string, position int, name string, primary_artist_id string, "
        "primary_artist_name string")
    features = cache.select("track_id", F.col("status").alias("feature_status"),
                            *[F.col(c).cast("double").alias(c) for c in columns])
    rows = picks.join(features, "track_id", "inner").withColumn("source_key", F.concat(F.lit("reaction-"), "role"))
    with_features = rows.count()
    counts["without_features"] = len(found.ids) - with_features
    log.info("reaction to earlier picks: %d removed from the playlist, %d not saved %d+ weeks after they were "
             "offered (weak); %d without features in the cache, left out", len(found.removed), len(found.unsaved),
             after_weeks, counts["without_features"])
    return rows, counts


def cached_features(lake: Lake, ds: PartitionDate, track_ids: "list[str] | tuple[str, ...]") -> "pa.Table | None":
    """The feature cache's rows of ``track_ids`` as the enrichment of ``ds`` left it: per track id, its row with
    the greatest ``fetched_ds`` on or before ``ds`` (``track_id``, ``status`` and the feature columns the cache
    has), one row per id found, sorted by id; None when the cache was never written.

    On or before: the enrichment of ``ds`` has merged its own rows when training reads them; this is what the
    cache's snapshot of ``ds`` held before the cache became one table. It is the enrichment's
    ``features_as_of(..., inclusive=True)`` restricted to a few ids (both read through the lake's
    :func:`~weekly_discovery.lake.delta.newest_per_key`)."""
    table = delta.open_table(lake, AUDIO_FEATURES)
    if table is None:
        return None
    present = {field.name for field in table.schema().fields}
    columns = ["track_id", "status", *(c for c in FEATURE_COLUMNS if c in present)]
    return delta.newest_per_key(lake, AUDIO_FEATURES, "track_id", "fetched_ds", columns,
                                [("track_id", "in", sorted(set(track_ids))), ("fetched_ds", "<=", ds)])
