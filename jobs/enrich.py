"""Build date D's feature cache snapshot and the enriched tracks table, with quality gates and coverage.

Run it with the venv's spark-submit (SPARK_HOME = the venv's site-packages/pyspark,
PYSPARK_PYTHON = the venv's python, see docs/stack.md)::

    spark-submit --master local[2] jobs/enrich.py \\
        --lake /srv/weekly-discovery/lake --ds 2026-11-23 --config ~/weekly-discovery.toml

Reads the newest ``silver/audio_features`` snapshot before D, D's raw feature batches
(``raw/features/provider=<api>/ds=D``, as the fetch task's manifests list them) and D's file
look-up (``raw/features/provider=file/ds=D``), resolves each asked id by provider order, applies the
quality gates (:mod:`weekly_discovery.enrich.quality`) and writes, each partition atomically:

- ``silver/audio_features/ds=D``    the full cache snapshot (previous + what D fetched);
- ``quarantine/features/ds=D``      answers that failed a gate, with the failing fields;
- ``silver/tracks_enriched/ds=D``   silver tracks + features + ``feature_status``, with ``_metrics.json``;
  the week's discovered songs (``silver/candidates/ds=D``, when the discover DAG ran) not already in the
  library are added as role ``candidates`` with ``source_key`` ``discover-<source>`` and their
  provenance columns (:func:`weekly_discovery.enrich.transforms.with_discovered`).

tracks_enriched is written last, so its presence means the step completed. Then, if a role's coverage
is below its floor (``enrichment.min_coverage``, or when unset 50% for liked and disliked tracks and none
for the other roles: :data:`weekly_discovery.enrich.coverage.DEFAULT_MIN_COVERAGE`), the job fails with a
message naming the role and what to add.
Exit status 2 (a user error, not retried): an input is missing (the log says which step to run) or the
coverage is too low (rerunning on the same fetched answers cannot raise it).
"""

from __future__ import annotations

import weekly_discovery.spark.installed_pyspark  # noqa: F401  first: pyspark from the installed package

# isort: split
import argparse
import logging
import sys
from collections.abc import Sequence

from weekly_discovery.core.config import Enrichment
from weekly_discovery.core.errors import UserError
from weekly_discovery.enrich.cache import FeatureInputError, previous_snapshot_ds
from weekly_discovery.lake import (
    AUDIO_FEATURES,
    BATCH_BODY_PATTERN,
    BATCH_REQUEST_PATTERN,
    CANDIDATES,
    MANIFEST,
    METRICS,
    QUARANTINE_FEATURES,
    SILVER_TRACKS,
    TRACKS_ENRICHED,
    Lake,
    check_ds,
    read_json,
    tree_bytes,
)
from weekly_discovery.spark.runner import job_config, job_parser, job_session, parse_job_args, run_job

log = logging.getLogger("weekly_discovery.jobs.enrich")


class CoverageTooLow(UserError, RuntimeError):
    """A role's coverage is below ``enrichment.min_coverage`` (raised after everything is written).

    A user error: the job would read the same fetched answers again; more coverage needs another
    provider (e.g. the ``file`` look-up) or a lower ``enrichment.min_coverage``.
    """


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return parse_job_args(job_parser(__doc__, settings=True), argv)


def api_batches(lake: Lake, ds: str, name: str) -> tuple[list[str], list[str], dict | None]:
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


def load_answers(spark, lake: Lake, ds: str, enrichment: Enrichment):
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


def input_bytes(lake: Lake, ds: str, enrichment: Enrichment) -> int:
    """What the job reads: silver tracks and candidates of ``ds``, the previous snapshot, the providers' partitions."""
    previous_ds = previous_snapshot_ds(lake, ds)
    folders = [lake.partition(SILVER_TRACKS, ds), lake.partition(CANDIDATES, ds),
               *([lake.partition(AUDIO_FEATURES, previous_ds)] if previous_ds else []),
               *[lake.raw_features_partition(name, ds) for name in enrichment.providers]]
    return sum(tree_bytes(folder) for folder in folders)


def enrich_date(spark, lake: Lake, ds: str, enrichment: Enrichment) -> dict:
    """Write D's snapshot, quarantine and tracks_enriched partitions; return the metrics."""
    from weekly_discovery.enrich import transforms as tx
    from weekly_discovery.enrich.coverage import build_metrics, coverage_lines
    from weekly_discovery.spark.session import local_frame, write_partition

    silver_path = lake.partition(SILVER_TRACKS, ds)
    if not lake.exists(silver_path):
        raise FeatureInputError(f"no silver tracks for ds={ds} ({silver_path}): run the ingest DAG for {ds} first")
    silver = spark.read.parquet(str(silver_path))
    candidates_path = lake.partition(CANDIDATES, ds)
    if lake.exists(candidates_path):
        silver = tx.with_discovered(silver, spark.read.parquet(str(candidates_path)))
        log.info("enrich ds=%s: the discovered candidates of %s join the library", ds, candidates_path)
    else:
        silver = tx.with_discovered(silver, None)
        log.info("enrich ds=%s: no discovered candidates (%s does not exist): the library only", ds, candidates_path)
    previous_ds = previous_snapshot_ds(lake, ds)
    previous = (spark.read.schema(tx.CACHE_SCHEMA).parquet(str(lake.partition(AUDIO_FEATURES, previous_ds)))
                if previous_ds else local_frame(spark, [], tx.CACHE_SCHEMA))
    answers, asks, manifests = load_answers(spark, lake, ds, enrichment)

    gated = tx.apply_gates(tx.resolve(answers, asks)).cache()
    new_rows = tx.cache_rows(gated, ds, enrichment.providers).cache()
    snapshot = tx.merge_snapshot(previous, new_rows).cache()
    enriched = tx.enrich_tracks(silver, snapshot).cache()

    outputs = {
        "audio_features": lake.partition(AUDIO_FEATURES, ds),
        "quarantine": lake.partition(QUARANTINE_FEATURES, ds),
        "tracks_enriched": lake.partition(TRACKS_ENRICHED, ds),
    }
    rows = tx.metric_rows(enriched, gated, snapshot, new_rows).collect()  # a few dozen rows
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
    write_partition(snapshot, lake, outputs["audio_features"], "parquet")
    write_partition(tx.quarantine_rows(gated, ds), lake, outputs["quarantine"], "parquet")
    write_partition(enriched, lake, outputs["tracks_enriched"], "parquet", extra_json={METRICS: metrics})
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
    ds = check_ds(args.ds)
    enrichment = job_config(args).enrichment
    if not lake.exists(lake.partition(SILVER_TRACKS, ds)):  # before paying for a Spark session
        raise FeatureInputError(f"no silver tracks for ds={ds} under {lake.root}: run the ingest DAG for {ds} first")
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
            "role and what to add; the partitions are written"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    return run_job("enrich", parse_args, run, argv)


if __name__ == "__main__":
    sys.exit(main())
