"""Issue 12 item 4: the ``--py-files`` zip cache is private and a cached zip is used only if its bytes match.

The cache used to be ``/tmp/weekly-discovery-py-files-<uid>/``, created with ``exist_ok=True`` and reused
by name: another local user could create the folder first and plant a zip that Spark then ran as the
Airflow user.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

import pytest

from weekly_discovery.airflow import spark_submit
from weekly_discovery.airflow.private_folder import CACHE_ENV, PrivateDirError, cache_dir, private_dir
from weekly_discovery.airflow.spark_submit import package_zip

NOBODY = 65534


def test_a_new_folder_is_created_private_even_with_a_permissive_umask(tmp_path):
    old = os.umask(0)
    try:
        folder = private_dir(tmp_path / "cache" / "py-files")
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert folder.stat().st_uid == os.getuid()


def test_the_default_folder_is_in_the_users_cache_not_the_shared_temp_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "weekly-discovery" / "py-files"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "weekly-discovery" / "py-files"
    assert not str(cache_dir()).startswith(tempfile.gettempdir() + os.sep + "weekly-discovery")


def test_a_folder_created_by_another_user_is_refused(tmp_path, monkeypatch):
    planted = tmp_path / "py-files"
    planted.mkdir(mode=0o700)
    if os.getuid() == 0:  # as root (CI): really give the folder to another user
        os.chown(planted, NOBODY, NOBODY)
        owner, me = NOBODY, 0
    else:  # without root the folder cannot change hands: this process plays another user instead
        owner, me = os.getuid(), os.getuid() + 1
        monkeypatch.setattr(os, "getuid", lambda: me)
    with pytest.raises(PrivateDirError) as refused:
        package_zip(directory=planted)
    message = str(refused.value)
    assert message.startswith(f"{planted} belongs to uid {owner}, not to this user (uid {me})")
    assert f"remove it (as its owner or root) or set {CACHE_ENV} to a folder of your own, mode 0700" in message
    assert list(planted.iterdir()) == []  # nothing written there


def test_a_folder_others_can_write_is_refused(tmp_path):
    shared = tmp_path / "py-files"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(PrivateDirError) as refused:
        package_zip(directory=shared)
    assert str(refused.value).startswith(f"{shared} is writable by other users (mode 0777): run `chmod 700 {shared}`")
    assert list(shared.iterdir()) == []


def test_a_symlink_in_place_of_the_folder_is_refused(tmp_path):
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "py-files").symlink_to(elsewhere)
    with pytest.raises(PrivateDirError, match=r"is not a directory \(a symlink or a file\)"):
        package_zip(directory=tmp_path / "py-files")


def test_the_default_folder_is_checked_too(monkeypatch, tmp_path):
    shared = tmp_path / "py-files"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv(CACHE_ENV, str(shared))
    with pytest.raises(PrivateDirError):
        package_zip()


def test_the_zip_is_named_by_the_sha256_of_its_bytes(tmp_path):
    archive = package_zip(directory=tmp_path)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert archive.name == f"weekly_discovery-{digest}.zip"


def test_a_planted_zip_with_the_right_name_is_replaced(tmp_path):
    genuine = package_zip(directory=tmp_path)
    good = genuine.read_bytes()
    genuine.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # planted: the same name, other content
    again = package_zip(directory=tmp_path)
    assert again == genuine
    assert again.read_bytes() == good


def test_a_symlinked_zip_is_not_followed_but_replaced(tmp_path):
    genuine = package_zip(directory=tmp_path)
    good = genuine.read_bytes()
    (tmp_path / "real.zip").write_bytes(good)
    genuine.unlink()
    genuine.symlink_to(tmp_path / "real.zip")  # the right bytes, but behind a link someone could retarget
    again = package_zip(directory=tmp_path)
    assert not again.is_symlink() and again.read_bytes() == good


def test_an_intact_zip_is_reused_without_rewriting(tmp_path, monkeypatch):
    first = package_zip(directory=tmp_path)
    inode = first.stat().st_ino
    writes = []
    from weekly_discovery.lake import storage

    monkeypatch.setattr(storage, "write_atomic", lambda *a: writes.append(a))
    assert package_zip(directory=tmp_path) == first
    assert writes == [] and first.stat().st_ino == inode


def test_the_operator_refuses_a_shared_folder_before_submitting(monkeypatch, tmp_path):
    from airflow.providers.apache.spark.operators.spark_submit import (
        SparkSubmitOperator,
    )

    from weekly_discovery.airflow.policy import spark_job

    shared = tmp_path / "py-files"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv(CACHE_ENV, str(shared))
    monkeypatch.setattr(spark_submit.PackagedSparkSubmitOperator, "add_lake_storage", lambda self: None)
    submitted = []
    monkeypatch.setattr(SparkSubmitOperator, "execute", lambda self, context: submitted.append(self))
    task = spark_job("train", tmp_path / "train.py", ["--lake", str(tmp_path), "--ds", "2026-11-23"])
    with pytest.raises(PrivateDirError):
        task.execute({})
    assert submitted == []
