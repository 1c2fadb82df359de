"""Score the candidate playlists with the champion model and pick the week's recommendations.

Pure DataFrame -> DataFrame functions (the model is passed in); ``jobs/score.py`` reads and writes.

- :func:`score_candidates`: every candidate track (role ``candidates``) with the champion's
  probability that you will like it. Tracks whose features are unusable (status not ``ok``, or a
  null model feature) cannot be scored: probability null, ``score_status`` says why.
- :func:`playlist_summary`: the post's line per candidate playlist, "N of M songs recommended":
  N = tracks with probability >= threshold, M = all the playlist's tracks.
- :func:`recommend`: the top N tracks at or above the threshold that you have not already liked or
  disliked (by track id, in any source), one row per track (a track in two candidate playlists keeps
  the first by source key, position), at most K per primary artist, ordered by probability, ties
  broken by track id. Only these N rows are meant to reach the driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from weekly_discovery.recommend.models import SCORE, predict
from weekly_discovery.recommend.profile import base_feature, is_profile, with_artist_profile

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel

CANDIDATES, LIKED, DISLIKED = "candidates", "liked", "disliked"
SCORED = "scored"
SCORE_COLUMNS = (
    "track_id", "track_uri", "name", "artist_names", "primary_artist_id", "primary_artist_name",
    "source_key", "source_id", "source_name", "position", "feature_status", "score_status",
    "probability", "recommended",
)
RECOMMENDATION_COLUMNS = (
    "rank", "track_id", "uri", "name", "artists", "primary_artist_id", "primary_artist_name", "probability",
    "source_key", "source_name",
)


def candidate_rows(enriched: DataFrame) -> DataFrame:
    """The rows of the candidate playlists (one per playlist and track)."""
    return enriched.where(F.col("role") == CANDIDATES)


def score_candidates(
    model: "PipelineModel", enriched: DataFrame, features: tuple[str, ...] | list[str], threshold: float
) -> DataFrame:
    """Every candidate row with ``probability`` (null when unscorable) and ``recommended`` (>= threshold).

    Artist-profile features (``artist_avg_*``) are computed from the whole ``enriched`` table, as
    in training (:mod:`weekly_discovery.recommend.profile`).
    """
    rows = candidate_rows(enriched)
    averaged = sorted({base_feature(f) for f in features if is_profile(f)})
    if averaged:
        rows = with_artist_profile(rows, enriched, averaged)
    status = F.coalesce(F.col("feature_status"), F.lit("unknown"))
    any_null = F.lit(False)
    for name in {base_feature(f) for f in features}:
        any_null = any_null | F.col(name).isNull()
    rows = rows.withColumn(
        "score_status",
        F.when(status != "ok", F.concat(F.lit("features_"), status))
        .when(any_null, F.lit("null_feature"))
        .otherwise(F.lit(SCORED)),
    )
    base = [c for c in SCORE_COLUMNS if c not in ("probability", "recommended")]
    scorable = rows.where(F.col("score_status") == SCORED).select(
        *base, *[F.col(name).cast("double").alias(name) for name in features]
    )
    scored = predict(model, scorable).select(*base, F.col(SCORE).alias("probability"))
    unscored = rows.where(F.col("score_status") != SCORED).select(
        *base, F.lit(None).cast("double").alias("probability")
    )
    return (
        scored.unionByName(unscored)
        .withColumn("recommended", F.coalesce(F.col("probability") >= F.lit(float(threshold)), F.lit(False)))
        .select(*SCORE_COLUMNS)
    )


def playlist_summary(scores: DataFrame) -> DataFrame:
    """Per candidate playlist: ``source_key, name, recommended (N), total (M), scored``, by source key."""
    return (
        scores.groupBy("source_key")
        .agg(
            F.min("source_name").alias("name"),
            F.sum(F.col("recommended").cast("long")).alias("recommended"),
            F.count(F.lit(1)).alias("total"),
            F.sum((F.col("score_status") == SCORED).cast("long")).alias("scored"),
        )
        .orderBy("source_key")
    )


def known_track_ids(enriched: DataFrame) -> DataFrame:
    """Distinct ids of tracks already liked or disliked (whatever their feature status)."""
    return enriched.where(F.col("role").isin(LIKED, DISLIKED)).select("track_id").distinct()


def eligible(scores: DataFrame, known: DataFrame) -> DataFrame:
    """Recommended (>= threshold) candidate tracks not already known, one row per track."""
    fresh = scores.where(F.col("recommended")).join(known, "track_id", "left_anti")
    first = Window.partitionBy("track_id").orderBy(F.col("source_key").asc(), F.col("position").asc())
    return fresh.withColumn("_n", F.row_number().over(first)).where(F.col("_n") == 1).drop("_n")


def recommend(scores: DataFrame, known: DataFrame, top_n: int, max_per_artist: int) -> DataFrame:
    """The week's recommendations (see module docstring): at most ``top_n`` rows, ``rank`` from 1."""
    if top_n < 1 or max_per_artist < 1:
        raise ValueError(f"top_n and max_per_artist must be >= 1, got {top_n} and {max_per_artist}")
    order = [F.col("probability").desc(), F.col("track_id").asc()]
    artist = F.coalesce(F.col("primary_artist_id"), F.col("track_id"))
    capped = (
        eligible(scores, known)
        .withColumn("_artist_rank", F.row_number().over(Window.partitionBy(artist).orderBy(*order)))
        .where(F.col("_artist_rank") <= max_per_artist)
    )
    top = capped.orderBy(*order).limit(top_n)
    # partitionBy(lit) only to say "one window over these <= top_n rows" without Spark's warning
    ranked = top.withColumn("rank", F.row_number().over(Window.partitionBy(F.lit(1)).orderBy(*order)))
    return ranked.select(
        F.col("rank").cast("int").alias("rank"),
        "track_id",
        F.col("track_uri").alias("uri"),
        "name",
        F.col("artist_names").alias("artists"),
        "primary_artist_id",
        "primary_artist_name",
        "probability",
        "source_key",
        "source_name",
    ).orderBy("rank")


def summary_lines(playlists: list[dict], recommendations: list[dict], threshold: float) -> list[str]:
    """The post's "N of M" lines, then one line per recommendation (rank, title, artist, probability)."""
    lines = []
    for p in playlists:
        unscored = p["total"] - p["scored"]
        note = f"; {unscored} without usable features" if unscored else ""
        lines.append(f"{p['name'] or p['source_key']}: {p['recommended']} of {p['total']} songs recommended "
                     f"(probability >= {threshold:g}{note})")
    lines.append(f"recommendations: {len(recommendations)}")
    for r in recommendations:
        artists = ", ".join(r["artists"] or []) or r.get("primary_artist_name") or "?"
        lines.append(f"{r['rank']:>3}. {r['name']} - {artists} "
                     f"({r['probability']:.3f}, from {r['source_name'] or r['source_key']})")
    return lines
