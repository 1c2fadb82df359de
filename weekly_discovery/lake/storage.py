"""Where the lake's bytes live: a local folder (pathlib, as always) or a bucket (``pyarrow.fs``).

A lake path is a ``pathlib.Path`` under a local root and an :class:`ObjectPath` under an object-store
root (``s3://``, ``s3a://``, ``gs://``, ``abfs(s)://``). Both offer the few path operations the pipeline
uses (``/``, ``name``, ``parent``, ``is_file``, ``is_dir``, ``exists``, ``iterdir``, ``glob`` of one
level, ``read_bytes``, ``read_text``, ``mkdir``, ``unlink``), so call sites read the same for both; what
differs goes through the functions here: :func:`write_atomic`, :func:`write_json`, :func:`read_json`,
:func:`rmtree`, :func:`copy_file`, :func:`arrow_source`. Tables are Delta tables (:mod:`weekly_discovery.lake.delta`).

``str()`` of an object path is the URI Spark's Hadoop connectors expect: ``s3a://`` for S3 (whatever
the user wrote), ``gs://`` for GCS, ``abfs(s)://`` for Azure. ``pyarrow.fs`` is a pinned dependency
and ships the S3, GCS and Azure clients, so object storage needs no extra Python package.

Credentials never pass through the config file, the lake or a log line. For S3 they come from the
Airflow connection named by ``$WEEKLY_DISCOVERY_LAKE_CONN_ID`` (``aws_default`` style: login = access
key id, password = secret key, extra ``endpoint_url``, ``region_name``, ``aws_session_token``), else
from the environment and AWS's default chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_ENDPOINT_URL``, ``~/.aws``, instance and pod roles). GCS and Azure use their default credentials
(``GOOGLE_APPLICATION_CREDENTIALS``, workload identity; ``AZURE_STORAGE_*`` or managed identity).
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urlsplit

from weekly_discovery.core.errors import UserError

# what a user may write -> what Hadoop expects (and what str() of a lake path gives)
SCHEMES = {"s3": "s3a", "s3a": "s3a", "gs": "gs", "gcs": "gs", "abfs": "abfs", "abfss": "abfss"}
CONN_ENV = "WEEKLY_DISCOVERY_LAKE_CONN_ID"


class StorageError(UserError, ValueError):
    """A lake URI that cannot be used (unknown scheme, no bucket)."""


def is_object_uri(root: str | os.PathLike) -> bool:
    """Whether ``root`` names object storage (any scheme but ``file://``)."""
    return isinstance(root, str) and "://" in root and not root.startswith("file://")


def _redacted(root: str) -> str:
    """``root`` for a message: whatever stands before an ``@`` in the authority is hidden."""
    parts = urlsplit(root)
    if "@" not in parts.netloc:
        return root
    return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()


def normalize_uri(root: str) -> str:
    """The object-store URI in the form Spark expects: ``s3://b/x/`` -> ``s3a://b/x``."""
    shown = _redacted(root)
    parts = urlsplit(root)
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise StorageError(
            f"lake root {shown!r}: unsupported scheme {parts.scheme!r}; use a folder path, file://, "
            f"s3:// (or s3a://), gs:// or abfs(s)://"
        )
    if not parts.netloc:
        raise StorageError(f"lake root {shown!r} names no bucket")
    if parts.query or parts.fragment:
        raise StorageError(f"lake root {shown!r}: no query or fragment in the URI")
    if scheme in ("s3a", "gs") and ("@" in parts.netloc or ":" in parts.netloc):
        raise StorageError(f"lake root {shown!r}: the URI names a bucket only; credentials and endpoints "
                           "come from the environment or an Airflow connection (docs/deploy.md)")
    if ".." in parts.path.split("/"):
        raise StorageError(f"lake root {shown!r}: '..' is not allowed in the path")
    key = _clean_key(parts.path)
    return f"{scheme}://{parts.netloc}" + (f"/{key}" if key else "")


def _clean_key(key: str) -> str:
    parts = [p for p in key.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise StorageError(f"'..' in an object path: {key!r}")
    return "/".join(parts)


# ---- filesystems -------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Store:
    """One bucket (or container) through one ``pyarrow.fs`` filesystem."""

    fs: Any  # pyarrow.fs.FileSystem
    uri_root: str  # "s3a://bucket"
    fs_root: str  # "bucket": how pyarrow names the bucket's root

    def __repr__(self) -> str:  # never the filesystem object (its repr may carry options)
        return f"Store({self.uri_root!r})"


ConnectionGetter = Callable[[str], Any]


def _airflow_connection(conn_id: str) -> Any:
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


@dataclass(frozen=True)
class S3Settings:
    """What reaches S3: non-secret settings and, from a connection only, the key pair (repr hides them)."""

    endpoint: str | None = None  # "http://127.0.0.1:9000"
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None

    def __repr__(self) -> str:
        return f"S3Settings(endpoint={self.endpoint!r}, region={self.region!r}, keys={'set' if self.access_key else 'default chain'})"


def s3_settings(env: Mapping[str, str] | None = None, connection_getter: ConnectionGetter | None = None) -> S3Settings:
    """S3 settings from the Airflow connection in ``$WEEKLY_DISCOVERY_LAKE_CONN_ID``, else the environment."""
    env = os.environ if env is None else env
    conn_id = env.get(CONN_ENV)
    if conn_id:
        conn = (connection_getter or _airflow_connection)(conn_id)
        extra = conn.extra_dejson or {}
        endpoint = extra.get("endpoint_url") or ((extra.get("service_config") or {}).get("s3") or {}).get("endpoint_url")
        return S3Settings(endpoint=endpoint or None, region=extra.get("region_name") or None,
                          access_key=conn.login or None, secret_key=conn.password or None,
                          session_token=extra.get("aws_session_token") or None)
    # pyarrow's AWS SDK reads the key pair (and the default chain) itself; only these are read here
    return S3Settings(endpoint=env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None,
                      region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None)


def open_store(uri: str, env: Mapping[str, str] | None = None,
               connection_getter: ConnectionGetter | None = None) -> tuple[Store, str]:
    """The store of a normalized object-store URI and the key under its bucket."""
    from pyarrow import fs as pafs

    parts = urlsplit(uri)
    key = _clean_key(parts.path)
    if parts.scheme == "s3a":
        settings = s3_settings(env, connection_getter)
        options: dict[str, Any] = {"allow_bucket_creation": False, "allow_bucket_deletion": False}
        if settings.access_key:
            options.update(access_key=settings.access_key, secret_key=settings.secret_key)
            if settings.session_token:
                options["session_token"] = settings.session_token
        if settings.endpoint:
            endpoint = urlsplit(settings.endpoint)
            options.update(endpoint_override=endpoint.netloc or endpoint.path, scheme=endpoint.scheme or "https")
        if settings.region:
            options["region"] = settings.region
        elif not settings.endpoint:
            options["region"] = _bucket_region(parts.netloc)
        return Store(pafs.S3FileSystem(**options), f"s3a://{parts.netloc}", parts.netloc), key
    if parts.scheme == "gs":
        return Store(pafs.GcsFileSystem(), f"gs://{parts.netloc}", parts.netloc), key
    # abfs(s)://container@account.dfs.core.windows.net/path: pyarrow names paths "container/path"
    filesystem, _ = pafs.FileSystem.from_uri(f"{parts.scheme}://{parts.netloc}/")
    container = parts.netloc.split("@", 1)[0]
    return Store(filesystem, f"{parts.scheme}://{parts.netloc}", container), key


@functools.lru_cache(maxsize=16)
def _bucket_region(bucket: str) -> str:
    """An AWS bucket's region (one request, once per process), when neither AWS_REGION nor the connection says."""
    from pyarrow import fs as pafs

    return pafs.resolve_s3_region(bucket)


# ---- object paths ------------------------------------------------------------------------------

class ObjectPath:
    """A path in a bucket, with the subset of ``pathlib.Path`` the pipeline uses.

    Object stores have no folders: a "directory" is a key prefix with objects under it, ``mkdir`` does
    nothing, and a partition exists once its commit marker does (:func:`commit_prefix`).
    """

    __slots__ = ("store", "key")

    def __init__(self, store: Store, key: str = ""):
        self.store = store
        self.key = _clean_key(key)

    # -- pure path ------------------------------------------------------------------------------
    def __truediv__(self, other: str | os.PathLike) -> "ObjectPath":
        return ObjectPath(self.store, f"{self.key}/{os.fspath(other)}")

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1] if self.key else ""

    @property
    def parent(self) -> "ObjectPath":
        return ObjectPath(self.store, self.key.rsplit("/", 1)[0] if "/" in self.key else "")

    @property
    def fs_path(self) -> str:
        """The path as ``pyarrow.fs`` names it (``bucket/key``)."""
        return f"{self.store.fs_root}/{self.key}" if self.key else self.store.fs_root

    def __str__(self) -> str:
        return f"{self.store.uri_root}/{self.key}" if self.key else self.store.uri_root

    def __repr__(self) -> str:
        return f"ObjectPath({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectPath) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __lt__(self, other: "ObjectPath") -> bool:
        return str(self) < str(other)

    def is_relative_to(self, other: "ObjectPath") -> bool:
        return other.store.uri_root == self.store.uri_root and (
            not other.key or self.key == other.key or self.key.startswith(other.key + "/"))

    def relative_to(self, other: "ObjectPath | str") -> PurePosixPath:
        base = other if isinstance(other, ObjectPath) else ObjectPath(self.store, urlsplit(str(other)).path)
        if not self.is_relative_to(base):
            raise ValueError(f"{self} is not under {base}")
        return PurePosixPath(self.key[len(base.key):].lstrip("/"))

    def resolve(self) -> "ObjectPath":
        return self  # keys are normalized on construction; there are no links

    # -- queries --------------------------------------------------------------------------------
    def _info(self):
        return self.store.fs.get_file_info(self.fs_path)

    def exists(self) -> bool:
        from pyarrow.fs import FileType

        return self._info().type != FileType.NotFound

    def is_file(self) -> bool:
        from pyarrow.fs import FileType

        return self._info().type == FileType.File

    def is_dir(self) -> bool:
        from pyarrow.fs import FileType

        return self._info().type == FileType.Directory

    def iterdir(self) -> Iterator["ObjectPath"]:
        from pyarrow.fs import FileSelector

        infos = self.store.fs.get_file_info(FileSelector(self.fs_path, allow_not_found=True, recursive=False))
        for info in sorted(infos, key=lambda i: i.path):
            yield ObjectPath(self.store, info.path[len(self.store.fs_root):])

    def glob(self, pattern: str) -> Iterator["ObjectPath"]:
        """Children whose name matches ``pattern`` (one level only: no ``/``, no ``**``)."""
        if "/" in pattern:
            raise StorageError(f"object paths glob one level only, got {pattern!r}")
        return (p for p in self.iterdir() if fnmatch.fnmatchcase(p.name, pattern))

    def walk_files(self) -> list[tuple["ObjectPath", Any]]:
        """Every object under this prefix with its ``FileInfo`` (size, mtime), sorted by key."""
        from pyarrow.fs import FileSelector, FileType

        infos = self.store.fs.get_file_info(FileSelector(self.fs_path, allow_not_found=True, recursive=True))
        return [(ObjectPath(self.store, i.path[len(self.store.fs_root):]), i)
                for i in sorted(infos, key=lambda i: i.path) if i.type == FileType.File]

    # -- bytes ----------------------------------------------------------------------------------
    def read_bytes(self) -> bytes:
        try:
            with self.store.fs.open_input_stream(self.fs_path) as stream:
                return stream.read()
        except FileNotFoundError:
            raise
        except OSError as exc:
            if not self.exists():
                raise FileNotFoundError(str(self)) from exc
            raise

    def read_text(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return self.read_bytes().decode(encoding, errors)

    def write_bytes(self, data: bytes) -> int:
        """One PUT: readers see the old object or the new one, never part of it."""
        with self.store.fs.open_output_stream(self.fs_path) as stream:
            stream.write(data)
        return len(data)

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Nothing to do: object stores have no folders."""

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            self.store.fs.delete_file(self.fs_path)
        except FileNotFoundError:
            if not missing_ok:
                raise


LakePath = "Path | ObjectPath"  # what every Lake method returns (for annotations)


# ---- operations on either kind of path -------------------------------------------------------

def read_json(path: Path | ObjectPath | str) -> Any:
    if isinstance(path, str):
        path = Path(path)
    return json.loads(path.read_bytes())


def write_atomic(path: Path | ObjectPath | str, data: bytes) -> Path | ObjectPath:
    """Write ``path`` so readers see the old content or the new one, never part of it.

    The project's one atomic file writer: raw pages and manifests, a date's ``_metrics.json``, raw feature
    batches, model cards, pointers, reports and the ``--py-files`` zip all go through it. Missing parent
    folders are created (a Delta date without rows has no folder of its own).

    Locally: a temporary file beside it (``.<name>.<random>.tmp``: two writers at once, such as the
    report and weekly DAGs rendering the same page, never share one; the last rename wins), fsync,
    ``os.replace``. A new file replaces the name, so a hard-linked name is never written through. On
    object storage a single PUT already has these properties.
    """
    if isinstance(path, ObjectPath):
        path.write_bytes(data)
        return path
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def json_bytes(obj: Any) -> bytes:
    """Indented, key-sorted JSON with a final newline: the lake's JSON files."""
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def write_json(path: Path | ObjectPath | str, obj: Any) -> Path | ObjectPath:
    """Write ``obj`` as the lake's JSON (:func:`json_bytes`), atomically (:func:`write_atomic`)."""
    return write_atomic(path, json_bytes(obj))


def rmtree(path: Path | ObjectPath) -> None:
    """Delete a folder or prefix and everything under it; nothing happens when it is missing."""
    if isinstance(path, ObjectPath):
        if not path.key:
            raise StorageError(f"refusing to delete a whole bucket: {path}")
        path.store.fs.delete_dir_contents(path.fs_path, missing_dir_ok=True)
        try:
            path.store.fs.delete_dir(path.fs_path)
        except FileNotFoundError:
            pass
    else:
        shutil.rmtree(path, ignore_errors=True)


def tree_bytes(path: Path | ObjectPath) -> int:
    """Total size of the files under a folder or prefix (of the file itself for a file); 0 when missing.

    One listing on object storage (no request per object), one ``stat`` per file on a disk.
    """
    if isinstance(path, ObjectPath):
        from pyarrow.fs import FileType

        files = path.walk_files()
        if files:
            return sum(int(info.size or 0) for _, info in files)
        info = path._info()  # nothing below it: a file, or nothing at all
        return int(info.size or 0) if info.type == FileType.File else 0
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(folder, name)).st_size
            except FileNotFoundError:  # removed while we walked
                pass
    return total


def copy_file(src: Path | ObjectPath, dst: Path | ObjectPath) -> Path | ObjectPath:
    """Put a copy of the file ``src`` at ``dst`` (a new name: ``dst`` must not exist yet).

    Locally a hard link where the filesystem allows it (no bytes copied; the lake never writes a file in
    place, so linked names stay equal), else a byte copy, fsynced. On object storage a server-side copy
    (no bytes through this process). ``FileNotFoundError`` if ``src`` is missing.
    """
    if isinstance(src, ObjectPath) and isinstance(dst, ObjectPath):
        if src.store is dst.store or src.store.uri_root == dst.store.uri_root:
            try:
                dst.store.fs.copy_file(src.fs_path, dst.fs_path)
            except FileNotFoundError:
                raise
            except OSError as exc:  # stores answer a missing source with a generic error
                if not src.exists():
                    raise FileNotFoundError(str(src)) from exc
                raise
        else:
            dst.write_bytes(src.read_bytes())
        return dst
    if isinstance(src, ObjectPath) or isinstance(dst, ObjectPath):
        dst.write_bytes(src.read_bytes())
        return dst
    try:
        os.link(src, dst)
    except FileNotFoundError:
        raise
    except OSError:  # no hard links here (EXDEV, EPERM, ENOTSUP, EMLINK): copy the bytes
        with open(src, "rb") as fh_in, open(dst, "xb") as fh_out:
            shutil.copyfileobj(fh_in, fh_out)
            fh_out.flush()
            os.fsync(fh_out.fileno())
    return dst


def arrow_source(path: Path | ObjectPath) -> tuple[str, Any]:
    """``(path, filesystem)`` for ``pyarrow.dataset`` / ``pyarrow.parquet`` readers."""
    if isinstance(path, ObjectPath):
        return path.fs_path, path.store.fs
    return str(path), None


# ---- what spark-submit needs to reach the lake ---------------------------------------------------

@dataclass(frozen=True)
class SparkStorage:
    """Settings for one spark-submit: ``conf`` goes on the command line (never a secret), ``env`` into
    the spark-submit process's environment (the key pair, when it comes from an Airflow connection)."""

    conf: dict[str, str]
    env: dict[str, str]

    def __repr__(self) -> str:
        return f"SparkStorage(conf={self.conf!r}, env={sorted(self.env)!r})"


def spark_storage(root: str, env: Mapping[str, str] | None = None,
                  connection_getter: ConnectionGetter | None = None) -> SparkStorage:
    """Derived Spark settings for a lake root: the S3A endpoint and region of an S3-compatible store,
    and credentials from ``$WEEKLY_DISCOVERY_LAKE_CONN_ID`` handed over as environment variables.

    The Hadoop connector itself (``spark.jars.packages``) and anything else cluster-specific come from
    the Spark connection's ``extra.conf`` or ``spark-defaults.conf`` (docs/deploy.md section 4).
    """
    if not is_object_uri(root) or not normalize_uri(root).startswith("s3a://"):
        return SparkStorage({}, {})
    env = os.environ if env is None else env
    settings = s3_settings(env, connection_getter)
    conf: dict[str, str] = {}
    if settings.endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = settings.endpoint
        conf["spark.hadoop.fs.s3a.path.style.access"] = "true"  # MinIO and most S3-compatible stores
        if settings.endpoint.startswith("http://"):
            conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = "false"
    if settings.region:
        conf["spark.hadoop.fs.s3a.endpoint.region"] = settings.region
    job_env: dict[str, str] = {}
    if env.get(CONN_ENV):
        # the job reads the lake with these (pyarrow, and S3A's default chain: environment variables)
        job_env[CONN_ENV] = ""
        if settings.access_key:
            job_env["AWS_ACCESS_KEY_ID"] = settings.access_key
            job_env["AWS_SECRET_ACCESS_KEY"] = settings.secret_key or ""
        if settings.session_token:
            job_env["AWS_SESSION_TOKEN"] = settings.session_token
        if settings.endpoint:
            job_env["AWS_ENDPOINT_URL"] = settings.endpoint
        if settings.region:
            job_env["AWS_REGION"] = settings.region
    return SparkStorage(conf, job_env)
