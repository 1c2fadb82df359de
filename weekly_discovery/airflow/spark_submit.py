"""Ship the project's code with every spark-submit, so a job runs the same on any cluster.

A job (``jobs/*.py``) imports :mod:`weekly_discovery`. In local mode the driver finds it installed
beside Airflow, but a cluster's executors (and, in YARN or Kubernetes cluster deploy mode, the driver
itself) run on machines where the project is not installed. So every submit passes the package as a
zip with ``--py-files``: Spark puts it on ``sys.path`` of the driver and of every Python worker, and
uploads it wherever it has to (standalone client mode serves it from the driver; YARN copies it to the
application's staging directory; Kubernetes needs ``spark.kubernetes.file.upload.path``).

The zip is built when the task runs, never when a DAG file is parsed, and named by a hash of its
content: the same code gives the same file, which is built once and reused by every later task.

A job's exit status says which kind of failure it was (:mod:`weekly_discovery.spark.runner`): the
operator turns ``USER_ERROR_EXIT`` into a failure without retry; any other failure is retried.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import logging
import os
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from weekly_discovery.core.errors import USER_ERROR_EXIT

log = logging.getLogger(__name__)

PACKAGE = "weekly_discovery"
CACHE_ENV = "WEEKLY_DISCOVERY_PY_FILES_DIR"
STALE_SECONDS = 7 * 24 * 3600
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps: the same sources give the same bytes


def cache_dir() -> Path:
    """Where built zips live: ``$WEEKLY_DISCOVERY_PY_FILES_DIR``, else a per-user folder in the temp dir."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(tempfile.gettempdir()) / f"weekly-discovery-py-files-{os.getuid()}"


def package_files(package: str = PACKAGE) -> tuple[Path, list[Path]]:
    """The package's folder and its files (sources and data; no ``__pycache__``), sorted."""
    module = importlib.import_module(package)
    root = Path(module.__file__).resolve().parent
    files = sorted(
        p for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.relative_to(root).parts and p.suffix not in (".pyc", ".pyo")
    )
    return root, files


def package_zip(package: str = PACKAGE, directory: Path | None = None) -> Path:
    """Return a zip of ``package`` as installed now, building it if no zip of this content exists.

    The archive holds ``<package>/...`` at its top level, as ``--py-files`` expects. It is written
    under a temporary name and renamed into place, so concurrent tasks never read half a zip.
    """
    root, files = package_files(package)
    members = [(f, f.relative_to(root.parent).as_posix()) for f in files]
    digest = hashlib.sha256()
    for path, name in members:
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    folder = directory or cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{package}-{digest.hexdigest()[:16]}.zip"
    if target.is_file():
        return target
    from weekly_discovery.lake.storage import write_atomic

    buffer = io.BytesIO()  # the package's code only: a few hundred kB
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, name in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    write_atomic(target, buffer.getvalue())  # concurrent tasks may build the same zip: the last rename wins
    log.info("built %s from %s (%d files)", target, root, len(members))
    _remove_stale(folder, package, keep=target)
    return target


def _remove_stale(folder: Path, package: str, keep: Path) -> None:
    """Delete zips of older code that no task has used for a week."""
    cutoff = time.time() - STALE_SECONDS
    for old in folder.glob(f"{package}-*.zip"):
        try:
            if old != keep and old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:
            pass


class PackagedSparkSubmitOperator(SparkSubmitOperator):
    """``SparkSubmitOperator`` that adds the ``weekly_discovery`` package to ``--py-files`` at run time.

    ``py_files`` given to the constructor (rendered) are submitted after the package zip. A job that
    exits with ``USER_ERROR_EXIT`` fails the task at once (no retry): its log names the fix.
    """

    def execute(self, context: Any) -> Any:
        self.add_lake_storage()
        archive = package_zip()
        os.utime(archive)  # in use: keep it out of the stale clean-up
        self.py_files = ",".join(p for p in (str(archive), self.py_files) if p)
        self._hook = None  # the hook copies py_files when it is created
        self.log.info("shipping %s with --py-files", archive)
        try:
            return super().execute(context)
        except AirflowException as exc:
            if job_exit_code(self._hook) == USER_ERROR_EXIT:
                raise AirflowFailException(
                    f"{self.task_id}: the Spark job stopped on a user error (exit status {USER_ERROR_EXIT}); "
                    "retrying won't help. Read the job's log above for what to fix, then rerun."
                ) from exc
            raise

    def add_lake_storage(self, connection_getter: Any = None) -> None:
        """Add what the job needs to reach the lake: the Spark connection's ``extra.conf`` (e.g.
        ``spark.jars.packages`` for the Hadoop S3/GCS connector) and, for an object-store lake, the
        settings derived from the lake's connection or environment (:func:`weekly_discovery.lake.storage.spark_storage`).

        Run at execute time, after templating: the lake root is the rendered ``--lake`` argument.
        """
        from airflow.sdk.exceptions import AirflowNotFoundException

        from weekly_discovery.lake import storage as lake_storage

        getter = connection_getter or _airflow_connection
        try:
            extra = getter(self._conn_id).extra_dejson or {}
        except AirflowNotFoundException:  # the hook falls back to its defaults too
            extra = {}
        user_conf = extra.get("conf") or {}
        if not isinstance(user_conf, dict):
            raise ValueError(f"connection {self._conn_id}: extra.conf must be an object of Spark settings")
        storage = lake_storage.spark_storage(lake_root_arg(self.application_args) or "", connection_getter=getter)
        self.conf = {**(self.conf or {}), **storage.conf, **{k: str(v) for k, v in user_conf.items()}}
        if storage.env:
            self.env_vars = {**(self.env_vars or {}), **storage.env}
        self._hook = None  # the hook copies conf and env_vars when it is created
        if storage.conf or user_conf:
            self.log.info("lake storage settings: %s", ", ".join(sorted({*storage.conf, *user_conf})))


def job_exit_code(hook: Any) -> int | None:
    """The job's exit status as the spark-submit hook saw it, or None when it cannot be known.

    In Kubernetes cluster mode the hook reads the driver's status from the log (``_spark_exit_code``);
    in client mode (local or a standalone cluster) spark-submit exits with the Python driver's own
    status. A standalone cluster-mode driver is only polled for its state: no status, so None.
    """
    if hook is None:
        return None
    if getattr(hook, "_is_kubernetes", False) and getattr(hook, "_spark_exit_code", None) is not None:
        return hook._spark_exit_code
    process = getattr(hook, "_submit_sp", None)
    return getattr(process, "returncode", None)


def lake_root_arg(args: Any) -> str | None:
    """The value after ``--lake`` in a job's (rendered) arguments."""
    args = list(args or [])
    for flag, value in zip(args, args[1:]):
        if flag == "--lake":
            return str(value)
    return None


def _airflow_connection(conn_id: str) -> Any:
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)
