"""Class-data sharing for Spark's JVM: jobs start from an archive of the classes Spark loads.

A Spark JVM loads several thousand classes from Spark's jars at every start, about 3-4 s of a short job
on 2 cores. JDK 17's dynamic CDS archive (``-XX:ArchiveClassesAtExit``) records the classes of one run; a
later JVM given ``-XX:SharedArchiveFile`` maps them instead of loading them (``python -m
benchmarks.spark_start``: a trivial job 7.0 -> 4.1 s wall, 7.9 -> 4.7 CPU s).

Who uses it:

- ``make setup`` makes it (``python -m weekly_discovery.airflow.spark_class_data``; again after a Spark or
  Java upgrade), and so do ``make demo`` and the tests on first use (:func:`ensure_archive`);
- the DAGs' spark-submits (:class:`weekly_discovery.airflow.spark_submit.PackagedSparkSubmitOperator`)
  start their driver JVM from it when it exists and the driver runs in the spark-submit process (local
  mode, a standalone cluster in client mode): :func:`driver_java_options`. A task never makes one.

The JVM's rules, which shape this module:

- an archive holds only for the ``java`` and the class path it was dumped with (Spark's conf folder, then
  its jars, each with its size and modified time): it is named by a hash of those, so a new or reinstalled
  Spark, or another Java, gets a new one. A JVM given an archive that does not match warns on stderr and
  starts the slow way; nothing else changes;
- it cannot be dumped while a non-empty folder is on the class path, and Spark puts its conf folder
  (``$SPARK_CONF_DIR``, else ``$SPARK_HOME/conf``) first: with such a folder there is no archive (the
  demo's and the tests' small-job settings go in ``SPARK_SUBMIT_OPTS`` for that reason, see
  :func:`devtools.demo.small_job_env`);
- the JVM maps the archive as code, so it lives in a private folder (0700, this user's: another user
  must not be able to plant one; :func:`weekly_discovery.airflow.private_folder.private_dir`), is
  made under a lock by a real spark-submit of :func:`warm_up`, and renamed into place when complete.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from weekly_discovery.airflow.private_folder import PrivateDirError, private_dir, remove_stale

ARCHIVE_DIR_ENV = "WEEKLY_DISCOVERY_CDS_DIR"
STALE_SECONDS = 7 * 24 * 3600
DUMP_TIMEOUT_S = 600
WARM_UP_VERSION = "2: Delta"  # in the archive's key: a warm-up that loads other classes makes a new archive


def cds_dir() -> Path:
    configured = os.environ.get(ARCHIVE_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "weekly-discovery" / "spark-cds"


def spark_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` with what spark-submit needs to find this venv's pyspark and Python, where unset. pyspark is
    located, not imported: the operator calls this in every Spark task."""
    import importlib.util

    defaults = {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    if not env.get("SPARK_HOME"):
        defaults["SPARK_HOME"] = str(Path(importlib.util.find_spec("pyspark").origin).parent)
    return {**env, **{k: v for k, v in defaults.items() if not env.get(k)}}


def _java(env: dict[str, str]) -> str:
    """The ``java`` spark-class runs: ``$JAVA_HOME/bin/java``, else the first on PATH."""
    if env.get("JAVA_HOME"):
        return str(Path(env["JAVA_HOME"]) / "bin" / "java")
    return shutil.which("java", path=env.get("PATH")) or "java"


def class_path_key(env: dict[str, str]) -> str | None:
    """A hash of what an archive depends on, or None when Spark's class path cannot be archived."""
    spark_home = Path(env["SPARK_HOME"]).resolve()
    conf = Path(env.get("SPARK_CONF_DIR") or spark_home / "conf")
    if conf.is_dir() and any(conf.iterdir()):
        return None  # a non-empty folder on the class path: the JVM refuses to dump
    java = _java(env)
    version = subprocess.run([java, "-Xshare:auto", "-version"], capture_output=True, text=True, check=True).stderr
    # The JVM checks each jar's size and modified time against the archive: a reinstalled Spark (same jars,
    # new files) needs a new archive, so both are in the key.
    jars = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in (spark_home / "jars").glob("*.jar"))
    text = "\n".join([os.path.realpath(java), version, str(spark_home), str(conf), repr(jars), WARM_UP_VERSION])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def ensure_archive(env: dict[str, str], java_options: str = "") -> Path | None:
    """The archive for ``env``'s Spark and Java, created now if missing (~30 s, once); None if impossible.

    ``java_options`` are the JVM options the jobs will run with (the dump runs with them too). Any failure
    to create the archive is printed and returns None: jobs then start without it, as before.
    """
    env = spark_env(env)
    try:
        key = class_path_key(env)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"spark class-data archive: none ({exc})", file=sys.stderr)
        return None
    if key is None:
        return None
    folder = private_dir(cds_dir())
    archive = folder / f"spark-{key}.jsa"
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one dump at a time; the others wait and then find it
        if not archive.is_file():
            _dump(env, java_options, archive)
        remove_stale(folder, ["spark-*.jsa", "spark-*.partial"], STALE_SECONDS, keep=archive)
    if not archive.is_file():
        return None
    os.utime(archive)  # in use: not stale
    return archive


def _dump(env: dict[str, str], java_options: str, archive: Path) -> None:
    partial = archive.with_name(f"{archive.name}.{os.getpid()}.partial")
    log = archive.with_name(f"{archive.stem}.dump.log")
    started = time.monotonic()
    dump_env = {**env, "SPARK_SUBMIT_OPTS": f"{java_options} -XX:ArchiveClassesAtExit={partial}".strip()}
    command = [str(Path(env["SPARK_HOME"]) / "bin" / "spark-submit"), "--master", "local[2]",
               "--conf", "spark.ui.enabled=false", __file__, "--warm-up"]
    with log.open("w") as out:
        try:
            status = subprocess.run(command, env=dump_env, stdout=out, stderr=subprocess.STDOUT,
                                    timeout=DUMP_TIMEOUT_S, check=False).returncode
        except subprocess.TimeoutExpired:
            status = f"no exit within {DUMP_TIMEOUT_S} s"
    if status == 0 and partial.is_file():
        os.replace(partial, archive)
        log.unlink()
        print(f"spark class-data archive: created {archive} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    else:
        partial.unlink(missing_ok=True)
        print(f"spark class-data archive: not created (exit {status}; see {log}); Spark starts without it",
              file=sys.stderr)


def existing_archive(env: dict[str, str]) -> Path | None:
    """The archive for ``env``'s Spark and Java if one was made, else None; never makes one (cheap: one
    ``java -version``). A folder that is not private is not used (see the module's docstring)."""
    try:
        key = class_path_key(spark_env(env))
    except (OSError, subprocess.CalledProcessError):
        return None
    if key is None or not cds_dir().is_dir():
        return None
    try:
        archive = private_dir(cds_dir()) / f"spark-{key}.jsa"
    except PrivateDirError as exc:
        print(f"spark class-data archive not used: {exc}", file=sys.stderr)
        return None
    if not archive.is_file():
        return None
    os.utime(archive)  # in use: not stale
    return archive


def driver_java_options(env: dict[str, str]) -> str | None:
    """``SPARK_SUBMIT_OPTS`` for a driver started from the archive, or None (no archive, or one already set)."""
    current = env.get("SPARK_SUBMIT_OPTS", "")
    if "-XX:SharedArchiveFile=" in current or "-Xshare:off" in current:
        return None
    archive = existing_archive(env)
    return f"{current} {shared_archive_option(archive)}".strip() if archive else None


def shared_archive_option(archive: Path | None) -> str:
    return f"-XX:SharedArchiveFile={archive}" if archive else ""


def warm_up() -> None:
    """What the jobs do, in small: the classes they load go in the archive."""
    import pandas as pd
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import SparkSession, Window
    from pyspark.sql import functions as F

    from weekly_discovery.spark.delta import SESSION_CONF

    builder = SparkSession.builder.appName("weekly_discovery_cds_warm_up")
    for key, value in SESSION_CONF.items():  # every table is a Delta table: its classes are most of a short job's
        builder = builder.config(key, value)
    spark = builder.config("spark.databricks.delta.snapshotPartitions", "1").getOrCreate()
    spark.conf.set("spark.sql.shuffle.partitions", "2")
    folder = Path(spark.conf.get("spark.local.dir", "/tmp")) / f"wd-cds-{os.getpid()}"
    try:
        frame = spark.createDataFrame(pd.DataFrame({"id": range(200), "x": [i / 200 for i in range(200)]}))
        frame = frame.withColumn("label", (F.col("x") > 0.5).cast("double")).withColumn("k", F.col("id") % 7)
        frame.write.mode("overwrite").partitionBy("k").parquet(str(folder / "parquet"))
        as_json = F.to_json(F.struct("id", F.col("x").alias("y"))).alias("value")
        frame.select(as_json).write.mode("overwrite").text(str(folder / "json"))
        back = spark.read.parquet(str(folder / "parquet")).join(spark.read.json(str(folder / "json")), "id", "left")
        ranked = back.withColumn("rank", F.row_number().over(Window.partitionBy("k").orderBy(F.desc("x"))))
        ranked.groupBy("k").agg(F.count("*"), F.avg("x"), F.collect_list("id")).collect()
        ranked.mapInPandas(lambda batches: (b[["id", "x"]] for b in batches), "id long, x double").count()
        _delta_warm_up(spark, frame, folder / "delta")
        data = VectorAssembler(inputCols=["x"], outputCol="features").transform(frame)
        LogisticRegression(maxIter=5).fit(data).transform(data).select("probability").collect()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        spark.stop()


def _delta_warm_up(spark: Any, frame: Any, folder: Path) -> None:
    """A date written twice with replaceWhere, a MERGE, a read and the history, as the jobs do."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    table = str(folder)
    for ds in ("2026-01-05", "2026-01-12", "2026-01-05"):
        (frame.withColumn("ds", F.lit(ds)).write.format("delta").mode("overwrite")
         .option("replaceWhere", f"ds = '{ds}'").option("userMetadata", "{}").partitionBy("ds").save(table))
    (DeltaTable.forPath(spark, table).alias("t").merge(frame.withColumn("ds", F.lit("2026-01-19")).alias("s"),
                                                        "t.id = s.id AND t.ds = s.ds")
     .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
    spark.read.format("delta").load(table).where(F.col("ds") == "2026-01-05").count()
    spark.sql(f"DESCRIBE HISTORY delta.`{table}`").collect()


if __name__ == "__main__":
    if sys.argv[1:] == ["--warm-up"]:
        warm_up()
    else:
        try:
            print(ensure_archive(dict(os.environ)) or "no class-data archive: Spark jobs start without one")
        except PrivateDirError as exc:  # optional: say why, and let the set-up go on
            print(f"no class-data archive: {exc}", file=sys.stderr)
