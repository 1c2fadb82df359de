"""The ``catalog`` source's songs: a downloaded track catalogue read by Spark, ready to be scored.

The file is the user's catalogue (``[discover] catalog``), in the layout of Kaggle's "Spotify 1.2M+
Songs" ``tracks_features.csv``: ``id, name, album, album_id, artists, artist_ids, track_number,
disc_number, explicit, danceability, energy, key, loudness, mode, speechiness, acousticness,
instrumentalness, liveness, valence, tempo, duration_ms, time_signature, year, release_date``, where
``artists`` and ``artist_ids`` are Python list literals (``['Daft Punk']``, ``["Guns N' Roses"]``).
It is 1.2M rows: only Spark reads it, in the score job, never a Python task.

:func:`read_catalogue` reads every column as text with a declared schema (a number that is not one
must be seen, not silently nulled by a parser) and :func:`catalogue_candidates` turns the rows into
candidate rows (source key ``discover-catalog``, features from the file, ``feature_status`` ok):

* a row whose id is not a Spotify track id, whose artist lists do not parse, or whose feature is not
  a number or out of the range of the feature contract (:data:`weekly_discovery.core.features.RULES`,
  which the enrichment's quality gates apply too: docs/enrichment.md), or a line with too many or too few
  fields, is **quarantined**: kept with ``feature_status`` ``quarantined`` and no features, so it is
  counted ("N without usable features")
  and never scored; the reasons are counted per field in the job's metrics. A bad row is not fatal.
* ``tempo`` 0 and ``time_signature`` 0 or 1 mean "not detected", as in the quality gates: null;
* a song in any library role is dropped (it is never a candidate); recently published songs are kept
  out later by the same novelty rule as every candidate (:func:`~weekly_discovery.recommend.scoring.score.recommend`).

:func:`with_catalogue_profile` gives catalogue rows the artist-profile features the way training
computes them for the week's table (see its docstring).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from weekly_discovery.core.errors import UserError
from weekly_discovery.core.features import RULES, Rule
from weekly_discovery.core.spotify_ids import SPOTIFY_ID_PATTERN
from weekly_discovery.core.vocabulary import (
    CANDIDATES,
    DISCOVER_SOURCE_PREFIX,
    FEATURE_COLUMNS,
    LIBRARY_ROLES,
    STATUS_OK,
    STATUS_QUARANTINED,
)
from weekly_discovery.recommend.profile import ARTIST, column

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, Observation, SparkSession

SOURCE = "catalog"
SOURCE_KEY = f"{DISCOVER_SOURCE_PREFIX}{SOURCE}"
SOURCE_NAME = "From your catalogue"  # the enrichment's name for the source, for the "N of M" lines
REQUIRED_COLUMNS = ("id", "name", "artists", "artist_ids", *FEATURE_COLUMNS)
OPTIONAL_COLUMNS = ("album", "album_id", "track_number", "disc_number", "explicit", "year", "release_date")
CORRUPT = "_corrupt_record"
TRACK_ID = f"^{SPOTIFY_ID_PATTERN}$"

REASONS = ("line", "id", "artists", "artist_ids", *(rule.field for rule in RULES))
"""Why a row is quarantined: a malformed line (field count), then each column that failed its check."""

# a Python str literal inside a list repr: '...' or "..." with backslash escapes
_PY_STRING = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""


def read_catalogue(spark: "SparkSession", path: str) -> "DataFrame":
    """The file's rows, every column text, plus ``_corrupt_record`` (the line, when its field count is wrong).

    The header names the columns (any order; extra columns are ignored). A missing file or column stops
    the job with the fix (a user error, no retry).
    """
    from pyspark.errors import AnalysisException
    from pyspark.sql.types import StringType, StructField, StructType

    try:
        header = spark.read.option("header", True).csv(path).columns  # reads the first line only
    except AnalysisException as exc:
        if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc):
            raise UserError(f"[discover] catalog = {path!r}: no such file; download the catalogue or fix the "
                            "path (or drop \"catalog\" from [discover] sources)") from None
        raise
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise UserError(f"[discover] catalog = {path!r} has no column {', '.join(missing)}; expected a CSV with a "
                        f"header line naming at least {', '.join(REQUIRED_COLUMNS)} (the layout of Kaggle's "
                        "\"Spotify 1.2M+ Songs\" tracks_features.csv)")
    schema = StructType([StructField(c, StringType()) for c in header] + [StructField(CORRUPT, StringType())])
    return (spark.read.schema(schema)
            .options(header=True, mode="PERMISSIVE", columnNameOfCorruptRecord=CORRUPT, escape='"',
                     enforceSchema=True)
            .csv(path))


def parse_list(text: "Column") -> "Column":
    """A Python list literal of strings (``['a', "b's"]``) as an array; null when it is not one."""
    from pyspark.sql import functions as F

    items = F.regexp_extract_all(text, F.lit(_PY_STRING), 0)
    unquoted = F.transform(items, lambda s: F.regexp_replace(F.substring(s, F.lit(2), F.length(s) - 2),
                                                             r"\\(.)", "$1"))
    return F.when(F.trim(text).rlike(r"^\[.*\]$"), unquoted)


def _typed(check: Rule) -> tuple["Column", "Column"]:
    """(the typed value or null, whether the value fails the check) for one feature column, from its number
    ``_n_<field>`` (the text cast once to double by :func:`parse_catalogue`)."""
    from pyspark.sql import functions as F

    number = F.col(f"_n_{check.field}")
    bad = number.isNull() | F.isnan(number) | (number == float("inf")) | (number == float("-inf"))
    if check.type != "double":
        bad = bad | (number != F.floor(number))
    out_of_range = F.lit(False)
    if check.low is not None:
        out_of_range = out_of_range | (number < check.low)
    if check.high is not None:
        out_of_range = out_of_range | (number > check.high)
    unknown = number.isin(*check.unknown) if check.unknown else F.lit(False)
    failed = F.coalesce(bad | (out_of_range & ~unknown), F.lit(True))
    value = F.when(failed | unknown, F.lit(None)).otherwise(number).cast(check.type)
    return value, failed


def parse_catalogue(raw: "DataFrame") -> "DataFrame":
    """Typed rows: ``track_id``, names, artist arrays, the features, and ``problems`` (REASONS that failed).

    Two projections on purpose: each text is parsed once (casts, list literals) into a column, and the
    checks only read those columns. Written as one, the checks repeat the parsing inside conditional
    expressions, where Spark does not share common subexpressions: 3x slower on 1.2M rows.
    """
    from pyspark.sql import functions as F

    optional = {name: (F.col(name) if name in raw.columns else F.lit(None).cast("string")) for name in OPTIONAL_COLUMNS}
    parsed = raw.select(
        F.trim(F.col("id")).alias("track_id"),
        F.col("name"),
        parse_list(F.col("artists")).alias("artist_names"),
        parse_list(F.col("artist_ids")).alias("artist_ids"),
        optional["album"].alias("album_name"),
        optional["album_id"].alias("album_id"),
        optional["release_date"].alias("release_date"),
        *[F.trim(F.col(c.field)).try_cast("double").alias(f"_n_{c.field}") for c in RULES],
        F.col(CORRUPT).isNotNull().alias("_bad_line"),
    )
    checks = [(c, *_typed(c)) for c in RULES]
    artists, artist_ids = F.col("artist_names"), F.col("artist_ids")
    problems = F.array_compact(F.array(
        F.when(F.col("_bad_line"), F.lit("line")),
        F.when(~F.coalesce(F.col("track_id").rlike(TRACK_ID), F.lit(False)), F.lit("id")),
        F.when(F.coalesce(F.size(artists), F.lit(0)) < 1, F.lit("artists")),
        F.when(~F.coalesce(F.size(artist_ids) >= 1, F.lit(False))
               | ~F.coalesce(F.forall(artist_ids, lambda a: a.rlike(TRACK_ID)), F.lit(False)), F.lit("artist_ids")),
        *[F.when(failed, F.lit(c.field)) for c, _, failed in checks],
    ))
    return parsed.select(
        "track_id", "name", "artist_names", "artist_ids", "album_name", "album_id", "release_date",
        *[value.alias(c.field) for c, value, _ in checks],
        problems.alias("problems"),
    )


def catalogue_candidates(raw: "DataFrame", known: "DataFrame", path: str,
                         observation: "Observation | None" = None, offered: "DataFrame | None" = None) -> "DataFrame":
    """The catalogue's candidate rows: every row whose id is not in ``known`` (the library's track ids)
    nor in ``offered`` (the songs another source found this week: they keep that source's provenance,
    "ReccoBeats, from ..." says more than "from your catalogue", and are scored once).

    Columns: the score job's candidate columns (``track_id, track_uri, name, artist_names,
    primary_artist_id, primary_artist_name, source_key, source_id, source_name, position,
    feature_status``), the features typed as in ``tracks_enriched``, and the provenance ``catalogue``
    (``path``). A quarantined row keeps its id and names but no features. ``position`` is the row's
    order in the file. With ``observation``, the counts of :func:`count_columns` are observed on the
    way, so they cost no extra pass over the file (read them after the first action).
    """
    from pyspark.sql import functions as F

    parsed = parse_catalogue(raw)
    flags = known.select(F.col("track_id").alias("_flag_id"), F.lit(True).alias("_known"))
    if offered is not None:
        flags = flags.unionByName(offered.select(F.col("track_id").alias("_flag_id"), F.lit(False).alias("_known")))
    # a track in the library and offered by a source is a library track
    flags = flags.groupBy("_flag_id").agg(F.max("_known").alias("_known"))
    flagged = (parsed.join(F.broadcast(flags), parsed["track_id"] == flags["_flag_id"], "left")
               .withColumn("_offered", F.col("_flag_id").isNotNull() & ~F.coalesce(F.col("_known"), F.lit(False)))
               .withColumn("_known", F.coalesce(F.col("_known"), F.lit(False))))
    if observation is not None:
        flagged = flagged.observe(observation, *count_columns())
    ok = F.size("problems") == 0
    return flagged.where(~F.col("_known") & ~F.col("_offered")).select(
        "track_id",
        F.concat(F.lit("spotify:track:"), F.col("track_id")).alias("track_uri"),
        "name",
        "artist_names",
        F.element_at(F.col("artist_ids"), 1).alias(ARTIST),
        F.element_at(F.col("artist_names"), 1).alias("primary_artist_name"),
        F.lit(SOURCE_KEY).alias("source_key"),
        F.lit(None).cast("string").alias("source_id"),
        F.lit(SOURCE_NAME).alias("source_name"),
        F.monotonically_increasing_id().alias("position"),
        F.when(ok, F.lit(STATUS_OK)).otherwise(F.lit(STATUS_QUARANTINED)).alias("feature_status"),
        *[F.when(ok, F.col(c.field)).alias(c.field) for c in RULES],
        F.lit(path).alias("catalogue"),
    )


def background_rows(spark: "SparkSession", path: str, enriched: "DataFrame", size: int, seed: int) -> "DataFrame":
    """``size`` rows of the catalogue in the enriched table's shape (role ``candidates``), for training's
    background: the catalogue's songs are scored every week, so the model must have seen songs like them
    as unlabeled (positive-unlabeled learning assumes the background is drawn from what it scores). The
    rows with usable features, not in the library, first in ``sha256("<seed>:<track id>")`` order: the
    same sample on every run. One pass over the file."""
    from pyspark.sql import functions as F

    library = enriched.where(F.col("role").isin(*LIBRARY_ROLES)).select("track_id").distinct()
    rows = catalogue_candidates(read_catalogue(spark, path), library, path).where(F.col("feature_status") == STATUS_OK)
    return (rows.withColumn("_draw", F.sha2(F.concat(F.lit(f"{seed}:"), F.col("track_id")), 256))
            .orderBy("_draw").limit(size)
            .select("track_id", "name", ARTIST, "primary_artist_name", F.lit(CANDIDATES).alias("role"),
                    "source_key", F.lit(0).alias("position"), "feature_status", *[c.field for c in RULES]))


def count_columns() -> list["Column"]:
    """The catalogue's counts, over the parsed rows flagged ``_known`` and ``_offered``: ``rows`` (lines
    read), ``in_library`` (dropped: a library song), ``offered_by_others`` (dropped: another source's
    candidate), ``quarantined`` (of the rest) and ``bad_<reason>``."""
    from pyspark.sql import functions as F

    fresh = ~F.col("_known") & ~F.col("_offered")
    return [
        F.count(F.lit(1)).alias("rows"),
        F.sum(F.col("_known").cast("long")).alias("in_library"),
        F.sum(F.col("_offered").cast("long")).alias("offered_by_others"),
        F.sum((fresh & (F.size("problems") > 0)).cast("long")).alias("quarantined"),
        *[F.sum((fresh & F.array_contains("problems", r)).cast("long")).alias(f"bad_{r}") for r in REASONS],
    ]


def counts_summary(values: dict[str, Any]) -> dict[str, Any]:
    """The observed counts as the job's metrics: rows, in_library, quarantined and the reasons that occurred."""
    reasons = {r: int(values.get(f"bad_{r}") or 0) for r in REASONS}
    return {"rows": int(values.get("rows") or 0), "in_library": int(values.get("in_library") or 0),
            "offered_by_others": int(values.get("offered_by_others") or 0),
            "quarantined": int(values.get("quarantined") or 0),
            "quarantined_by_field": {r: n for r, n in reasons.items() if n}}


def with_catalogue_profile(rows: "DataFrame", enriched: "DataFrame", features: list[str]) -> "DataFrame":
    """Catalogue ``rows`` plus ``artist_avg_<f>`` for each of ``features``, computed as training computes it.

    Training's profile (:mod:`weekly_discovery.recommend.profile`) is the mean of ``f`` over the distinct
    ok tracks of the artist in the week's ``tracks_enriched``, the track itself included. A catalogue
    row is scored as if it were one more track of that table: the artist's sum and count there, plus
    the row's own value: ``(sum + f) / (n + 1)``; the row's own value when the artist has no usable
    track there (as for a lone track in training); the table's average when the song is already in
    it (a discovered candidate too). The 1.2M catalogue rows are deliberately not averaged among
    themselves: the model never saw such averages, and an artist's 300 catalogue songs would pull the
    profile away from what training's artists look like.
    """
    from pyspark.sql import functions as F

    usable = (enriched.where((F.col("feature_status") == STATUS_OK) & F.col(ARTIST).isNotNull())
              .select("track_id", ARTIST, *features).dropDuplicates(["track_id"]))
    sums = usable.groupBy(F.col(ARTIST).alias("_artist")).agg(
        *[F.sum(F.col(f).cast("double")).alias(f"_sum_{f}") for f in features],
        *[F.count(F.col(f)).alias(f"_n_{f}") for f in features])
    seen = usable.select(F.col("track_id").alias("_seen_id")).distinct()
    joined = (rows.join(F.broadcast(sums), rows[ARTIST] == F.col("_artist"), "left")
              .join(F.broadcast(seen), F.col("track_id") == F.col("_seen_id"), "left"))

    def average(f: str) -> "Column":
        own = F.col(f).cast("double")
        total, n = F.coalesce(F.col(f"_sum_{f}"), F.lit(0.0)), F.coalesce(F.col(f"_n_{f}"), F.lit(0))
        in_table = F.col(f"_sum_{f}") / F.col(f"_n_{f}")
        return (F.when(F.col("_seen_id").isNotNull(), in_table)
                .when(own.isNull(), in_table)
                .otherwise((total + own) / (n + 1)))

    return joined.select(*rows.columns, *[average(f).alias(column(f)) for f in features])
