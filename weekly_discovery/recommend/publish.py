"""Deliver the week's recommendations as a private playlist in the user's Spotify account.

One playlist per name ("Weekly Discovery" by default), created once with ``POST /me/playlists``
(private) and remembered in ``gold/published/playlist.json``; every week its items are replaced:
``PUT /playlists/{id}/items`` with the first 100 URIs (Spotify's limit per request), then
``POST /playlists/{id}/items`` for each further 100, in rank order. A rerun of the same week
therefore leaves the same playlist with the same tracks, never duplicates. The last write's
``snapshot_id`` is recorded in ``gold/published/ds=D/_publish.json``.

After writing, the playlist's item count is read back: a POST retried after a lost answer could
have added a chunk twice, in which case the replace is done once more.

``dry_run`` sends no write request (it may read the stored playlist to say whether it still
exists), writes nothing to the lake, and logs what it would do. A token without the
``playlist-modify-private`` scope gets a 403 "Insufficient client scope": that fails with the
re-authorization instructions, since retrying cannot help.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

from weekly_discovery.lake.layout import METRICS, Lake, PartitionWriter, check_ds, read_json
from weekly_discovery.lake.storage import arrow_source
from weekly_discovery.lake.storage import write_json as write_json_file
from weekly_discovery.spotify.errors import REAUTHORIZE_HINT, Forbidden, NotFound, ReauthorizationRequired

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_URIS_PER_REQUEST = 100
PLAYLIST_FILE = "playlist.json"
PUBLISH_FILE = "_publish.json"
WRITE_SCOPE = "playlist-modify-private"
DESCRIPTION = "Songs picked for you by Weekly Discovery, a self-hosted recommender trained on your likes and dislikes."


class PublishInputError(RuntimeError):
    """The recommendations to publish are missing; the message says which step to run."""


@dataclass
class PublishResult:
    """What a publish did (or, in a dry run, would do)."""

    ds: str
    dry_run: bool
    playlist_name: str
    playlist_id: str | None
    playlist_url: str | None
    created: bool
    tracks: int
    snapshot_id: str | None
    model_version: str | None
    requests: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def published_table(lake: Lake) -> Path:
    return lake.table("gold", "published")


def read_recommendations(lake: Lake, ds: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The recommendations of ``ds`` in rank order, and their ``_metrics.json``."""
    import pyarrow.parquet as pq

    path = lake.partition("gold", "recommendations", check_ds(ds))
    if not (path / METRICS).is_file():
        raise PublishInputError(
            f"no recommendations for ds={ds} at {path}: run the score step (jobs/score.py) for {ds} first"
        )
    source, filesystem = arrow_source(path)
    rows = pq.read_table(source, filesystem=filesystem).to_pylist()
    rows.sort(key=lambda r: r["rank"])
    return rows, read_json(path / METRICS)


def unique_uris(rows: list[dict[str, Any]]) -> list[str]:
    """Track URIs in rank order, each once (the score step already de-duplicates; this is a guard)."""
    seen: set[str] = set()
    uris = []
    for row in rows:
        uri = row.get("uri")
        if uri and uri not in seen:
            seen.add(uri)
            uris.append(uri)
    return uris


def chunks(uris: list[str], size: int = MAX_URIS_PER_REQUEST) -> list[list[str]]:
    """``uris`` in consecutive chunks of at most ``size``; one empty chunk for no URIs (clears the playlist)."""
    return [uris[i:i + size] for i in range(0, len(uris), size)] or [[]]


def stored_playlist(lake: Lake, name: str) -> dict[str, Any] | None:
    path = published_table(lake) / PLAYLIST_FILE
    if not path.is_file():
        return None
    return (read_json(path).get("playlists") or {}).get(name)


def remember_playlist(lake: Lake, name: str, entry: dict[str, Any]) -> None:
    """Store the playlist id under its name in ``playlist.json`` (replaced atomically)."""
    path = published_table(lake) / PLAYLIST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    data = read_json(path) if path.is_file() else {}
    playlists = dict(data.get("playlists") or {})
    playlists[name] = entry
    write_json_file(path, {"playlists": playlists})


def publish(api: Any, lake: Lake, ds: str, playlist_name: str, *, dry_run: bool = False) -> PublishResult:
    """Replace the items of the playlist ``playlist_name`` with the recommendations of ``ds``.

    ``api`` is a :class:`weekly_discovery.spotify.client.SpotifyAPI` (its retry policy applies to
    every request).
    """
    rows, metrics = read_recommendations(lake, ds)
    uris = unique_uris(rows)
    parts = chunks(uris)
    result = PublishResult(ds=ds, dry_run=dry_run, playlist_name=playlist_name, playlist_id=None,
                           playlist_url=None, created=False, tracks=len(uris), snapshot_id=None,
                           model_version=metrics.get("model_version"))

    entry = stored_playlist(lake, playlist_name)
    if entry is not None and not _still_exists(api, entry):
        log.warning("the stored playlist %r (%s) no longer exists on Spotify: a new one will be created",
                    playlist_name, entry["id"])
        entry = None

    if entry is None:
        if dry_run:
            log.info("dry run: would create the private playlist %r with POST /me/playlists", playlist_name)
        else:
            created = _write(api, "create the playlist", api.sp.current_user_playlist_create, playlist_name,
                             public=False, description=DESCRIPTION)
            entry = {
                "id": created["id"],
                "uri": created.get("uri") or f"spotify:playlist:{created['id']}",
                "url": (created.get("external_urls") or {}).get("spotify")
                or f"https://open.spotify.com/playlist/{created['id']}",
                "name": playlist_name,
                "created_ds": ds,
                "created_at": _now(),
            }
            remember_playlist(lake, playlist_name, entry)  # before any other write: a retry must not create twice
            result.created = True
            result.requests.append({"method": "POST", "path": "/me/playlists"})
            log.info("created the private playlist %r: %s", playlist_name, entry["url"])
    if entry is not None:
        result.playlist_id, result.playlist_url = entry["id"], entry["url"]

    if dry_run:
        target = entry["id"] if entry else "<new playlist>"
        log.info("dry run: would replace the items of %s with %d track(s): PUT with %d URI(s)%s",
                 target, len(uris), len(parts[0]),
                 f", then {len(parts) - 1} POST(s) of at most {MAX_URIS_PER_REQUEST}" if len(parts) > 1 else "")
        result.requests += _plan(target, parts)
        return result

    result.snapshot_id = _replace_items(api, entry["id"], parts)
    result.requests += _plan(entry["id"], parts)
    total = _item_total(api, entry["id"])
    if total is not None and total != len(uris):
        log.warning("playlist %s has %d items after the update, expected %d (a retried request was applied "
                    "twice?): replacing its items once more", entry["id"], total, len(uris))
        result.snapshot_id = _replace_items(api, entry["id"], parts)
        result.requests += _plan(entry["id"], parts)
        total = _item_total(api, entry["id"])
        if total is not None and total != len(uris):
            raise RuntimeError(f"playlist {entry['id']} has {total} items after replacing them twice, "
                               f"expected {len(uris)}; the task will be retried")

    record = {**result.to_dict(), "published_at": _now(), "uris": uris}
    with PartitionWriter(lake, lake.partition("gold", "published", ds)) as writer:
        writer.write_json(PUBLISH_FILE, record)
    log.info("published %d track(s) to %r (%s), snapshot %s", len(uris), playlist_name, result.playlist_url,
             result.snapshot_id)
    return result


def _replace_items(api: Any, playlist_id: str, parts: list[list[str]]) -> str | None:
    answer = _write(api, "replace the playlist's items", api.sp.playlist_replace_items, playlist_id, parts[0])
    snapshot = (answer or {}).get("snapshot_id")
    for part in parts[1:]:
        answer = _write(api, "add items to the playlist", api.sp.playlist_add_items, playlist_id, part)
        snapshot = (answer or {}).get("snapshot_id")
    return snapshot


def _plan(playlist_id: str, parts: list[list[str]]) -> list[dict[str, Any]]:
    path = f"/playlists/{playlist_id}/items"
    return [{"method": "PUT" if i == 0 else "POST", "path": path, "uris": len(part)} for i, part in enumerate(parts)]


def _still_exists(api: Any, entry: dict[str, Any]) -> bool:
    try:
        api.call(api.sp.playlist, entry["id"], fields="id,name,snapshot_id")
    except NotFound:
        return False
    return True


def _item_total(api: Any, playlist_id: str) -> int | None:
    # the 2026 API embeds the items under "items" (and the deprecated "tracks"); ask for both totals
    body = api.call(api.sp.playlist, playlist_id, fields="id,snapshot_id,items(total),tracks(total)")
    items = (body or {}).get("items") or (body or {}).get("tracks") or {}
    return items.get("total")


def _write(api: Any, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A write request; a 403 about scopes becomes :class:`ReauthorizationRequired` with the fix."""
    try:
        return api.call(fn, *args, **kwargs)
    except Forbidden as exc:
        if "scope" in str(exc).lower():
            raise ReauthorizationRequired(
                f"Spotify refused to {what}: the authorization lacks the {WRITE_SCOPE} scope ({exc}). "
                f"Authorize again so that the token may change playlists. {REAUTHORIZE_HINT}"
            ) from None
        raise Forbidden(f"Spotify refused to {what} ({exc}): the playlist must be owned by the authorized "
                        f"user; delete {PLAYLIST_FILE} in the lake's gold/published folder to create a new one") from None


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
