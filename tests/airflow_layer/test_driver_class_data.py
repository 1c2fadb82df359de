"""The DAGs' spark-submits start a local driver JVM from this machine's class-data archive, when there is one.

:mod:`weekly_discovery.airflow.spark_class_data`; the archive itself is made by the test session
(tests/conftest.py) and checked in tests/airflow_layer/test_class_data_archive.py.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import pytest

from weekly_discovery.airflow import spark_class_data, spark_submit
from weekly_discovery.airflow.private_folder import CACHE_ENV
from weekly_discovery.airflow.spark_submit import PackagedSparkSubmitOperator

SESSION_OPTIONS = shlex.split(os.environ.get("SPARK_SUBMIT_OPTS", ""))  # as tests/conftest.py set them


def session_archive() -> Path:
    archives = [o.split("=", 1)[1] for o in SESSION_OPTIONS if o.startswith("-XX:SharedArchiveFile=")]
    assert archives, f"the test session has no class-data archive: {SESSION_OPTIONS}"
    return Path(archives[0])


@pytest.fixture
def cds(tmp_path, monkeypatch):
    """A private archive folder of this test's own, with no SPARK_SUBMIT_OPTS set around the task."""
    folder = tmp_path / "cds"
    monkeypatch.setenv(spark_class_data.ARCHIVE_DIR_ENV, str(folder))
    monkeypatch.delenv("SPARK_SUBMIT_OPTS", raising=False)
    monkeypatch.delenv("SPARK_CONF_DIR", raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "py-files"))
    return folder


def the_archive_in(folder: Path) -> Path:
    """Where the lookup expects this machine's archive (its name: the hash of this Spark and Java)."""
    key = spark_class_data.class_path_key(spark_class_data.spark_env(dict(os.environ)))
    return spark_submit.private_dir(folder) / f"spark-{key}.jsa"


def hook_env(master: str, monkeypatch, deploy_mode: str | None = None) -> dict[str, str]:
    extra = {"deploy-mode": deploy_mode} if deploy_mode else {}
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_CDS_TEST", json.dumps({"conn_type": "spark", "host": master,
                                                                   "extra": extra}))
    task = PackagedSparkSubmitOperator(task_id="t", application="/jobs/x.py", conn_id="spark_cds_test")
    return task._get_hook()._env_vars or {}


def test_a_local_driver_starts_from_the_archive_when_there_is_one(cds, monkeypatch):
    assert "SPARK_SUBMIT_OPTS" not in hook_env("local[2]", monkeypatch)  # none made yet: nothing changes
    archive = the_archive_in(cds)
    archive.write_bytes(b"archive")
    assert hook_env("local[2]", monkeypatch)["SPARK_SUBMIT_OPTS"] == f"-XX:SharedArchiveFile={archive}"
    # a standalone cluster in client mode: the driver is the spark-submit JVM here too
    assert hook_env("spark://127.0.0.1:7077", monkeypatch)["SPARK_SUBMIT_OPTS"].endswith(str(archive))
    monkeypatch.setenv("SPARK_SUBMIT_OPTS", "-Xmx2g")  # the user's own options are kept, the archive added
    assert hook_env("local[2]", monkeypatch)["SPARK_SUBMIT_OPTS"] == f"-Xmx2g -XX:SharedArchiveFile={archive}"


@pytest.mark.parametrize(("master", "deploy_mode"), [("spark://127.0.0.1:7077", "cluster"), ("yarn", None)])
def test_a_driver_started_elsewhere_is_left_alone(cds, monkeypatch, master, deploy_mode):
    the_archive_in(cds).write_bytes(b"archive")
    assert "SPARK_SUBMIT_OPTS" not in hook_env(master, monkeypatch, deploy_mode)


def test_an_archive_in_a_folder_others_can_write_is_not_used(cds, monkeypatch, capsys):
    the_archive_in(cds).write_bytes(b"archive")
    os.chmod(cds, 0o777)
    assert "SPARK_SUBMIT_OPTS" not in hook_env("local[2]", monkeypatch)
    assert "spark class-data archive not used" in capsys.readouterr().err


@pytest.mark.spark
def test_a_real_spark_submit_of_the_operator_maps_the_archive(cds, monkeypatch, tmp_path):
    cds.mkdir(mode=0o700)
    os.symlink(session_archive(), the_archive_in(cds))  # the session's archive, found by the lookup
    monkeypatch.setenv("SPARK_SUBMIT_OPTS", "-Xshare:on")  # a JVM that cannot map the archive fails to start
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_CDS_TEST", json.dumps({"conn_type": "spark", "host": "local[1]"}))
    app, out = tmp_path / "app.py", tmp_path / "out.txt"
    app.write_text("import sys\nfrom pyspark.sql import SparkSession\n"
                   "spark = SparkSession.builder.getOrCreate()\n"
                   "open(sys.argv[1], 'w').write(str(spark.range(3).count()))\nspark.stop()\n")
    task = PackagedSparkSubmitOperator(task_id="t", application=str(app), application_args=[str(out)],
                                       conn_id="spark_cds_test", conf={"spark.ui.enabled": "false"})
    hook = task._get_hook()
    assert hook._env_vars["SPARK_SUBMIT_OPTS"] == f"-Xshare:on -XX:SharedArchiveFile={the_archive_in(cds)}"
    hook.submit(str(app))
    assert out.read_text() == "3"
