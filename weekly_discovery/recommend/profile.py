"""The artist profile: each track's features beside the average sound of its artist.

A song is judged better next to its artist's usual sound: one loud track of a quiet singer is
not a loud artist. For every feature ``f`` of the week's enriched table, ``artist_avg_f`` is the
mean of ``f`` over the distinct tracks of the track's primary artist in that table (liked,
disliked and candidate tracks alike, each track counted once, only tracks whose features are
``ok``). It uses no label, so it leaks nothing across the artist-grouped folds: every artist's
tracks sit in one fold, and their average is the same whichever fold is held out. A track
without a primary artist, or whose artist has no usable track, gets its own value.

Training and scoring both compute it from the same date of ``silver/tracks_enriched`` with
:func:`with_artist_profile`, so a model sees the same columns in both. The post's model never
uses it (it is the 2016 model exactly); the challengers do when ``[model] artist_profile`` is on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weekly_discovery.core.vocabulary import FEATURE_COLUMNS, STATUS_OK

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

PREFIX = "artist_avg_"
ARTIST = "primary_artist_id"


def column(feature: str) -> str:
    """``artist_avg_<feature>``."""
    return f"{PREFIX}{feature}"


def is_profile(name: str) -> bool:
    return name.startswith(PREFIX)


def base_feature(name: str) -> str:
    """The enriched column a model feature comes from (itself, or the feature an average is of)."""
    return name.removeprefix(PREFIX)


def model_features(features: tuple[str, ...] | list[str], artist_profile: bool) -> tuple[str, ...]:
    """The columns a challenger learns from: the features, then their artist averages when on."""
    features = tuple(features)
    return (*features, *(column(f) for f in features)) if artist_profile else features


def artist_averages(enriched: "DataFrame", features: tuple[str, ...] | list[str]) -> "DataFrame":
    """One row per primary artist: ``primary_artist_id, artist_avg_<f>...`` (see module docstring)."""
    from pyspark.sql import functions as F

    usable = enriched.where((F.col("feature_status") == STATUS_OK) & F.col(ARTIST).isNotNull())
    tracks = usable.select("track_id", ARTIST, *features).dropDuplicates(["track_id"])
    return tracks.groupBy(ARTIST).agg(*[F.avg(F.col(f).cast("double")).alias(column(f)) for f in features])


def with_artist_profile(rows: "DataFrame", enriched: "DataFrame",
                        features: tuple[str, ...] | list[str] | None = None) -> "DataFrame":
    """``rows`` (with ``primary_artist_id`` and the features) plus ``artist_avg_<f>`` for each feature.

    ``features`` defaults to every audio-feature column the enriched table has, so any model's
    profile columns (this week's or the incumbent champion's) are there. Averages come from
    ``enriched``; rows whose artist has none keep their own value (null only if it is null).
    """
    from pyspark.sql import functions as F

    if features is None:
        features = [f for f in FEATURE_COLUMNS if f in enriched.columns and f in rows.columns]
    features = list(features)
    averages = artist_averages(enriched, features).withColumnRenamed(ARTIST, "_profile_artist")
    joined = rows.join(averages, rows[ARTIST].eqNullSafe(averages["_profile_artist"]), "left")
    return joined.select(
        *[c for c in rows.columns],
        *[F.coalesce(F.col(column(f)), F.col(f).cast("double")).alias(column(f)) for f in features],
    )
