"""Score the candidate playlists with the champion model and pick the week's recommendations.

Pure DataFrame -> DataFrame functions (the model is passed in); ``jobs/score.py`` reads and writes.

- :func:`score_candidates`: every candidate track (role ``candidates``) with the champion's
  probability that you will like it. Tracks whose features are unusable (status not ``ok``, or a
  null model feature) cannot be scored: probability null, ``score_status`` says why.
- :func:`playlist_summary`: the post's line per candidate playlist, "N of M songs recommended":
  N = tracks with probability >= threshold, M = all the playlist's tracks.
- :func:`recommend`: the top N tracks at or above the threshold that are new (:func:`excluded_track_ids`:
  not in any library role, not published in the last ``novelty_weeks`` weeks), one row per track (a
  track offered twice keeps the first by source key, position), at most K per primary artist, the
  sources mixed round-robin (:func:`recommend` says how). Only these N rows are meant to reach the driver.

Candidates are every role-``candidates`` row: the candidate playlists' songs (source ``playlists``,
one ``source_key`` per playlist, so "N of M" stays per playlist) and the songs discovery found
(``source_key`` ``discover-<source>``: reccobeats, artists), plus, when the ``catalog`` source is on,
the catalogue's rows (``discover-catalog``, read by Spark in the score job:
:mod:`weekly_discovery.recommend.scoring.catalog`), which never pass through ``tracks_enriched``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from weekly_discovery.core.vocabulary import (
    CANDIDATES,
    DISCOVER_SOURCE_PREFIX,
    LIBRARY_ROLES,
    LIKED,
    STATUS_OK,
    TRAINING_ROLES,
)
from weekly_discovery.recommend.model.columns import SCORE
from weekly_discovery.recommend.model.predict import predict
from weekly_discovery.recommend.profile import (
    base_feature,
    is_profile,
    with_artist_profile,
)
from weekly_discovery.recommend.scoring import catalog

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel

PLAYLISTS = "playlists"  # the source of the candidate playlists' songs
SCORED = "scored"
SCORE_COLUMNS = (
    "track_id", "track_uri", "name", "artist_names", "primary_artist_id", "primary_artist_name",
    "source_key", "source_id", "source_name", "position", "feature_status", "score_status",
    "probability", "recommended", "score",
)
"""``score`` is the model's own output; ``probability`` is P(liked) (the same, or its positive-unlabeled
correction, which saturates at 1: songs at 1 are ranked by their score)."""
RECOMMENDATION_COLUMNS = (
    "rank", "track_id", "uri", "name", "artists", "primary_artist_id", "primary_artist_name", "probability",
    "source_key", "source_name", "source",
)


def candidate_rows(enriched: DataFrame) -> DataFrame:
    """The rows of the candidate playlists (one per playlist and track)."""
    return enriched.where(F.col("role") == CANDIDATES)


def score_candidates(
    model: PipelineModel, enriched: DataFrame, features: tuple[str, ...] | list[str], threshold: float,
    catalogue: DataFrame | None = None, pu: dict | None = None,
) -> DataFrame:
    """Every candidate row with ``probability`` (null when unscorable) and ``recommended`` (>= threshold).

    Artist-profile features (``artist_avg_*``) are computed from the whole ``enriched`` table, as
    in training (:mod:`weekly_discovery.recommend.profile`). ``catalogue``: the catalogue's candidate
    rows (:func:`weekly_discovery.recommend.scoring.catalog.catalogue_candidates`), scored with the others;
    their profile as :func:`~weekly_discovery.recommend.scoring.catalog.with_catalogue_profile` says.
    """
    return scored_rows(model, enriched, features, threshold, catalogue, pu).select(*SCORE_COLUMNS)


def liked_probability(score: Column, pu: dict | None) -> Column:
    """The model's score as P(liked): itself, or for a model that learned from background songs (the card's
    ``pu``) the positive-unlabeled correction :func:`weekly_discovery.recommend.model.scikit.pu_probability`."""
    if not pu:
        return score
    ratio, c = float(pu["weight_ratio"]), float(pu["label_frequency"])
    unweighted = F.lit(ratio) * score / (F.lit(ratio) * score + (F.lit(1.0) - score))
    return F.least(F.lit(1.0), unweighted / F.lit(c))


def scored_rows(
    model: PipelineModel, enriched: DataFrame, features: tuple[str, ...] | list[str], threshold: float,
    catalogue: DataFrame | None = None, pu: dict | None = None,
) -> DataFrame:
    """:func:`score_candidates`'s rows plus the model's base features (double): what the score job
    caches, so that the reasons of catalogue picks need no second read of the catalogue. ``pu``: the
    champion card's positive-unlabeled calibration (:func:`liked_probability`), or None."""
    base_features = list(dict.fromkeys(base_feature(f) for f in features))
    averaged = sorted({base_feature(f) for f in features if is_profile(f)})
    rows = candidate_rows(enriched)
    if averaged:
        rows = with_artist_profile(rows, enriched, averaged)
    base = [c for c in SCORE_COLUMNS if c not in ("score_status", "probability", "recommended", SCORE)]
    if catalogue is not None:
        extra = catalog.with_catalogue_profile(catalogue, enriched, averaged) if averaged else catalogue
        needed = list(dict.fromkeys([*base, *base_features, *features]))
        rows = rows.select(*needed).unionByName(extra.select(*needed))
    status = F.coalesce(F.col("feature_status"), F.lit("unknown"))
    any_null = F.lit(False)
    for name in base_features:
        any_null = any_null | F.col(name).isNull()
    rows = rows.withColumn(
        "score_status",
        F.when(status != STATUS_OK, F.concat(F.lit("features_"), status))
        .when(any_null, F.lit("null_feature"))
        .otherwise(F.lit(SCORED)),
    )
    base.append("score_status")
    # One pass over the rows: an unscorable row goes through the model with zeros and its output is
    # dropped. Splitting scorable and unscorable rows into a union would read the inputs (a 1.2M-row
    # catalogue CSV) twice.
    scorable = F.col("score_status") == SCORED
    model_input = rows.select(
        *base, *[F.col(name).cast("double").alias(f"_kept_{name}") for name in base_features],
        *[F.when(scorable, F.col(name).cast("double")).otherwise(F.lit(0.0)).alias(name) for name in features],
    )
    return predict(model, model_input).select(
        *base, *[F.col(f"_kept_{name}").alias(name) for name in base_features],
        F.when(scorable, liked_probability(F.col(SCORE).cast("double"), pu)).alias("probability"),
        F.when(scorable, F.col(SCORE).cast("double")).alias(SCORE),
    ).withColumn(
        "recommended", F.coalesce(F.col("probability") >= F.lit(float(threshold)), F.lit(False))
    ).withColumn(
        # one type whatever the sources: the library's positions are int, the catalogue's long, and a Delta
        # table refuses a write that would change a column's type (a week with the catalogue, then one without)
        "position", F.col("position").cast("long")
    ).select(*SCORE_COLUMNS, *base_features)


CATALOGUE_SCORES_KEPT = 1000
"""How many of the catalogue's scored rows ``gold/scores`` keeps: its most probable ones. The catalogue
is the same ~1.2M songs every week; all of them would make ``gold/scores`` 1.2M rows a week for rows
nobody reads (the picks are made in the same job from every scored row, and the metrics keep the
catalogue's counts: rows, in the library, quarantined, scored, recommended)."""


def scores_kept(scores: DataFrame, keep_catalogue: int = CATALOGUE_SCORES_KEPT) -> DataFrame:
    """The rows ``gold/scores`` keeps: every row of the other sources, and the catalogue's
    ``keep_catalogue`` most probable rows (ties by track id), in (source key, position) order."""
    is_catalogue = F.col("source_key") == catalog.SOURCE_KEY
    top = (scores.where(is_catalogue & F.col("probability").isNotNull())
           .orderBy(F.col("probability").desc(), F.col("track_id").asc()).limit(keep_catalogue))
    return scores.where(~is_catalogue).unionByName(top).orderBy("source_key", "position")


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
    """Distinct ids of tracks in a library role: liked, disliked or reference (whatever their feature status)."""
    return enriched.where(F.col("role").isin(*LIBRARY_ROLES)).select("track_id").distinct()


def excluded_track_ids(enriched: DataFrame, recent_picks: DataFrame) -> DataFrame:
    """The songs that cannot be picked this week (novelty): every library song (:func:`known_track_ids`)
    and the ``recent_picks`` (a ``track_id`` column): every song published in the last ``novelty_weeks``
    weeks (:func:`weekly_discovery.recommend.publish.history.recent_pick_ids`) and every song the user removed
    from the playlist after it was offered (:func:`weekly_discovery.recommend.publish.removals.removed_pick_ids`).

    A song the user disliked since it was offered is in a disliked playlist, so in the library.
    """
    return known_track_ids(enriched).unionByName(recent_picks.select("track_id")).distinct()


def source_of(source_key: Column) -> Column:
    """The candidate source of a row: ``discover-<source>`` -> ``<source>``; a playlist's -> ``playlists``."""
    return (F.when(source_key.startswith(DISCOVER_SOURCE_PREFIX),
                   F.regexp_replace(source_key, f"^{DISCOVER_SOURCE_PREFIX}", ""))
            .otherwise(F.lit(PLAYLISTS)))


def eligible(scores: DataFrame, known: DataFrame) -> DataFrame:
    """Recommended (>= threshold) candidate tracks not already known, one row per track."""
    fresh = scores.where(F.col("recommended")).join(known, "track_id", "left_anti")
    first = Window.partitionBy("track_id").orderBy(F.col("source_key").asc(), F.col("position").asc())
    return fresh.withColumn("_n", F.row_number().over(first)).where(F.col("_n") == 1).drop("_n")


def pool_counts(scores: DataFrame, known: DataFrame, max_per_artist: int) -> dict[str, int]:
    """How the week's pool narrows: distinct songs at or above the threshold (``passed``), of them not kept
    out by the novelty rules (``new``), and of those left by the per-artist cap (``capped``)."""
    artist = F.coalesce(F.col("primary_artist_id"), F.col("track_id"))
    passed = scores.where(F.col("recommended")).select("track_id", "primary_artist_id", "probability")
    tagged = passed.join(known.withColumn("_known", F.lit(True)), "track_id", "left")
    per_track = tagged.groupBy("track_id").agg(F.first(artist).alias("_artist"), F.max("_known").alias("_known"))
    per_artist = per_track.groupBy("_artist").agg(
        F.count(F.lit(1)).alias("passed"),
        F.sum(F.when(F.col("_known").isNull(), 1).otherwise(0)).alias("new"))
    row = per_artist.agg(F.sum("passed").alias("passed"), F.sum("new").alias("new"),
                         F.sum(F.least(F.col("new"), F.lit(max_per_artist))).alias("capped")).first()
    return {key: int(row[key] or 0) for key in ("passed", "new", "capped")}


def short_week_reason(counts: dict[str, int], picked: int, top_n: int, threshold: float, max_per_artist: int) -> str:
    """Why the playlist holds fewer than ``top_n`` songs ("" when it is full): the step where the pool ran out."""
    if picked >= top_n:
        return ""
    kept_out = counts["passed"] - counts["new"]
    capped = counts["new"] - counts["capped"]
    return (f"{picked} of {top_n} songs: {counts['passed']} candidates scored at or above the threshold "
            f"{threshold:g}, {kept_out} of them already in your library, published in recent weeks or removed "
            f"by you, and {capped} more over the limit of {max_per_artist} per artist. More candidates "
            "([discover] budgets and sources) or a lower [model] threshold fill the playlist")


def recommend(scores: DataFrame, known: DataFrame, top_n: int, max_per_artist: int) -> DataFrame:
    """The week's recommendations (see module docstring): at most ``top_n`` rows, ``rank`` from 1.

    ``known``: the ``track_id`` s that cannot be picked (:func:`excluded_track_ids`). After the
    per-artist cap (the K most probable songs of each primary artist), the sources are mixed
    round-robin so that no single source fills the playlist while others have qualifying songs: each
    source's songs are ranked by probability, round r takes every source's r-th best, and within a
    round the sources go in the order of that song's probability (ties by track id). A source that runs
    out drops out of the later rounds, so the playlist is still filled from the others. ``rank`` is
    that order; with one source it is simply the order by probability. A pick's artist may be new to
    the user: nothing requires a known artist.
    """
    if top_n < 1 or max_per_artist < 1:
        raise ValueError(f"top_n and max_per_artist must be >= 1, got {top_n} and {max_per_artist}")
    # songs of equal probability (P(liked) saturates at 1 for a positive-unlabeled model) by the model's score
    tie = F.col(SCORE) if SCORE in scores.columns else F.lit(0.0)
    order = [F.col("probability").desc(), F.col("_tie").desc(), F.col("track_id").asc()]
    artist = F.coalesce(F.col("primary_artist_id"), F.col("track_id"))
    # The windows run over the few columns they need (a catalogue has ~700k recommended rows to shuffle);
    # the <= top_n picks get their other columns back from ``scores`` at the end.
    row_key = ["track_id", "source_key", "position"]
    narrow = scores.select(*row_key, "primary_artist_id", "probability", "recommended", tie.alias("_tie"))
    capped = (
        eligible(narrow, known)
        .withColumn("source", source_of(F.col("source_key")))
        .withColumn("_artist_rank", F.row_number().over(Window.partitionBy(artist).orderBy(*order)))
        .where(F.col("_artist_rank") <= max_per_artist)
    )
    mixed = capped.withColumn("_round", F.row_number().over(Window.partitionBy("source").orderBy(*order)))
    pick_order = [F.col("_round").asc(), *order]
    top = mixed.orderBy(*pick_order).limit(top_n)
    # partitionBy(lit) only to say "one window over these <= top_n rows" without Spark's warning
    ranked = top.withColumn("rank", F.row_number().over(Window.partitionBy(F.lit(1)).orderBy(*pick_order)))
    picked = ranked.select(*[F.col(k).alias(f"_pick_{k}") for k in row_key], "primary_artist_id", "probability",
                           "source", "rank")
    rest = scores.drop("primary_artist_id", "probability", "recommended")
    ranked = rest.join(F.broadcast(picked), [rest[k].eqNullSafe(picked[f"_pick_{k}"]) for k in row_key]) \
        .drop(*[f"_pick_{k}" for k in row_key])
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
        "source",
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
                     f"({r['probability']:.3f}, {r['source_name'] or r['source_key']})")
    return lines


def pick_reasons(enriched: DataFrame, picks: list[dict], features: tuple[str, ...] | list[str],
                 scored: DataFrame | None = None, catalogue_path: str | None = None) -> dict[str, str]:
    """``track_id -> reason`` for the week's few picks (rows of :func:`recommend`, collected).

    Each reason (:func:`weekly_discovery.recommend.scoring.reasons.reason_line`) names where the song came
    from (its ``silver/candidates`` provenance, carried in ``tracks_enriched``: the seed songs by name,
    the liked artist and how many of their songs are liked, the playlist), the model's probability and
    the liked songs nearest to it in the model's audio features
    (:func:`~weekly_discovery.recommend.scoring.reasons.nearest_liked`). The feature space is the champion's base
    features (an artist-profile feature is its base feature's average, so it is left out).

    Two small collects reach the driver, whatever the size of the candidates: the picks' own rows
    (<= top_n) and the library's liked and disliked rows with the seed songs (one person's library, as
    training collects it); the rest is plain Python. A catalogue pick is not in ``enriched``: its features
    come from ``scored`` (:func:`scored_rows`, the job's cached rows) and its provenance is ``catalogue_path``.
    """
    from weekly_discovery.recommend.scoring.reasons import nearest_liked, reason_line

    if not picks:
        return {}
    spark = enriched.sparkSession
    keys = spark.createDataFrame([(p["track_id"], p["source_key"]) for p in picks], "track_id string, source_key string")
    base = list(dict.fromkeys(base_feature(f) for f in features))
    wanted = ("seed_track_ids", "seed_artist_id", "seed_artist_name", "album_name", "source_name")
    present = [c for c in wanted if c in enriched.columns]
    rows = (candidate_rows(enriched).join(keys, ["track_id", "source_key"]).dropDuplicates(["track_id"])
            .select("track_id", *base, *present))
    from_catalogue = [p["track_id"] for p in picks if p["source_key"] == catalog.SOURCE_KEY]
    if scored is not None and from_catalogue:  # a filter of the cached rows, no join: no shuffle of 1.2M rows
        rows = rows.unionByName(scored.where((F.col("source_key") == catalog.SOURCE_KEY)
                                             & F.col("track_id").isin(from_catalogue)).select("track_id", *base),
                                allowMissingColumns=True)
    pick_rows = [r.asDict() for r in rows.collect()]
    provenance = {r["track_id"]: r for r in pick_rows}
    seeds = sorted({s for p in pick_rows for s in (p.get("seed_track_ids") or [])})
    library = [r.asDict() for r in enriched.where(F.col("role").isin(*TRAINING_ROLES) | F.col("track_id").isin(seeds))
               .select("track_id", "name", "artist_names", "primary_artist_id", "role", "feature_status", *base)
               .collect()]
    closest = nearest_liked(pick_rows, library, base)
    names: dict[str, str] = {}
    liked_by_artist: dict[str, set[str]] = {}
    for r in sorted(library, key=lambda r: (r["track_id"], r["role"] or "")):
        if r["name"]:
            names.setdefault(r["track_id"], r["name"])
        if r["role"] == LIKED and r["primary_artist_id"]:
            liked_by_artist.setdefault(r["primary_artist_id"], set()).add(r["track_id"])
    reasons = {}
    for pick in picks:
        p = dict(provenance.get(pick["track_id"], {}))
        if pick["source_key"] == catalog.SOURCE_KEY:
            p.setdefault("catalogue", catalogue_path)
        p["seed_names"] = [names[s] for s in (p.get("seed_track_ids") or []) if names.get(s)]
        p["artist_liked_count"] = len(liked_by_artist.get(p.get("seed_artist_id"), ())) or None
        p["playlist_name"] = p.get("source_name")
        reasons[pick["track_id"]] = reason_line(pick["source"], p, pick["probability"], closest.get(pick["track_id"], []))
    return reasons
