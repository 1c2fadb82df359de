"""Every table is readable by both writers: Spark reads what delta-rs wrote, delta-rs what Spark wrote.

The Python-side stages (discover, publish, the report) write with delta-rs and the Spark jobs with Delta's
Spark connector, often into tables the other side reads, and ``make sql`` reads every table with Spark.
Each direction is checked on a dated table (a rerun of one date among two) and on a merged cache, with the
rows written by hand, and ``DESCRIBE HISTORY delta.`<path>``` (what a user of ``make sql`` sees) showing
each commit's run and date in its ``userMetadata``, whichever side wrote it.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from weekly_discovery.lake import AUDIO_FEATURES, CANDIDATES, SILVER_TRACKS, Lake
from weekly_discovery.lake import delta
from weekly_discovery.spark import delta as spark_delta

pytestmark = pytest.mark.spark

D1, D2 = "2026-11-16", "2026-11-23"
SCHEMA = pa.schema([("track_id", pa.string()), ("rank", pa.int64()), ("probability", pa.float64()),
                    ("artist_ids", pa.list_(pa.string())), ("explicit", pa.bool_())])
SPARK_SCHEMA = "track_id string, rank long, probability double, artist_ids array<string>, explicit boolean"
FEATURES_SCHEMA = pa.schema([("track_id", pa.string()), ("fetched_ds", pa.string()), ("energy", pa.float64())])
SPARK_FEATURES_SCHEMA = "track_id string, fetched_ds string, energy double"

FIRST_D1 = [("a", 1, 0.9, ["x"], False), ("b", 2, 0.8, ["x", "y"], True)]
THE_D2 = [("c", 1, 0.7, [], False)]
RERUN_D1 = [("d", 1, 0.95, ["z"], None), ("a", 2, 0.5, None, False)]


def arrow(rows: list[tuple], schema: pa.Schema = SCHEMA) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(schema.names, row)) for row in rows], schema=schema)


def expected(rows_by_ds: dict[str, list[tuple]]) -> list[tuple]:
    return sorted(((*row, ds) for ds, rows in rows_by_ds.items() for row in rows), key=repr)


def spark_rows(spark, lake: Lake, table) -> list[tuple]:
    df = spark.read.format("delta").load(str(lake.table(table)))
    return sorted((tuple(r) for r in df.collect()), key=repr)


def delta_rs_rows(lake: Lake, table, names) -> list[tuple]:
    return sorted((tuple(r[n] for n in names) for r in delta.read_rows(lake, table)), key=repr)


def spark_history(spark, lake: Lake, table) -> list[tuple]:
    """(version, run_id, ds) of each commit, newest first, from the userMetadata DESCRIBE HISTORY shows."""
    out = []
    for row in spark.sql(f"DESCRIBE HISTORY delta.`{lake.table(table)}`").collect():
        meta = json.loads(row["userMetadata"]) if row["userMetadata"] else {}
        out.append((row["version"], meta.get("run_id"), meta.get("ds")))
    return out


def test_spark_reads_a_table_delta_rs_wrote(spark, tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    delta.write_date(lake, CANDIDATES, D1, arrow(FIRST_D1), run="discover-1")
    delta.write_date(lake, CANDIDATES, D2, arrow(THE_D2), run="discover-2")
    delta.write_date(lake, CANDIDATES, D1, arrow(RERUN_D1), run="discover-3")

    want = expected({D1: RERUN_D1, D2: THE_D2})
    assert spark_rows(spark, lake, CANDIDATES) == want
    assert sorted(tuple(r) for r in spark_delta.read_date(spark, lake, CANDIDATES, D2).collect()) == THE_D2
    assert spark_delta.read_date(spark, lake, CANDIDATES, D1).columns == SCHEMA.names  # no ds
    assert spark.sql(f"SELECT count(*) FROM delta.`{lake.table(CANDIDATES)}` WHERE ds = '{D1}'").first()[0] == 2


def test_spark_reads_a_cache_delta_rs_merged(spark, tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    keys = ["track_id", "fetched_ds"]
    delta.merge(lake, AUDIO_FEATURES, arrow([("a", D1, 0.1), ("b", D1, 0.2)], FEATURES_SCHEMA), keys, ds=D1, run="m1")
    delta.merge(lake, AUDIO_FEATURES, arrow([("a", D1, 0.3), ("c", D2, 0.4)], FEATURES_SCHEMA), keys, ds=D2, run="m2")
    assert spark_rows(spark, lake, AUDIO_FEATURES) == [("a", D1, 0.3), ("b", D1, 0.2), ("c", D2, 0.4)]


def test_describe_history_shows_the_run_and_date_of_delta_rs_commits(spark, tmp_path):
    """Spark's DESCRIBE HISTORY shows only Delta's own commitInfo fields and ``userMetadata``: the run of a
    commit delta-rs wrote must be there too, not only in keys of its own that Spark does not show."""
    lake = Lake(str(tmp_path / "lake"))
    delta.write_date(lake, CANDIDATES, D1, arrow(FIRST_D1), run="discover-1")
    delta.write_date(lake, CANDIDATES, D2, arrow(THE_D2), run="discover-2")
    delta.write_date(lake, CANDIDATES, D1, arrow(RERUN_D1), run="discover-3")
    delta.merge(lake, AUDIO_FEATURES, arrow([("a", D1, 0.1)], FEATURES_SCHEMA), ["track_id", "fetched_ds"], ds=D1,
                run="m1")
    delta.merge(lake, AUDIO_FEATURES, arrow([("a", D1, 0.3)], FEATURES_SCHEMA), ["track_id", "fetched_ds"], ds=D2,
                run="m2")
    assert spark_history(spark, lake, CANDIDATES) == [(2, "discover-3", D1), (1, "discover-2", D2),
                                                      (0, "discover-1", D1)]
    assert spark_history(spark, lake, AUDIO_FEATURES) == [(1, "m2", D2), (0, "m1", D1)]


def test_delta_rs_reads_a_table_spark_wrote(spark, tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    for ds, rows, run in ((D1, FIRST_D1, "ingest-1"), (D2, THE_D2, "ingest-2"), (D1, RERUN_D1, "ingest-3")):
        spark_delta.write_date(spark.createDataFrame(rows, SPARK_SCHEMA), lake, SILVER_TRACKS, ds, run=run,
                               metrics={"rows": len(rows)})

    assert delta_rs_rows(lake, SILVER_TRACKS, [*SCHEMA.names, "ds"]) == expected({D1: RERUN_D1, D2: THE_D2})
    assert delta.dates(lake, SILVER_TRACKS) == [D1, D2]
    assert sorted(delta.read_rows(lake, SILVER_TRACKS, D2, ["track_id", "rank"]), key=repr) == \
        [{"track_id": "c", "rank": 1}]
    assert delta.read(lake, SILVER_TRACKS).schema.field("artist_ids").type == pa.list_(pa.string())
    assert [(c["version"], c["run_id"], c["ds"]) for c in delta.history(lake, SILVER_TRACKS)] == \
        [(2, "ingest-3", D1), (1, "ingest-2", D2), (0, "ingest-1", D1)]
    assert spark_history(spark, lake, SILVER_TRACKS) == [(2, "ingest-3", D1), (1, "ingest-2", D2), (0, "ingest-1", D1)]
    assert json.loads((lake.partition(SILVER_TRACKS, D1) / "_metrics.json").read_text()) == {"rows": 2}


def test_delta_rs_reads_a_cache_spark_merged(spark, tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    keys = ["track_id", "fetched_ds"]
    for rows, ds, run in (([("a", D1, 0.1), ("b", D1, 0.2)], D1, "enrich-1"),
                          ([("a", D1, 0.3), ("c", D2, 0.4)], D2, "enrich-2")):
        spark_delta.merge(spark, spark.createDataFrame(rows, SPARK_FEATURES_SCHEMA), lake, AUDIO_FEATURES, keys,
                          ds=ds, run=run)
    assert delta_rs_rows(lake, AUDIO_FEATURES, FEATURES_SCHEMA.names) == [("a", D1, 0.3), ("b", D1, 0.2),
                                                                          ("c", D2, 0.4)]
    assert delta.read_rows(lake, AUDIO_FEATURES, columns=["energy"], filters=[("track_id", "=", "a")]) == \
        [{"energy": 0.3}]
    assert [(c["run_id"], c["ds"]) for c in delta.history(lake, AUDIO_FEATURES)] == [("enrich-2", D2),
                                                                                      ("enrich-1", D1)]
    assert [h[1:] for h in spark_history(spark, lake, AUDIO_FEATURES)] == [("enrich-2", D2), ("enrich-1", D1)]


def test_one_table_written_in_turn_by_both(spark, tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    spark_delta.write_date(spark.createDataFrame(FIRST_D1, SPARK_SCHEMA), lake, SILVER_TRACKS, D1, run="s1")
    delta.write_date(lake, SILVER_TRACKS, D2, arrow(THE_D2), run="r2")
    spark_delta.write_date(spark.createDataFrame(RERUN_D1, SPARK_SCHEMA), lake, SILVER_TRACKS, D1, run="s3")
    delta.write_date(lake, SILVER_TRACKS, D2, arrow(FIRST_D1), run="r4")

    want = expected({D1: RERUN_D1, D2: FIRST_D1})
    assert spark_rows(spark, lake, SILVER_TRACKS) == want
    assert delta_rs_rows(lake, SILVER_TRACKS, [*SCHEMA.names, "ds"]) == want
    assert [(c["run_id"], c["ds"]) for c in delta.history(lake, SILVER_TRACKS)] == \
        [("r4", D2), ("s3", D1), ("r2", D2), ("s1", D1)]
