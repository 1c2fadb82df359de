"""SIGKILL of a real ``spark-submit jobs/normalize.py`` in the middle of its silver/tracks Delta write.

The kill is triggered by what the job does, not by a timer: the test polls the silver/tracks table's folder
until Spark has started writing this run's data files into it (``part-*.parquet`` files that were not there
before the run) while the table's log has no new commit (``_delta_log/<version>.json``) yet, then kills the
whole process group (the spark-submit script, its JVM and the Python driver/workers). Silver is the job's
last write (bronze and quarantine are committed before it). The write lasts under a second; when a loaded
machine keeps the poll off the CPU until the commit is made, that run proves nothing, so it is undone (the
lake copied back) and started again, at most three times.

Proved here, on the first write of a date and on a rerun that would replace it:
- the table is at its last commit: its log, delta-rs (``read``, ``dates``, ``history``) and Spark's reader
  (``spark.read.format("delta")``) all show the table as it was before the killed run, with no row of it;
- the killed run's files stay in the folder but are not in the table's current file list;
- a rerun gives exactly the rows and metrics of an uninterrupted run;
- killed during a rerun that replaces the date, readers keep seeing the complete old rows.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from devtools.standin import StandIn, generate_demo_library
from tests.lake.deltalog import data_files_on_disk, live_files, log_versions, touched_dates
from tests.reliability.conftest import (
    REPO,
    SPARK_SUBMIT,
    copy_lake,
    ingest,
    make_api,
    make_config,
    partition_contents,
    table_rows,
)
from weekly_discovery.ingest import job as normalize_job
from weekly_discovery.ingest.extract import extract_library
from weekly_discovery.lake import BRONZE_ITEMS, QUARANTINE_ITEMS, SILVER_TRACKS
from weekly_discovery.lake import delta
from weekly_discovery.lake.layout import Lake

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

DS1, DS2 = "2026-11-16", "2026-11-23"
TABLES = [BRONZE_ITEMS, QUARANTINE_ITEMS, SILVER_TRACKS]


def submit(lake: Lake, ds: str, log: Path, run_id: str) -> subprocess.Popen:
    """The normalize job as Airflow's SparkSubmitOperator would start it, in its own process group."""
    return subprocess.Popen(
        [str(SPARK_SUBMIT), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
         str(REPO / "jobs" / "normalize.py"), "--lake", lake.root, "--ds", ds],
        env={**os.environ, delta.RUN_ENV: run_id},
        stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def kill_during_silver_write(lake: Lake, ds: str, job: subprocess.Popen, log: Path) -> bool:
    """SIGKILL the job's process group while Spark writes silver's data files, before their commit.

    False when the poll did not see the write before the job committed it (the write lasts under a
    second; a loaded machine can keep this process off the CPU that long): the kill then proved
    nothing, and the caller undoes the run.
    """
    versions_before = log_versions(lake, SILVER_TRACKS)
    files_before = data_files_on_disk(lake, SILVER_TRACKS)
    deadline = time.monotonic() + 180
    while True:
        ended = job.poll()
        assert ended in (None, 0), f"the job failed:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, "the job never reached its silver write"
        if ended == 0 or log_versions(lake, SILVER_TRACKS) != versions_before:
            break  # silver committed before the poll saw it being written
        if data_files_on_disk(lake, SILVER_TRACKS, ds) - files_before:
            break  # this run's files are being written, and not committed
        time.sleep(0.002)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    while True:  # nothing of the job may still run (and write) when the lake is inspected
        try:
            os.killpg(job.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    return log_versions(lake, SILVER_TRACKS) == versions_before


def crash_during_silver_write(lake: Lake, ds: str, logs: Path, run_id: str, attempts: int = 3) -> set[str]:
    """Start the job and kill it mid-write; a run that got past its commit is undone and started again.
    Returns the data files the killed run left in the table's folder."""
    before = Path(f"{logs}-lake-before")
    shutil.copytree(lake.root, before)
    files_before = data_files_on_disk(lake, SILVER_TRACKS)
    for attempt in range(1, attempts + 1):
        log = Path(f"{logs}-{attempt}.log")
        if kill_during_silver_write(lake, ds, submit(lake, ds, log, run_id), log):
            return data_files_on_disk(lake, SILVER_TRACKS) - files_before
        shutil.rmtree(lake.root)
        shutil.copytree(before, lake.root)
    pytest.fail(f"{attempts} runs in a row committed silver before the poll saw them write it (a loaded machine)")


def spark_reader_view(spark, lake: Lake) -> dict[str, list[tuple]]:
    """What Spark's Delta reader sees over the whole silver table: keys per date."""
    rows = spark.read.format("delta").load(str(lake.table(SILVER_TRACKS))).select(
        "ds", "source_key", "track_id", "position").collect()
    view: dict[str, list[tuple]] = {}
    for r in rows:
        view.setdefault(str(r["ds"]), []).append((r["source_key"], r["track_id"], r["position"]))
    return {ds: sorted(keys) for ds, keys in view.items()}


def keys(lake: Lake, ds: str) -> list[tuple]:
    return sorted((r["source_key"], r["track_id"], r["position"]) for r in table_rows(lake, SILVER_TRACKS, ds))


def assert_orphans_left_out(lake: Lake, orphans: set[str]) -> None:
    """The killed run's files exist (it was killed mid-write) and are in no version's file list."""
    assert orphans, "the killed run left no data file: it was not killed during its write"
    assert all(Path(p).name.startswith("part-") and f"/ds={DS2}/" in p for p in orphans)
    assert not orphans & set(delta.open_table(lake, SILVER_TRACKS).file_uris())  # delta-rs's view
    assert not orphans & live_files(lake, SILVER_TRACKS)  # the log's, replayed by hand


def test_sigkill_during_spark_write_then_rerun(spark, tmp_path):
    library = generate_demo_library(seed=5, n_tracks=800)
    with StandIn(library) as standin:
        config = make_config(standin, tmp_path / "crashed")
        ingest(spark, standin, config, DS1)  # last week, complete
        extract_library(make_api(standin), config.lake, config, DS2)  # this week's raw pages
    lake = config.lake
    reference = copy_lake(lake, tmp_path / "reference" / "lake")
    normalize_job.normalize_date(spark, reference, DS2, normalize_job.load_raw_input(reference, DS2))  # uninterrupted
    expected = partition_contents(reference, TABLES, DS2)
    assert len(expected["silver/tracks"]) > 300 and "silver/tracks/_metrics.json" in expected
    expected_view = {DS1: keys(reference, DS1), DS2: keys(reference, DS2)}
    silver_history = delta.history(lake, SILVER_TRACKS)
    assert [(c["version"], c["ds"]) for c in silver_history] == [(0, DS1)]

    # 1. killed during the first write of DS2's silver rows
    orphans = crash_during_silver_write(lake, DS2, tmp_path / "first", run_id="killed-first")
    assert log_versions(lake, SILVER_TRACKS) == [0]  # the table is at its last commit
    assert delta.history(lake, SILVER_TRACKS) == silver_history
    assert delta.dates(lake, SILVER_TRACKS) == [DS1]
    assert delta.read_rows(lake, SILVER_TRACKS, DS2) == []
    assert spark_reader_view(spark, lake) == {DS1: expected_view[DS1]}  # no trace of DS2, nothing partial
    assert_orphans_left_out(lake, orphans)
    assert not (lake.partition(SILVER_TRACKS, DS2) / "_metrics.json").exists()
    after_kill = partition_contents(lake, TABLES, DS2)
    assert after_kill["bronze/items"] == expected["bronze/items"]  # committed before the kill: complete
    assert after_kill["quarantine/items"] == expected["quarantine/items"]
    assert delta.history(lake, QUARANTINE_ITEMS)[0]["run_id"] == "killed-first"

    # 2. a rerun of the same date gives the uninterrupted run's rows and metrics
    log = tmp_path / "rerun.log"
    rerun = submit(lake, DS2, log, "rerun")
    assert rerun.wait(timeout=300) == 0, log.read_text()[-3000:]
    assert partition_contents(lake, TABLES, DS2) == expected
    assert spark_reader_view(spark, lake) == expected_view
    history = delta.history(lake, SILVER_TRACKS)
    assert [(c["version"], c["ds"]) for c in history] == [(1, DS2), (0, DS1)]  # one new commit, the rerun's
    assert history[0]["run_id"] == "rerun"
    assert touched_dates(lake, SILVER_TRACKS, 1) == {DS2}
    assert len(live_files(lake, SILVER_TRACKS, DS2)) == len(live_files(reference, SILVER_TRACKS, DS2))
    assert_orphans_left_out(lake, orphans)
    committed = json.loads((lake.partition(SILVER_TRACKS, DS2) / "_metrics.json").read_text())
    assert committed == expected["silver/tracks/_metrics.json"]

    # 3. killed while a rerun replaces the date: readers keep seeing the complete old rows
    history_before = delta.history(lake, SILVER_TRACKS)
    orphans_second = crash_during_silver_write(lake, DS2, tmp_path / "second", run_id="killed-second")
    assert log_versions(lake, SILVER_TRACKS) == [0, 1]
    assert delta.history(lake, SILVER_TRACKS) == history_before
    assert partition_contents(lake, TABLES, DS2) == expected  # old silver rows and metrics, complete
    assert spark_reader_view(spark, lake) == expected_view
    assert_orphans_left_out(lake, orphans_second)
    assert_orphans_left_out(lake, orphans)
    assert "killed-first" not in {c.get("run_id") for c in delta.history(lake, SILVER_TRACKS)}
    assert "killed-second" not in {c.get("run_id") for c in delta.history(lake, SILVER_TRACKS)}
