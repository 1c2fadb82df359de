"""How Spark jobs write and read the lake's Delta tables (the JVM twin of :mod:`weekly_discovery.lake.delta`).

:func:`write_date` is the only way a Spark job publishes a date of a table: one Delta commit that replaces
that date (``replaceWhere``) and records the date and the run in its commit info. A crash before the
commit leaves the table at its previous version; files the crash left behind are not in the log, so no
reader sees them. (The weekly VACUUM, delta-rs's default mode, deletes only files a commit removed, not
these: its "full" mode would also delete the ``_metrics.json`` files. Spark's ``VACUUM`` deletes them.) :func:`merge` upserts an undated table (the feature
cache). :func:`write_files` writes a raw-layer partition: plain files, made visible by its manifest
written last.

The session needs Delta's extension and catalog (:data:`SESSION_CONF`, in every session of
:func:`weekly_discovery.spark.session.get_spark`) and Delta's jars on the classpath (``make setup`` puts
them in pyspark's ``jars/``: :mod:`weekly_discovery.spark.jars`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pathlib import Path

from weekly_discovery.lake import Lake, ObjectPath, Table, parse_ds, write_json
from weekly_discovery.lake.delta import DS, commit_info

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

RUN_CONF = "spark.weekly_discovery.run_id"  # set by the DAGs' spark-submits: the Airflow run
DAG_CONF = "spark.weekly_discovery.dag_id"
SESSION_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    # A partitioned Delta write sorts each task's rows by the partition column before writing, unless the task may
    # keep more files open than the dates it meets (at 1 it falls back to the sort after its first file). Every
    # write of the lake is one date, so with 2 nothing is sorted: sorting normalize's 1M bronze items ran
    # Spark's default 1 GB heap out of execution memory. A task that meets a third date falls back to the sort.
    "spark.sql.maxConcurrentOutputFileWriters": "2",
}


def _commit_info(spark: "SparkSession", ds: str | None, run: str | None, operation: str | None = None) -> str:
    """The commit's ``userMetadata``: :func:`weekly_discovery.lake.delta.commit_info` with the run and DAG the
    submit named (:data:`RUN_CONF`), else the environment's."""
    info = commit_info(ds, run or spark.conf.get(RUN_CONF, None), operation)
    dag = spark.conf.get(DAG_CONF, None)
    if dag:
        info["dag_id"] = dag
    return json.dumps(info, sort_keys=True)


def table_path(lake: Lake, table: Table) -> str:
    """The table's folder as Spark names it (``s3a://`` on S3)."""
    return str(lake.table(table))


def write_date(df: "DataFrame", lake: Lake, table: Table, ds: str, *, num_files: int = 1,
               metrics: Mapping[str, Any] | None = None, metrics_name: str = "_metrics.json",
               run: str | None = None) -> None:
    """Replace date ``ds`` of ``table`` with ``df``'s rows (a ``ds`` column of ``df`` is replaced) in one commit.

    Rows are coalesced into ``num_files`` files. ``metrics``, when given, is written after the commit as
    ``lake.partition(table, ds) / metrics_name``."""
    from pyspark.sql import functions as F

    ds = parse_ds(ds)  # it goes into the replaceWhere predicate below
    df = df.drop(DS) if DS in df.columns else df  # the partition column is the date written
    (df.coalesce(num_files).withColumn(DS, F.lit(ds)).write.format("delta").mode("overwrite")
     .option("replaceWhere", f"{DS} = '{ds}'")
     .option("userMetadata", _commit_info(df.sparkSession, ds, run))
     .partitionBy(DS).save(table_path(lake, table)))
    if metrics is not None:
        write_json(lake.partition(table, ds) / metrics_name, dict(metrics))
    log.debug("committed %s ds=%s", table, ds)


def read_date(spark: "SparkSession", lake: Lake, table: Table, ds: str) -> "DataFrame":
    """One date's rows, without the ``ds`` column."""
    from pyspark.sql import functions as F

    return (spark.read.format("delta").load(table_path(lake, table))
            .where(F.col(DS) == parse_ds(ds)).drop(DS))


def read_table(spark: "SparkSession", lake: Lake, table: Table) -> "DataFrame":
    return spark.read.format("delta").load(table_path(lake, table))


def is_table(spark: "SparkSession", lake: Lake, table: Table) -> bool:
    from delta.tables import DeltaTable

    return DeltaTable.isDeltaTable(spark, table_path(lake, table))


def merge(spark: "SparkSession", df: "DataFrame", lake: Lake, table: Table, keys: Sequence[str], *,
          ds: str | None = None, update_when: str | None = None, run: str | None = None) -> None:
    """Upsert ``df`` into an undated table by ``keys`` in one ``MERGE`` commit (created by the first call).

    ``update_when`` (SQL over ``s.`` source and ``t.`` target columns) limits which matched rows change."""
    from delta.tables import DeltaTable

    path = table_path(lake, table)
    metadata = _commit_info(spark, ds, run, "merge")
    if not DeltaTable.isDeltaTable(spark, path):
        df.write.format("delta").mode("append").option("userMetadata", metadata).save(path)
        return
    spark.conf.set("spark.databricks.delta.commitInfo.userMetadata", metadata)
    try:
        (DeltaTable.forPath(spark, path).alias("t")
         .merge(df.alias("s"), " AND ".join(f"t.{k} = s.{k}" for k in keys))
         .whenMatchedUpdateAll(condition=update_when)
         .whenNotMatchedInsertAll()
         .execute())
    finally:
        spark.conf.unset("spark.databricks.delta.commitInfo.userMetadata")


def write_files(df: "DataFrame", folder: "Path | ObjectPath", manifest_name: str,
                manifest: Mapping[str, Any], *, num_files: int = 1) -> None:
    """A raw-layer partition: ``df`` as Parquet files in ``folder``, then its manifest, written last.

    The old manifest goes first, so from then until the new one is written the partition does not exist for
    readers (they look for the manifest); a crash in between leaves it absent and the rerun writes it."""
    manifest_path = folder / manifest_name
    manifest_path.unlink(missing_ok=True)
    df.coalesce(num_files).write.mode("overwrite").parquet(str(folder))
    write_json(manifest_path, dict(manifest))
