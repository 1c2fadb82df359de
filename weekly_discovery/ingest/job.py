"""Normalize one date's raw Spotify pages into bronze items, silver tracks and quarantine.

Run it with the venv's spark-submit (SPARK_HOME = the venv's site-packages/pyspark,
PYSPARK_PYTHON = the venv's python, see docs/stack.md)::

    spark-submit --master local[2] jobs/normalize.py --lake /srv/weekly-discovery/lake --ds 2026-11-23

``--lake`` defaults to ``$WEEKLY_DISCOVERY_LAKE``. For date D it reads the manifests of
every source extracted for D (``raw/spotify/source=*/ds=D/_manifest.json``) and the pages
they list, and replaces date D of three Delta tables, one commit each
(:func:`weekly_discovery.spark.delta.write_date`):

- ``bronze/items``      one row per raw item of a readable page, with its source context (``to_bronze``);
- ``quarantine/items``  rejected items and unreadable pages with a reason;
- ``silver/tracks``     one row per (source, track); then ``silver/tracks/ds=D/_metrics.json``.

Silver is written last and its metrics after its commit, so the metrics file means the step
completed (a date can have no tracks, hence no rows). A rerun of D gives the same rows and
replaces date D only. Exit status 2 means the raw input is missing or unusable (the log says
which, and what to run).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from weekly_discovery.ingest import normalize as nz
from weekly_discovery.lake import (
    BRONZE_ITEMS,
    QUARANTINE_ITEMS,
    SILVER_TRACKS,
    Lake,
    PartitionDate,
    Table,
    read_json,
    tree_bytes,
)
from weekly_discovery.spark.delta import write_date
from weekly_discovery.spark.runner import job_parser, job_session, parse_job_args, run_job
from weekly_discovery.spark.schemas import PAGE_LIST_SCHEMA, RAW_TEXT_SCHEMA
from weekly_discovery.spark.session import local_frame, submitted_conf

log = logging.getLogger(__name__)

_PAGE_COLUMN = PAGE_LIST_SCHEMA.fieldNames().index("page")
# A cached batch is built in the heap, outside Spark's memory accounting, with every column of its rows:
# Spark's 10,000 rows of items (raw JSON + parsed track, several KB each) made batches of ~50 MB per task,
# too many for the default 1 GB heap beside the cache itself at 1M tracks. 1,000 rows a batch keep it small.
CACHE_CONF = {"spark.sql.inMemoryColumnarStorage.batchSize": 1000}
# The pages are passed to Spark one path each (a date's manifests list ~20,000 of them at 1M tracks). Past
# 32 paths Spark lists them with a Spark job of up to 10,000 tasks, which took 46 s of the 2 cores at 1M
# tracks; the driver checks each listed page exists before Spark starts anyway, so list them there too.
LISTING_CONF = {"spark.sql.sources.parallelPartitionDiscovery.threshold": 1_000_000}
# Spark's unified memory (sorts, aggregations, cached blocks) is 60% of the heap above 300 MB by default:
# 434 MB of a 1 GB heap, which the sorts of 1M items (the first-occurrence window, the sorted outputs)
# fill, beside the rest of the job's live data in the one local-mode JVM: up to 569 MB (window) and
# 710 MB (bronze sort) after GC at 1M tracks (benchmarks/normalize_heap.py). 20% (145 MB) makes the
# sorts spill earlier, to local disk, and leaves the rest of the heap to what Spark does not account:
# the parsers of ~100 KB page texts, the cached batches being built, the Parquet writer's row group.
# The live heap (what a full collection keeps) then peaks at ~450 MB, Spark's memory pages ~130 MB of it, with
# no full GC (docs/benchmarks.md).
# Only in local mode, where that one JVM is driver and executor: a cluster's executors keep Spark's default
# (or what the submitter set), and so does a local run that sets spark.memory.fraction itself.
MEMORY_CONF = {"spark.memory.fraction": 0.2}


def job_conf(submitted: Mapping[str, str]) -> dict[str, object]:
    """The normalize session's settings, given the settings spark-submit passed (``--master``, ``--conf``,
    spark-defaults.conf, the connection's properties file)."""
    conf: dict[str, object] = {**CACHE_CONF, **LISTING_CONF}
    if submitted.get("spark.master", "local[*]").startswith("local") and "spark.memory.fraction" not in submitted:
        conf.update(MEMORY_CONF)
    return conf


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = job_parser(__doc__)
    args = parse_job_args(parser, argv)
    return args


@dataclass(frozen=True)
class RawInput:
    """What the manifests of a date list, checked in the driver before Spark starts."""

    manifests: list[dict]
    page_rows: list[tuple]  # schemas.PAGE_LIST_SCHEMA rows
    paths: list[str]  # absolute page file paths, each once


def load_raw_input(lake: Lake, ds: PartitionDate) -> RawInput:
    """Read and check the manifests of ``ds`` and the pages they list."""
    manifests = load_manifests(lake, ds)
    page_rows = nz.page_list_rows(ds, manifests)
    return RawInput(manifests, page_rows, page_files(lake, page_rows))


def load_manifests(lake: Lake, ds: PartitionDate) -> list[dict]:
    """The manifests of every source extracted for ``ds``; fails if there are none."""
    paths = lake.raw_manifests(ds)
    if not paths:
        raise nz.RawInputError(
            f"no raw manifests for ds={ds} under {lake.root}/raw/spotify: "
            f"run the extract step (the ingest DAG) for {ds} first"
        )
    manifests = []
    for path in paths:
        try:
            manifests.append(read_json(path))
        except ValueError as exc:
            raise nz.RawInputError(f"{path} is not valid JSON ({exc}); re-run the extract step for {ds}") from exc
    return manifests


def page_files(lake: Lake, page_rows: Sequence[tuple]) -> list[str]:
    """Absolute paths of the listed pages, each once; fails naming the missing ones."""
    # The lake's own paths (a local Path or an object-store key): ``os.path.isfile`` on an ``s3a://`` URI
    # is false for every page, which reported a bucket's complete raw partition as missing.
    pages = {str(path): path for path in (lake.absolute(row[_PAGE_COLUMN]) for row in page_rows)}
    paths = sorted(pages)
    missing = [p for p in paths if not pages[p].is_file()]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise nz.RawInputError(
            f"{len(missing)} page file(s) listed in the manifests do not exist: {shown}; "
            "re-run the extract step for this date (with a full extract if older pages were deleted)"
        )
    return paths


def read_pages(spark: SparkSession, paths: Sequence[str]) -> DataFrame:
    """One row per page file: ``file_path`` (a URI) and its whole ``text``."""
    if not paths:
        return local_frame(spark, [], RAW_TEXT_SCHEMA)
    return spark.read.text(list(paths), wholetext=True).select(
        F.col("_metadata.file_path").alias("file_path"),
        F.col("value").alias("text"),
    )


def normalize_date(spark: SparkSession, lake: Lake, ds: PartitionDate, raw: RawInput) -> dict:
    """Normalize ``ds`` and write its date of the three tables; return the metrics."""
    page_list = local_frame(spark, raw.page_rows, PAGE_LIST_SCHEMA)
    pages = nz.parse_pages(page_list, read_pages(spark, raw.paths))
    # Cached: the items (one row each) and the pages without their texts. The full page rows are the whole
    # raw input (~2 GB at 1M tracks): a cached batch of them ran out of the default 1 GB driver heap.
    # The items are cached on local disk, not in the heap: held in memory, their blocks would fill
    # Spark's storage share of the heap for the whole job (in local mode the one JVM is driver and
    # executor), beside the sorts of the three outputs.
    classified = nz.classify_items(nz.extract_items(pages)).persist(StorageLevel.DISK_ONLY)
    pages = nz.without_readable_texts(pages).cache()
    silver = nz.to_silver(classified)

    outputs: dict[str, Table] = {"bronze": BRONZE_ITEMS, "quarantine": QUARANTINE_ITEMS, "silver": SILVER_TRACKS}
    counts = [(r["source_key"], r["outcome"], r["count"]) for r in nz.outcome_counts(classified, pages).collect()]
    unique = {r["role"]: r["unique_tracks"] for r in nz.unique_tracks_by_role(silver).collect()}
    metrics = nz.build_metrics(
        ds, raw.manifests, counts, unique, {name: output_name(lake, table, ds) for name, table in outputs.items()}
    )

    write_date(nz.to_bronze(classified), lake, BRONZE_ITEMS, ds)
    write_date(nz.to_quarantine(classified, pages), lake, QUARANTINE_ITEMS, ds)
    write_date(silver, lake, SILVER_TRACKS, ds, metrics=metrics)  # last: its metrics say the step completed
    classified.unpersist()
    pages.unpersist()

    for line in nz.summary_lines(metrics):
        log.info(line)
    for name, table in outputs.items():
        log.info("normalize ds=%s wrote %s: date %s of the Delta table %s", ds, name, ds, lake.table(table))
    return metrics


def output_name(lake: Lake, table: Table, ds: PartitionDate) -> str:
    """How the metrics name one date of an output table: its lake-relative folder and the date,
    ``silver/tracks/ds=2026-11-23`` (Delta's partition of that date, where ``_metrics.json`` lives)."""
    return lake.relative(lake.partition(table, ds))


def run(args: argparse.Namespace) -> None:
    lake = Lake(args.lake)
    ds = args.ds
    raw = load_raw_input(lake, ds)  # fail on bad input before paying for a Spark session
    conf = job_conf(submitted_conf())
    log.info("normalize ds=%s session settings: %s", ds, ", ".join(f"{k}={v}" for k, v in sorted(conf.items())))
    size = sum(tree_bytes(lake.raw_partition(key, ds)) for key in sorted({m["source_key"] for m in raw.manifests}))
    with job_session(f"weekly-discovery-normalize-{ds}", conf, input_bytes=size) as spark:
        normalize_date(spark, lake, ds, raw)


def main(argv: Sequence[str] | None = None) -> int:
    return run_job("normalize", parse_args, run, argv)
