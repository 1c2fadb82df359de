"""The in-process test sessions: the shared ``spark`` fixture (tests/conftest.py offers it to every folder) and
their settings.

Their inputs are a few hundred rows, so they run as a job on a personal library runs in production:
with :data:`weekly_discovery.spark.session.SMALL_INPUT_CONF` (no adaptive query execution, no whole-stage
code generation; ``spark.sql.shuffle.partitions`` aside), which the jobs take for any input under 32 MB
(:func:`weekly_discovery.spark.session.input_size_conf`). Two shuffle partitions, not the jobs' one, so
that a result that must not depend on how rows are partitioned is checked across two.

Spark's defaults (adaptive execution and code generation on, what a lake above the threshold gets) are
checked by tests/ingest/test_normalize_memory.py (:data:`LARGE_INPUT_CONF`: the normalize transforms that
guard the 1M-track job), by the real spark-submit of tests/report/test_report_job.py with the rule turned off,
and by the benchmarks."""

from __future__ import annotations

import contextlib
import os
import sys
import time

import pytest

from weekly_discovery.spark.session import SMALL_INPUT_CONF

# PySpark turns timestamps into naive datetimes in the Python process's local zone; pin it
# so expected values written in UTC hold on any machine (sessions use UTC, see get_spark).
os.environ["TZ"] = "UTC"
time.tzset()

IN_PROCESS_CONF = {
    "spark.master": "local[2]",
    "spark.ui.enabled": False,
    **SMALL_INPUT_CONF,
    "spark.sql.shuffle.partitions": 2,
    "spark.default.parallelism": 2,
}
"""A test session's conf (``get_spark``). One JVM serves a test worker: on a session another test package
started first, ``getOrCreate`` sets the runtime keys again and leaves the rest."""

LARGE_INPUT_CONF = {**IN_PROCESS_CONF, "spark.sql.adaptive.enabled": "true", "spark.sql.codegen.wholeStage": "true",
                    "spark.sql.codegen.factoryMode": "FALLBACK"}
"""Spark's defaults for adaptive execution and code generation, as an input above the threshold gets them."""


@contextlib.contextmanager
def runtime_conf(session, conf: dict):
    """``conf``'s runtime SQL keys set on ``session`` for a block, then the previous values back (the JVM and
    its session serve the test worker's other packages too)."""
    keys = [key for key in conf if key.startswith("spark.sql.")]
    before = {key: session.conf.get(key, None) for key in keys}
    for key in keys:
        session.conf.set(key, str(conf[key]).lower())
    try:
        yield session
    finally:
        for key, value in before.items():
            if value is None:
                session.conf.unset(key)
            else:
                session.conf.set(key, value)


@pytest.fixture(scope="session")
def spark():
    """One SparkSession for every Spark test of a test worker: starting a JVM costs ~10 s, so it is shared
    (``getOrCreate``). Only a test that asks for ``spark`` starts it."""
    from weekly_discovery.spark.session import get_spark

    session = get_spark("weekly-discovery-tests", IN_PROCESS_CONF)
    with runtime_conf(session, IN_PROCESS_CONF):  # in case another package's session came first
        yield session
    session.stop()


def without_python_workers() -> list[str]:
    """spark-submit options under which a job fails as soon as its executors need Python (Spark's worker
    daemon cannot start: ``/bin/false``), the driver keeping this interpreter. Normalize, enrich and the
    file look-up run no Python code on their executors
    (:func:`weekly_discovery.spark.session.local_frame`); their job tests submit them this way."""
    return ["--conf", "spark.pyspark.python=/bin/false", "--conf", f"spark.pyspark.driver.python={sys.executable}"]
