"""Which ``pyspark.zip`` on a Python path is the installed pyspark's own copy, and what Spark is told about the
worker daemon (:mod:`weekly_discovery.spark.pythonpath`, :func:`weekly_discovery.spark.session.python_worker_conf`).

The layouts are built here in a temporary folder: a ``site-packages`` with a pyspark package that carries
``python/lib/pyspark.zip`` as the pip package does, a Spark distribution whose zip is its only pyspark, and
paths mixing them. The real spark-submit is in tests/spark/test_installed_pyspark.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from weekly_discovery.spark.pythonpath import prefer_installed_pyspark
from weekly_discovery.spark.session import (
    DAEMON_MODULE_KEY,
    EXECUTOR_PYTHONPATH_KEY,
    python_worker_conf,
)

REPO = Path(__file__).resolve().parents[2]


def pip_pyspark(site: Path) -> Path:
    """``site/pyspark`` as pip installs it: the package, and its zip copy under python/lib."""
    package = site / "pyspark"
    (package / "python" / "lib").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "python" / "lib" / "pyspark.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip
    return package / "python" / "lib" / "pyspark.zip"


def test_the_installed_packages_own_zip_is_dropped(tmp_path):
    site = tmp_path / "site-packages"
    zip_path = pip_pyspark(site)
    py4j = str(zip_path.parent / "py4j-0.10.9.9-src.zip")
    path = ["/jobs", "/cache/weekly_discovery-abc.zip", str(zip_path), py4j, "/usr/lib/python3.11", str(site)]
    assert prefer_installed_pyspark(path, modules={}) == str(zip_path)
    assert path == ["/jobs", "/cache/weekly_discovery-abc.zip", py4j, "/usr/lib/python3.11", str(site)]


def test_a_zip_that_is_the_only_pyspark_stays(tmp_path):
    # a Spark distribution's python/lib/pyspark.zip, and no pyspark installed: the zip is the package
    distribution = tmp_path / "spark-4.2.0-bin-hadoop3" / "python" / "lib"
    distribution.mkdir(parents=True)
    (distribution / "pyspark.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    path = [str(distribution / "pyspark.zip"), str(tmp_path / "empty-site")]
    assert prefer_installed_pyspark(path, modules={}) is None
    assert path == [str(distribution / "pyspark.zip"), str(tmp_path / "empty-site")]


def test_a_zip_of_another_pyspark_than_the_one_installed_stays(tmp_path):
    other = pip_pyspark(tmp_path / "other-venv" / "site-packages")  # SPARK_HOME of another environment
    site = tmp_path / "site-packages"
    pip_pyspark(site)
    path = [str(other), str(site)]
    assert prefer_installed_pyspark(path, modules={}) is None
    assert path == [str(other), str(site)]


def test_nothing_changes_once_pyspark_is_imported(tmp_path):
    site = tmp_path / "site-packages"
    zip_path = pip_pyspark(site)
    path = [str(zip_path), str(site)]
    assert prefer_installed_pyspark(path, modules={"pyspark": object()}) is None
    assert path == [str(zip_path), str(site)]


def test_local_masters_get_the_daemon_and_the_package_on_the_executors_path():
    for master in ("local", "local[2]", "local[*]", " local[4] "):
        conf = python_worker_conf(master, {})
        assert conf[DAEMON_MODULE_KEY] == "weekly_discovery.spark.worker_daemon", master
        assert (Path(conf[EXECUTOR_PYTHONPATH_KEY]) / "weekly_discovery" / "__init__.py").is_file()


@pytest.mark.parametrize("master", ["spark://10.0.0.5:7077", "yarn", "k8s://https://kube:6443",
                                    "local-cluster[2,1,1024]"])
def test_other_masters_keep_sparks_daemon(master):
    assert python_worker_conf(master, {}) == {}


@pytest.mark.parametrize("key", [DAEMON_MODULE_KEY, EXECUTOR_PYTHONPATH_KEY])
def test_a_users_own_daemon_or_executor_path_wins(key):
    assert python_worker_conf("local[2]", {key: "theirs"}) == {}


def test_every_job_imports_the_installed_pyspark_first():
    """The module must run before anything imports pyspark: it is each job's first import."""
    for job in sorted((REPO / "jobs").glob("*.py")):
        tree = ast.parse(job.read_text())
        imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                   and not (isinstance(node, ast.ImportFrom) and node.module == "__future__")]
        first = imports[0]
        assert isinstance(first, ast.Import) and [a.name for a in first.names] == [
            "weekly_discovery.spark.installed_pyspark"], f"{job.name}: first import is {ast.unparse(first)}"


def test_a_package_installed_in_site_packages_keeps_sparks_daemon(monkeypatch):
    # its folder would go before the standard library on the workers' path, and PYSPARK_PYTHON may be
    # another interpreter, without the package
    import site

    monkeypatch.setattr("weekly_discovery.spark.session.package_root", lambda: site.getsitepackages()[0])
    assert python_worker_conf("local[2]", {}) == {}
