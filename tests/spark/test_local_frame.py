"""``local_frame``: the driver's rows as a DataFrame through Arrow, the same as ``createDataFrame`` gives.

Expected rows are the rows given; the comparison is with PySpark's own ``createDataFrame`` of the same
rows and schema (the pickled path the jobs used before)."""

from __future__ import annotations

import datetime

import pytest

from weekly_discovery.enrich import transforms as tx
from weekly_discovery.spark.schemas import PAGE_LIST_SCHEMA
from weekly_discovery.spark.session import local_frame

pytestmark = pytest.mark.spark

PAGES = [
    ("2026-11-23", "saved_tracks", "saved", "liked", None, "Liked Songs", None, "raw/a/page-00000.json", 0),
    ("2026-11-23", "playlist-x", "playlist", "disliked", "x", None, "snap1", "raw/b/page-00001.json", 1),
]


def test_rows_nulls_and_schema_are_kept(spark):
    frame = local_frame(spark, PAGES, PAGE_LIST_SCHEMA)
    assert frame.schema == PAGE_LIST_SCHEMA == spark.createDataFrame(PAGES, PAGE_LIST_SCHEMA).schema
    assert sorted(tuple(r) for r in frame.collect()) == sorted(PAGES)


def test_no_rows_gives_an_empty_frame_of_the_schema(spark):
    frame = local_frame(spark, [], tx.CACHE_SCHEMA)  # a timestamp, doubles, ints, a long
    assert frame.schema == spark.createDataFrame([], tx.CACHE_SCHEMA).schema
    assert frame.count() == 0


def test_an_aware_timestamp_is_the_same_instant(spark):
    from pyspark.sql.types import StringType, StructField, StructType, TimestampType

    schema = StructType([StructField("id", StringType()), StructField("at", TimestampType())])
    at = datetime.datetime(2026, 11, 23, 6, 30, tzinfo=datetime.UTC)
    row = local_frame(spark, [("a", at)], schema).collect()[0]
    assert row["id"] == "a" and row["at"].replace(tzinfo=datetime.UTC) == at  # sessions run in UTC
