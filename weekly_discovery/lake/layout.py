"""The one place that knows the data lake's layout.

Every path the pipeline reads or writes is built here, so layers, partitions and
Asset names never drift apart between the DAGs, the Spark jobs and the tests.

Layout under the lake root::

    raw/spotify/source=<source_key>/ds=<YYYY-MM-DD>/page-00000.json   verbatim API pages
    raw/spotify/source=<source_key>/ds=<YYYY-MM-DD>/_manifest.json     what the pages are
    bronze/items/ds=<YYYY-MM-DD>/part-*.parquet                        one raw item a row (Delta, as below)
    silver/tracks/ds=<YYYY-MM-DD>/part-*.parquet                       typed tracks, one row per (source, track)
    quarantine/items/ds=<YYYY-MM-DD>/part-*.parquet                    rejected items with a reason
    raw/features/provider=<api>/ds=<YYYY-MM-DD>/batch-00000.json       verbatim audio-feature responses
    raw/features/provider=<api>/ds=<YYYY-MM-DD>/batch-00000.request.json  the ids asked in that batch
    raw/features/provider=file/ds=<YYYY-MM-DD>/part-*.parquet          ids looked up in a feature file
    silver/audio_features/part-*.parquet                               feature cache: a row per (track, fetched_ds)
    silver/tracks_enriched/ds=<YYYY-MM-DD>/part-*.parquet              tracks + features, with _metrics.json
    quarantine/features/ds=<YYYY-MM-DD>/part-*.parquet                 features that failed a quality gate
    gold/scores/ds=<YYYY-MM-DD>/part-*.parquet                         every candidate's probability
    gold/recommendations/ds=<YYYY-MM-DD>/part-*.parquet                the week's picks, with _metrics.json
    gold/published/ds=<YYYY-MM-DD>/part-*.parquet                      what was written to Spotify (a row a date)
    gold/published/_playlist.json                                      the playlist the pipeline fills
    gold/picks/ds=<YYYY-MM-DD>/part-*.parquet                          the published picks (history)
    gold/removed_picks/ds=<YYYY-MM-DD>/part-*.parquet                  picks you took out, by the week offered
    silver/candidates/ds=<YYYY-MM-DD>/part-*.parquet                   the week's songs found by discovery
    silver/album_tracks/part-*.parquet                                 album track lists read (a cache, MERGEd)
    models/like_model/version=<YYYY-MM-DD>/model_card.json             a trained model version
    models/like_model/champion.json                                    which version scores
    reports/library/ds=<YYYY-MM-DD>/index.html                         the rendered report

Every table is declared once below as a :class:`Table` constant (``SILVER_TRACKS``,
``TRACKS_ENRICHED``, ...) and every file name the pipeline writes and reads back as a constant or a
function pair (:func:`batch_file_name` / :func:`parse_batch_file_name`): code outside this package
names a table by its constant, never by a ``("silver", "tracks")`` literal.

Every derived table (bronze, silver, quarantine, gold: :data:`DELTA_TABLES`) is a Delta table in its folder,
read and written through :mod:`weekly_discovery.lake.delta` (and :mod:`weekly_discovery.spark.delta` in Spark
jobs): a date's ``ds=<date>/`` folder inside it holds Delta's data files and the run's ``_metrics.json``.
The raw layer is verbatim files: a raw partition is visible once its ``_manifest.json``, written last, is
there. Model versions and reports are folders of files with the same rule (``model_card.json``,
``index.html`` last).

Every raw partition is self-contained: its manifest lists only files in that partition. Pages an
incremental extraction reuses from an earlier date are copied into the new partition (a hard link
locally, a server-side copy on object storage), so a rerun of one date, or the removal of an old date,
never changes or breaks another date.

The root is a folder (or ``file://``) or an object-store URI (``s3://``, ``s3a://``, ``gs://``,
``abfs(s)://``, see :mod:`weekly_discovery.lake.storage`); on object storage paths are
:class:`~weekly_discovery.lake.storage.ObjectPath` and ``str()`` gives the URI Spark expects.

Only validated keys (see :func:`source_key`) and ISO dates ever become path parts:
nothing from the user's config is used raw in a path.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from weekly_discovery.core.errors import UserError
from weekly_discovery.core.spotify_ids import SPOTIFY_ID_PATTERN, SPOTIFY_ID_RE
from weekly_discovery.core.vocabulary import SAVED_TRACKS
from weekly_discovery.lake import storage
from weekly_discovery.lake.storage import ObjectPath

_SOURCE_KEY_RE = re.compile(rf"^(?:{SAVED_TRACKS}|playlist-{SPOTIFY_ID_PATTERN})$")
_DS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PROVIDER_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MANIFEST = "_manifest.json"
METRICS = "_metrics.json"

log = logging.getLogger(__name__)

# ---- folder names -----------------------------------------------------------------------------------
RAW = "raw"  # verbatim answers of the APIs
RAW_PAGES = "spotify"  # raw/spotify/source=<key>/ds=<date>/: Spotify library pages
RAW_FEATURES = "features"  # raw/features/provider=<api>/ds=<date>/: audio-feature answers
RAW_DISCOVER = "discover"  # raw/discover/source=<name>/ds=<date>/: candidate sources' answers (discover)
LAYERS = ("bronze", "silver", "gold", "quarantine", "reports", "models")
_TABLE_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")

# ---- file names -------------------------------------------------------------------------------------
MODEL_CARD = "model_card.json"  # models/like_model/version=<ds>/: what was trained and why it won or lost
CHAMPION = "champion.json"  # models/like_model/: which version scores, and the history of decisions


class LakeError(UserError, ValueError):
    """A lake path was asked for with an invalid key or date."""


@dataclass(frozen=True)
class Table:
    """A table of the lake, ``<layer>/<name>``: declared once below, passed to :meth:`Lake.partition`.

    A typo in a table name fails at import time here, not as an empty read in a Spark job.
    """

    layer: str
    name: str

    def __post_init__(self) -> None:
        if self.layer not in LAYERS:
            raise LakeError(f"unknown layer {self.layer!r}: one of {', '.join(LAYERS)}")
        if not _TABLE_NAME_RE.fullmatch(self.name or ""):
            raise LakeError(f"invalid table name {self.name!r}")

    def __str__(self) -> str:
        return f"{self.layer}/{self.name}"


# ingest
BRONZE_ITEMS = Table("bronze", "items")  # one raw item a row, with its source context
SILVER_TRACKS = Table("silver", "tracks")  # typed tracks, one row per (source, track)
QUARANTINE_ITEMS = Table("quarantine", "items")  # rejected items with a reason
# enrich
AUDIO_FEATURES = Table("silver", "audio_features")  # the feature cache: one table, a row per (track, fetched_ds), MERGEd
TRACKS_ENRICHED = Table("silver", "tracks_enriched")  # tracks + features, with _metrics.json
QUARANTINE_FEATURES = Table("quarantine", "features")  # answers that failed a quality gate
# recommend
LIKE_MODEL = Table("models", "like_model")  # version=<ds>/ folders and champion.json (not ds= partitions)
SCORES = Table("gold", "scores")
RECOMMENDATIONS = Table("gold", "recommendations")
PUBLISHED = Table("gold", "published")
PICKS = Table("gold", "picks")  # every published pick with its week, source, probability and reason
REMOVED_PICKS = Table("gold", "removed_picks")  # picks the user took out of the playlist, by the week offered
# report
REPORTS = Table("reports", "library")  # ds=<ds>/index.html, report.json; latest.json
# discover
CANDIDATES = Table("silver", "candidates")  # one row per (track_id, source), with provenance
ALBUM_TRACKS = Table("silver", "album_tracks")  # album track lists already read: one table, MERGEd (read_ds)
DELTA_TABLES = (BRONZE_ITEMS, SILVER_TRACKS, QUARANTINE_ITEMS, AUDIO_FEATURES, TRACKS_ENRICHED, QUARANTINE_FEATURES,
                SCORES, RECOMMENDATIONS, PUBLISHED, PICKS, REMOVED_PICKS, CANDIDATES, ALBUM_TRACKS)
"""The Delta tables (weekly_discovery.lake.delta); the others (models, reports) are folders of files."""
UNDATED_TABLES = (AUDIO_FEATURES, ALBUM_TRACKS)
"""Caches updated with MERGE; every other Delta table is partitioned by ``ds``."""
TABLES = (BRONZE_ITEMS, SILVER_TRACKS, QUARANTINE_ITEMS, AUDIO_FEATURES, TRACKS_ENRICHED, QUARANTINE_FEATURES,
          LIKE_MODEL, SCORES, RECOMMENDATIONS, PUBLISHED, PICKS, REMOVED_PICKS, REPORTS,
          CANDIDATES, ALBUM_TRACKS)


# ---- raw feature batches ------------------------------------------------------------------------------
# The fetch task writes them (weekly_discovery.enrich.fetch) and the Spark enrich job reads the batch
# number back from the file name (jobs/enrich.py, with Spark's regexp_extract on BATCH_*_PATTERN).
BATCH_BODY_PATTERN = r"^batch-(\d{5,})\.json$"
BATCH_REQUEST_PATTERN = r"^batch-(\d{5,})\.request\.json$"
_BATCH_BODY_RE = re.compile(BATCH_BODY_PATTERN)
_BATCH_REQUEST_RE = re.compile(BATCH_REQUEST_PATTERN)


class BatchFile(NamedTuple):
    index: int
    request: bool  # the ``.request.json`` file (the ids asked), else the body (the answer, verbatim)


def batch_file_name(index: int, *, request: bool = False) -> str:
    """``batch-00007.json`` (the answer of batch 7) or ``batch-00007.request.json`` (what it asked)."""
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise LakeError(f"batch index must be a non-negative integer, got {index!r}")
    return f"batch-{index:05d}.request.json" if request else f"batch-{index:05d}.json"


def parse_batch_file_name(name: str) -> BatchFile | None:
    """The inverse of :func:`batch_file_name`; None for any other file (a manifest, a temporary file)."""
    for pattern, request in ((_BATCH_REQUEST_RE, True), (_BATCH_BODY_RE, False)):
        match = pattern.fullmatch(name)
        if match:
            return BatchFile(int(match.group(1)), request)
    return None


def source_key(kind: str, spotify_id: str | None = None) -> str:
    """The path-safe key of a source: ``saved_tracks`` or ``playlist-<id>``."""
    if kind == SAVED_TRACKS:
        return SAVED_TRACKS
    if kind == "playlist" and spotify_id and SPOTIFY_ID_RE.fullmatch(spotify_id):
        return f"playlist-{spotify_id}"
    raise LakeError(f"no source key for kind={kind!r} id={spotify_id!r}")


class PartitionDate(str):
    """A checked partition date: ``YYYY-MM-DD`` and a real calendar day. Only :func:`parse_ds` makes one.

    A ``str``, so f-strings, path parts, Delta predicates, Spark literals and JSON take it unchanged; its
    type says the check is done, so code handed one never checks it again.
    """

    __slots__ = ()


def parse_ds(text: object) -> PartitionDate:
    """The partition date in ``text`` (``2026-11-23``), checked where text enters: a DAG task's ``ds``, a
    job's ``--ds``, a CLI argument, a folder name. A :class:`PartitionDate` is returned as it is; anything
    else that is not a real ``YYYY-MM-DD`` date raises :class:`LakeError` (a user error) with the form."""
    if isinstance(text, PartitionDate):
        return text
    if not isinstance(text, str) or not _DS_RE.fullmatch(text):
        raise LakeError(f"partition date must look like 2026-11-23, got {text!r}")
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise LakeError(f"partition date {text!r} is not a real calendar date") from None
    return PartitionDate(text)


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
    rf"{RAW}/{RAW_PAGES}/source=(?:{SAVED_TRACKS}|playlist-{SPOTIFY_ID_PATTERN})"
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

    # ---- raw layer -------------------------------------------------------------------
    def raw_source_dir(self, key: str) -> Path:
        return self.path(RAW, RAW_PAGES, f"source={check_source_key(key)}")

    def raw_partition(self, key: str, ds: str) -> Path:
        return self.raw_source_dir(key) / f"ds={parse_ds(ds)}"

    def raw_manifests(self, ds: str) -> list[Path]:
        """Manifests of every source extracted for ``ds``, sorted by source key."""
        base = self.path(RAW, RAW_PAGES)
        if not base.is_dir():
            return []
        found = [p / f"ds={parse_ds(ds)}" / MANIFEST for p in sorted(base.glob("source=*"))]
        return [p for p in found if p.is_file()]

    def previous_manifest(self, key: str, before_ds: str) -> dict[str, Any] | None:
        """The newest manifest of ``key`` from a date strictly before ``before_ds``.

        Strictly before, so that a rerun of a date builds on exactly what the first
        run built on, and gives the same result.
        """
        before_ds = parse_ds(before_ds)
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
        return self.path(RAW, RAW_FEATURES, f"provider={check_provider(provider)}")

    def raw_features_partition(self, provider: str, ds: str) -> Path:
        """One date's raw answers of one feature provider (API batches, or file look-up hits)."""
        return self.raw_features_dir(provider) / f"ds={parse_ds(ds)}"

    # ---- tables ----------------------------------------------------------------------
    def table(self, table: Table | str, name: str | None = None) -> Path:
        """The folder of a table: ``lake.table(SILVER_TRACKS)`` (or the older ``lake.table("silver", "tracks")``)."""
        table = _as_table(table, name)
        return self.path(table.layer, table.name)

    def partition(self, table: Table | str, *rest: str) -> Path:
        """One date of a table: ``lake.partition(SILVER_TRACKS, ds)`` (or ``lake.partition("silver", "tracks", ds)``)."""
        if isinstance(table, Table) and len(rest) == 1:
            ds = rest[0]
        elif not isinstance(table, Table) and len(rest) == 2:
            table, ds = _as_table(table, rest[0]), rest[1]
        else:
            raise TypeError("use lake.partition(TABLE, ds) with a Table of weekly_discovery.lake")
        return self.table(table) / f"ds={parse_ds(ds)}"

    def version(self, table: Table, ds: str) -> Path:
        """One dated version of a table written as a whole folder (``models/like_model/version=<ds>``)."""
        return self.table(table) / f"version={parse_ds(ds)}"


def _as_table(table: Table | str, name: str | None) -> Table:
    if isinstance(table, Table):
        if name is not None:
            raise TypeError("pass a Table, or a layer and a name, not both")
        return table
    if name is None:
        raise TypeError("use lake.table(TABLE) with a Table of weekly_discovery.lake")
    return Table(table, name)


def read_json(path: Path | ObjectPath | str) -> Any:
    return storage.read_json(path)
