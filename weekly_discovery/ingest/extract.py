"""Extract the user's sources from Spotify into the raw layer, verbatim and incrementally.

Each source (Liked Songs or one playlist) becomes one raw partition per date: the API's pages as
returned, plus a ``_manifest.json`` that lists, in order, every page that makes up the source as
of that date. Pages of the previous extraction are reused rather than fetched again when nothing
changed:

* Liked Songs come newest first: paging stops at the newest track of the previous extraction, and
  the source is today's pages followed by the previous ones. If the total then does not add up
  (a track was removed), the pass continues to the end instead (a full pass).
* A playlist whose ``snapshot_id`` equals the previous extraction's is not read again.

**Every partition is self-contained.** Reused pages are not referenced where they lie, in the
earlier date's partition: they are copied into this date's partition, numbered after the pages
fetched today (``page-00000`` ... in manifest order; a hard link locally, a server-side copy on
object storage, so it costs no Spotify request, and locally no space). The manifest lists only its
own partition's files, and ``copied_from`` records where each reused page came from. So a rerun of
an earlier date, which replaces that date's whole partition (possibly with different pages, if the
library changed meanwhile), can neither break a later date nor change what it holds; and an old
date can be deleted without touching the others. If a page the previous manifest lists is missing
(a lake written before partitions were self-contained, or damaged by hand), the source is read in
full instead of reusing it.

A partition is written in place and exists for readers only through its ``_manifest.json``, written
last (:class:`RawPartition`). A rerun of the date, once Spotify has answered for the source (a
source that cannot be read at all keeps the earlier run's partition), deletes the old manifest (from
then on the source has no partition of that date), then every file of the earlier run. A file is
only ever replaced by a new one, never written through, so a hard-linked name never changes another
date's page. A crash leaves the date without a manifest, invisible to every reader
(``Lake.raw_manifests``, ``Lake.previous_manifest``), and a rerun of the same date rebuilds the same
partition from the same previous manifests (strictly earlier dates), replacing what the crash left.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from weekly_discovery.core.errors import UserError
from weekly_discovery.core.vocabulary import SAVED_TRACKS
from weekly_discovery.lake import MANIFEST, Lake, LakeError, ObjectPath, rmtree, write_atomic, write_json
from weekly_discovery.lake.storage import copy_file
from weekly_discovery.settings.config import Config, Source
from weekly_discovery.spotify.client import SpotifyAPI
from weekly_discovery.spotify.errors import Forbidden, NotFound

log = logging.getLogger(__name__)

SAVED_TRACKS_PAGE = 50  # GET /me/tracks: limit 1-50
PLAYLIST_ITEMS_PAGE = 50  # GET /playlists/{id}/items: limit 1-50
PLAYLIST_FIELDS = "id,name,snapshot_id,collaborative,owner(id,display_name),items(total),tracks(total)"


class SourcesUnreadable(UserError, RuntimeError):
    """Some configured sources could not be read; the others were extracted."""


@dataclass
class SourceResult:
    source_key: str
    role: str
    name: str
    mode: str  # full | incremental | unchanged
    item_total: int
    new_pages: int
    requests: int
    path: str
    snapshot_id: str | None = None


@dataclass
class ExtractSummary:
    ds: str
    sources: list[SourceResult] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def extract_library(
    api: SpotifyAPI, lake: Lake, config: Config, ds: str, *, full_resync: bool = False
) -> ExtractSummary:
    """Extract every configured source for date ``ds``; raise :class:`SourcesUnreadable` at the end
    if a source could not be read (after extracting all the others)."""
    started = time.monotonic()
    requests_before = api.requests_made
    summary = ExtractSummary(ds=ds)
    user_id = None
    if any(s.kind == "playlist" for s in config.sources):
        user_id = api.call(api.sp.me)["id"]
    for index, source in enumerate(config.sources, start=1):
        log.info("source %d/%d: %s (%s), role %s", index, len(config.sources), source.describe(),
                 source.key, source.role)
        try:
            if source.kind == SAVED_TRACKS:
                result = extract_saved_tracks(api, lake, source, ds, full_resync=full_resync)
            else:
                result = extract_playlist(api, lake, source, ds, user_id=user_id, full_resync=full_resync)
        except (Forbidden, NotFound) as exc:
            summary.errors[source.key] = _unreadable_message(source, exc, user_id)
            log.error("%s", summary.errors[source.key])
            continue
        summary.sources.append(result)
    summary.removed = _remove_unconfigured(lake, config, ds)
    summary.requests = api.requests_made - requests_before
    summary.seconds = round(time.monotonic() - started, 3)
    log.info("extracted %d sources for ds=%s: %d items, %d new pages, %d requests in %.1fs",
             len(summary.sources), ds, sum(r.item_total for r in summary.sources),
             sum(r.new_pages for r in summary.sources), summary.requests, summary.seconds)
    if summary.errors:
        raise SourcesUnreadable(
            f"{len(summary.errors)} source(s) could not be read (the others were extracted):\n- "
            + "\n- ".join(summary.errors.values())
        )
    return summary


def extract_saved_tracks(
    api: SpotifyAPI, lake: Lake, source: Source, ds: str, *, full_resync: bool = False
) -> SourceResult:
    key = source.key
    previous = _reusable(lake, key, None if full_resync else lake.previous_manifest(key, ds))
    head = (previous or {}).get("head")
    progress = _Progress(key, api)
    requests_before = api.requests_made
    writer = RawPartition(lake.raw_partition(key, ds))
    page = api.call(api.sp.current_user_saved_tracks, limit=SAVED_TRACKS_PAGE, offset=0)
    total = int(page.get("total") or 0)
    new_head = _saved_item_key(page["items"][0]) if page.get("items") else None
    pages: list[str] = []
    new_items = 0
    reached_known = False
    while True:
        pages.append(_write_page(lake, writer, len(pages), page))
        for item in page.get("items") or []:
            if head is not None and _saved_item_key(item) == head:
                reached_known = True
                break
            new_items += 1
        progress.page(len(pages), total, new_items)
        if reached_known and total == previous["item_total"] + new_items:
            break
        if reached_known:
            log.info("%s: total %d != %d known + %d new (tracks were removed): reading everything",
                     key, total, previous["item_total"], new_items)
            reached_known, head = False, None
        if not page.get("next"):
            break
        page = api.call(api.sp.next, page)

    copied: dict[str, str] = {}
    if reached_known and new_items == 0:
        mode = "unchanged"
        writer.discard(pages[0])  # nothing new: the first page only repeats known tracks
        pages = []
    elif reached_known:
        mode = "incremental"
    else:
        mode = "full"
    new_pages = len(pages)
    if mode != "full":
        copied = _copy_pages(lake, writer, len(pages), previous["pages"])
    listed = pages + list(copied)
    manifest = _manifest(source, ds, mode, listed, total, api.requests_made - requests_before,
                         name="Liked Songs", snapshot_id=None, head=new_head, copied_from=copied)
    writer.publish(manifest)
    progress.done(mode, total)
    return SourceResult(key, source.role, "Liked Songs", mode, total, new_pages,
                        manifest["requests"], str(lake.raw_partition(key, ds)))


def extract_playlist(
    api: SpotifyAPI, lake: Lake, source: Source, ds: str, *, user_id: str | None, full_resync: bool = False
) -> SourceResult:
    key = source.key
    previous = _reusable(lake, key, None if full_resync else lake.previous_manifest(key, ds))
    requests_before = api.requests_made
    progress = _Progress(key, api)
    meta = api.call(api.sp.playlist, source.spotify_id, fields=PLAYLIST_FIELDS)
    name = meta.get("name") or source.spotify_id
    snapshot = meta.get("snapshot_id")
    writer = RawPartition(lake.raw_partition(key, ds))
    copied: dict[str, str] = {}
    if previous and snapshot and previous.get("snapshot_id") == snapshot:
        copied = _copy_pages(lake, writer, 0, previous["pages"])
        mode, listed, total, new_pages = "unchanged", list(copied), previous["item_total"], 0
    else:
        pages: list[str] = []
        page = api.call(api.sp.playlist_items, source.spotify_id, limit=PLAYLIST_ITEMS_PAGE, offset=0,
                        additional_types=("track", "episode"))
        total = int(page.get("total") or 0)
        while True:
            pages.append(_write_page(lake, writer, len(pages), page))
            progress.page(len(pages), total, min(total, page.get("offset", 0) + len(page.get("items") or [])))
            if not page.get("next"):
                break
            page = api.call(api.sp.next, page)
        mode, listed, new_pages = "full", pages, len(pages)
    manifest = _manifest(source, ds, mode, listed, total, api.requests_made - requests_before,
                         name=name, snapshot_id=snapshot, owner_id=(meta.get("owner") or {}).get("id"),
                         copied_from=copied)
    writer.publish(manifest)
    progress.done(mode, total)
    return SourceResult(key, source.role, name, mode, total, new_pages, manifest["requests"],
                        str(lake.raw_partition(key, ds)), snapshot)


def _page_name(index: int) -> str:
    return f"page-{index:05d}.json"


def _write_page(lake: Lake, writer: RawPartition, index: int, page: dict[str, Any]) -> str:
    """Store one API response as returned (re-serialized JSON, no field touched)."""
    name = _page_name(index)
    return lake.relative(writer.write_bytes(name, json.dumps(page, ensure_ascii=False).encode("utf-8")))


def _copy_pages(lake: Lake, writer: RawPartition, first_index: int, previous_pages: list[str]) -> dict[str, str]:
    """Copy the previous extraction's pages into this partition, numbered from ``first_index`` on.

    Returns ``{page in this partition: page it was copied from}`` (lake-relative), in manifest order.
    """
    copied = {}
    for index, source in enumerate(previous_pages, start=first_index):
        copied[lake.relative(writer.copy_in(_page_name(index), lake.absolute(source)))] = source
    return copied


class RawPartition:
    """One source's raw partition of one date, written in place and published by its manifest, written last.

    Nothing is touched until the first file is written: then the date's earlier extraction of the source
    is withdrawn, its manifest first (from then on the partition does not exist for readers) and then
    every other file it left (pages, temporary files of a crashed run), so the partition ends up holding
    only what its new manifest lists. :meth:`publish` writes the manifest once every page is in place
    (locally after the folder's entries are flushed to disk), and only then is the partition visible.
    """

    def __init__(self, folder: Path | ObjectPath):
        self.folder = folder
        self._withdrawn = False

    def _withdraw(self) -> None:
        if self._withdrawn:
            return
        manifest = self.folder / MANIFEST
        if manifest.exists():
            manifest.unlink()
            log.info("replacing the earlier extraction in %s", self.folder)
        rmtree(self.folder)  # the earlier run's pages (hard links: other dates keep their own names)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._withdrawn = True

    def _path(self, name: str) -> Path | ObjectPath:
        if "/" in name or name.startswith(".") or name == MANIFEST:
            raise LakeError(f"invalid page file name {name!r}")
        self._withdraw()
        return self.folder / name

    def write_bytes(self, name: str, data: bytes) -> Path | ObjectPath:
        """A new file ``name`` (a new file replaces a name: a hard-linked one is never written through)."""
        return write_atomic(self._path(name), data)

    def copy_in(self, name: str, source: Path | ObjectPath) -> Path | ObjectPath:
        """A copy of an existing lake file as ``name``: a hard link locally (a byte copy where links are not
        possible), a server-side copy on object storage. ``FileNotFoundError`` if ``source`` is gone."""
        path = self._path(name)
        if not isinstance(path, ObjectPath):
            path.unlink(missing_ok=True)
        return copy_file(source, path)

    def discard(self, relative_or_name: str) -> None:
        """Remove a file written earlier in this partition (by name or lake-relative path)."""
        self._path(Path(relative_or_name).name).unlink()

    def publish(self, manifest: dict[str, Any]) -> None:
        """Write the manifest: the partition exists from now on, with the pages it lists."""
        self._withdraw()  # a manifest without pages still replaces the earlier run's
        if not isinstance(self.folder, ObjectPath):
            _fsync_dir(self.folder)  # the pages' names reach the disk before the manifest that lists them
        write_json(self.folder / MANIFEST, manifest)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reusable(lake: Lake, key: str, previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """``previous`` if every page it lists is still there to be copied, else None (read in full)."""
    if previous is None:
        return None
    missing = lake.missing_files(list(previous.get("pages") or []))
    if missing:
        log.warning("%s: %d page(s) of the ds=%s extraction are missing (e.g. %s): reading the source in full",
                    key, len(missing), previous.get("ds"), missing[0])
        return None
    return previous


def _saved_item_key(item: dict[str, Any]) -> dict[str, Any]:
    return {"track_id": (item.get("track") or {}).get("id"), "added_at": item.get("added_at")}


def _manifest(source: Source, ds: str, mode: str, pages: list[str], total: int, requests: int,
              **extra: Any) -> dict[str, Any]:
    return {
        "source_key": source.key,
        "kind": source.kind,
        "role": source.role,
        "spotify_id": source.spotify_id,
        "ds": ds,
        "mode": mode,
        "pages": pages,
        "item_total": total,
        "requests": requests,
        "extracted_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **extra,
    }


def _remove_unconfigured(lake: Lake, config: Config, ds: str) -> list[str]:
    """Drop ``ds`` partitions of sources no longer in the config (a rerun after a config edit): the manifest
    first, so the partition is gone for readers before any of its pages."""
    wanted = {s.key for s in config.sources}
    removed = []
    for manifest_path in lake.raw_manifests(ds):
        key = manifest_path.parent.parent.name.removeprefix("source=")
        if key not in wanted:
            manifest_path.unlink()
            rmtree(manifest_path.parent)
            removed.append(key)
            log.info("removed ds=%s partition of %s: no longer in the config", ds, key)
    return removed


def _unreadable_message(source: Source, exc: Exception, user_id: str | None) -> str:
    if isinstance(exc, NotFound):
        return (f"sources.{source.role}: {source.describe()} does not exist or is not visible to you "
                f"(404). Check the id in the config file.")
    return (
        f"sources.{source.role}: {source.describe()} cannot be read (403): since 2026 Spotify lets apps read "
        f"only playlists the signed-in user ({user_id}) owns or collaborates on. In the Spotify app, copy its "
        "songs into a playlist of your own (select all > Add to playlist > New playlist) and put that "
        "playlist's link in the config instead."
    )


class _Progress:
    """One log line per page: source, page k of n, items so far, requests, elapsed."""

    def __init__(self, key: str, api: SpotifyAPI):
        self.key, self.api, self.started = key, api, time.monotonic()
        self.requests_at_start = api.requests_made

    def page(self, k: int, total: int, items: int) -> None:
        n = max(1, math.ceil(total / 50))
        log.info("%s: page %d of %d, %d of %d items, %d requests, %.1fs", self.key, k, n, items, total,
                 self.api.requests_made - self.requests_at_start, time.monotonic() - self.started)

    def done(self, mode: str, total: int) -> None:
        log.info("%s: %s, %d items, %d requests, %.1fs", self.key, mode, total,
                 self.api.requests_made - self.requests_at_start, time.monotonic() - self.started)
