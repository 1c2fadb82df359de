"""``catalog``: a track catalogue file the user downloaded once (e.g. Kaggle's "Spotify 1.2M+ Songs").

Every song of the file that is not in the library is a candidate, with the audio features the file
carries. A catalogue is large (1.2M rows, ~350 MB), so no row of it passes through this Python task:
Spark reads it where it is scored (``jobs/score.py``, :mod:`weekly_discovery.recommend.scoring.catalog`).
This source only checks that ``[discover] catalog`` names a file that is there, and records what it
is (path, size, modification time) as the week's raw answer and in its metrics note, so the run says
which file the week's catalogue picks came from. It makes no request (budget 0) and offers no
candidate row: ``silver/candidates`` holds what the other sources found.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weekly_discovery.core.errors import UserError
from weekly_discovery.discover.sources.base import (
    RawAnswer,
    SourceContext,
    SourceResult,
)
from weekly_discovery.settings.config import Discover

NAME = "catalog"
ENDPOINT = "file"  # the raw answer's "endpoint": a file looked at, not an HTTP request


@dataclass(frozen=True)
class CatalogueFile:
    """What the week's catalogue is: enough to tell a later reader whether the file has changed."""

    path: str
    size: int  # bytes
    modified: str  # ISO 8601, UTC

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "modified": self.modified}


def _missing(path: str, why: str) -> UserError:
    return UserError(f"[discover] catalog = {path!r}: {why}. Download the catalogue (e.g. Kaggle's \"Spotify "
                     "1.2M+ Songs\" tracks_features.csv) and point catalog at it, or drop \"catalog\" from "
                     "[discover] sources")


def describe_file(path: str) -> CatalogueFile:
    """Size and modification time of ``path`` (a local path or an object-store URI); a clear error when absent."""
    from weekly_discovery.lake import storage

    if storage.is_object_uri(path):
        from pyarrow.fs import FileType

        uri = storage.normalize_uri(path)
        store, key = storage.open_store(uri)
        info = store.fs.get_file_info(storage.ObjectPath(store, key).fs_path)
        if info.type != FileType.File:
            raise _missing(path, "no such file in the bucket")
        modified = info.mtime.astimezone(dt.timezone.utc) if info.mtime else None
        return CatalogueFile(uri, int(info.size or 0), modified.isoformat() if modified else "")
    local = Path(path).expanduser()
    if not local.is_file():
        raise _missing(path, "a folder, not a file" if local.is_dir() else "no such file")
    stat = local.stat()
    modified = dt.datetime.fromtimestamp(stat.st_mtime, dt.timezone.utc).isoformat()
    return CatalogueFile(str(local.resolve()), stat.st_size, modified)


class CatalogSource:
    name = NAME

    def __init__(self, settings: Discover):
        self.settings = settings

    def gather(self, context: SourceContext) -> SourceResult:
        if not self.settings.catalog:  # Discover refuses sources with "catalog" and no file: code built it so
            raise UserError('[discover] sources lists "catalog" but [discover] catalog is not set')
        found = describe_file(self.settings.catalog)
        return SourceResult(
            answers=[RawAnswer.of_json(ENDPOINT, {"path": found.path}, found.as_dict())],
            note=(f"catalogue {found.path} ({found.size:,} bytes, modified {found.modified}): "
                  "its songs are read and scored by Spark in the score job"),
        )


def build(settings: Discover) -> CatalogSource:
    return CatalogSource(settings)
