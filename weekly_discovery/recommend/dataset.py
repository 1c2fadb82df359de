"""From ``silver/tracks_enriched`` to the labelled set: one row per track, liked = 1, disliked = 0.

Rules, applied per track id in this order (the first that applies decides, each is counted):

1. a track found both in a liked and in a disliked source is a **conflict**: dropped;
2. features not usable (``feature_status`` missing / quarantined / pending): dropped, counted by status;
3. a null value in one of the model's features (tempo or time_signature "not detected"): dropped,
   counted, and counted per feature;
4. otherwise kept, once, however many liked (or disliked) sources list it: extra rows of the same
   track are merged and counted as ``duplicate_rows``.

Every feature column present in the input is kept (as double, nulls allowed) beside the model's
features, so another feature set (the incumbent champion's) can be evaluated on the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from weekly_discovery.core.errors import UserError
from weekly_discovery.core.vocabulary import FEATURE_COLUMNS, STATUS_OK

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

LIKED, DISLIKED = "liked", "disliked"
TRACK_ID, GROUP, LABEL = "track_id", "group_id", "label"
INFO_COLUMNS = ("name", "primary_artist_id", "primary_artist_name")


class DatasetError(UserError, ValueError):
    """The input cannot give a labelled set (a column is missing, too few tracks); says what to do."""


@dataclass
class LabelledSet:
    """The labelled rows (``track_id``, ``group_id``, ``label``, info and feature columns) and the counts."""

    df: "DataFrame"
    features: tuple[str, ...]
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def positives(self) -> int:
        return self.counts["positives"]

    @property
    def negatives(self) -> int:
        return self.counts["negatives"]

    def summary_lines(self) -> list[str]:
        """What the log and the card say about the training data."""
        c, d = self.counts, self.counts["dropped"]
        lines = [
            f"labelled set: {c['rows']} tracks ({c['positives']} liked = 1, {c['negatives']} disliked = 0) "
            f"from {c['input_rows']} liked/disliked rows; {c['duplicate_rows']} duplicate rows of the same "
            "track across sources merged",
            f"dropped: {d['conflict']} liked AND disliked (conflict), "
            + ", ".join(f"{d[k]} with features {k.removeprefix('features_')}"
                        for k in sorted(d) if k.startswith("features_"))
            + f", {d['null_feature']} with a null model feature",
        ]
        if d["null_feature"]:
            per = ", ".join(f"{name} {n}" for name, n in sorted(d["null_feature_by_column"].items()) if n)
            lines.append(f"null model features (a track may count under several): {per}")
        return lines


def labelled_set(enriched: "DataFrame", features: tuple[str, ...] | list[str]) -> LabelledSet:
    """The labelled set for ``features`` from a tracks_enriched DataFrame (see module docstring).

    Only the per-outcome counts (a handful of rows) come to the driver.
    """
    from pyspark.sql import functions as F

    features = tuple(features)
    needed = {TRACK_ID, "role", "source_key", "position", "feature_status", *INFO_COLUMNS, *features}
    missing = sorted(needed - set(enriched.columns))
    if missing:
        raise DatasetError(
            f"tracks_enriched lacks the column(s) {', '.join(missing)}; model.features must name columns "
            f"of the enriched table ({', '.join(c for c in FEATURE_COLUMNS if c in enriched.columns)})"
        )
    feature_cols = [c for c in FEATURE_COLUMNS if c in enriched.columns]
    keep = [*INFO_COLUMNS, "feature_status", *feature_cols]

    rows = enriched.where(F.col("role").isin(LIKED, DISLIKED))
    # min(struct(source_key, position, ...)) picks the same row of a track on every run.
    per_track = rows.groupBy(TRACK_ID).agg(
        F.array_sort(F.collect_set("role")).alias("roles"),
        F.count(F.lit(1)).alias("_rows"),
        F.min(F.struct("source_key", "position", *keep)).alias("_first"),
    ).select(TRACK_ID, "roles", "_rows", *[F.col(f"_first.{c}").alias(c) for c in keep])

    any_null = F.lit(False)
    for name in features:
        any_null = any_null | F.col(name).isNull()
    outcome = (
        F.when(F.size("roles") > 1, F.lit("conflict"))
        .when(F.coalesce(F.col("feature_status"), F.lit("unknown")) != STATUS_OK,
              F.concat(F.lit("features_"), F.coalesce(F.col("feature_status"), F.lit("unknown"))))
        .when(any_null, F.lit("null_feature"))
        .otherwise(F.lit("ok"))
    )
    label = F.when(F.col("roles")[0] == LIKED, 1.0).otherwise(0.0)
    # cached: the tallies below and the labelled rows (read once more by training) share one pass
    classified = per_track.withColumn("_outcome", outcome).withColumn(LABEL, label).cache()

    tallies = classified.groupBy("_outcome", LABEL).agg(
        F.count(F.lit(1)).alias("tracks"),
        F.sum("_rows").alias("rows"),
        *[F.sum(F.col(name).isNull().cast("long")).alias(f"null_{name}") for name in features],
    ).collect()
    counts = _counts(tallies, features)

    df = (
        classified.where(F.col("_outcome") == "ok")
        .select(
            TRACK_ID,
            *INFO_COLUMNS,
            F.coalesce(F.col("primary_artist_id"), F.concat(F.lit("track:"), F.col(TRACK_ID))).alias(GROUP),
            F.col(LABEL),
            *[F.col(c).cast("double").alias(c) for c in feature_cols],
        )
    )
    return LabelledSet(df, features, counts)


def _counts(tallies: list, features: tuple[str, ...]) -> dict[str, Any]:
    dropped: dict[str, Any] = {"conflict": 0, "null_feature": 0, "features_missing": 0,
                               "features_quarantined": 0, "features_pending": 0}
    by_column = {name: 0 for name in features}
    positives = negatives = input_rows = tracks = 0
    for row in tallies:
        outcome, n = row["_outcome"], row["tracks"]
        input_rows += row["rows"]
        tracks += n
        if outcome == "ok":
            if row[LABEL] == 1.0:
                positives += n
            else:
                negatives += n
            continue
        dropped[outcome] = dropped.get(outcome, 0) + n
        if outcome == "null_feature":
            for name in features:
                by_column[name] += row[f"null_{name}"] or 0
    dropped["null_feature_by_column"] = by_column
    return {
        "input_rows": input_rows,
        "distinct_tracks": tracks,
        "duplicate_rows": input_rows - tracks,
        "rows": positives + negatives,
        "positives": positives,
        "negatives": negatives,
        "dropped": dropped,
    }
