"""A date's Spark write streams its rows to one file: it does not sort them by the partition column first.

Delta's writer sorts a task's rows by ``ds`` unless the task may keep a file open per partition
(``spark.sql.maxConcurrentOutputFileWriters``, set by :data:`weekly_discovery.spark.delta.SESSION_CONF`).
The sort held every row of a task in execution memory: at 1M tracks normalize's bronze write ran the
default 1 GB heap out of memory. Spark's own record of the write's stage says whether it sorted: its peak
execution memory (0 when nothing was sorted or aggregated). The same write with the setting taken away
shows the sort, so the measure can tell the two apart.
"""

from __future__ import annotations

import pytest

from weekly_discovery.lake import SILVER_TRACKS, Lake
from weekly_discovery.spark import delta as spark_delta

pytestmark = pytest.mark.spark

ROWS = 200_000
SETTING = "spark.sql.maxConcurrentOutputFileWriters"


def stage_ids(spark) -> set[int]:
    sc = spark.sparkContext
    no_quantiles = sc._gateway.new_array(sc._gateway.jvm.double, 0)
    stages = sc._jsc.sc().statusStore().stageList(None, False, False, no_quantiles, None)
    return {stages.apply(i).stageId(): stages.apply(i).peakExecutionMemory() for i in range(stages.size())}


def write_peak_memory(spark, lake: Lake) -> int:
    """The largest execution memory a stage of one ``write_date`` of ROWS rows held."""
    from pyspark.sql import functions as F

    before = stage_ids(spark)
    df = spark.range(ROWS).select(F.format_string("t%021d", "id").alias("track_id"), (F.col("id") * 2).alias("n"))
    spark_delta.write_date(df, lake, SILVER_TRACKS, "2026-11-23")
    after = stage_ids(spark)
    assert set(after) - set(before), "the write ran no stage"
    assert spark.read.format("delta").load(str(lake.table(SILVER_TRACKS))).count() == ROWS
    return max(peak for stage, peak in after.items() if stage not in before)


def test_a_date_is_written_without_a_sort(spark, tmp_path):
    assert spark.conf.get(SETTING) == "1"
    assert write_peak_memory(spark, Lake(str(tmp_path / "lake"))) == 0


def test_without_the_setting_the_write_sorts_its_rows(spark, tmp_path):
    spark.conf.unset(SETTING)
    try:
        peak = write_peak_memory(spark, Lake(str(tmp_path / "lake")))
    finally:
        spark.conf.set(SETTING, "1")
    assert peak > ROWS * 16  # at least a pointer and a key prefix per row, held at once
