"""The class-data archive of Spark's JVM start (weekly_discovery.airflow.spark_class_data), as the demo and
the tests use it.

The session's archive is made by tests/conftest.py before any test runs (through
:func:`devtools.demo.small_job_env`); these tests check that real Spark JVMs map it, that what makes it
unusable is recognised, and that a failed dump leaves Spark as it was.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from devtools.demo import small_job_env
from weekly_discovery.airflow import spark_class_data as spark_cds
from weekly_discovery.airflow.private_folder import remove_stale

pytestmark = pytest.mark.spark


def spark_submit_version(env: dict[str, str]) -> subprocess.CompletedProcess:
    """``spark-submit --version``: the launcher and Spark's JVM with ``SPARK_SUBMIT_OPTS``, no job."""
    spark_submit = Path(env["SPARK_HOME"]) / "bin" / "spark-submit"
    return subprocess.run([str(spark_submit), "--version"], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def session_archive() -> Path:
    options = shlex.split(os.environ["SPARK_SUBMIT_OPTS"])
    archives = [o.split("=", 1)[1] for o in options if o.startswith("-XX:SharedArchiveFile=")]
    assert archives, f"the session has no class-data archive: {os.environ['SPARK_SUBMIT_OPTS']}"
    return Path(archives[0])


def test_the_sessions_spark_jvms_map_the_archive():
    archive = session_archive()
    assert archive.is_file() and archive.stat().st_size > 50_000_000  # Spark's classes, not an empty file
    assert oct(archive.parent.stat().st_mode & 0o777) == "0o700"  # code the JVM maps: a private folder
    # -Xshare:on turns "cannot use the archive" from a warning into a failed start
    env = {**os.environ, "SPARK_SUBMIT_OPTS": os.environ["SPARK_SUBMIT_OPTS"] + " -Xshare:on"}
    done = spark_submit_version(env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "version" in done.stderr + done.stdout


def test_a_conf_folder_with_files_changes_the_class_path_and_rules_the_archive_out(tmp_path):
    conf = tmp_path / "spark-conf"
    conf.mkdir()
    (conf / "spark-defaults.conf").write_text("spark.ui.enabled false\n")
    env = {**os.environ, "SPARK_CONF_DIR": str(conf),
           "SPARK_SUBMIT_OPTS": f"-XX:SharedArchiveFile={session_archive()} -Xshare:on"}
    done = spark_submit_version(env)
    assert done.returncode != 0  # the archive was dumped with another class path: the JVM cannot use it
    assert spark_cds.class_path_key(env) is None  # so no archive is made for it, and none is passed
    assert "SharedArchiveFile" not in small_job_env(env)["SPARK_SUBMIT_OPTS"]
    assert "-XX:TieredStopAtLevel=1" in small_job_env(env)["SPARK_SUBMIT_OPTS"]


def test_the_key_follows_spark_jars_and_the_conf_folder(tmp_path):
    home = tmp_path / "spark"
    (home / "jars").mkdir(parents=True)
    (home / "jars" / "spark-core.jar").write_bytes(b"x" * 10)
    env = {**os.environ, "SPARK_HOME": str(home)}
    env.pop("SPARK_CONF_DIR", None)
    first = spark_cds.class_path_key(env)
    assert spark_cds.class_path_key(env) == first
    jar = home / "jars" / "spark-core.jar"
    os.utime(jar, ns=(jar.stat().st_atime_ns, jar.stat().st_mtime_ns + 1_000_000_000))
    reinstalled = spark_cds.class_path_key(env)
    assert reinstalled != first  # the same jar written again (a new venv): the JVM would refuse the old archive
    jar.write_bytes(b"x" * 11)
    assert spark_cds.class_path_key(env) not in (first, reinstalled)  # another Spark build: another archive
    assert spark_cds.class_path_key({**env, "SPARK_CONF_DIR": str(tmp_path / "empty")}) != first


def test_a_failed_dump_leaves_no_archive_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(spark_cds.ARCHIVE_DIR_ENV, str(tmp_path / "cds"))
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONF_DIR", "SPARK_SUBMIT_OPTS")}
    env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = str(tmp_path / "no-python")  # the warm-up job fails
    assert spark_cds.ensure_archive(env) is None
    said = capsys.readouterr().err
    assert re.search(r"spark class-data archive: not created \(exit [1-9]\d*; see .*\); Spark starts without it", said)
    assert [p.name for p in (tmp_path / "cds").iterdir() if p.suffix in (".jsa", ".partial")] == []


def test_archives_unused_for_a_week_are_removed(tmp_path):
    folder = tmp_path / "cds"
    folder.mkdir(mode=0o700)
    old, recent, keep = (folder / f"spark-{name}.jsa" for name in ("old", "recent", "keep"))
    for path, age in ((old, 8 * 24 * 3600), (recent, 3600), (keep, 30 * 24 * 3600)):
        path.write_bytes(b"")
        os.utime(path, (time.time() - age,) * 2)
    remove_stale(folder, ["spark-*.jsa"], spark_cds.STALE_SECONDS, keep=keep)
    assert sorted(p.name for p in folder.iterdir()) == ["spark-keep.jsa", "spark-recent.jsa"]
