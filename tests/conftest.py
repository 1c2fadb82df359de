"""Shared test set-up: the environment Spark and Airflow need, and the shared data folder.

`make test` exports the same variables; setting them here too lets a developer run
`.venv/bin/pytest tests/...` directly.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
VENV_BIN = Path(sys.executable).parent

# spark-submit finds SPARK_HOME through `python3` on PATH, which may be another Python:
# point it at this interpreter's pyspark explicitly (see docs/stack.md).
import pyspark  # noqa: E402

for _name, _value in {
    "SPARK_HOME": str(Path(pyspark.__file__).parent),
    "PYSPARK_PYTHON": sys.executable,
    "PYSPARK_DRIVER_PYTHON": sys.executable,
    "SPARK_LOCAL_IP": "127.0.0.1",
}.items():
    if not os.environ.get(_name):  # unset or empty
        os.environ[_name] = _value
os.environ["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

# Airflow reads AIRFLOW_HOME when first imported: give the test session a throwaway one.
_SESSION_TMP = Path(tempfile.mkdtemp(prefix="wd-test-session-"))
os.environ["AIRFLOW_HOME"] = str(_SESSION_TMP / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__CORE__PARALLELISM", "4")
# Airflow puts the DAG and plugin folders on sys.path; so do the tests, which import a DAG file or the plugin
# like any module (``import weekly_recommendations``).
for _folder in ("dags", "plugins"):
    if str(REPO / _folder) not in sys.path:
        sys.path.append(str(REPO / _folder))

# Every Spark JVM the tests start (spark-submit, the in-process sessions, a cluster's executors) gets the
# demo's small-job settings through SPARK_SUBMIT_OPTS (devtools.demo.small_job_env): no UI, C1 JIT only, and
# the class-data archive of Spark's classes (weekly_discovery.airflow.spark_class_data, made once per
# machine). The suite keeps both cores busy: C2's compiler threads were ~40% of a short job's CPU
# (tests/ingest/test_normalize_job.py: 54 s of user CPU with C2, 32 s with C1), and loading Spark's classes
# half of a trivial job's. A developer's own SPARK_SUBMIT_OPTS is kept. The controller of an xdist run
# imports this file first, so the archive is made once, before the workers start.
from devtools.demo import small_job_env  # noqa: E402

if "SPARK_SUBMIT_OPTS" not in os.environ:
    os.environ["SPARK_SUBMIT_OPTS"] = small_job_env(dict(os.environ), executors=True)["SPARK_SUBMIT_OPTS"]

from tests.util.spark import spark  # noqa: E402,F401 - the shared SparkSession fixture, for every folder


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, present in CI; a user's clone may lack it (tests using it skip there)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (it exists beside the repo in CI only)")
    return SHARED_DATA


# The longest files, longest first (each file's set-up and tests, from a junit report of `make test` on 2 cores,
# 2026-12-05, with the class-data archive: 235, 217, 112, 107, 66, 55, 48, 48 s). With --no-loadscope-reorder
# (the Makefile) xdist's loadfile hands files out in collection order as workers free up, so starting the longest
# first keeps one long file from running alone at the end. Without it xdist hands out the files with the most
# tests first: the one-test browser and services files started 6 and 8.5 minutes in, and one worker idled for
# the last 70 s (tests/project/test_test_order.py runs the Makefile's own options).
LONGEST_FILES = (
    "tests/e2e/test_pipeline.py",
    "tests/e2e/test_pipeline_on_bucket.py",
    "tests/run/test_make_run.py",
    "tests/cluster/test_spark_standalone.py",
    "tests/services/test_airflow_services.py",
    "tests/recommend/test_train_score_jobs.py",
    "tests/reliability/test_rerun_keeps_later_dates.py",
    "tests/enrich/test_enrich_jobs.py",
    "tests/reliability/test_spark_write_crash.py",
)


def pytest_collection_modifyitems(session, config, items):
    """The longest files first (:data:`LONGEST_FILES`), then the other end-to-end files, then the rest (a
    stable sort: the order within a file is kept), so that with `make test`'s two workers (pytest-xdist,
    one file per worker at a time) the long runs start early and the short files fill the gaps."""
    def key(item):
        path = item.path.relative_to(REPO).as_posix() if item.path.is_relative_to(REPO) else ""
        if path in LONGEST_FILES:
            return (0, LONGEST_FILES.index(path))
        return (1 if item.get_closest_marker("e2e") else 2, 0)

    items.sort(key=key)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_TMP, ignore_errors=True)
