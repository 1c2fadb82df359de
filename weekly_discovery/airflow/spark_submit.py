"""Ship the project's code with every spark-submit, so a job runs the same on any cluster.

A job (``jobs/*.py``) imports :mod:`weekly_discovery`. In local mode the driver finds it installed
beside Airflow, but a cluster's executors (and, in YARN or Kubernetes cluster deploy mode, the driver
itself) run on machines where the project is not installed. So every submit passes the package as a
zip with ``--py-files``: Spark puts it on ``sys.path`` of the driver and of every Python worker, and
uploads it wherever it has to (standalone client mode serves it from the driver; YARN copies it to the
application's staging directory; Kubernetes needs ``spark.kubernetes.file.upload.path``).

The zip is built when the task runs, never when a DAG file is parsed, and named by the sha256 of its
bytes: the same code gives the same file, written once and reused by every later task. It lives in a
private folder (:func:`~weekly_discovery.airflow.private_folder.private_dir`: 0700, owned by this user, in folders no other user can write in,
else refused) and a cached zip is reused only if its bytes still hash to its name, so no other local
user can plant code that Spark would run as this one.

Settings that may carry secrets never go on the spark-submit command line (readable by every local
user in ``ps``, and copied to the task log): the Spark connection's ``extra.conf``, the lake's derived
settings, credential-named keys of the task's ``conf`` and, on YARN or Kubernetes, the job's
environment (which the provider would turn into ``--conf ...appMasterEnv.*``) go in a 0600
``--properties-file`` written in the private folder for the submit and removed afterwards
(:class:`PrivateSettingsSparkSubmitHook`); credential values are registered with Airflow's secret masker,
and the file sets ``spark.redaction.regex`` so that Spark's UI and event logs hide them too.

A job's exit status says which kind of failure it was (:mod:`weekly_discovery.spark.runner`): the
operator turns ``USER_ERROR_EXIT`` into a failure without retry; any other failure is retried.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import logging
import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from airflow.sdk.log import mask_secret

from weekly_discovery.airflow.private_folder import private_dir, remove_stale
from weekly_discovery.core.errors import USER_ERROR_EXIT

log = logging.getLogger(__name__)

PACKAGE = "weekly_discovery"
STALE_SECONDS = 7 * 24 * 3600
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps: the same sources give the same bytes


# Words that make a setting's or environment variable's name a credential's: ``fs.s3a.secret.key``,
# ``fs.s3a.encryption.key`` (SSE-C/KMS), ``fs.gs.encryption.key`` (GCS CSEK), ``fs.azure.account.key.*``,
# SAS tokens, URL signatures, keytabs... Their values are registered with the secret masker, and such keys
# of the task's ``conf`` go in the properties file. Every setting that goes through the properties file is
# kept off the command line whatever its name; this rule decides masking, so flags and numbers such as
# ``spark.io.encryption.enabled=false`` are not masked (that would hide "false" from the whole task log).
CREDENTIAL_KEY = re.compile(r"key|secret|token|passw(?:or)?d|credential(?!s?\.provider)|encryption|sas|signature",
                            re.IGNORECASE)
NOT_A_SECRET = re.compile(r"true|false|\d*", re.IGNORECASE)  # a whole value
# Spark's own rule for what its UI, event logs and YARN logs show as *********(redacted) (keys or values):
# its default, ``(?i)secret|password|token|access[.]?key``, misses encryption, account and SAS keys. The same
# words, set in every properties file unless the connection's ``extra.conf`` or the task's ``conf`` sets it.
SPARK_REDACTION_REGEX = "(?i)key|secret|token|password|passwd|credential|encryption|sas|signature"


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
    """Return a zip of ``package`` as installed now, in the private folder :func:`private_dir`.

    The archive holds ``<package>/...`` at its top level, as ``--py-files`` expects. It is built in
    memory every time (the package's code only: a few hundred kB, deterministic bytes) and named by
    the full sha256 of those bytes; a file already there is reused only if its own bytes hash to that
    name, else it is replaced. It is written under a temporary name and renamed into place, so
    concurrent tasks never read half a zip.
    """
    root, files = package_files(package)
    members = [(f, f.relative_to(root.parent).as_posix()) for f in files]
    folder = private_dir(directory)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, name in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    target = folder / f"{package}-{digest}.zip"
    if _file_sha256(target) == digest:
        return target
    if target.exists():
        log.warning("%s does not hash to its name: replacing it", target)
    from weekly_discovery.lake.storage import write_atomic

    write_atomic(target, data)  # concurrent tasks may build the same zip: the last rename wins
    log.info("built %s from %s (%d files)", target, root, len(members))
    _remove_stale(folder, package, keep=target)
    return target


def _file_sha256(path: Path) -> str | None:
    """The sha256 of a regular file's bytes (not through a symlink), or None if there is no such file."""
    try:
        with open(path, "rb", opener=lambda p, flags: os.open(p, flags | os.O_NOFOLLOW)) as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:  # missing, a symlink (O_NOFOLLOW), unreadable
        return None


def _remove_stale(folder: Path, package: str, keep: Path) -> None:
    """Delete zips of older code that no task has used for a week."""
    remove_stale(folder, [f"{package}-*.zip"], STALE_SECONDS, keep=keep)


def is_credential_key(key: str) -> bool:
    """Whether a Spark setting or environment variable named ``key`` holds a credential."""
    return bool(CREDENTIAL_KEY.search(key))


def _escape_properties(text: str, is_key: bool) -> str:
    """``text`` escaped for a Java properties file (read as UTF-8 by spark-submit)."""
    out = []
    for i, ch in enumerate(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch in "\n\r\t\f":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}[ch])
        elif (is_key and ch in "=: #!") or (ch == " " and i == 0):
            out.append("\\" + ch)
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def properties_text(settings: Mapping[str, str]) -> str:
    """``settings`` as the text of a Java properties file, one ``key=value`` line each."""
    return "".join(f"{_escape_properties(k, True)}={_escape_properties(str(v), False)}\n"
                   for k, v in settings.items())


PROPERTIES_STALE_SECONDS = 24 * 3600
"""Age after which a left-over properties file (a worker killed mid-submit) is deleted: spark-submit
reads the file when it starts, so none still in use is that old."""


@contextlib.contextmanager
def properties_file(settings: Mapping[str, str], folder: Path | None = None) -> Iterator[Path]:
    """A 0600 properties file holding ``settings`` in the private folder, removed on exit; files that
    a killed task left behind are deleted once a day old, so secrets do not stay at rest."""
    folder = private_dir(folder)
    remove_stale(folder, [".spark-submit-*.properties"], PROPERTIES_STALE_SECONDS)
    fd, name = tempfile.mkstemp(prefix=".spark-submit-", suffix=".properties", dir=folder)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:  # mkstemp: 0600, this user's only
            fh.write(properties_text(settings))
        yield path
    finally:
        path.unlink(missing_ok=True)


class PrivateSettingsSparkSubmitHook(SparkSubmitHook):
    """``SparkSubmitHook`` that hands ``private_conf`` (and, on YARN/Kubernetes, ``env_vars``) to
    spark-submit in a 0600 ``--properties-file`` instead of ``--conf`` flags.

    The file exists only while :meth:`submit` runs. spark-submit then reads ``spark-defaults.conf``
    only if asked (``--load-spark-defaults``, Spark 4), so the flag is added: cluster defaults still
    apply, and the file's settings take precedence over them as ``--conf`` would.
    """

    private_conf: dict[str, str]

    def private_properties(self) -> dict[str, str]:
        """What goes in the properties file: ``private_conf`` and the job's environment where the
        provider would pass it as ``--conf`` (YARN: ``spark.yarn.appMasterEnv.*``, Kubernetes:
        ``spark.kubernetes.driverEnv.*``)."""
        settings = dict(getattr(self, "private_conf", {}) or {})
        if self._env_vars and (self._is_yarn or self._is_kubernetes):
            prefix = "spark.yarn.appMasterEnv." if self._is_yarn else "spark.kubernetes.driverEnv."
            settings.update({prefix + k: str(v) for k, v in self._env_vars.items()})
        return settings

    def _build_spark_common_args(self) -> list[str]:
        env_vars = self._env_vars
        as_properties = bool(env_vars) and (self._is_yarn or self._is_kubernetes)
        if as_properties:
            self._env_vars = None  # in the properties file, not on the command line
        try:
            args = super()._build_spark_common_args()
        finally:
            self._env_vars = env_vars
        if as_properties and self._is_yarn:
            self._env = env_vars  # as the provider does on YARN: a client-mode driver runs in spark-submit
        if self._properties_file and getattr(self, "_writes_properties_file", False):
            args.append("--load-spark-defaults")
        return args

    def submit(self, application: str = "", **kwargs: Any) -> str | None:
        settings = self.private_properties()
        if not settings:
            return super().submit(application, **kwargs)
        if self._properties_file:
            raise ValueError(
                f"properties_file={self._properties_file!r} cannot be combined with the connection's "
                "extra.conf or lake settings (they are passed in a properties file of their own): "
                "put those settings in spark-defaults.conf or the task's conf instead"
            )
        # Spark's UI and event logs then redact these settings too (a ``--conf`` of the task's still wins)
        with properties_file({"spark.redaction.regex": SPARK_REDACTION_REGEX, **settings}) as path:
            self._properties_file, self._writes_properties_file = str(path), True
            try:
                return super().submit(application, **kwargs)
            finally:
                self._properties_file, self._writes_properties_file = None, False


class PackagedSparkSubmitOperator(SparkSubmitOperator):
    """``SparkSubmitOperator`` that adds the ``weekly_discovery`` package to ``--py-files`` at run time
    and keeps secrets off the command line (:class:`PrivateSettingsSparkSubmitHook`).

    ``py_files`` given to the constructor (rendered) are submitted after the package zip. A job that
    exits with ``USER_ERROR_EXIT`` fails the task at once (no retry): its log names the fix.
    """

    private_conf: dict[str, str] | None = None

    def execute(self, context: Any) -> Any:
        from weekly_discovery.spark.delta import DAG_CONF, RUN_CONF

        # the job's Delta commits record the run (DESCRIBE HISTORY), in every deploy mode (not a secret)
        run = {RUN_CONF: context.get("run_id"), DAG_CONF: getattr(context.get("dag"), "dag_id", None)}
        self.conf = {**(self.conf or {}), **{k: str(v) for k, v in run.items() if v}}
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

    def _get_hook(self) -> SparkSubmitHook:
        """The provider's hook, built by the provider from every operator argument, made a
        :class:`PrivateSettingsSparkSubmitHook` (adds behaviour only, no state of its own to build):
        re-listing the provider's ~30 arguments here would drift from it on every upgrade."""
        hook = super()._get_hook()
        hook.__class__ = PrivateSettingsSparkSubmitHook
        hook.private_conf = dict(self.private_conf or {})
        self._start_driver_from_class_data(hook)
        return hook

    def _start_driver_from_class_data(self, hook: SparkSubmitHook) -> None:
        """When the driver runs in the spark-submit process (local mode, a standalone cluster's client mode)
        and this machine has the class-data archive of its Spark and Java, start that JVM from it
        (:mod:`weekly_discovery.airflow.spark_class_data`: ~3 s less per job). Nothing changes otherwise."""
        from weekly_discovery.airflow import spark_class_data

        if hook._is_yarn or hook._is_kubernetes or hook._connection.get("deploy_mode") == "cluster":
            return
        options = spark_class_data.driver_java_options({**os.environ, **(hook._env_vars or {})})
        if options:
            hook._env_vars = {**(hook._env_vars or {}), "SPARK_SUBMIT_OPTS": options}
            self.log.info("the driver JVM starts from the class-data archive (%s)", options.rsplit("=", 1)[-1])

    def add_lake_storage(self, connection_getter: Any = None) -> None:
        """Add what the job needs to reach the lake: the Spark connection's ``extra.conf`` (e.g.
        ``spark.jars.packages`` for the Hadoop S3/GCS connector) and, for an object-store lake, the
        settings derived from the lake's connection or environment (:func:`weekly_discovery.lake.storage.spark_storage`).

        Those, and credential-named keys of the task's own ``conf``, become :attr:`private_conf`
        (the properties file, never ``--conf``); a task ``conf`` key they also set is dropped from
        ``conf`` so they keep precedence. Credential values are registered with the secret masker.
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
        own = {k: str(v) for k, v in (self.conf or {}).items()}
        private = {**(self.private_conf or {}), **{k: v for k, v in own.items() if is_credential_key(k)},
                   **storage.conf, **{k: str(v) for k, v in user_conf.items()}}
        self.private_conf = private
        self.conf = {k: v for k, v in own.items() if k not in private}
        if storage.env:
            self.env_vars = {**(self.env_vars or {}), **storage.env}
        for key, value in [*private.items(), *(self.env_vars or {}).items()]:
            if value and is_credential_key(key) and not NOT_A_SECRET.fullmatch(str(value)):
                mask_secret(str(value), key)
        self._hook = None  # the hook copies conf and env_vars when it is created
        if private:
            self.log.info("lake storage settings (in a private properties file): %s", ", ".join(sorted(private)))


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
