"""Two runs of the same date at once do not mix: Delta's conflict detection lets one commit, fails the other.

A run replaces its date in one commit (``write_date``: an overwrite of ``ds = D``). Two runs of the same date
that overlap (a manual rerun started while the scheduled one still writes, two Airflow workers picking up the
same task) both read the table at the same version, both write their files, then both try to commit. Without
conflict detection the second commit would add its files beside the first's and the date would hold the
union of both runs. With it, the second finds that a concurrent commit added files to the date it replaces
and fails with Delta's concurrency error: the date holds exactly one run's rows, and the loser's files are
left out of the table.

The overlap is made certain, not left to timing:
- delta-rs (:func:`weekly_discovery.lake.delta.write_date`, the Python-side stages): both writes start from
  one read version, the table as both runs opened it before either committed (``write_deltalake`` is handed
  a ``DeltaTable`` loaded at that version instead of the path, the one thing changed), and start together at
  a barrier;
- Spark (:func:`weekly_discovery.spark.delta.write_date`, the jobs): two writes from two threads whose rows go
  through a Python function that waits until both writes' tasks are running. A Delta write reads its snapshot
  before it runs its tasks, so both transactions have started from the same version before either commits.

A control shows that the check is needed and that the tests would see a union: plain appends from the same
read version both commit and mix.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from tests.lake.deltalog import data_files_on_disk, live_files, log_versions, touched_dates
from weekly_discovery.lake import SILVER_TRACKS, Lake
from weekly_discovery.lake import delta

OTHER, DS = "2026-11-16", "2026-11-23"
RUNS = {"A": 3, "B": 5}  # run -> how many rows it writes (each row says its run)
SPARK_CONFLICT = re.compile(r"Concurrent(Append|DeleteRead|DeleteDelete|Transaction)Exception|DELTA_CONCURRENT")


def run_rows(run: str, n: int) -> pa.Table:
    return pa.table({"x": pa.array(range(n), pa.int64()), "run": [run] * n})


def start_table(lake: Lake, replace: bool) -> None:
    """Another date (which must stay as it is) and, for a rerun, an earlier run of DS (which must be replaced)."""
    delta.write_date(lake, SILVER_TRACKS, OTHER, run_rows("other", 2), run="other")
    if replace:
        delta.write_date(lake, SILVER_TRACKS, DS, run_rows("old", 4), run="old")


def runs_in(lake: Lake, ds: str) -> Counter:
    return Counter(row["run"] for row in delta.read_rows(lake, SILVER_TRACKS, ds))


def run_together(writers: dict[str, Callable[[], object]]) -> dict[str, BaseException | None]:
    """Call each writer in its own thread, all released at once; what each raised (None: it committed)."""
    barrier = threading.Barrier(len(writers))
    outcome: dict[str, BaseException | None] = {}

    def go(name: str, write) -> None:
        barrier.wait(timeout=60)
        try:
            write()
            outcome[name] = None
        except BaseException as exc:  # noqa: BLE001 - recorded, asserted on below
            outcome[name] = exc

    threads = [threading.Thread(target=go, args=item, name=f"run-{item[0]}") for item in writers.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a write never returned"
    return outcome


def assert_one_run_won(lake: Lake, outcome: dict[str, BaseException | None], versions_before: list[int],
                      is_conflict: Callable[[BaseException], bool]) -> str:
    """Exactly one run committed and the other failed with Delta's concurrency error (or, had they been
    serialized, both committed one after the other); either way the date holds ONE run's rows."""
    winners = [run for run, error in outcome.items() if error is None]
    losers = {run: error for run, error in outcome.items() if error is not None}
    assert winners, f"no run committed: {outcome}"
    for run, error in losers.items():
        assert is_conflict(error), f"run {run} failed, but not with Delta's concurrency error: {error!r}"
    new_versions = log_versions(lake, SILVER_TRACKS)[len(versions_before):]
    assert len(new_versions) == len(winners)  # a commit per run that committed, none for a loser
    assert all(touched_dates(lake, SILVER_TRACKS, v) == {DS} for v in new_versions)
    last = delta.history(lake, SILVER_TRACKS)[0]["run_id"]  # the run whose rows the date must hold
    assert last in winners
    assert runs_in(lake, DS) == Counter({last: RUNS[last]}), "the date mixes runs (or lost rows)"
    assert runs_in(lake, OTHER) == Counter({"other": 2})
    return last


# ---- delta-rs --------------------------------------------------------------------------------------

def pinned_writes(monkeypatch, lake: Lake) -> dict[str, object]:
    """Make each thread's ``write_deltalake`` start from the table as it is now (one version for both)."""
    import deltalake

    real = deltalake.write_deltalake
    uri = delta.table_uri(lake, SILVER_TRACKS)
    snapshots = {f"run-{run}": deltalake.DeltaTable(uri) for run in RUNS}  # both at the same version
    assert len({dt.version() for dt in snapshots.values()}) == 1

    def write_deltalake(table_or_uri, data, *args, storage_options=None, **kwargs):
        assert table_or_uri == uri
        return real(snapshots[threading.current_thread().name], data, *args, **kwargs)

    monkeypatch.setattr(deltalake, "write_deltalake", write_deltalake)
    return snapshots


@pytest.mark.parametrize("replace", [False, True], ids=["first-run-of-the-date", "rerun-of-the-date"])
def test_two_delta_rs_runs_of_one_date_at_once_do_not_mix(tmp_path, monkeypatch, replace):
    from deltalake.exceptions import CommitFailedError

    lake = Lake(str(tmp_path / "lake"))
    start_table(lake, replace)
    versions_before = log_versions(lake, SILVER_TRACKS)
    used_before = live_files(lake, SILVER_TRACKS)
    pinned_writes(monkeypatch, lake)

    outcome = run_together({run: (lambda run=run: delta.write_date(lake, SILVER_TRACKS, DS,
                                                                   run_rows(run, RUNS[run]), run=run))
                            for run in RUNS})

    assert sorted(error is None for error in outcome.values()) == [False, True]  # same read version: one loses
    winner = assert_one_run_won(lake, outcome, versions_before,
                                lambda error: isinstance(error, CommitFailedError))
    [loser] = set(RUNS) - {winner}
    assert "concurrent" in str(outcome[loser]).lower()
    # the loser's file was written (the runs did overlap) and is not part of the table
    orphans = data_files_on_disk(lake, SILVER_TRACKS, DS) - live_files(lake, SILVER_TRACKS) - used_before
    assert len(orphans) == 1
    assert not orphans & set(delta.open_table(lake, SILVER_TRACKS).file_uris())


def test_two_delta_rs_runs_of_different_dates_at_once_both_commit(tmp_path, monkeypatch):
    """No false alarm: runs of two dates started from one version touch different dates, both commit."""
    lake = Lake(str(tmp_path / "lake"))
    start_table(lake, replace=False)
    pinned_writes(monkeypatch, lake)
    dates = {"A": DS, "B": "2026-11-30"}
    outcome = run_together({run: (lambda run=run: delta.write_date(lake, SILVER_TRACKS, dates[run],
                                                                   run_rows(run, RUNS[run]), run=run))
                            for run in RUNS})
    assert outcome == {"A": None, "B": None}
    assert runs_in(lake, DS) == Counter({"A": 3})
    assert runs_in(lake, "2026-11-30") == Counter({"B": 5})
    assert runs_in(lake, OTHER) == Counter({"other": 2})


def test_control_plain_appends_from_one_version_would_mix(tmp_path, monkeypatch):
    """What the tests above rule out: without a replace and its conflict check, both runs' rows stay."""
    import deltalake

    real = deltalake.write_deltalake
    lake = Lake(str(tmp_path / "lake"))
    start_table(lake, replace=False)
    snapshots = pinned_writes(monkeypatch, lake)

    def append(run: str) -> None:
        data = run_rows(run, RUNS[run]).append_column("ds", pa.array([DS] * RUNS[run]))
        real(snapshots[f"run-{run}"], data, mode="append", partition_by=["ds"])

    outcome = run_together({run: (lambda run=run: append(run)) for run in RUNS})
    assert outcome == {"A": None, "B": None}
    assert runs_in(lake, DS) == Counter({"A": 3, "B": 5})  # the union the real writes must never give


# ---- Spark -----------------------------------------------------------------------------------------

def waiting_rows(spark, run: str, n: int, barrier: Path):
    """``n`` rows of ``run`` that its write computes only once both writes' tasks are running."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    folder = str(barrier)

    def wait_for_both(x):
        import os
        import time

        open(os.path.join(folder, run), "w").close()
        deadline = time.monotonic() + 120
        while len(os.listdir(folder)) < len(RUNS):
            if time.monotonic() > deadline:
                raise RuntimeError("the other write's task never started")
            time.sleep(0.02)
        return x

    together = F.udf(wait_for_both, T.LongType())
    return (spark.range(n).select(together(F.col("id")).alias("x"), F.lit(run).alias("run"))
            .coalesce(1))


@pytest.mark.spark
@pytest.mark.parametrize("replace", [False, True], ids=["first-run-of-the-date", "rerun-of-the-date"])
def test_two_spark_runs_of_one_date_at_once_do_not_mix(spark, tmp_path, replace):
    from weekly_discovery.spark import delta as spark_delta

    lake = Lake(str(tmp_path / "lake"))
    start_table(lake, replace)
    versions_before = log_versions(lake, SILVER_TRACKS)
    used_before = live_files(lake, SILVER_TRACKS)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    frames = {run: waiting_rows(spark, run, n, barrier) for run, n in RUNS.items()}

    outcome = run_together({run: (lambda run=run: spark_delta.write_date(frames[run], lake, SILVER_TRACKS, DS,
                                                                         run=run))
                            for run in RUNS})

    assert sorted(p.name for p in barrier.iterdir()) == ["A", "B"]  # both tasks ran at once
    assert sorted(error is None for error in outcome.values()) == [False, True]
    winner = assert_one_run_won(lake, outcome, versions_before, lambda error: bool(SPARK_CONFLICT.search(str(error))))
    [loser] = set(RUNS) - {winner}
    assert delta.history(lake, SILVER_TRACKS)[0]["run_id"] == winner
    assert loser not in {c.get("run_id") for c in delta.history(lake, SILVER_TRACKS)}
    rows = sorted((r["x"], r["run"]) for r in spark.read.format("delta").load(str(lake.table(SILVER_TRACKS)))
                  .where(f"ds = '{DS}'").collect())
    assert rows == [(i, winner) for i in range(RUNS[winner])]  # Spark's reader agrees
    orphans = data_files_on_disk(lake, SILVER_TRACKS, DS) - live_files(lake, SILVER_TRACKS) - used_before
    assert len(orphans) == 1  # the loser's file, written and left out of the table
