"""SIGKILL of a real ``spark-submit jobs/normalize.py`` while it writes its silver partition.

The kill is triggered by what the job does, not by a timer: the test polls the lake until the
quarantine partition has been (re)committed by this run and Spark has started writing part files
into a fresh folder under ``_staging`` (the silver write, which comes last), then kills the whole process group (the
spark-submit script, its JVM and the Python driver/workers). The write lasts under a second; when
a loaded machine keeps the poll off the CPU until silver is committed, that run proves nothing, so
it is undone (the lake copied back) and started again, at most three times.

Proved here, on the first write of a date and on a rerun that would replace it:
- a reader (pyarrow on the folder, Spark's reader over the table) sees the date's silver
  partition absent or complete (the previous one), never partial;
- a rerun gives exactly the rows and metrics of an uninterrupted run;
- the dead writer's debris stays under ``_staging`` and never shows up in a table.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from devtools.standin import StandIn, generate_demo_library
from tests.reliability.conftest import (
    REPO,
    SPARK_SUBMIT,
    copy_lake,
    data_files,
    ingest,
    load_job,
    make_api,
    make_config,
    partition_contents,
    table_rows,
)
from weekly_discovery.ingest.extract import extract_library
from weekly_discovery.lake.layout import Lake

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

DS1, DS2 = "2026-11-16", "2026-11-23"
TABLES = [("bronze", "items"), ("quarantine", "items"), ("silver", "tracks")]


def submit(lake: Lake, ds: str, log: Path) -> subprocess.Popen:
    """The normalize job as Airflow's SparkSubmitOperator would start it, in its own process group."""
    return subprocess.Popen(
        [str(SPARK_SUBMIT), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
         str(REPO / "jobs" / "normalize.py"), "--lake", lake.root, "--ds", ds],
        env=dict(os.environ),
        stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def silver_parts_in_staging(staging: Path, earlier: set[str]) -> bool:
    """Whether a folder staged by this run holds part files (Spark writing silver, the last write)."""
    for folder in staging.iterdir():
        if folder.name in earlier or folder.name.endswith("-replaced"):
            continue
        # os.walk, not Path.rglob: a folder renamed away while it is listed (a commit, Spark's task
        # commit moving its attempt folder) is skipped instead of raising FileNotFoundError
        if any(name.startswith("part-") for _, _, names in os.walk(folder) for name in names):
            return True
    return False


def kill_during_silver_write(lake: Lake, ds: str, job: subprocess.Popen, log: Path) -> bool:
    """SIGKILL the job's process group while Spark writes silver's part files.

    False when the poll did not see the write before the job committed it (the write lasts
    under a second; a loaded machine can keep this process off the CPU that long): the kill
    then proved nothing, and the caller undoes the run.
    """
    quarantine, silver = lake.partition("quarantine", "items", ds), lake.partition("silver", "tracks", ds)
    staging = Path(lake.root, "_staging")
    quarantine_before, silver_before = inode(quarantine), inode(silver)
    earlier = {p.name for p in staging.iterdir()} if staging.is_dir() else set()
    deadline = time.monotonic() + 180
    while True:
        ended = job.poll()
        assert ended in (None, 0), f"the job failed:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, "the job never reached its silver write"
        if ended == 0 or inode(silver) != silver_before:
            break  # silver committed before the poll saw it being written
        quarantine_committed = inode(quarantine) not in (None, quarantine_before)  # by this run
        if quarantine_committed and silver_parts_in_staging(staging, earlier):
            break
        time.sleep(0.002)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    while True:  # nothing of the job may still run (and write) when the lake is inspected
        try:
            os.killpg(job.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    return inode(silver) == silver_before


def crash_during_silver_write(lake: Lake, ds: str, logs: Path, attempts: int = 3) -> None:
    """Start the job and kill it mid-write; a run that got past its write is undone and started again."""
    before = Path(f"{logs}-lake-before")
    shutil.copytree(lake.root, before)
    for attempt in range(1, attempts + 1):
        log = Path(f"{logs}-{attempt}.log")
        if kill_during_silver_write(lake, ds, submit(lake, ds, log), log):
            return
        shutil.rmtree(lake.root)
        shutil.copytree(before, lake.root)
    pytest.fail(f"{attempts} runs in a row committed silver before the poll saw them write it (a loaded machine)")


def spark_reader_view(spark, lake: Lake) -> dict[str, list[tuple]]:
    """What Spark's reader sees over the whole silver table: keys per ds partition."""
    rows = spark.read.parquet(str(lake.table("silver", "tracks"))).select(
        "ds", "source_key", "track_id", "position").collect()
    view: dict[str, list[tuple]] = {}
    for r in rows:
        view.setdefault(str(r["ds"]), []).append((r["source_key"], r["track_id"], r["position"]))
    return {ds: sorted(keys) for ds, keys in view.items()}


def keys(lake: Lake, ds: str) -> list[tuple]:
    return sorted((r["source_key"], r["track_id"], r["position"])
                  for r in table_rows(lake.partition("silver", "tracks", ds)))


def test_sigkill_during_spark_write_then_rerun(spark, tmp_path):
    library = generate_demo_library(seed=5, n_tracks=800)
    with StandIn(library) as standin:
        config = make_config(standin, tmp_path / "crashed")
        ingest(spark, standin, config, DS1)  # last week, complete
        extract_library(make_api(standin), config.lake, config, DS2)  # this week's raw pages
    lake = config.lake
    reference = copy_lake(lake, tmp_path / "reference" / "lake")
    normalize = load_job("normalize")
    normalize.normalize_date(spark, reference, DS2, normalize.load_raw_input(reference, DS2))  # uninterrupted
    expected = partition_contents(reference, TABLES, DS2)
    assert len(expected["silver/tracks"]) > 300
    expected_view = {DS1: keys(reference, DS1), DS2: keys(reference, DS2)}

    # 1. killed during the first write of DS2's silver partition
    crash_during_silver_write(lake, DS2, tmp_path / "first")
    assert not lake.partition("silver", "tracks", DS2).exists()
    assert spark_reader_view(spark, lake) == {DS1: expected_view[DS1]}  # no trace of DS2, nothing partial
    after_kill = partition_contents(lake, TABLES, DS2)
    assert after_kill["bronze/items"] == expected["bronze/items"]  # committed before the kill: complete
    assert after_kill["quarantine/items"] == expected["quarantine/items"]
    debris = [p for p in Path(lake.root, "_staging").iterdir() if any(p.rglob("*"))]
    assert len(debris) == 1  # the half-written silver output, parked where no reader looks

    # 2. a rerun of the same date gives the uninterrupted run's partitions, without the debris
    log = tmp_path / "rerun.log"
    rerun = submit(lake, DS2, log)
    assert rerun.wait(timeout=300) == 0, log.read_text()[-3000:]
    assert partition_contents(lake, TABLES, DS2) == expected
    for layer, name in TABLES:
        assert data_files(lake.partition(layer, name, DS2)) == data_files(reference.partition(layer, name, DS2))
    assert spark_reader_view(spark, lake) == expected_view

    # 3. killed while a rerun replaces the partition: readers keep seeing the complete old one
    crash_during_silver_write(lake, DS2, tmp_path / "second")  # the old folder kept (same inode)
    assert partition_contents(lake, TABLES, DS2) == expected
    assert spark_reader_view(spark, lake) == expected_view
    debris = [p for p in Path(lake.root, "_staging").iterdir() if any(p.rglob("*"))]
    assert len(debris) == 2
    for layer, name in TABLES:  # no part file of a killed writer reached a table
        assert data_files(lake.partition(layer, name, DS2)) == data_files(reference.partition(layer, name, DS2))
