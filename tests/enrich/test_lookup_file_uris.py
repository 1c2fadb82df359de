"""The feature-file look-up job reads the feature file from every kind of path the config accepts (issue 12).

The config keeps ``enrichment.file.path`` as written when it is a URI (``file://``, ``s3://``, ``gs://``...),
but the job checked it with ``Path(...).exists()`` and refused every URI as "does not exist". Here the
look-up runs in-process on a tiny lake with a ``file://`` URI; the object-store side (existence and
modification time through the lake's storage layer) is in tests/objectstore/test_feature_file_uri.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.enrich.lakekit import read_parquet, silver_row, tid, write_config, write_silver
from weekly_discovery.enrich import lookup_job
from weekly_discovery.enrich.cache import FeatureInputError
from weekly_discovery.lake.layout import Lake

pytestmark = pytest.mark.spark

DS = "2026-11-23"
A, B = tid("A"), tid("B")


def tiny_lake(tmp_path: Path, file_path: str):
    lake = Lake(str(tmp_path / "lake"))
    write_silver(lake, DS, [silver_row(A, "liked", 0), silver_row(B, "liked", 1)])
    config = write_config(tmp_path, tmp_path / "lake", f'providers = ["file", "reccobeats"]\n'
                                                       f'[enrichment.file]\npath = "{file_path}"\nformat = "csv"\n')
    return lake, config


def test_a_file_uri_is_read(spark, tmp_path):
    csv = tmp_path / "my features.csv"
    csv.write_text(f"id,danceability,energy\n{A},0.25,0.5\n")
    os.utime(csv, (1_767_225_600, 1_767_225_600))  # 2026-01-01T00:00:00Z
    lake, config = tiny_lake(tmp_path, csv.as_uri())  # file:///.../my%20features.csv
    spark.conf.set("spark.sql.csv.parser.columnPruning.enabled", "false")
    try:
        manifest = lookup_job.lookup(spark, lake, DS, str(config.path))
    finally:
        spark.conf.unset("spark.sql.csv.parser.columnPruning.enabled")
    assert {k: manifest[k] for k in ("looked_up", "hits", "absent", "file_modified_at")} == {
        "looked_up": 2, "hits": 1, "absent": 1, "file_modified_at": "2026-01-01T00:00:00Z"}
    rows = {r["track_id"]: (r["status"], r["danceability"]) for r in read_parquet(lake.raw_features_partition("file", DS))}
    assert rows == {A: ("hit", 0.25), B: ("absent", None)}

    # a rerun rewrites the raw partition in place: only its own files, then a new manifest
    csv.write_text(f"id,danceability,energy\n{B},0.75,0.5\n")
    spark.conf.set("spark.sql.csv.parser.columnPruning.enabled", "false")
    try:
        again = lookup_job.lookup(spark, lake, DS, str(config.path))
    finally:
        spark.conf.unset("spark.sql.csv.parser.columnPruning.enabled")
    folder = lake.raw_features_partition("file", DS)
    rows = {r["track_id"]: (r["status"], r["danceability"]) for r in read_parquet(folder)}
    assert rows == {A: ("absent", None), B: ("hit", 0.75)}
    assert json.loads((folder / "_manifest.json").read_text())["hits"] == again["hits"] == 1


def test_a_missing_file_uri_names_the_key(tmp_path):
    lake, config = tiny_lake(tmp_path, (tmp_path / "nowhere.csv").as_uri())
    with pytest.raises(FeatureInputError, match=r"enrichment.file.path .*nowhere.csv does not exist"):
        lookup_job.lookup(None, lake, DS, str(config.path))


def test_an_unsupported_scheme_names_the_key_and_the_choices(tmp_path):
    lake, config = tiny_lake(tmp_path, "https://example.org/features.csv")
    with pytest.raises(FeatureInputError, match=r"enrichment.file.path 'https://example.org/features.csv': "
                                                r"unsupported scheme 'https'; use a local path, file://, s3://"):
        lookup_job.lookup(None, lake, DS, str(config.path))


def test_modification_time_of_a_local_parquet_folder_is_its_newest_file(tmp_path):
    folder = tmp_path / "features.parquet"
    folder.mkdir()
    for name, stamp in (("part-0.parquet", 1_767_225_600), ("part-1.parquet", 1_767_312_000)):
        (folder / name).write_bytes(b"x")
        os.utime(folder / name, (stamp, stamp))
    assert lookup_job.file_modified_at(folder.as_uri()) == "2026-01-02T00:00:00Z"
