"""Reliability tests (issue #7): crashes during Spark writes, backfills, bad input, faults.

One SparkSession for the whole package (a JVM costs ~10 s); the jobs' own functions (in their stage's
package, e.g. :mod:`weekly_discovery.ingest.job`) are called with it, except where a real ``spark-submit``
process is the point (the SIGKILL test). Every derived table is a Delta table: its rows are read back through the lake's
Delta API (:mod:`weekly_discovery.lake.delta`, delta-rs; tests/lake checks it against Spark's reader),
never from the Parquet files of a date's folder (a rerun leaves files there that Delta removed from the
table); raw files and ``_metrics.json`` with pyarrow and the json module. Rows are compared after
sorting (Delta keeps no row order). Expected values never come from the code under test.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.dataset as pads
import pytest

from devtools.standin import StandIn, write_demo_config
from tests.util.spark import IN_PROCESS_CONF, runtime_conf
from weekly_discovery.ingest import job as normalize_job
from weekly_discovery.ingest.extract import extract_library
from weekly_discovery.lake import delta
from weekly_discovery.lake.layout import Lake, Table
from weekly_discovery.settings.config import Config, load_config
from weekly_discovery.spotify.client import SpotifyAPI
from weekly_discovery.spotify.credentials import SpotifyCredentials

REPO = Path(__file__).resolve().parents[2]
SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"

# PySpark turns timestamps into naive datetimes in the local zone: pin it (sessions use UTC).
os.environ["TZ"] = "UTC"
time.tzset()

SPARK_CONF = {
    **IN_PROCESS_CONF,
    # as jobs/lookup_features_file.py sets it: the CSV corrupt-record column needs every column parsed
    "spark.sql.csv.parser.columnPruning.enabled": "false",
}


@pytest.fixture(scope="session")
def spark():
    from weekly_discovery.spark.session import get_spark

    session = get_spark("weekly-discovery-reliability-tests", SPARK_CONF)
    with runtime_conf(session, SPARK_CONF):  # in case another package's session came first
        yield session
    session.stop()


def make_api(standin: StandIn, **kwargs: Any) -> SpotifyAPI:
    conn = json.loads(standin.connection_json())
    creds = SpotifyCredentials.from_connection_fields("spotify_default", conn["login"], conn["password"], conn["extra"])
    kwargs.setdefault("sleep", lambda seconds: None)
    return SpotifyAPI(creds, **kwargs)


def make_config(standin: StandIn, folder: Path, extra: str = "") -> Config:
    """The demo config for the stand-in's library, lake at ``folder/lake``."""
    path = write_demo_config(standin.library, folder / "weekly-discovery.toml")
    if extra:
        with path.open("a") as fh:
            fh.write(extra)
    return load_config(path, env={"WEEKLY_DISCOVERY_LAKE": str(folder / "lake")})


def ingest(spark, standin: StandIn, config: Config, ds: str) -> None:
    """The ingest DAG's work for ``ds``: extract over HTTP, then the normalize job's function."""
    extract_library(make_api(standin), config.lake, config, ds)
    normalize_job.normalize_date(spark, config.lake, ds, normalize_job.load_raw_input(config.lake, ds))


# ---- reading the lake back ------------------------------------------------------------------
def _key(row: dict) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def sorted_rows(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=_key)


def table_rows(lake: Lake, table: Table, ds: str | None = None) -> list[dict]:
    """Every row of a Delta table (one date's, without ``ds``, when ``ds`` is given), sorted; none when the
    table was never written."""
    return sorted_rows(delta.read_rows(lake, table, ds))


def raw_rows(folder: Path) -> list[dict]:
    """Every row of a raw-layer partition of Parquet or NDJSON files (not a table), sorted."""
    folder = Path(folder)
    if any(folder.glob("part-*.json")):
        rows = [json.loads(line) for p in folder.glob("part-*.json") for line in p.read_text().splitlines()]
    else:
        dataset = pads.dataset(str(folder), format="parquet", ignore_prefixes=["_", "."])
        rows = dataset.to_table().to_pylist()
    return sorted_rows(rows)


def partition_contents(lake: Lake, tables: list[Table], ds: str,
                       drop_metrics: tuple[str, ...] = ()) -> dict[str, Any]:
    """Rows of each table's date ``ds`` (sorted; [] when it has none), plus the date's ``_metrics.json``
    (without ``drop_metrics`` keys) when there is one."""
    out: dict[str, Any] = {}
    for table in tables:
        out[str(table)] = table_rows(lake, table, ds)
        metrics = lake.partition(table, ds) / "_metrics.json"
        if metrics.is_file():
            data = json.loads(metrics.read_text())
            out[f"{table}/_metrics.json"] = {k: v for k, v in data.items() if k not in drop_metrics}
    return out


def copy_lake(src: Lake, dst: Path) -> Lake:
    shutil.copytree(src.root, dst)
    return Lake(str(dst))


__all__ = ["REPO", "SPARK_SUBMIT", "copy_lake", "ingest", "make_api", "make_config", "partition_contents",
           "raw_rows", "sorted_rows", "table_rows"]
