"""The settings of the in-process test sessions (tests/spark, tests/reliability, tests/ingest).

Their inputs are a few hundred rows, so they run as a job on a personal library runs in production:
with :data:`weekly_discovery.spark.session.SMALL_INPUT_CONF` (no adaptive query execution, no whole-stage
code generation; ``spark.sql.shuffle.partitions`` aside), which the jobs take for any input under 32 MB
(:func:`weekly_discovery.spark.session.input_size_conf`). Two shuffle partitions, not the jobs' one, so
that a result that must not depend on how rows are partitioned is checked across two.

Spark's defaults (adaptive execution and code generation on, what a large lake gets) are checked by the
real spark-submit of tests/jobs/test_report_job.py with the rule turned off, and by the benchmarks."""

from __future__ import annotations

import sys

from weekly_discovery.spark.session import SMALL_INPUT_CONF

IN_PROCESS_CONF = {
    "spark.master": "local[2]",
    "spark.ui.enabled": False,
    **SMALL_INPUT_CONF,
    "spark.sql.shuffle.partitions": 2,
    "spark.default.parallelism": 2,
}
"""A test session's conf (``get_spark``). One JVM serves a test worker: on a session another test package
started first, ``getOrCreate`` sets the runtime keys again and leaves the rest."""


def without_python_workers() -> list[str]:
    """spark-submit options under which a job fails as soon as its executors need Python (Spark's worker
    daemon cannot start: ``/bin/false``), the driver keeping this interpreter. Normalize, enrich and the
    file look-up run no Python code on their executors
    (:func:`weekly_discovery.spark.session.local_frame`); their job tests submit them this way."""
    return ["--conf", "spark.pyspark.python=/bin/false", "--conf", f"spark.pyspark.driver.python={sys.executable}"]
