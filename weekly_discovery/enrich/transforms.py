"""Pure DataFrame transforms of the enrichment step: file look-up, answers, gates, cache, coverage.

``jobs/lookup_features_file.py`` and ``jobs/enrich.py`` are thin ``main()``s around these; tests call
them on tiny hand-made DataFrames. Feature values travel as **text** until the quality gates
(:mod:`weekly_discovery.enrich.quality`) cast and check them, so a non-numeric value is caught and
named instead of being nulled silently by a JSON or CSV parser.

Precedence: every answer carries the ``rank`` of its provider in ``enrichment.providers``; for a
track answered more than once on a date, the lowest rank wins (then the earliest batch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from weekly_discovery.core.features import RULES
from weekly_discovery.core.vocabulary import (
    DISCOVER_SOURCE_PREFIX,
    FEATURE_COLUMNS,
    STATUS_MISSING,
    STATUS_OK,
    STATUS_PENDING,
    STATUS_QUARANTINED,
)
from weekly_discovery.enrich.providers.base import BodySpec
from weekly_discovery.enrich.quality import NOT_A_NUMBER, NOT_WHOLE

SPARK_TYPES = {"double": DoubleType(), "int": IntegerType(), "long": LongType()}
FEATURE_FIELDS = [StructField(rule.field, SPARK_TYPES[rule.type]) for rule in RULES]
TEXT_FEATURE_FIELDS = [StructField(name, StringType()) for name in FEATURE_COLUMNS]
_LONG_LIMIT = 9.0e18  # whole-number fields beyond this cannot be stored: out of range

CACHE_SCHEMA = StructType([
    StructField("track_id", StringType(), False),
    StructField("status", StringType(), False),  # ok | missing | quarantined
    StructField("source", StringType()),  # provider whose answer is stored (null when missing)
    StructField("fetched_at", TimestampType()),  # when that answer (or the last "don't know") came
    StructField("fetched_ds", StringType()),  # partition date of the run that stored the row
    StructField("providers_asked", StringType()),  # the provider chain then, comma-separated
    StructField("detail", StringType()),  # why quarantined: "field=value (expected ...)"; ...
    *FEATURE_FIELDS,
])
"""``silver/audio_features``: the feature cache, one Delta table, one row per (track id, ``fetched_ds``): each
run of date D merges the rows of the ids it asked (:func:`cache_as_of` reads it as of a date)."""

FILE_HIT, FILE_ABSENT, FILE_MALFORMED = "hit", "absent", "malformed"
FILE_LOOKUP_SCHEMA = StructType([
    StructField("track_id", StringType(), False),
    StructField("status", StringType(), False),  # hit | absent | malformed
    StructField("detail", StringType()),  # for malformed: the unreadable values
    StructField("malformed_rows", IntegerType()),  # the id's malformed rows in the file (duplicates included)
    *[StructField(name, DoubleType()) for name in FEATURE_COLUMNS],
])
"""``raw/features/provider=file/ds=D``: every wanted id looked up in the file, found or not."""

REQUEST_SCHEMA = StructType([
    StructField("ids", ArrayType(StringType())),
    StructField("fetched_at", StringType()),
])
"""``batch-NNNNN.request.json``: the ids one API batch asked for, and when (the fields we read; the
batch number comes from the file name, like the body's)."""

ANSWER_SCHEMA = StructType([
    StructField("provider", StringType()),
    StructField("rank", IntegerType()),
    StructField("batch", IntegerType()),
    StructField("track_id", StringType()),
    StructField("fetched_at", TimestampType()),
    *TEXT_FEATURE_FIELDS,
])
ASK_SCHEMA = StructType([
    StructField("provider", StringType()),
    StructField("track_id", StringType()),
    StructField("fetched_at", TimestampType()),
])

QUARANTINE_SCHEMA = StructType([
    StructField("track_id", StringType(), False),
    StructField("source", StringType()),
    StructField("fetched_at", TimestampType()),
    StructField("fetched_ds", StringType()),
    StructField("failed_fields", ArrayType(StringType())),
    StructField("detail", StringType()),
    *TEXT_FEATURE_FIELDS,  # the values as the provider sent them
])
"""``quarantine/features/ds=D``: answers that failed a gate, with every failing field and value."""

ENRICHED_EXTRA = [
    *[name for name in FEATURE_COLUMNS if name != "duration_ms"],
    "feature_source",
    "feature_status",
]
"""Columns ``silver/tracks_enriched`` adds to the silver tracks columns (whose ``duration_ms`` it keeps)."""


# --------------------------------------------------------------------------------------------------
# the file snapshot
# --------------------------------------------------------------------------------------------------


def _finite(value: Column) -> Column:
    return value.isNotNull() & ~F.isnan(value) & (F.abs(value) < F.lit(float("inf")))


def _blank_to_null(column: Column) -> Column:
    text = F.trim(column.cast("string"))
    return F.when(text != "", text)


def _file_column(name: str) -> Column:
    """The file's column ``name`` taken literally: one quoted identifier, its backticks doubled.

    Names come from the user's ``[enrichment.file.columns]`` (copied from the file's header): a dot
    must not read as a struct field, nor a backtick end the quoting early.
    """
    return F.col("`" + name.replace("`", "``") + "`")


def file_lookup(
    file_df: DataFrame,
    wanted: DataFrame,
    columns: Mapping[str, str],
    *,
    corrupt_column: str | None = None,
) -> DataFrame:
    """Look the ``wanted`` track ids up in a feature file; one :data:`FILE_LOOKUP_SCHEMA` row per wanted id.

    ``columns`` maps our names (``id`` and the feature names) to the file's columns; a feature the
    file lacks is absent from ``columns`` (null). A row whose mapped values are not all finite
    numbers, or that the CSV reader flagged in ``corrupt_column``, is ``malformed``: counted, never
    used, so a later provider can still answer for that track. ``wanted`` is small (a library) and
    broadcast, so the file is streamed once and never shuffled.
    """
    id_column = columns["id"]
    selected = file_df.select(
        # some snapshots write URIs (spotify:track:<id>) instead of bare ids
        F.regexp_replace(_blank_to_null(_file_column(id_column)), r"^spotify:track:", "").alias("track_id"),
        *[
            (_blank_to_null(_file_column(columns[name])) if name in columns else F.lit(None).cast("string")).alias(name)
            for name in FEATURE_COLUMNS
        ],
        (_file_column(corrupt_column) if corrupt_column else F.lit(None).cast("string")).alias("_corrupt"),
    )
    matched = selected.join(F.broadcast(wanted.select("track_id").distinct()), "track_id", "inner")
    problems = [
        F.when(F.col(name).isNotNull() & ~_finite(F.col(name).try_cast("double")),
               F.concat(F.lit(f"{name}="), F.col(name)))
        for name in FEATURE_COLUMNS
    ]
    problems.append(F.when(F.col("_corrupt").isNotNull(), F.lit("row does not parse (wrong number of fields?)")))
    checked = matched.select(
        "track_id",
        F.array_compact(F.array(*problems)).alias("_problems"),
        *[F.col(name).try_cast("double").alias(name) for name in FEATURE_COLUMNS],
    )
    # The same id twice in a file: prefer a well-formed row, then the smallest values (deterministic).
    best = checked.groupBy("track_id").agg(
        F.min(F.struct(
            (F.size("_problems") > 0).alias("bad"),
            F.concat_ws("; ", "_problems").alias("detail"),
            *[F.col(name) for name in FEATURE_COLUMNS],
        )).alias("b"),
        F.sum((F.size("_problems") > 0).cast("int")).alias("malformed_rows"),
    )
    found = best.select(
        "track_id",
        F.lit(0).alias("_absent"),
        F.when(F.col("b.bad"), F.lit(FILE_MALFORMED)).otherwise(F.lit(FILE_HIT)).alias("status"),
        F.when(F.col("b.bad"), F.col("b.detail")).alias("detail"),
        F.col("malformed_rows").cast("long").alias("malformed_rows"),
        *[F.when(~F.col("b.bad"), F.col(f"b.{name}")).alias(name) for name in FEATURE_COLUMNS],
    )
    # Every wanted id the file lacks is "absent": a row per wanted id, kept where the file has none. Not a left
    # join of the wanted ids with `found`: Spark's constraint inference over that join (InferFiltersFromConstraints
    # on the many aliased feature expressions below it) took ~10 s to plan, far longer than the look-up itself;
    # a union and a group-by give the same rows and plan in milliseconds.
    absent = wanted.select(
        "track_id",
        F.lit(1).alias("_absent"),
        F.lit(FILE_ABSENT).alias("status"),
        F.lit(None).cast("string").alias("detail"),
        F.lit(0).cast("long").alias("malformed_rows"),
        *[F.lit(None).cast("double").alias(name) for name in FEATURE_COLUMNS],
    )
    kept = ["status", "detail", "malformed_rows", *FEATURE_COLUMNS]
    result = found.unionByName(absent).groupBy("track_id").agg(F.min(F.struct("_absent", *kept)).alias("r")).select(
        "track_id", *[F.col(f"r.{name}").alias(name) for name in kept])
    return _conform(result, FILE_LOOKUP_SCHEMA).orderBy("track_id")


# --------------------------------------------------------------------------------------------------
# answers and asks of one date
# --------------------------------------------------------------------------------------------------


def body_schema(spec: BodySpec) -> StructType:
    """The declared schema a provider's body is read with: every feature field as text."""
    names = [spec.id_field] + [spec.source_name(n) for n in FEATURE_COLUMNS if n not in spec.absent]
    element = StructType([StructField(name, StringType()) for name in dict.fromkeys(names)])
    return StructType([StructField(spec.array_field, ArrayType(element))])


def request_rows(requests: DataFrame) -> DataFrame:
    """One row per (batch, asked id) from the request files (:data:`REQUEST_SCHEMA` rows)."""
    return requests.select(
        "batch",
        F.explode("ids").alias("track_id"),
        F.col("fetched_at").cast("timestamp").alias("fetched_at"),
    )


def api_answers(bodies: DataFrame, asked: DataFrame, spec: BodySpec, provider: str, rank: int) -> DataFrame:
    """Rows of one provider's stored bodies, mapped to the Spotify ids asked in the same batch.

    ``bodies``: (batch, value) with the body text; ``asked``: :func:`request_rows` output. Rows for ids
    the batch did not ask (or whose link does not parse) are dropped; null entries are unknown ids.
    """
    parsed = bodies.select("batch", F.from_json("value", body_schema(spec)).alias("body"))
    entries = parsed.select("batch", F.explode(f"body.`{spec.array_field}`").alias("e")).where(F.col("e").isNotNull())
    raw_id = F.col(f"e.`{spec.id_field}`")
    track_id = F.regexp_extract(raw_id, spec.id_pattern, 1) if spec.id_pattern else raw_id
    rows = entries.select(
        "batch",
        track_id.alias("track_id"),
        *[
            (F.lit(None).cast("string") if name in spec.absent else F.col(f"e.`{spec.source_name(name)}`")).alias(name)
            for name in FEATURE_COLUMNS
        ],
    ).where(F.col("track_id").isNotNull() & (F.col("track_id") != ""))
    # An id twice in one body: keep one, deterministically.
    rows = rows.groupBy("batch", "track_id").agg(F.min(F.struct(*FEATURE_COLUMNS)).alias("f")).select(
        "batch", "track_id", *[F.col(f"f.{name}").alias(name) for name in FEATURE_COLUMNS]
    )
    joined = rows.join(asked, ["batch", "track_id"], "inner")
    return joined.select(
        F.lit(provider).alias("provider"), F.lit(rank).alias("rank"), "batch", "track_id", "fetched_at",
        *FEATURE_COLUMNS,
    )


def api_asks(asked: DataFrame, provider: str) -> DataFrame:
    return asked.select(F.lit(provider).alias("provider"), "track_id", "fetched_at")


def file_answers(lookup: DataFrame, fetched_at: Any, rank: int) -> DataFrame:
    """Hits of the file look-up as answers (values as text, so the same gates apply)."""
    return lookup.where(F.col("status") == FILE_HIT).select(
        F.lit("file").alias("provider"), F.lit(rank).alias("rank"), F.lit(0).alias("batch"), "track_id",
        F.lit(fetched_at).cast("timestamp").alias("fetched_at"),
        *[F.col(name).cast("string").alias(name) for name in FEATURE_COLUMNS],
    )


def file_asks(lookup: DataFrame, fetched_at: Any) -> DataFrame:
    return lookup.select(F.lit("file").alias("provider"), "track_id",
                         F.lit(fetched_at).cast("timestamp").alias("fetched_at"))


def resolve(answers: DataFrame, asks: DataFrame) -> DataFrame:
    """One row per id asked on the date: the winning answer (status ok) or ``missing``.

    Columns: track_id, status, source, fetched_at, the features as text. ``fetched_at`` of a
    missing id is the last time a provider was asked about it.
    """
    order = Window.partitionBy("track_id").orderBy("rank", "batch", "provider")
    winners = answers.withColumn("_n", F.row_number().over(order)).where("_n = 1").drop("_n", "rank", "batch")
    asked = asks.groupBy("track_id").agg(F.max("fetched_at").alias("asked_at"))
    joined = asked.join(winners, "track_id", "left")
    return joined.select(
        "track_id",
        F.when(F.col("provider").isNotNull(), F.lit(STATUS_OK)).otherwise(F.lit(STATUS_MISSING)).alias("status"),
        F.col("provider").alias("source"),
        F.coalesce("fetched_at", "asked_at").alias("fetched_at"),
        *FEATURE_COLUMNS,
    )


# --------------------------------------------------------------------------------------------------
# quality gates
# --------------------------------------------------------------------------------------------------


def apply_gates(resolved: DataFrame) -> DataFrame:
    """Check every answered row against :data:`weekly_discovery.core.features.RULES`.

    Adds, per row: the cleaned typed feature columns (null when absent, unknown or failing),
    ``raw_<field>`` (the text as sent), ``failed_fields`` / ``failures`` (field names and
    "field=value (why)" texts) and ``unknown_fields`` (fields kept as null because the value means
    "not detected").
    """
    others = [c for c in resolved.columns if c not in FEATURE_COLUMNS]
    # Step 1: the text and its number, once per field (later expressions refer to these columns,
    # which keeps the plan small: Spark does not inline a non-trivial projection used many times).
    parsed = resolved.select(
        *others,
        *[F.col(rule.field).alias(f"raw_{rule.field}") for rule in RULES],
        *[_blank_to_null(F.col(rule.field)).alias(f"_t_{rule.field}") for rule in RULES],
        *[_blank_to_null(F.col(rule.field)).try_cast("double").alias(f"_v_{rule.field}") for rule in RULES],
    )
    reasons, fields, unknowns, cleaned = [], [], [], []
    for rule in RULES:
        text, value = F.col(f"_t_{rule.field}"), F.col(f"_v_{rule.field}")
        finite = _finite(value)
        whole = (value % 1 == 0) if rule.whole else F.lit(True)
        unknown = value.isin(*rule.unknown) if rule.unknown else F.lit(False)
        in_range = F.lit(True)
        high = rule.high if rule.high is not None else (_LONG_LIMIT if rule.whole else None)
        if rule.low is not None:
            in_range = in_range & (value >= F.lit(float(rule.low)))
        if high is not None:
            in_range = in_range & (value <= F.lit(float(high)))
        prefix = F.concat(F.lit(f"{rule.field}="), text)
        # null when the field is absent or fine; otherwise why it fails (checked in this order)
        reason = (
            F.when(text.isNull(), F.lit(None))
            .when(~finite, F.concat(prefix, F.lit(f" ({NOT_A_NUMBER})")))
            .when(~whole, F.concat(prefix, F.lit(f" ({NOT_WHOLE})")))
            .when(unknown, F.lit(None))
            .when(~in_range, F.concat(prefix, F.lit(f" (expected {rule.range_text()})")))
        )
        is_unknown = text.isNotNull() & finite & whole & unknown
        reasons.append(reason.alias(f"_r_{rule.field}"))
        unknowns.append(F.when(is_unknown, F.lit(rule.field)))
        cleaned.append(
            F.when(text.isNotNull() & finite & whole & ~unknown & in_range, value.cast(SPARK_TYPES[rule.type]))
            .alias(rule.field)
        )
    checked = parsed.select(
        *others, *[f"raw_{rule.field}" for rule in RULES], *cleaned, *reasons,
        F.array_compact(F.array(*unknowns)).alias("unknown_fields"),
    )
    for rule in RULES:
        fields.append(F.when(F.col(f"_r_{rule.field}").isNotNull(), F.lit(rule.field)))
    return checked.select(
        *others,
        *[rule.field for rule in RULES],
        *[f"raw_{rule.field}" for rule in RULES],
        F.array_compact(F.array(*fields)).alias("failed_fields"),
        F.array_compact(F.array(*[F.col(f"_r_{rule.field}") for rule in RULES])).alias("failures"),
        "unknown_fields",
    )


def cache_rows(gated: DataFrame, ds: str, chain: Sequence[str]) -> DataFrame:
    """The rows date ``ds`` adds to the cache: ok, missing, or quarantined (features withheld)."""
    failed = F.size("failed_fields") > 0
    status = F.when((F.col("status") == STATUS_OK) & failed, F.lit(STATUS_QUARANTINED)).otherwise(F.col("status"))
    ok = status == STATUS_OK
    rows = gated.select(
        "track_id",
        status.alias("status"),
        F.when(F.col("status") == STATUS_OK, F.col("source")).alias("source"),
        "fetched_at",
        F.lit(ds).alias("fetched_ds"),
        F.lit(",".join(chain)).alias("providers_asked"),
        F.when(failed, F.concat_ws("; ", "failures")).alias("detail"),
        *[F.when(ok, F.col(name)).alias(name) for name in FEATURE_COLUMNS],
    )
    return _conform(rows, CACHE_SCHEMA)


def quarantine_rows(gated: DataFrame, ds: str) -> DataFrame:
    rows = gated.where((F.col("status") == STATUS_OK) & (F.size("failed_fields") > 0)).select(
        "track_id", "source", "fetched_at", F.lit(ds).alias("fetched_ds"), "failed_fields",
        F.concat_ws("; ", "failures").alias("detail"),
        *[F.col(f"raw_{name}").alias(name) for name in FEATURE_COLUMNS],
    )
    return _conform(rows, QUARANTINE_SCHEMA).orderBy("track_id")


def cache_as_of(cache: DataFrame, ds: str) -> DataFrame:
    """The feature cache as of ``ds``: per track id, its row with the greatest ``fetched_ds`` strictly before ``ds``.

    ``cache`` is the whole ``silver/audio_features`` table; rows of ``ds`` itself (an earlier run of the same
    date) do not count, so a rerun starts from what the first run started from."""
    order = Window.partitionBy("track_id").orderBy(F.col("fetched_ds").desc())
    latest = (cache.where(F.col("fetched_ds") < F.lit(ds))
              .withColumn("_n", F.row_number().over(order)).where(F.col("_n") == 1).drop("_n"))
    return _conform(latest, CACHE_SCHEMA)


def merge_snapshot(previous: DataFrame, new_rows: DataFrame) -> DataFrame:
    """The cache once date D's rows are in: the cache as of D (:func:`cache_as_of`) with D's rows replacing
    theirs (by id). What the features of D's tracks come from; only ``new_rows`` are written (merged)."""
    kept = previous.join(new_rows.select("track_id"), "track_id", "left_anti")
    return _conform(kept, CACHE_SCHEMA).unionByName(_conform(new_rows, CACHE_SCHEMA)).orderBy("track_id")


# --------------------------------------------------------------------------------------------------
# the discovered candidates as rows of the library table
# --------------------------------------------------------------------------------------------------

DISCOVER_SOURCE_NAMES: Mapping[str, str] = {
    "reccobeats": "ReccoBeats recommendations",
    "artists": "New from your artists",
    "catalog": "From your catalogue",
}
"""The readable ``source_name`` of each discovery source (others: ``Discovered (<source>)``)."""

PROVENANCE_COLUMNS = ("seed_track_ids", "seed_artist_id", "seed_artist_name", "catalogue", "reccobeats_id")
"""Where a discovered candidate came from (``silver/candidates``), carried into ``tracks_enriched``:
the liked songs ReccoBeats was asked about, the liked artist whose albums were read, the catalogue
file, ReccoBeats' own id. Null on the library's rows."""


def discovered_tracks(silver: DataFrame, candidates: DataFrame) -> DataFrame:
    """The week's discovered songs shaped as silver track rows of role ``candidates``.

    Only the songs not already in ``silver`` in any role: a library song is never a candidate, and a
    candidate playlist's song (the ``playlists`` source) is already there with its playlist. Each
    (track, source) row keeps its source: ``source_key`` ``discover-<source>``, a readable
    ``source_name``, ``position`` the order the source offered it in. Columns the candidates table
    has no value for (added_at, explicit, duration_ms...) are null; ``duration_ms`` then comes from
    the feature provider in :func:`enrich_tracks`.
    """
    fresh = candidates.join(silver.select("track_id").distinct(), "track_id", "left_anti")
    names = F.create_map(*[F.lit(x) for pair in DISCOVER_SOURCE_NAMES.items() for x in pair])
    given = {
        "role": F.lit("candidates"),
        "source_key": F.concat(F.lit(DISCOVER_SOURCE_PREFIX), F.col("source")),
        "source_id": F.lit(None),
        "source_name": F.coalesce(names[F.col("source")], F.concat(F.lit("Discovered ("), F.col("source"), F.lit(")"))),
        "position": F.col("rank"),
        "primary_artist_id": F.element_at(F.col("artist_ids"), 1),
        "primary_artist_name": F.element_at(F.col("artist_names"), 1),
        **{name: F.col(name) for name in ("track_id", "track_uri", "name", "artist_ids", "artist_names",
                                          "album_id", "album_name", *PROVENANCE_COLUMNS)},
    }
    types = dict(silver.dtypes)
    return fresh.select(*[
        (given[name] if name in given else F.lit(None)).cast(types[name]).alias(name) for name in silver.columns
    ], *[given[name] for name in PROVENANCE_COLUMNS])


def with_discovered(silver: DataFrame, candidates: DataFrame | None) -> DataFrame:
    """The library's rows (provenance null) and, when discovery ran, :func:`discovered_tracks`."""
    library = silver.select("*", F.lit(None).cast(ArrayType(StringType())).alias("seed_track_ids"),
                            *[F.lit(None).cast(StringType()).alias(n) for n in PROVENANCE_COLUMNS[1:]])
    if candidates is None:
        return library
    return library.unionByName(discovered_tracks(silver, candidates))


# --------------------------------------------------------------------------------------------------
# tracks + features
# --------------------------------------------------------------------------------------------------


def enrich_tracks(silver: DataFrame, snapshot: DataFrame) -> DataFrame:
    """Silver tracks with their features; every track kept, ``feature_status`` ok/missing/quarantined/pending.

    ``duration_ms`` stays the track's own (from the Spotify track object); the provider's value is
    used only where the track has none. Features are null unless ``feature_status`` is ok.
    """
    features = snapshot.select(
        "track_id",
        F.col("status").alias("_status"),
        F.col("source").alias("_source"),
        *[F.col(name).alias(f"_f_{name}") for name in FEATURE_COLUMNS],
    )
    joined = silver.join(features, "track_id", "left")
    ok = F.col("_status") == STATUS_OK
    silver_columns = [
        F.coalesce(F.col("duration_ms"), F.when(ok, F.col("_f_duration_ms"))).alias("duration_ms")
        if name == "duration_ms" else F.col(name)
        for name in silver.columns
    ]
    if "duration_ms" not in silver.columns:
        silver_columns.append(F.when(ok, F.col("_f_duration_ms")).alias("duration_ms"))
    result = joined.select(
        *silver_columns,
        *[F.when(ok, F.col(f"_f_{name}")).alias(name) for name in FEATURE_COLUMNS if name != "duration_ms"],
        F.when(ok, F.col("_source")).alias("feature_source"),
        F.coalesce(F.col("_status"), F.lit(STATUS_PENDING)).alias("feature_status"),
    )
    order = [c for c in ("source_key", "position", "track_id") if c in result.columns]
    return result.orderBy(*order)


# --------------------------------------------------------------------------------------------------
# metrics (small aggregates, collected by the job)
# --------------------------------------------------------------------------------------------------


def coverage_counts(enriched: DataFrame) -> DataFrame:
    """Distinct tracks per (role, feature_status, feature_source); role ``*`` = the whole library."""
    per_role = enriched.groupBy("role", "feature_status", "feature_source").agg(
        F.countDistinct("track_id").alias("tracks"))
    library = enriched.groupBy("feature_status", "feature_source").agg(
        F.countDistinct("track_id").alias("tracks")).select(F.lit("*").alias("role"), "*")
    return per_role.unionByName(library)


def gate_counts(gated: DataFrame) -> DataFrame:
    """(kind, field, tracks) with kind ``checked``, ``quarantined`` (per failing field) or ``unknown_kept``."""
    answered = gated.where(F.col("status") == STATUS_OK)
    checked = answered.agg(F.count("*").alias("tracks")).select(
        F.lit("checked").alias("kind"), F.lit("*").alias("field"), "tracks")
    quarantined_total = answered.where(F.size("failed_fields") > 0).agg(F.count("*").alias("tracks")).select(
        F.lit("quarantined").alias("kind"), F.lit("*").alias("field"), "tracks")
    by_field = answered.select(F.explode("failed_fields").alias("field")).groupBy("field").agg(
        F.count("*").alias("tracks")).select(F.lit("quarantined").alias("kind"), "field", "tracks")
    unknown = answered.where(F.size("failed_fields") == 0).select(F.explode("unknown_fields").alias("field")) \
        .groupBy("field").agg(F.count("*").alias("tracks")).select(F.lit("unknown_kept").alias("kind"), "field",
                                                                     "tracks")
    return checked.unionByName(quarantined_total).unionByName(by_field).unionByName(unknown)


def status_counts(snapshot: DataFrame) -> DataFrame:
    return snapshot.groupBy("status").agg(F.count("*").alias("rows"))


def metric_rows(enriched: DataFrame, gated: DataFrame, snapshot: DataFrame, new_rows: DataFrame) -> DataFrame:
    """Every aggregate the metrics need, as one small DataFrame (one collect, one Spark job).

    Rows ``(metric, a, b, c, n)``: ``coverage`` (role, status, source), ``gate`` (kind, field),
    ``snapshot`` / ``new`` (status).
    """
    def shape(df: DataFrame, metric: str, a: str, b: str | None, c: str | None, n: str) -> DataFrame:
        return df.select(F.lit(metric).alias("metric"), F.col(a).alias("a"),
                         (F.col(b) if b else F.lit(None).cast("string")).alias("b"),
                         (F.col(c) if c else F.lit(None).cast("string")).alias("c"),
                         F.col(n).cast("long").alias("n"))

    return (shape(coverage_counts(enriched), "coverage", "role", "feature_status", "feature_source", "tracks")
            .unionByName(shape(gate_counts(gated), "gate", "kind", "field", None, "tracks"))
            .unionByName(shape(status_counts(snapshot), "snapshot", "status", None, None, "rows"))
            .unionByName(shape(status_counts(new_rows), "new", "status", None, None, "rows")))


def _conform(df: DataFrame, schema: StructType) -> DataFrame:
    """Columns of ``schema``, in its order and types (nullability is the writer's business)."""
    return df.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])
