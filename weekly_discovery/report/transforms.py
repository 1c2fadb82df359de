"""Pure DataFrame transforms of the library report: every output is a small aggregate.

``jobs/report.py`` reads ``silver/tracks_enriched/ds=D``, calls these, collects their (small)
results and hands them to :mod:`weekly_discovery.report.compute`. Nothing here collects a table.

Rows of ``tracks_enriched`` are one per (source, track): a song in Liked Songs and in a liked
playlist appears twice, so every "tracks" count here is of distinct ``track_id`` within its group.
Only rows with ``feature_status = 'ok'`` carry features (the others have nulls).
"""

from __future__ import annotations

import math

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from weekly_discovery.core.vocabulary import STATUS_OK
from weekly_discovery.report.analysis import BIN_EPSILON, LIBRARY_GROUP, bin_count



def with_features(tracks: DataFrame) -> DataFrame:
    """Rows whose audio features passed enrichment (``feature_status = 'ok'``)."""
    return tracks.where(F.col("feature_status") == STATUS_OK)


def bin_index(value: Column, n_bins: int) -> Column:
    """The 0-based range of a 0..1 value: ``[k/n, (k+1)/n)``, an edge value in the upper range, 1.0 in the last.

    Null stays null. See :mod:`weekly_discovery.report.analysis` for why the epsilon is there.
    """
    raw = F.floor(value.cast("double") * F.lit(float(n_bins)) + F.lit(BIN_EPSILON)).cast("int")
    return F.when(value.isNull(), F.lit(None).cast("int")).otherwise(F.least(F.greatest(raw, F.lit(0)),
                                                                               F.lit(n_bins - 1)))


def distribution_groups(tracks: DataFrame, features: Sequence[str]) -> DataFrame:
    """``(group, *features)``: the liked library once per track as group ``liked``, and each reference
    playlist as its own group (its ``source_key``). Only rows with features."""
    ok = with_features(tracks)
    liked = (ok.where(F.col("role") == "liked").dropDuplicates(["track_id"])
             .select(F.lit(LIBRARY_GROUP).alias("group"), *features))
    references = ok.where(F.col("role") == "reference").select(F.col("source_key").alias("group"), *features)
    return liked.unionByName(references)


def bin_counts(groups: DataFrame, features: Sequence[str], bin_width: float) -> DataFrame:
    """``(group, feature, bin, count)``: tracks per range of each feature, in one pass over the data.

    Each row is unpivoted into one ``(feature, bin)`` pair per feature, then counted; null values
    (not detected) are left out of their feature's counts.
    """
    n_bins = bin_count(bin_width)
    pairs = F.array(*[F.struct(F.lit(f).alias("feature"), bin_index(F.col(f), n_bins).alias("bin"))
                      for f in features])
    stacked = groups.select("group", F.explode(pairs).alias("p")).select("group", "p.feature", "p.bin")
    return (stacked.where(F.col("bin").isNotNull())
            .groupBy("group", "feature", "bin").agg(F.count(F.lit(1)).alias("count")))


def reference_playlists(tracks: DataFrame) -> DataFrame:
    """``(source_key, source_name, tracks, with_features)`` of each reference playlist."""
    with_features = F.when(F.col("feature_status") == STATUS_OK, F.col("track_id"))
    return (tracks.where(F.col("role") == "reference")
            .groupBy("source_key")
            .agg(F.max("source_name").alias("source_name"),
                 F.countDistinct("track_id").alias("tracks"),
                 F.countDistinct(with_features).alias("with_features"))
            .orderBy("source_key"))


def top_artists(tracks: DataFrame, min_tracks: int) -> DataFrame:
    """Liked tracks per primary artist, artists with MORE than ``min_tracks``, most first.

    The 2016 post's query, on the liked library (features not needed)::

        SELECT primary_artist_id, max(primary_artist_name) AS name, count(DISTINCT track_id) AS tracks
        FROM tracks_enriched WHERE role = 'liked' AND primary_artist_id IS NOT NULL
        GROUP BY primary_artist_id HAVING count(DISTINCT track_id) > :min_tracks
        ORDER BY tracks DESC, name, primary_artist_id
    """
    return (tracks.where((F.col("role") == "liked") & F.col("primary_artist_id").isNotNull())
            .groupBy("primary_artist_id")
            .agg(F.max("primary_artist_name").alias("name"), F.countDistinct("track_id").alias("tracks"))
            .where(F.col("tracks") > F.lit(int(min_tracks)))
            .select(F.col("primary_artist_id").alias("artist_id"), "name", "tracks")
            .orderBy(F.desc("tracks"), F.asc("name"), F.asc("artist_id")))


def correlation_input(tracks: DataFrame, features: Sequence[str], roles: Sequence[str]) -> DataFrame:
    """One row per distinct track of ``roles`` with every feature known, features as doubles."""
    complete = F.lit(True)
    for f in features:
        complete = complete & F.col(f).isNotNull() & ~F.isnan(F.col(f).cast("double"))
    return (with_features(tracks).where(F.col("role").isin(list(roles)))
            .dropDuplicates(["track_id"])
            .where(complete)
            .select(*[F.col(f).cast("double").alias(f) for f in features]))


def correlation(rows: DataFrame, features: Sequence[str]) -> tuple[int, list[list[float]]]:
    """``(n, matrix)``: the number of ``rows`` and the Pearson correlation matrix of ``features`` over them
    (k x k; a constant feature gives NaN in its row and column, as ``pyspark.ml.stat.Correlation`` did).

    One aggregation, one Spark job: the count and the population covariance of every pair (Spark's
    numerically stable one-pass co-moments); the driver divides by the standard deviations. Only one row
    of k(k+1)/2 numbers reaches it. (Spark ML's ``Correlation`` over assembled vectors needed a cached input,
    a count and several jobs for the same numbers; Spark SQL's ``corr`` fails on a constant column under
    ANSI mode instead of saying "no correlation".)
    """
    k = len(features)
    pairs = [(i, j) for i in range(k) for j in range(i, k)]
    result = rows.agg(F.count(F.lit(1)).alias("n"),
                      *[F.covar_pop(features[i], features[j]).alias(f"c{i}_{j}") for i, j in pairs]).first()
    cov = {(i, j): result[f"c{i}_{j}"] for i, j in pairs}  # None when there is no row
    nan = float("nan")
    matrix = [[nan] * k for _ in range(k)]
    for i, j in pairs:
        var_i, var_j, c = cov[(i, i)], cov[(j, j)], cov[(i, j)]
        if var_i and var_j and var_i > 0 and var_j > 0 and c is not None:  # else: a constant feature
            matrix[i][j] = matrix[j][i] = 1.0 if i == j else max(-1.0, min(1.0, c / math.sqrt(var_i * var_j)))
    return int(result["n"]), matrix


def coverage_counts(tracks: DataFrame) -> DataFrame:
    """``(role, feature_status, feature_source, tracks, rows)``: distinct tracks (and rows) of each role by
    status and source, plus role ``*`` for the library as a whole (a track once, whatever its roles; rows 0)."""
    per_role = (tracks.groupBy("role", "feature_status", "feature_source")
                .agg(F.countDistinct("track_id").alias("tracks"), F.count(F.lit(1)).alias("rows")))
    library = (tracks.groupBy("feature_status", "feature_source")
               .agg(F.countDistinct("track_id").alias("tracks"), F.lit(0).cast("long").alias("rows"))
               .select(F.lit("*").alias("role"), "feature_status", "feature_source", "tracks", "rows"))
    return per_role.unionByName(library)
