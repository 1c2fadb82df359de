"""Feature-file columns whose names hold a backtick (issue 12): mapped names are quoted, not spliced.

``[enrichment.file.columns]`` maps our names to the file's column names, which the user copies from
the file's header. A backtick in such a name used to end the quoted identifier early (Spark's parser
failed, or resolved another column); Spark's quoting doubles it (``a``b`` -> ```a````b```).
"""

from __future__ import annotations

import pytest

from tests.enrich.lakekit import tid
from weekly_discovery.core.vocabulary import FEATURE_COLUMNS
from weekly_discovery.enrich import transforms as tx
from weekly_discovery.enrich.lookup_job import read_feature_file
from weekly_discovery.settings.config import FeatureFile

pytestmark = pytest.mark.spark

A, B = tid("A"), tid("B")


def look_up(spark, feature_file: FeatureFile) -> dict[str, dict]:
    df, mapping, corrupt = read_feature_file(spark, feature_file)
    wanted = spark.createDataFrame([(A,), (B,)], "track_id string")
    return {r["track_id"]: r.asDict() for r in tx.file_lookup(df, wanted, mapping, corrupt_column=corrupt).collect()}


def test_csv_columns_with_backticks_are_mapped(spark, tmp_path):
    path = tmp_path / "features.csv"
    # "energy`" would also match "energy" if the quote were closed early; both exist with other values
    path.write_text("\n".join([
        "spotify`id,dance`ability,energy,energy`,`tempo`",
        f"{A},0.25,0.9,0.5,101.5",
        f"{B},0.75,0.1,0.6,99.0",
    ]) + "\n")
    columns = {"id": "spotify`id", "danceability": "dance`ability", "energy": "energy`", "tempo": "`tempo`"}
    spark.conf.set("spark.sql.csv.parser.columnPruning.enabled", "false")
    try:
        rows = look_up(spark, FeatureFile(str(path), "csv", columns))
    finally:
        spark.conf.unset("spark.sql.csv.parser.columnPruning.enabled")
    assert {t: (r["status"], r["danceability"], r["energy"], r["tempo"]) for t, r in rows.items()} == {
        A: ("hit", 0.25, 0.5, 101.5), B: ("hit", 0.75, 0.6, 99.0)}


def test_parquet_columns_with_backticks_and_dots_are_mapped(spark, tmp_path):
    path = str(tmp_path / "features.parquet")
    spark.createDataFrame([(A, 0.5, 4), (B, 0.1, 3)], "`i``d` string, `a.b``c` double, `ts` int").write.parquet(path)
    columns = {"id": "i`d", "danceability": "a.b`c", "time_signature": "ts"}
    rows = look_up(spark, FeatureFile(path, "parquet", columns))
    assert {t: (r["status"], r["danceability"], r["time_signature"]) for t, r in rows.items()} == {
        A: ("hit", 0.5, 4.0), B: ("hit", 0.1, 3.0)}
    assert {f for f in FEATURE_COLUMNS if rows[A][f] is not None} == {"danceability", "time_signature"}
