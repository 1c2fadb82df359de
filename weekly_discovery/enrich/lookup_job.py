"""Look the library's wanted track ids up in a downloaded audio-feature file (CSV or Parquet).

Run it with the venv's spark-submit (SPARK_HOME = the venv's site-packages/pyspark,
PYSPARK_PYTHON = the venv's python, see docs/stack.md)::

    spark-submit --master local[2] jobs/lookup_features_file.py \\
        --lake /srv/weekly-discovery/lake --ds 2026-11-23 --config ~/weekly-discovery.toml

The file is ``[enrichment.file]`` of the config (e.g. Kaggle's "Spotify 1.2M+ songs"
``tracks_features.csv``, 1.2M rows): Spark streams it once against the wanted ids (the library ids the
feature cache cannot answer, :func:`weekly_discovery.enrich.cache.wanted_ids`), so it is never loaded
into Python memory. A CSV is read in PERMISSIVE mode with an explicit all-text schema and a
corrupt-record column; values are then cast and checked, so a malformed row is counted, not fatal.

Writes ``raw/features/provider=file/ds=D``, a raw-layer partition written in place: Parquet, one row per
wanted id with status ``hit``, ``absent`` or ``malformed``, then ``_manifest.json`` with the counts, last
(a rerun deletes the old manifest first, so readers, who look for it, never see a partition half
rewritten: :func:`weekly_discovery.spark.delta.write_files`). Exit status 2: the config, the file or the
silver tracks are missing or unusable (the log says what to do).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from weekly_discovery.enrich.cache import FeatureInputError, wanted_ids
from weekly_discovery.lake import MANIFEST, Lake, PartitionDate, tree_bytes
from weekly_discovery.settings.config import LAKE_ENV, ConfigError, FeatureFile, load_config
from weekly_discovery.spark.runner import job_parser, job_session, parse_job_args, run_job

log = logging.getLogger(__name__)

CORRUPT = "_corrupt_record"
MALFORMED_SAMPLE = 20


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return parse_job_args(job_parser(__doc__, settings=True), argv)


def feature_file_source(path: str):
    """``(what Spark reads, where Python looks)`` for every form ``enrichment.file.path`` takes.

    The config keeps URIs as written: a local path or ``file://`` URI (Spark reads either; Python
    needs the plain path), or an object-store URI, checked through the lake's storage layer (the
    same credentials) and handed to Spark in the form its Hadoop connectors expect (``s3://`` ->
    ``s3a://``, as for the lake). Any other scheme is refused naming the key.
    """
    from urllib.parse import unquote, urlsplit

    from weekly_discovery.lake import storage

    if "://" not in path:
        return path, Path(path)
    scheme = urlsplit(path).scheme.lower()
    if scheme == "file":
        parts = urlsplit(path)
        if parts.netloc not in ("", "localhost"):
            raise FeatureInputError(f"enrichment.file.path {path!r}: a file:// URI names a local file "
                                    "(file:///absolute/path); for another machine use object storage")
        local = Path(unquote(parts.path))
        return str(local), local
    if scheme not in storage.SCHEMES:
        raise FeatureInputError(f"enrichment.file.path {storage._redacted(path)!r}: unsupported scheme {scheme!r}; "
                                "use a local path, file://, s3:// (or s3a://), gs:// or abfs(s)://")
    try:
        uri = storage.normalize_uri(path)
    except storage.StorageError as exc:
        raise FeatureInputError(f"enrichment.file.path cannot be used: {exc}") from exc
    store, key = storage.open_store(uri)
    return uri, storage.ObjectPath(store, key)


def check_feature_file(path: str):
    """:func:`feature_file_source` of an existing file or Parquet folder; else the fix, naming the key."""
    spark_path, where = feature_file_source(path)
    if not where.exists():
        raise FeatureInputError(
            f"enrichment.file.path {path} does not exist: download the snapshot (e.g. Kaggle's "
            "'Spotify 1.2M+ songs' tracks_features.csv) there, or remove \"file\" from enrichment.providers"
        )
    return spark_path, where


def file_modified_at(path: str) -> str:
    """The file's (or Parquet folder's newest file's) modification time, ISO UTC.

    Used as ``fetched_at`` of the file's answers: the same file gives the same value on a rerun.
    ``path`` is any form :func:`feature_file_source` accepts.
    """
    from weekly_discovery.lake.storage import ObjectPath

    _, p = feature_file_source(path)
    if isinstance(p, ObjectPath):
        infos = [info for _, info in p.walk_files()] if p.is_dir() else [p.store.fs.get_file_info(p.fs_path)]
        stamps = [info.mtime.timestamp() for info in infos if info.mtime is not None]
    else:
        stamps = [f.stat().st_mtime for f in p.rglob("*") if f.is_file()] if p.is_dir() else [p.stat().st_mtime]
    when = dt.datetime.fromtimestamp(max(stamps, default=0), dt.timezone.utc)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def read_feature_file(spark, feature_file: FeatureFile):
    """The file as a DataFrame, and the columns mapping restricted to the columns it has.

    A CSV's header gives the column names; every column is read as text (values are checked later).
    """
    from pyspark.sql.types import StringType, StructField, StructType

    if feature_file.format == "csv":
        options = {"header": "true", "escape": '"', "multiLine": "false"}
        header = spark.read.options(**options).csv(feature_file.path).columns
        schema = StructType([StructField(name, StringType()) for name in header] + [StructField(CORRUPT, StringType())])
        df = (spark.read.options(**options).schema(schema)
              .option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", CORRUPT)
              .csv(feature_file.path))
        corrupt = CORRUPT
    else:
        df = spark.read.parquet(feature_file.path)
        header = df.columns
        corrupt = None
    columns = {ours: theirs for ours, theirs in feature_file.columns.items() if theirs in header}
    if "id" not in columns:
        raise FeatureInputError(
            f"{feature_file.path}: no column {feature_file.columns['id']!r} holding the Spotify track id; "
            f"the file has {', '.join(header[:30])}. Set enrichment.file.columns.id to the right column."
        )
    absent = sorted(set(feature_file.columns) - set(columns))
    if len(columns) == 1:
        raise FeatureInputError(
            f"{feature_file.path}: none of the feature columns ({', '.join(absent)}) exist in the file; "
            "map them with [enrichment.file.columns]"
        )
    if absent:
        log.warning("feature file %s has no column for %s: those features stay null for its tracks "
                    "(map them in [enrichment.file.columns] if the file names them differently)",
                    feature_file.path, ", ".join(f"{a} ({feature_file.columns[a]!r})" for a in absent))
    return df, columns, corrupt


def lookup(spark, lake: Lake, ds: PartitionDate, config_path: str) -> dict:
    """Write the look-up partition for ``ds``; return its manifest."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    from weekly_discovery.enrich import transforms as tx
    from weekly_discovery.spark.delta import write_files
    from weekly_discovery.spark.session import local_frame

    config = load_config(config_path, env={**os.environ, LAKE_ENV: lake.root})
    enrichment = config.enrichment
    feature_file = enrichment.file
    if feature_file is None:
        raise ConfigError(f"config {config.path}: no [enrichment.file] table: nothing to look up")
    spark_path, _ = check_feature_file(feature_file.path)
    feature_file = FeatureFile(spark_path, feature_file.format, feature_file.columns)  # what Spark reads
    wanted = wanted_ids(lake, ds, enrichment)
    log.info("file look-up ds=%s: %d wanted ids (of %d library tracks; %d known, %d backing off) in %s",
             ds, len(wanted.ids), wanted.library, wanted.known, wanted.backing_off, feature_file.path)
    wanted_df = local_frame(spark, [(i,) for i in wanted.ids], StructType([StructField("track_id", StringType())]))
    if wanted.ids:
        df, columns, corrupt = read_feature_file(spark, feature_file)
        result = tx.file_lookup(df, wanted_df, columns, corrupt_column=corrupt).cache()
        absent_columns = sorted(set(feature_file.columns) - set(columns))
    else:  # nothing to look up: an empty partition still records that the look-up ran
        result = local_frame(spark, [], tx.FILE_LOOKUP_SCHEMA)
        absent_columns = []
    counts = {row["status"]: (row["n"], row["rows"]) for row in
              result.groupBy("status").agg(F.count("*").alias("n"), F.sum("malformed_rows").alias("rows")).collect()}
    malformed = [
        {"track_id": r["track_id"], "detail": r["detail"]}
        for r in result.where(F.col("status") == tx.FILE_MALFORMED).orderBy("track_id").limit(MALFORMED_SAMPLE).collect()
    ]
    manifest = {
        "provider": "file",
        "ds": ds,
        "path": feature_file.path,
        "format": feature_file.format,
        "columns": dict(feature_file.columns),
        "columns_absent": absent_columns,
        "file_modified_at": file_modified_at(feature_file.path),
        "looked_up": len(wanted.ids),
        "hits": counts.get(tx.FILE_HIT, (0, 0))[0],
        "absent": counts.get(tx.FILE_ABSENT, (0, 0))[0],
        "malformed": counts.get(tx.FILE_MALFORMED, (0, 0))[0],  # wanted ids whose every row is malformed
        "malformed_rows": sum(rows or 0 for _, rows in counts.values()),  # malformed rows of wanted ids
        "malformed_sample": malformed,
        "requests": 0,
        "wanted": wanted.summary(),
    }
    write_files(result, lake.raw_features_partition("file", ds), MANIFEST, manifest)
    result.unpersist()  # else a rerun in the same session would find this run's rows cached under the same plan
    log.info("file look-up ds=%s: %d of %d wanted ids found, %d absent, %d malformed (%d malformed rows counted, "
             "not used)%s", ds, manifest["hits"], len(wanted.ids), manifest["absent"], manifest["malformed"],
             manifest["malformed_rows"],
             "; e.g. " + "; ".join(f"{m['track_id']}: {m['detail']}" for m in malformed[:3]) if malformed else "")
    return manifest


def input_bytes(lake: Lake, config_path: str) -> int:
    """The feature file's bytes (a Parquet folder's: all its files), checked before Spark starts; the wanted ids
    are a library's, small beside it."""
    config = load_config(config_path, env={**os.environ, LAKE_ENV: lake.root})
    if config.enrichment.file is None:
        return 0  # lookup() says what is missing
    _, where = check_feature_file(config.enrichment.file.path)
    return tree_bytes(where)


def run(args: argparse.Namespace) -> None:
    lake = Lake(args.lake)
    ds = args.ds
    # The corrupt-record column is only filled reliably when the CSV parser reads every column.
    with job_session(f"weekly-discovery-lookup-features-file-{ds}",
                     {"spark.sql.csv.parser.columnPruning.enabled": "false"},
                     input_bytes=input_bytes(lake, args.config)) as spark:
        lookup(spark, lake, ds, args.config)


def main(argv: Sequence[str] | None = None) -> int:
    return run_job("file look-up", parse_args, run, argv)
