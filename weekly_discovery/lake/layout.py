"""The one place that knows the data lake's layout.

Every path the pipeline reads or writes is built here, so layers, partitions and
Asset names never drift apart between the DAGs, the Spark jobs and the tests.

Layout under the lake root::

    raw/spotify/source=<source_key>/ds=<YYYY-MM-DD>/page-00000.json   verbatim API pages
    raw/spotify/source=<source_key>/ds=<YYYY-MM-DD>/_manifest.json     what the pages are
    bronze/items/ds=<YYYY-MM-DD>/part-*.json                           NDJSON, one item a line
    silver/tracks/ds=<YYYY-MM-DD>/part-*.parquet                       typed tracks, one row per (source, track)
    quarantine/items/ds=<YYYY-MM-DD>/part-*.json                       rejected items with a reason
    raw/features/provider=<api>/ds=<YYYY-MM-DD>/batch-00000.json       verbatim audio-feature responses
    raw/features/provider=<api>/ds=<YYYY-MM-DD>/batch-00000.request.json  the ids asked in that batch
    raw/features/provider=file/ds=<YYYY-MM-DD>/part-*.parquet          ids looked up in a feature file
    silver/audio_features/ds=<YYYY-MM-DD>/part-*.parquet               feature cache: full snapshot per date
    silver/tracks_enriched/ds=<YYYY-MM-DD>/part-*.parquet              tracks + features, with _metrics.json
    quarantine/features/ds=<YYYY-MM-DD>/part-*.parquet                 features that failed a quality gate
    _staging/<uuid>/                                                   partitions being written

A partition is written into ``_staging`` and renamed into place when complete, so a
reader never sees half a partition and a rerun of the same date replaces only its
own partition. Names that start with ``_`` are ignored by Spark's partition discovery.

Every raw partition is self-contained: its manifest lists only files in that partition.
Pages an incremental extraction reuses from an earlier date (rather than fetching them
again) are copied into the new partition while it is staged
(:meth:`PartitionWriter.copy_in`: a hard link locally, a server-side copy on object
storage), so a rerun that replaces one date's partition, or the removal of an old
date, never changes or breaks another date. Files in the lake are never written in
place (hard-linked names would change together): a new version is always a new file.

The root is a folder (or ``file://``) or an object-store URI (``s3://``, ``s3a://``, ``gs://``,
``abfs(s)://``, see :mod:`weekly_discovery.lake.storage`). On object storage paths are
:class:`~weekly_discovery.lake.storage.ObjectPath` and ``str()`` gives the URI Spark expects; a partition is
committed by copying it out of ``_staging`` and writing ``_COMMITTED.json`` last
(:func:`weekly_discovery.lake.storage.commit_prefix`), and it exists for readers from then on
(:meth:`Lake.exists`).

Only validated keys (see :func:`source_key`) and ISO dates ever become path parts:
nothing from the user's config is used raw in a path.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from weekly_discovery.core.spotify_ids import SPOTIFY_ID_RE
from weekly_discovery.core.vocabulary import SAVED_TRACKS
from weekly_discovery.lake import storage
from weekly_discovery.lake.storage import ObjectPath

_SOURCE_KEY_RE = re.compile(rf"^(?:{SAVED_TRACKS}|playlist-[0-9A-Za-z]{{22}})$")
_DS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PROVIDER_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MANIFEST = "_manifest.json"
METRICS = "_metrics.json"
STALE_STAGING_SECONDS = 24 * 3600


class LakeError(ValueError):
    """A lake path was asked for with an invalid key or date."""


def source_key(kind: str, spotify_id: str | None = None) -> str:
    """The path-safe key of a source: ``saved_tracks`` or ``playlist-<id>``."""
    if kind == SAVED_TRACKS:
        return SAVED_TRACKS
    if kind == "playlist" and spotify_id and SPOTIFY_ID_RE.fullmatch(spotify_id):
        return f"playlist-{spotify_id}"
    raise LakeError(f"no source key for kind={kind!r} id={spotify_id!r}")


def check_ds(ds: str) -> str:
    """Validate a partition date (``YYYY-MM-DD``) and return it."""
    if not isinstance(ds, str) or not _DS_RE.fullmatch(ds):
        raise LakeError(f"partition date must look like 2026-11-23, got {ds!r}")
    try:
        dt.date.fromisoformat(ds)
    except ValueError:
        raise LakeError(f"partition date {ds!r} is not a real calendar date") from None
    return ds


def check_provider(name: str) -> str:
    """Validate an audio-feature provider name (``spotify``, ``reccobeats``, ``file``, ...)."""
    if not isinstance(name, str) or not _PROVIDER_RE.fullmatch(name):
        raise LakeError(f"invalid feature provider name {name!r}")
    return name


def check_source_key(key: str) -> str:
    if not _SOURCE_KEY_RE.fullmatch(key or ""):
        raise LakeError(f"invalid source key {key!r}")
    return key


# The lake-relative path of a raw page file, as manifests list it. Every part is
# path-safe ASCII, so it can also be matched at the end of a file URI whatever the
# lake root looks like (Spark reports file paths percent-encoded).
RAW_PAGE_RE = re.compile(
    rf"raw/spotify/source=(?:{SAVED_TRACKS}|playlist-[0-9A-Za-z]{{22}})"
    r"/ds=\d{4}-\d{2}-\d{2}/[0-9A-Za-z][0-9A-Za-z._-]*"
)


def check_raw_page(relative: str) -> str:
    """Validate the lake-relative path of a raw page (``raw/spotify/source=K/ds=D/NAME``)."""
    if not isinstance(relative, str) or not RAW_PAGE_RE.fullmatch(relative):
        raise LakeError(
            f"invalid raw page path {relative!r}: expected raw/spotify/source=<key>/ds=<YYYY-MM-DD>/<file>"
        )
    return relative


@dataclass(frozen=True)
class Lake:
    """Paths of every layer, table and partition under one root folder or object-store prefix."""

    root: str

    def __post_init__(self) -> None:
        root = self.root
        if storage.is_object_uri(root):
            try:
                uri = storage.normalize_uri(root)
            except storage.StorageError as exc:
                raise LakeError(str(exc)) from None
            store, key = storage.open_store(uri)
            object.__setattr__(self, "root", uri)
            object.__setattr__(self, "_base", ObjectPath(store, key))
            return
        if root.startswith("file://"):
            root = root[len("file://"):]
        object.__setattr__(self, "root", str(Path(root).expanduser().resolve()))
        object.__setattr__(self, "_base", Path(self.root))

    @property
    def on_object_storage(self) -> bool:
        return isinstance(self._base, ObjectPath)

    def path(self, *parts: str) -> Path | ObjectPath:
        """A path under the root (parts are joined as given: callers pass validated names)."""
        base = self._base
        for part in parts:
            base = base / part
        return base

    def exists(self, partition: Path | ObjectPath) -> bool:
        """Whether a committed partition is there (a folder locally; its commit marker on object storage)."""
        return storage.is_committed(partition)

    # ---- raw layer -------------------------------------------------------------------
    def raw_source_dir(self, key: str) -> Path:
        return self.path("raw", "spotify", f"source={check_source_key(key)}")

    def raw_partition(self, key: str, ds: str) -> Path:
        return self.raw_source_dir(key) / f"ds={check_ds(ds)}"

    def raw_manifests(self, ds: str) -> list[Path]:
        """Manifests of every source extracted for ``ds``, sorted by source key."""
        base = self.path("raw", "spotify")
        if not base.is_dir():
            return []
        found = [p / f"ds={check_ds(ds)}" / MANIFEST for p in sorted(base.glob("source=*"))]
        return [p for p in found if p.is_file()]

    def previous_manifest(self, key: str, before_ds: str) -> dict[str, Any] | None:
        """The newest manifest of ``key`` from a date strictly before ``before_ds``.

        Strictly before, so that a rerun of a date builds on exactly what the first
        run built on, and gives the same result.
        """
        check_ds(before_ds)
        dates = sorted(
            (p.name[3:] for p in self.raw_source_dir(key).glob("ds=*") if (p / MANIFEST).is_file()),
            reverse=True,
        )
        for ds in dates:
            if _DS_RE.fullmatch(ds) and ds < before_ds:
                return read_json(self.raw_partition(key, ds) / MANIFEST)
        return None

    def missing_files(self, relatives: list[str]) -> list[str]:
        """Those of the lake-relative file paths ``relatives`` that do not exist (one listing per folder)."""
        present: dict[str, set[str]] = {}
        missing = []
        for relative in relatives:
            path = self.absolute(relative)
            folder = str(path.parent)
            if folder not in present:
                try:
                    present[folder] = {p.name for p in path.parent.iterdir()}
                except (FileNotFoundError, NotADirectoryError):
                    present[folder] = set()
            if path.name not in present[folder]:
                missing.append(relative)
        return missing

    def relative(self, path: Path | ObjectPath | str) -> str:
        """A lake path relative to the root (how manifests refer to pages)."""
        if self.on_object_storage:
            uri_root = self._base.store.uri_root
            if isinstance(path, str):
                if not path.startswith(uri_root + "/"):
                    raise ValueError(f"{path!r} is not under {self.root}")
                path = ObjectPath(self._base.store, path[len(uri_root):])
            return str(path.relative_to(self._base))
        return str(Path(path).relative_to(self.root))

    def absolute(self, relative: str) -> Path | ObjectPath:
        if self.on_object_storage:
            try:
                return self._base / storage._clean_key(relative)
            except storage.StorageError:
                raise LakeError(f"{relative!r} points outside the lake") from None
        path = Path(self.root, relative).resolve()
        if not str(path).startswith(self.root + os.sep):
            raise LakeError(f"{relative!r} points outside the lake")
        return path

    # ---- raw audio features ----------------------------------------------------------
    def raw_features_dir(self, provider: str) -> Path:
        return self.path("raw", "features", f"provider={check_provider(provider)}")

    def raw_features_partition(self, provider: str, ds: str) -> Path:
        """One date's raw answers of one feature provider (API batches, or file look-up hits)."""
        return self.raw_features_dir(provider) / f"ds={check_ds(ds)}"

    # ---- tables ----------------------------------------------------------------------
    def table(self, layer: str, name: str) -> Path:
        if layer not in {"bronze", "silver", "gold", "quarantine", "reports", "models"}:
            raise LakeError(f"unknown layer {layer!r}")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise LakeError(f"invalid table name {name!r}")
        return self.path(layer, name)

    def partition(self, layer: str, name: str, ds: str) -> Path:
        return self.table(layer, name) / f"ds={check_ds(ds)}"

    # ---- atomic partition writes -----------------------------------------------------
    def staging_dir(self) -> Path:
        """A fresh folder on the lake's filesystem, so the final rename is atomic.

        On object storage a fresh prefix (nothing is created until something is written into it).
        """
        if self.on_object_storage:
            base = self.path("_staging")
            _remove_stale_objects(base)
            return base / uuid.uuid4().hex
        base = Path(self.root, "_staging")
        base.mkdir(parents=True, exist_ok=True)
        _remove_stale(base)
        path = base / uuid.uuid4().hex
        path.mkdir()
        return path


def commit_directory(staged: Path, final: Path) -> None:
    """Move a completed staging folder into place, replacing an older ``final``.

    The new data appears with one rename; an older partition of the same date is
    first moved aside (into the staging area) and deleted afterwards, so a reader
    sees the old partition, or none for an instant, or the new one, never a mix.

    On object storage: :func:`weekly_discovery.lake.storage.commit_prefix` (copy, then a commit marker).
    """
    if isinstance(final, ObjectPath):
        storage.commit_prefix(staged, final)
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if final.exists():
        old = staged.parent / f"{staged.name}-replaced"
        os.rename(final, old)
    os.rename(staged, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


class PartitionWriter:
    """Write files into a staging folder; commit them as one partition on success.

    ``with PartitionWriter(lake, final) as w: w.write_bytes("page-00000.json", body)``.
    Leaving the block with an exception discards everything written.
    """

    def __init__(self, lake: Lake, final: Path):
        self.lake = lake
        self.final = final
        self.staged: Path | None = None

    def __enter__(self) -> "PartitionWriter":
        self.staged = self.lake.staging_dir()
        return self

    def write_bytes(self, name: str, data: bytes) -> Path:
        assert self.staged is not None, "use PartitionWriter as a context manager"
        if "/" in name or name.startswith(".."):
            raise LakeError(f"invalid file name {name!r}")
        path = self.staged / name
        if isinstance(path, ObjectPath):
            path.write_bytes(data)
            return path
        path.unlink(missing_ok=True)  # never write through a name that is a hard link (see copy_in)
        with open(path, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return path

    def write_json(self, name: str, obj: Any) -> Path:
        return self.write_bytes(name, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())

    def copy_in(self, name: str, source: Path | ObjectPath) -> Path | ObjectPath:
        """Add a copy of an existing lake file under ``name``: the partition will not depend on ``source``.

        A hard link locally (a byte copy where links are not possible), a server-side copy on object
        storage (:func:`weekly_discovery.lake.storage.copy_file`). ``FileNotFoundError`` if ``source`` is gone.
        """
        assert self.staged is not None, "use PartitionWriter as a context manager"
        if "/" in name or name.startswith(".."):
            raise LakeError(f"invalid file name {name!r}")
        path = self.staged / name
        if not isinstance(path, ObjectPath):
            path.unlink(missing_ok=True)
        return storage.copy_file(source, path)

    def discard(self, relative_or_name: str) -> None:
        """Remove a file written earlier in this partition (by name or lake-relative path)."""
        assert self.staged is not None
        (self.staged / Path(relative_or_name).name).unlink()

    def final_path(self, name: str) -> Path:
        """Where ``name`` will live once the partition is committed."""
        return self.final / name

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.staged is not None
        if exc_type is None:
            commit_directory(self.staged, self.final)
        else:
            storage.rmtree(self.staged)


def read_json(path: Path | ObjectPath | str) -> Any:
    return storage.read_json(path)


def list_partitions(table: Path | ObjectPath) -> list[str]:
    """Dates of the committed partitions of a table, oldest first."""
    if isinstance(table, ObjectPath):
        dates = [p.name[3:] for p in table.glob("ds=*") if storage.is_committed(p)]
        return sorted(d for d in dates if _DS_RE.fullmatch(d))
    if not table.is_dir():
        return []
    dates = [p.name[3:] for p in table.glob("ds=*") if p.is_dir()]
    return sorted(d for d in dates if _DS_RE.fullmatch(d))


def _remove_stale(staging: Path) -> None:
    """Delete staging folders left behind by crashed writers (older than a day)."""
    cutoff = time.time() - STALE_STAGING_SECONDS
    for entry in _safe_iter(staging):
        try:
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
        except FileNotFoundError:
            pass


def _remove_stale_objects(staging: ObjectPath) -> None:
    """Delete staging prefixes of crashed writers: those whose newest object is older than a day."""
    newest: dict[str, float] = {}
    for path, info in staging.walk_files():
        top = str(path.relative_to(staging)).split("/", 1)[0]
        mtime = info.mtime.timestamp() if info.mtime is not None else time.time()
        newest[top] = max(newest.get(top, 0.0), mtime)
    cutoff = time.time() - STALE_STAGING_SECONDS
    for top, mtime in newest.items():
        if mtime < cutoff:
            storage.rmtree(staging / top)


def _safe_iter(path: Path) -> Iterator[Path]:
    try:
        yield from path.iterdir()
    except FileNotFoundError:
        return
