"""A local commit (weekly_discovery.lake.commit_directory) that dies between its two renames loses nothing.

The old partition is first moved aside into ``_staging``, then the new one is renamed into place. A process
killed between the two leaves no partition and the old copy in ``_staging``: the next writer's clean-up
(:meth:`Lake.staging_dir`) must keep that copy, however old its files, and put it back once no live writer
can still be between its renames.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from weekly_discovery.lake import SILVER_TRACKS, Lake, commit_directory

DS = "2026-11-23"
DAYS_AGO = time.time() - 5 * 24 * 3600


def old_partition(lake: Lake) -> Path:
    """A committed partition written five days ago (files and folder)."""
    final = lake.partition(SILVER_TRACKS, DS)
    final.mkdir(parents=True)
    (final / "part-00000.parquet").write_bytes(b"old rows")
    for path in (final / "part-00000.parquet", final):
        os.utime(path, (DAYS_AGO, DAYS_AGO))
    return final


def staged_partition(lake: Lake) -> Path:
    staged = lake.staging_dir()
    (staged / "part-00000.parquet").write_bytes(b"new rows")
    return staged


def crash_between_the_renames(monkeypatch, staged: Path, final: Path) -> None:
    """Run commit_directory, killing it at the rename that would publish ``staged``."""
    real_rename = os.rename

    def rename(src, dst):
        if Path(src) == staged:
            raise KeyboardInterrupt("killed")  # the process dies here: nothing after this line runs
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        commit_directory(staged, final)
    monkeypatch.setattr(os, "rename", real_rename)


def test_the_next_writer_keeps_the_old_partition_moved_aside_by_a_crash(tmp_path, monkeypatch):
    lake = Lake(str(tmp_path / "lake"))
    final = old_partition(lake)
    crash_between_the_renames(monkeypatch, staged_partition(lake), final)
    assert not final.exists()

    lake.staging_dir()  # the next writer starts: its clean-up runs right after the crash

    kept = [p.read_bytes() for p in Path(lake.root, "_staging").rglob("part-00000.parquet")]
    restored = [p.read_bytes() for p in final.glob("part-*")]
    assert b"old rows" in kept + restored


def test_a_copy_moved_aside_just_now_is_left_alone_whatever_the_age_of_its_files(tmp_path, monkeypatch):
    """Its writer may still be between its two renames: putting the copy back now would undo a live commit."""
    lake = Lake(str(tmp_path / "lake"))
    final = old_partition(lake)
    crash_between_the_renames(monkeypatch, staged_partition(lake), final)

    lake.staging_dir()

    assert not final.exists()
    moved = [p for p in Path(lake.root, "_staging").glob("*-replaced") if p.is_dir()]
    assert [(p / "part-00000.parquet").read_bytes() for p in moved] == [b"old rows"]


def test_a_crash_s_moved_aside_partition_is_put_back_once_its_writer_is_surely_gone(tmp_path, monkeypatch):
    lake = Lake(str(tmp_path / "lake"))
    final = old_partition(lake)
    crash_between_the_renames(monkeypatch, staged_partition(lake), final)
    monkeypatch.setattr(time, "time", lambda: DAYS_AGO + 10 * 24 * 3600)  # days later

    lake.staging_dir()

    assert sorted(p.name for p in final.iterdir()) == ["part-00000.parquet"]
    assert (final / "part-00000.parquet").read_bytes() == b"old rows"
    # the note is gone, and so is the dead writer's own staged folder, stale by now
    assert [p for p in Path(lake.root, "_staging").rglob("*") if p.is_file()] == []


def test_a_moved_aside_copy_is_deleted_once_its_replacement_is_in_place(tmp_path, monkeypatch):
    """Killed after the second rename, before the old copy was deleted: the clean-up finishes the job."""
    lake = Lake(str(tmp_path / "lake"))
    final = old_partition(lake)
    staged = staged_partition(lake)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed")  # the process dies before deleting the old copy

    monkeypatch.setattr("shutil.rmtree", killed)
    with pytest.raises(KeyboardInterrupt):
        commit_directory(staged, final)
    monkeypatch.undo()

    lake.staging_dir()

    assert (final / "part-00000.parquet").read_bytes() == b"new rows"
    assert [p for p in Path(lake.root, "_staging").rglob("*") if p.is_file()] == []


def test_the_staged_files_and_folder_are_fsynced_before_the_rename_that_publishes_them(tmp_path, monkeypatch):
    lake = Lake(str(tmp_path / "lake"))
    final = old_partition(lake)
    staged = staged_partition(lake)
    staged_file = staged / "part-00000.parquet"
    wanted = {os.stat(staged_file).st_ino: "staged file", os.stat(staged).st_ino: "staged folder"}
    events = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd):
        events.append(("fsync", wanted.get(os.fstat(fd).st_ino)))
        real_fsync(fd)

    def rename(src, dst):
        events.append(("rename", "publish" if Path(src) == staged else "move aside"))
        real_rename(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    commit_directory(staged, final)

    publish = events.index(("rename", "publish"))
    assert ("fsync", "staged file") in events[:publish]
    assert ("fsync", "staged folder") in events[:publish]
    assert (final / "part-00000.parquet").read_bytes() == b"new rows"
