"""Merge date D's rows into the feature cache and write the enriched tracks table, with quality gates and coverage.

Run it with the venv's spark-submit (SPARK_HOME = the venv's site-packages/pyspark,
PYSPARK_PYTHON = the venv's python, see docs/stack.md)::

    spark-submit --master local[2] jobs/enrich.py \\
        --lake /srv/weekly-discovery/lake --ds 2026-11-23 --config ~/weekly-discovery.toml

Reads D's silver tracks, the feature cache as of D (``silver/audio_features``, per track the row with
the greatest ``fetched_ds`` before D: :func:`weekly_discovery.enrich.transforms.cache_as_of`), D's raw
feature batches (``raw/features/provider=<api>/ds=D``, as the fetch task's manifests list them) and D's
file look-up (``raw/features/provider=file/ds=D``), resolves each asked id by provider order, applies the
quality gates (:mod:`weekly_discovery.enrich.quality`) and writes, one Delta commit per table:

- ``silver/audio_features``        MERGE of D's rows (the ids asked on D, ``fetched_ds`` = D) by
  (track_id, fetched_ds): a rerun of D updates them, other dates' rows are never touched;
- ``quarantine/features`` ds=D     answers that failed a gate, with the failing fields;
- ``silver/tracks_enriched`` ds=D  silver tracks + features (the cache as of D with D's rows) +
  ``feature_status``, then its ``_metrics.json``; the week's discovered songs (``silver/candidates`` of D,
  when the discover DAG ran) not already in the library are added as role ``candidates`` with
  ``source_key`` ``discover-<source>`` and their provenance columns
  (:func:`weekly_discovery.enrich.transforms.with_discovered`).

tracks_enriched is written last and its ``_metrics.json`` after its commit, so that file means the step
completed. Then, if a role's coverage
is below its floor (``enrichment.min_coverage``, or when unset 50% for liked and disliked tracks and none
for the other roles: :data:`weekly_discovery.enrich.coverage.DEFAULT_MIN_COVERAGE`), the job fails with a
message naming the role and what to add.
Exit status 2 (a user error, not retried): an input is missing (the log says which step to run) or the
coverage is too low (rerunning on the same fetched answers cannot raise it).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from weekly_discovery.core.errors import UserError
from weekly_discovery.enrich.cache import CACHE_KEYS, FeatureInputError, require_silver_tracks
from weekly_discovery.lake import (
    AUDIO_FEATURES,
    BATCH_BODY_PATTERN,
    BATCH_REQUEST_PATTERN,
    CANDIDATES,
    MANIFEST,
    QUARANTINE_FEATURES,
    SILVER_TRACKS,
    TRACKS_ENRICHED,
    Lake,
    PartitionDate,
    Table,
    read_json,
    tree_bytes,
)
from weekly_discovery.lake import delta
from weekly_discovery.settings.config import Enrichment
from weekly_discovery.spark.runner import job_config, job_parser, job_session, parse_job_args, run_job

log = logging.getLogger(__name__)


class CoverageTooLow(UserError, RuntimeError):
    """A role's coverage is below ``enrichment.min_coverage`` (raised after everything is written).

    A user error: the job would read the same fetched answers again; more coverage needs another
    provider (e.g. the ``file`` look-up) or a lower ``enrichment.min_coverage``.
    """


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return parse_job_args(job_parser(__doc__, settings=True), argv)


def api_batches(lake: Lake, ds: PartitionDate, name: str) -> tuple[list[str], list[str], dict | None]:
    """(body paths, request paths, manifest) of one API provider's partition of ``ds``."""
    folder = lake.raw_features_partition(name, ds)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return [], [], None
    manifest = read_json(manifest_path)
    bodies, requests = [], []
    for batch in manifest["batches"]:
        body, request = folder / batch["body"], folder / batch["request"]
        if not (body.is_file() and request.is_file()):
            raise FeatureInputError(f"{manifest_path} lists {batch['body']} but it is missing: rerun the fetch task")
        bodies.append(str(body))
        requests.append(str(request))
    return bodies, requests, manifest


def load_answers(spark, lake: Lake, ds: PartitionDate, enrichment: Enrichment):
    """All answers and asks of ``ds`` across the chain, and the provider manifests."""
    from pyspark.sql import functions as F

    from weekly_discovery.enrich import transforms as tx
    from weekly_discovery.enrich.providers.base import FILE_PROVIDER, provider_module
    from weekly_discovery.spark.session import local_frame

    answers = local_frame(spark, [], tx.ANSWER_SCHEMA)
    asks = local_frame(spark, [], tx.ASK_SCHEMA)
    manifests: dict[str, dict] = {}
    for rank, name in enumerate(enrichment.providers):
        if name == FILE_PROVIDER:
            folder = lake.raw_features_partition(FILE_PROVIDER, ds)
            if not (folder / MANIFEST).is_file():
                raise FeatureInputError(
                    f"enrichment.providers lists \"file\" but {folder} does not exist: run the lookup_file task "
                    f"(jobs/lookup_features_file.py) for {ds} first"
                )
            manifests[name] = read_json(folder / MANIFEST)
            lookup = spark.read.schema(tx.FILE_LOOKUP_SCHEMA).parquet(str(folder))
            fetched_at = manifests[name]["file_modified_at"]
            answers = answers.unionByName(tx.file_answers(lookup, fetched_at, rank))
            asks = asks.unionByName(tx.file_asks(lookup, fetched_at))
            continue
        bodies, requests, manifest = api_batches(lake, ds, name)
        if manifest is not None:
            manifests[name] = manifest
        if not bodies:
            continue
        module = provider_module(name)
        asked = tx.request_rows(
            spark.read.schema(tx.REQUEST_SCHEMA).option("multiLine", "true").json(requests).withColumn(
                "batch", F.regexp_extract(F.col("_metadata.file_name"), BATCH_REQUEST_PATTERN, 1).cast("int")))
        texts = spark.read.text(bodies, wholetext=True).select(
            F.regexp_extract(F.col("_metadata.file_name"), BATCH_BODY_PATTERN, 1).cast("int").alias("batch"),
            "value",
        )
        answers = answers.unionByName(tx.api_answers(texts, asked, module.BODY, name, rank))
        asks = asks.unionByName(tx.api_asks(asked, name))
    return answers, asks, manifests


def table_bytes(lake: Lake, table: Table, ds: str | None = None) -> int:
    """The bytes of the files a Delta table (one date of it with ``ds``) uses now, from its log: no listing,
    and files a rerun replaced do not count. 0 when the table does not exist."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dt = delta.open_table(lake, table)
    if dt is None:
        return 0
    actions = pa.table(dt.get_add_actions(flatten=True))  # an arro3 table, read through the Arrow C interface
    if ds is not None:
        column = f"partition.{delta.DS}"
        if column not in actions.column_names:
            return 0
        actions = actions.filter(pc.equal(actions.column(column), ds))
    return int(pc.sum(actions.column("size_bytes")).as_py() or 0)


def input_bytes(lake: Lake, ds: PartitionDate, enrichment: Enrichment) -> int:
    """What the job reads: silver tracks and candidates of ``ds``, the feature cache, the providers' partitions."""
    return (table_bytes(lake, SILVER_TRACKS, ds) + table_bytes(lake, CANDIDATES, ds)
            + table_bytes(lake, AUDIO_FEATURES)
            + sum(tree_bytes(lake.raw_features_partition(name, ds)) for name in enrichment.providers))


def enrich_date(spark, lake: Lake, ds: PartitionDate, enrichment: Enrichment) -> dict:
    """Merge D's rows into the feature cache, write D's quarantine and tracks_enriched; return the metrics."""
    from pyspark.sql import functions as F

    from weekly_discovery.enrich import transforms as tx
    from weekly_discovery.enrich.coverage import build_metrics, coverage_lines
    from weekly_discovery.spark import delta as spark_delta
    from weekly_discovery.spark.session import local_frame

    require_silver_tracks(lake, ds)
    silver = spark_delta.read_date(spark, lake, SILVER_TRACKS, ds)
    if delta.has_date(lake, CANDIDATES, ds):
        silver = tx.with_discovered(silver, spark_delta.read_date(spark, lake, CANDIDATES, ds))
        log.info("enrich ds=%s: the discovered candidates of %s join the library", ds, lake.table(CANDIDATES))
    else:
        silver = tx.with_discovered(silver, None)
        log.info("enrich ds=%s: no discovered candidates (%s has no rows of %s): the library only",
                 ds, lake.table(CANDIDATES), ds)
    # Rows of D itself never count (strictly before D), so D's merge below cannot change what this reads.
    previous = (tx.cache_as_of(spark_delta.read_table(spark, lake, AUDIO_FEATURES), ds)
                if delta.exists(lake, AUDIO_FEATURES) else local_frame(spark, [], tx.CACHE_SCHEMA))
    answers, asks, manifests = load_answers(spark, lake, ds, enrichment)

    gated = tx.apply_gates(tx.resolve(answers, asks)).cache()
    new_rows = tx.cache_rows(gated, ds, enrichment.providers).cache()
    snapshot = tx.merge_snapshot(previous, new_rows).cache()
    enriched = tx.enrich_tracks(silver, snapshot).cache()

    outputs = {
        "audio_features": lake.table(AUDIO_FEATURES),
        "quarantine": lake.partition(QUARANTINE_FEATURES, ds),
        "tracks_enriched": lake.partition(TRACKS_ENRICHED, ds),
    }
    rows = tx.metric_rows(enriched, gated, snapshot, new_rows).collect()  # a few dozen rows
    previous_ds = snapshot.where(F.col("fetched_ds") < F.lit(ds)).agg(F.max("fetched_ds")).first()[0]
    metrics = build_metrics(
        ds,
        enrichment.providers,
        [(r["a"], r["b"], r["c"], r["n"]) for r in rows if r["metric"] == "coverage"],
        [(r["a"], r["b"], r["n"]) for r in rows if r["metric"] == "gate"],
        {r["a"]: r["n"] for r in rows if r["metric"] == "snapshot"},
        {r["a"]: r["n"] for r in rows if r["metric"] == "new"},
        manifests,
        previous_ds=previous_ds,
        min_coverage=enrichment.min_coverage,
        outputs={name: lake.relative(path) for name, path in outputs.items()},
    )
    spark_delta.merge(spark, new_rows, lake, AUDIO_FEATURES, CACHE_KEYS, ds=ds)
    spark_delta.write_date(tx.quarantine_rows(gated, ds), lake, QUARANTINE_FEATURES, ds)
    spark_delta.write_date(enriched, lake, TRACKS_ENRICHED, ds, metrics=metrics)
    for frame in (enriched, snapshot, new_rows, gated):
        frame.unpersist()
    for line in coverage_lines(metrics):
        log.info("enrich ds=%s %s", ds, line)
    for name, path in outputs.items():
        log.info("enrich ds=%s wrote %s: %s", ds, name, path)
    return metrics


def check_coverage(metrics: dict, enrichment: Enrichment) -> None:
    from weekly_discovery.enrich.coverage import coverage_failures

    failures = coverage_failures(metrics, enrichment.min_coverage, enrichment.providers)
    if failures:
        raise CoverageTooLow("\n".join(failures))


def run(args: argparse.Namespace) -> None:
    lake = Lake(args.lake)
    ds = args.ds
    enrichment = job_config(args).enrichment
    require_silver_tracks(lake, ds)  # before paying for a Spark session
    with job_session(f"weekly-discovery-enrich-{ds}", input_bytes=input_bytes(lake, ds, enrichment)) as spark:
        metrics = enrich_date(spark, lake, ds, enrichment)
    try:
        check_coverage(metrics, enrichment)
    except CoverageTooLow as exc:
        for line in str(exc).splitlines():
            log.error("enrich ds=%s failed the coverage check: %s", ds, line)
        from weekly_discovery.enrich.coverage import floors_text

        raise CoverageTooLow(
            f"coverage below the floor, {floors_text(enrichment.min_coverage)}: the lines above name each "
            "role and what to add; the tables are written"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    return run_job("enrich", parse_args, run, argv)
