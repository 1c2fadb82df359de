"""The one module that builds SparkSessions.

Jobs call :func:`get_spark` and never set a master: ``spark-submit --master ...`` (or
the Airflow connection behind SparkSubmitOperator) decides where the job runs. Tests
pass ``{"spark.master": "local[2]", "spark.ui.enabled": "false"}`` as ``conf``.

Tables are written and read through :mod:`weekly_discovery.spark.delta` (Delta Lake: one commit per date a
run writes), whose extension and catalog every session here gets (:func:`default_conf`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from weekly_discovery.core.errors import UserError

if TYPE_CHECKING:  # importing pyspark is cheap enough, but callers may only want the helpers
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

log = logging.getLogger(__name__)

SHUFFLE_PARTITIONS_ENV = "WEEKLY_DISCOVERY_SHUFFLE_PARTITIONS"
LOG_LEVEL_ENV = "WEEKLY_DISCOVERY_SPARK_LOG_LEVEL"
DEFAULT_LOG_LEVEL = "WARN"  # Spark's INFO lines would bury the job's own summary in task logs
DEFAULT_SHUFFLE_PARTITIONS = 8  # Spark's 200 is meant for clusters; a library has thousands of rows

SMALL_INPUT_ENV = "WEEKLY_DISCOVERY_SMALL_INPUT_MB"
DEFAULT_SMALL_INPUT_MB = 32
SMALL_INPUT_CONF = {
    "spark.sql.shuffle.partitions": "1",
    "spark.databricks.delta.snapshotPartitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}
"""A job whose input is below ``$WEEKLY_DISCOVERY_SMALL_INPUT_MB`` (default 32 MB; 0 turns this off) runs
with these: one shuffle partition, no adaptive re-planning, no whole-stage code generation, expressions
interpreted rather than compiled. Each pays off only at scale; on a personal library's few MB it is the
fixed cost of every query (a job per shuffle stage, a Java compile per stage and per projection; the
interpreted expressions took normalize on the demo's lake from 17.8 to 15.3 CPU s). Measured on the demo's enrich job: 15 s and 18 CPU s against 18 s and
23 CPU s (docs/benchmarks.md). A larger input (the 1M-track stress test, a big catalogue) keeps Spark's
defaults."""


class SparkSettingsError(UserError, ValueError):
    """A Weekly Discovery environment variable for Spark has a value it cannot use."""


def default_conf() -> dict[str, str]:
    """Settings every session gets unless ``conf`` overrides them.

    - UTC session time zone: Spotify timestamps are UTC and a partition must not depend on
      the machine's zone.
    - few shuffle partitions (``$WEEKLY_DISCOVERY_SHUFFLE_PARTITIONS``, default 8), and as many for Delta's
      snapshot state.
    - Parquet timestamps as INT64 microseconds (readable by pyarrow, pandas, DuckDB), not INT96.
    - no console progress bars (they garble Airflow task logs).
    - Delta Lake's SQL extension and catalog (:data:`weekly_discovery.spark.delta.SESSION_CONF`): every table
      of the lake is a Delta table.
    """
    from weekly_discovery.spark.delta import SESSION_CONF

    partitions = os.environ.get(SHUFFLE_PARTITIONS_ENV, str(DEFAULT_SHUFFLE_PARTITIONS))
    if not partitions.isdigit() or int(partitions) < 1:
        raise ValueError(f"{SHUFFLE_PARTITIONS_ENV} must be a positive integer, got {partitions!r}")
    return {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": partitions,
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.ui.showConsoleProgress": "false",
        # Delta rebuilds a table's state in this many tasks (its default, 50, is meant for logs of thousands of files)
        "spark.databricks.delta.snapshotPartitions": partitions,
        **SESSION_CONF,
    }


def small_input_mb(env: Mapping[str, str] | None = None) -> float:
    """The small-input threshold in MB (``$WEEKLY_DISCOVERY_SMALL_INPUT_MB``); a bad value names the fix."""
    env = os.environ if env is None else env
    text = env.get(SMALL_INPUT_ENV, "").strip()
    if not text:
        return float(DEFAULT_SMALL_INPUT_MB)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise SparkSettingsError(
            f"{SMALL_INPUT_ENV}={text!r} is not a size in MB: set a number such as {DEFAULT_SMALL_INPUT_MB} "
            "(0 gives every job Spark's own settings), or unset it")
    return value


def input_size_conf(input_bytes: int, submitted: Mapping[str, str] | None = None,
                    env: Mapping[str, str] | None = None) -> dict[str, str]:
    """:data:`SMALL_INPUT_CONF` for an input of ``input_bytes`` below :func:`small_input_mb`, else nothing.

    What the user chose stays: a key spark-submit already set (``--conf``, spark-defaults.conf, the Spark
    connection; ``submitted``), and the shuffle partitions when ``$WEEKLY_DISCOVERY_SHUFFLE_PARTITIONS`` is set.
    """
    env = os.environ if env is None else env
    if input_bytes >= small_input_mb(env) * 1024 * 1024:
        return {}
    chosen = set(submitted or {})
    if env.get(SHUFFLE_PARTITIONS_ENV):
        chosen.update(("spark.sql.shuffle.partitions", "spark.databricks.delta.snapshotPartitions"))
    return {key: value for key, value in SMALL_INPUT_CONF.items() if key not in chosen}


def submitted_conf() -> dict[str, str]:
    """What spark-submit set for this driver (its JVM's ``spark.*`` properties), before the session starts."""
    from pyspark import SparkConf

    return dict(SparkConf().getAll())


LOCAL_MASTER = re.compile(r"local(\[[^\]]*\])?")
DAEMON_MODULE_KEY = "spark.python.daemon.module"
EXECUTOR_PYTHONPATH_KEY = "spark.executorEnv.PYTHONPATH"


def package_root() -> str:
    """The folder (or the ``--py-files`` zip) that holds the ``weekly_discovery`` package this process runs."""
    import weekly_discovery

    return os.path.dirname(os.path.dirname(os.path.abspath(weekly_discovery.__file__)))


def python_worker_conf(master: str, chosen: Mapping[str, Any]) -> dict[str, str]:
    """For a local master: Spark's Python workers start from :mod:`weekly_discovery.spark.worker_daemon`, which
    imports the installed pyspark instead of spark-submit's zip copy (:mod:`weekly_discovery.spark.pythonpath`).

    Nothing for any other master (a cluster's executors may not have this package), nor when ``chosen`` (what
    spark-submit and the caller set) already names a daemon module or the executors' ``PYTHONPATH``, nor when
    this package was imported from a ``site-packages`` folder rather than the ``--py-files`` zip or a source tree.
    """
    if not LOCAL_MASTER.fullmatch(master.strip()) or DAEMON_MODULE_KEY in chosen or EXECUTOR_PYTHONPATH_KEY in chosen:
        return {}
    root = package_root()
    if _is_site_packages(root):  # the root would go before the standard library, and the workers' Python may differ
        return {}
    return {DAEMON_MODULE_KEY: "weekly_discovery.spark.worker_daemon", EXECUTOR_PYTHONPATH_KEY: root}


def _is_site_packages(folder: str) -> bool:
    import site

    folders = [*site.getsitepackages(), site.getusersitepackages()]
    return any(os.path.abspath(folder) == os.path.abspath(f) for f in folders)


def get_spark(app_name: str, conf: Mapping[str, Any] | None = None) -> "SparkSession":
    """Return the SparkSession for ``app_name`` with :func:`default_conf` plus ``conf``.

    No master is set here, so ``spark-submit --master`` wins; started from plain Python
    (tests) without ``spark.master`` in ``conf``, PySpark falls back to ``local[*]``.
    Spark's own log level is ``$WEEKLY_DISCOVERY_SPARK_LOG_LEVEL`` (default WARN) once the
    session is up. A local master's Python workers get :func:`python_worker_conf`.
    """
    from pyspark.sql import SparkSession

    settings = {**default_conf(), **(conf or {})}
    submitted = submitted_conf()
    master = settings.get("spark.master") or submitted.get("spark.master") or "local[*]"
    settings = {**python_worker_conf(str(master), {**submitted, **settings}), **settings}
    builder = SparkSession.builder.appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, _conf_value(value))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel(os.environ.get(LOG_LEVEL_ENV, DEFAULT_LOG_LEVEL))
    return session


def local_frame(spark: "SparkSession", rows: Sequence[Sequence[Any]], schema: "StructType") -> "DataFrame":
    """A DataFrame of ``rows`` held by the driver (tuples in ``schema``'s field order; none is fine;
    a timestamp as an aware ``datetime``).

    Built from an Arrow table, which the JVM reads as it is. ``spark.createDataFrame(rows, schema)``
    pickles the rows instead, and Spark then starts its Python worker daemon and two workers to read
    them back: ~1 CPU s and a second of every short job that needs no Python code on its executors
    (normalize, enrich, the file look-up)."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema

    arrow = to_arrow_schema(schema, timezone=spark.conf.get("spark.sql.session.timeZone"))
    columns = [pa.array([row[i] for row in rows], type=field.type) for i, field in enumerate(arrow)]
    return spark.createDataFrame(pa.Table.from_arrays(columns, schema=arrow), schema)


def _conf_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
