"""Reliability tests (issue #7): crashes during Spark writes, backfills, bad input, faults.

One SparkSession for the whole package (a JVM costs ~10 s); jobs are loaded by path and their
own functions are called with it, except where a real ``spark-submit`` process is the point
(the SIGKILL test). Lake contents are read back with pyarrow and the json module, never with
the code under test, and compared row by row after sorting.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.dataset as pads
import pytest

from devtools.standin import StandIn, write_demo_config
from tests.util.spark import IN_PROCESS_CONF, runtime_conf
from weekly_discovery.core.config import Config, load_config
from weekly_discovery.ingest.extract import extract_library
from weekly_discovery.lake.layout import Lake
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


def load_job(name: str):
    """``jobs/<name>.py`` as a module (``jobs`` is not a package; tests/jobs shadows the name)."""
    spec = importlib.util.spec_from_file_location(f"reliability_{name}_job", REPO / "jobs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


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
    normalize = load_job("normalize")
    normalize.normalize_date(spark, config.lake, ds, normalize.load_raw_input(config.lake, ds))


def copy_lake(src: Lake, dst: Path) -> Lake:
    shutil.copytree(src.root, dst)
    return Lake(str(dst))


# ---- reading the lake back (pyarrow / json, not the code under test) --------------------------
def _key(row: dict) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def table_rows(folder: Path) -> list[dict]:
    """Every row of a Parquet or NDJSON partition, sorted (file names and order do not matter)."""
    folder = Path(folder)
    if any(folder.glob("part-*.json")):
        rows = [json.loads(line) for p in folder.glob("part-*.json") for line in p.read_text().splitlines()]
    else:
        dataset = pads.dataset(str(folder), format="parquet", ignore_prefixes=["_", "."])
        rows = dataset.to_table().to_pylist()
    return sorted(rows, key=_key)


def partition_contents(lake: Lake, tables: list[tuple[str, str]], ds: str,
                       drop_metrics: tuple[str, ...] = ()) -> dict[str, Any]:
    """Rows of each table's ``ds`` partition, plus its ``_metrics.json`` (without ``drop_metrics`` keys)."""
    out: dict[str, Any] = {}
    for layer, name in tables:
        folder = lake.partition(layer, name, ds)
        if not folder.is_dir():
            out[f"{layer}/{name}"] = None
            continue
        out[f"{layer}/{name}"] = table_rows(folder)
        metrics = folder / "_metrics.json"
        if metrics.is_file():
            data = json.loads(metrics.read_text())
            out[f"{layer}/{name}/_metrics.json"] = {k: v for k, v in data.items() if k not in drop_metrics}
    return out


def data_files(folder: Path) -> list[str]:
    """What a partition folder holds, with Spark's per-write part-file ids blanked out."""
    return sorted(re.sub(r"part-\d+-[0-9a-f-]+-c000", "part-*", p.name) for p in Path(folder).iterdir())


__all__ = ["REPO", "SPARK_SUBMIT", "copy_lake", "data_files", "ingest", "load_job", "make_api", "make_config",
           "partition_contents", "table_rows"]
