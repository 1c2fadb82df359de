"""Deliver the week's recommendations as a private playlist in the user's Spotify account.

One playlist per name ("Weekly Discovery" by default), created once with ``POST /me/playlists``
(private) and remembered in ``gold/published/_playlist.json``; every week its items are replaced:
``PUT /playlists/{id}/items`` with the first 100 URIs (Spotify's limit per request), then
``POST /playlists/{id}/items`` for each further 100, in rank order. A rerun of the same week
therefore leaves the same playlist with the same tracks, never duplicates. The last write's
``snapshot_id`` is recorded in the Delta table ``gold/published`` (one row per week ``D``: a few scalar
columns, :data:`RECORD_COLUMNS`, and the whole record as a JSON string in ``record``;
:func:`read_record` parses it), and the songs published, with their source, probability and reason, in
``gold/picks`` (:mod:`weekly_discovery.recommend.publish.history`; not on a dry run or a skipped week: only what the
user was really offered is history). Both are written with ``write_date``: one commit each, a rerun of
``D`` replaces ``D`` only.

After writing, the playlist's item count is read back: a POST retried after a lost answer could
have added a chunk twice, in which case the replace is done once more.

What publishing refuses to do, since it writes to the user's account (issue 12):

* **Replace a playlist it did not create.** The playlist named in ``_playlist.json`` is replaced only if
  ``/me/playlists`` lists it, the user (``/me``) owns it, it carries the configured name and the
  :data:`MARKER` this project writes into the description of the playlist it creates, and it is not one
  of the config's ``[sources]``; otherwise :class:`PlaylistRefused` (a user error). A lake's files and a
  run's ``playlist_name`` Param are not trusted to pick the target: a name that matches a playlist of the
  user's that the project did not create is refused, never filled.
* **Fill a playlist the user deleted.** On Spotify "delete" is an unfollow: ``GET /playlists/{id}``
  still succeeds, only ``/me/playlists`` stops listing it. A stored playlist that is not listed is
  left alone and another one is used.
* **Create a second playlist.** ``POST /me/playlists`` is not idempotent: an owned playlist with the
  configured name and the marker in ``/me/playlists`` is reused, and the POST is sent once. If its answer may have
  been lost (5xx, timeout, dropped connection), the playlists are listed again; if it is not there,
  :class:`PlaylistCreateUncertain` (transient) lets Airflow retry the task, which looks again first.
* **Overwrite the live playlist with nothing or with an older week.** An empty list, or a ``ds``
  older than the week the playlist holds, is skipped (logged, recorded with ``skipped``, nothing sent
  to Spotify) unless ``allow_empty`` / ``allow_backfill`` says otherwise. Skipping is a success: the
  playlist keeps valid picks and nothing is wrong with the run.

``dry_run`` sends no write request (it reads ``/me`` and ``/me/playlists`` to say what it would do),
writes nothing to the lake, and logs what it would do. A token without the
``playlist-modify-private`` scope gets a 403 "Insufficient client scope", and one without
``playlist-read-private`` (which ``/me/playlists`` needs to list the private playlist) is refused
before any write: both fail with the re-authorization instructions, since retrying cannot help.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

from weekly_discovery.core.errors import TransientError, UserError
from weekly_discovery.lake import METRICS, PUBLISHED, RECOMMENDATIONS, Lake, PartitionDate, read_json
from weekly_discovery.lake import delta
from weekly_discovery.lake import write_json as write_json_file
from weekly_discovery.recommend.publish.history import pick_rows, write_picks
from weekly_discovery.recommend.publish.removals import detect_removals
from weekly_discovery.spotify.errors import REAUTHORIZE_HINT, Forbidden, ReauthorizationRequired, SpotifyUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_URIS_PER_REQUEST = 100
PLAYLIST_FILE = "_playlist.json"  # in the table's folder: "_" keeps it out of Delta's (and VACUUM's) view
RECORD = "record"
RECORD_COLUMNS = ("playlist_name", "playlist_id", "tracks", "snapshot_id", "model_version", "dry_run", "skipped",
                  "published_at", "skipped_at")
"""``gold/published``'s columns besides ``ds`` and ``record``: the record's fields of the same names (a field
the record lacks is null), so a query needs no JSON parsing for them."""
WRITE_SCOPE = "playlist-modify-private"
LIST_SCOPE = "playlist-read-private"
#: Written into the description of the playlist the project creates: only a playlist that carries it is ever
#: replaced (issue 29: a Param or a lake must not aim the owner's token at any playlist they own).
MARKER = "Songs picked for you by Weekly Discovery"
DESCRIPTION = f"{MARKER}, a self-hosted recommender trained on your likes."


class PublishInputError(UserError, RuntimeError):
    """The recommendations to publish are missing; the message says which step to run."""


class PlaylistRefused(UserError, RuntimeError):
    """The stored playlist is not the user's own or has another name: it is not touched (retrying won't help)."""


class PlaylistCreateUncertain(TransientError, RuntimeError):
    """Creating the playlist failed after it may have reached Spotify, and it is not listed (yet).

    Transient: the task's retry, minutes later, lists the playlists again before creating one.
    """


@dataclass
class PublishResult:
    """What a publish did (or, in a dry run, would do)."""

    ds: PartitionDate
    dry_run: bool
    playlist_name: str
    playlist_id: str | None
    playlist_url: str | None
    created: bool
    tracks: int
    snapshot_id: str | None
    model_version: str | None
    requests: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None
    """Why nothing was published (an empty or an older week without its parameter), or None."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def published_table(lake: Lake) -> Path:
    return lake.table(PUBLISHED)


def read_recommendations(lake: Lake, ds: PartitionDate) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The recommendations of ``ds`` in rank order, and their ``_metrics.json``.

    The metrics file, written after the date's commit, says the score step ran for ``ds`` (a week may
    have no rows at all)."""
    metrics = lake.partition(RECOMMENDATIONS, ds) / METRICS
    if not metrics.is_file():
        raise PublishInputError(
            f"no recommendations for ds={ds} in {lake.table(RECOMMENDATIONS)}: run the score step (jobs/score.py) "
            f"for {ds} first"
        )
    rows = delta.read_rows(lake, RECOMMENDATIONS, ds)
    rows.sort(key=lambda r: r["rank"])
    return rows, read_json(metrics)


def published_schema() -> Any:
    import pyarrow as pa

    types = {"tracks": pa.int64(), "dry_run": pa.bool_()}
    return pa.schema([pa.field(name, types.get(name, pa.string())) for name in (*RECORD_COLUMNS, RECORD)])


def write_record(lake: Lake, ds: PartitionDate, record: dict[str, Any]) -> None:
    """Replace the publish record of ``ds`` (one row of ``gold/published``; one commit)."""
    import pyarrow as pa

    row = {name: record.get(name) for name in RECORD_COLUMNS}
    row["dry_run"] = bool(row["dry_run"])
    row[RECORD] = json.dumps(record, sort_keys=True)
    delta.write_date(lake, PUBLISHED, ds, pa.Table.from_pylist([row], schema=published_schema()))


def read_record(lake: Lake, ds: PartitionDate) -> dict[str, Any] | None:
    """The publish record of ``ds`` (what the run wrote, or why it skipped), or None when there is none."""
    rows = delta.read_rows(lake, PUBLISHED, ds, [RECORD])
    return json.loads(rows[0][RECORD]) if rows else None


def read_records(lake: Lake) -> dict[str, dict[str, Any]]:
    """Every publish record by date, oldest first."""
    rows = delta.read_rows(lake, PUBLISHED, columns=["ds", RECORD])
    return {r["ds"]: json.loads(r[RECORD]) for r in sorted(rows, key=lambda r: r["ds"])}


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


def _first_per_uri(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows :func:`unique_uris` publishes (the first of each URI), in rank order."""
    seen: set[str] = set()
    kept = []
    for row in rows:
        if row.get("uri") and row["uri"] not in seen:
            seen.add(row["uri"])
            kept.append(row)
    return kept


def chunks(uris: list[str], size: int = MAX_URIS_PER_REQUEST) -> list[list[str]]:
    """``uris`` in consecutive chunks of at most ``size``; one empty chunk for no URIs (clears the playlist)."""
    return [uris[i:i + size] for i in range(0, len(uris), size)] or [[]]


def stored_playlist(lake: Lake, name: str) -> dict[str, Any] | None:
    path = published_table(lake) / PLAYLIST_FILE
    if not path.is_file():
        return None
    return (read_json(path).get("playlists") or {}).get(name)


def remember_playlist(lake: Lake, name: str, entry: dict[str, Any]) -> None:
    """Store the playlist id under its name in ``_playlist.json`` (replaced atomically)."""
    path = published_table(lake) / PLAYLIST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    data = read_json(path) if path.is_file() else {}
    playlists = dict(data.get("playlists") or {})
    playlists[name] = entry
    write_json_file(path, {"playlists": playlists})


def publish(api: Any, lake: Lake, ds: PartitionDate, playlist_name: str, *, dry_run: bool = False,
            allow_empty: bool = False, allow_backfill: bool = False,
            sources: frozenset[str] = frozenset()) -> PublishResult:
    """Replace the items of the playlist ``playlist_name`` with the recommendations of ``ds``.

    ``api`` is a :class:`weekly_discovery.spotify.client.SpotifyAPI` (its retry policy applies to
    every request but the playlist's creation, see :func:`_create`). ``allow_empty`` publishes an
    empty list (emptying the playlist); ``allow_backfill`` publishes a week older than the one the
    playlist holds. ``sources``: the ids of the config's source playlists, which are never replaced.
    """
    rows, metrics = read_recommendations(lake, ds)
    uris = unique_uris(rows)
    parts = chunks(uris)
    result = PublishResult(ds=ds, dry_run=dry_run, playlist_name=playlist_name, playlist_id=None,
                           playlist_url=None, created=False, tracks=len(uris), snapshot_id=None,
                           model_version=metrics.get("model_version"))

    entry = stored_playlist(lake, playlist_name)
    result.skipped = skip_reason(lake, ds, playlist_name, entry, uris,
                                 allow_empty=allow_empty, allow_backfill=allow_backfill)
    if result.skipped:
        log.warning("not publishing ds=%s to %r%s: %s", ds, playlist_name, " (dry run)" if dry_run else "",
                    result.skipped)
        if not dry_run:
            _write_skip_record(lake, ds, {**result.to_dict(), "skipped_at": _now(), "uris": uris})
        return result

    entry = _target_playlist(api, lake, ds, playlist_name, entry, result, sources)
    if entry is not None:
        result.playlist_id, result.playlist_url = entry["id"], entry["url"]

    if dry_run:
        target_id = entry["id"] if entry else "<new playlist>"
        log.info("dry run: would replace the items of %s with %d track(s): PUT with %d URI(s)%s",
                 target_id, len(uris), len(parts[0]),
                 f", then {len(parts) - 1} POST(s) of at most {MAX_URIS_PER_REQUEST}" if len(parts) > 1 else "")
        result.requests += _plan(target_id, parts)
        return result

    # the playlist's content is unknown from here until the end: the reaction of a later week is not read from it
    remember_playlist(lake, playlist_name, {**entry, "writing_ds": ds})
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

    # the history of what the user was really offered (novelty, the report's picks and hit rate);
    # written before the publish record, so a record always has its picks
    picks = write_picks(lake, ds, pick_rows(ds, _first_per_uri(rows), entry["id"]))
    log.info("picks history: %s", picks)
    write_record(lake, ds, {**result.to_dict(), "published_at": _now(), "uris": uris})
    remember_playlist(lake, playlist_name, {**entry, "published_ds": ds})  # the week the playlist now holds
    log.info("published %d track(s) to %r (%s), snapshot %s", len(uris), playlist_name, result.playlist_url,
             result.snapshot_id)
    return result


def detect_reaction(api: Any, lake: Lake, ds: PartitionDate, playlist_name: str) -> list[str]:
    """Before week ``ds`` is trained: record the picks of the week the playlist holds that the user took out
    (:func:`weekly_discovery.recommend.publish.removals.detect_removals`); return the newly seen ones.

    Nothing to compare (no playlist yet, or it already holds ``ds`` or a later week: a rerun), or an earlier
    publish stopped while replacing the items (``writing_ds`` after ``published_ds``: what the playlist holds
    is neither week's picks, so a missing song says nothing): no request, nothing recorded.
    """
    entry = stored_playlist(lake, playlist_name)
    held = (entry or {}).get("published_ds")
    if not entry or not held or held >= ds:
        return []
    if (entry.get("writing_ds") or "") > held:
        log.warning("the publish of %s stopped while it replaced the items of %r: the songs it holds are not %s's "
                    "picks, so no removal is read from it this week", entry["writing_ds"], playlist_name, held)
        return []
    return detect_removals(api, lake, ds, entry["id"], held)


def _target_playlist(api: Any, lake: Lake, ds: PartitionDate, name: str, entry: dict[str, Any] | None,
                     result: PublishResult, sources: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """The ``_playlist.json`` entry of the playlist to fill, checked; None only in a dry run that would create one.

    The stored playlist if ``/me/playlists`` still lists it, else an owned one of that name it lists,
    else a new one (created once, see :func:`_create`). Whichever it is must be the user's and carry
    ``name`` (:func:`_check_target`). A new choice is remembered before any other write.
    """
    me = api.call(api.sp.me)["id"]
    _require_listing_scope(api)
    listed = listed_playlists(api)
    target = _stored_target(entry, listed, name)
    if target is None:
        entry = None
        target = owned_playlist_named(listed, me, name)
        if target is not None and not created_here(target):
            raise PlaylistRefused(
                f"your playlist {name!r} ({target['id']}) was not created by Weekly Discovery (its description "
                f"lacks {MARKER!r}): it is never replaced. Choose another name ([model] playlist_name, or the "
                "run's playlist_name Param), or rename that playlist in Spotify")
        if target is not None:
            log.info("reusing your playlist %r (%s) found in /me/playlists instead of creating another",
                     name, target["id"])
            entry = _entry(target, name, found_ds=ds)
        elif result.dry_run:
            log.info("dry run: would create the private playlist %r with POST /me/playlists", name)
        else:
            target, result.created = _create(api, me, name), True
            result.requests.append({"method": "POST", "path": "/me/playlists"})
            entry = _entry(target, name, created_ds=ds)
            log.info("created the private playlist %r: %s", name, entry["url"])
        if entry is not None and not result.dry_run:
            remember_playlist(lake, name, entry)  # before any other write: a retry must not create twice
    if target is not None:
        _check_target(lake, target, me, name, sources)  # the last check before the items are replaced
    return entry


def created_here(playlist: dict[str, Any]) -> bool:
    """Whether the playlist carries the :data:`MARKER` this project writes into the playlists it creates."""
    return MARKER in (playlist.get("description") or "")


def skip_reason(lake: Lake, ds: PartitionDate, playlist_name: str, entry: dict[str, Any] | None, uris: list[str], *,
                allow_empty: bool, allow_backfill: bool) -> str | None:
    """Why publishing ``ds`` would harm the live playlist without the matching parameter, or None."""
    if not uris and not allow_empty:
        return (f"there are no recommendations for ds={ds}, and publishing them would empty the playlist "
                f"{playlist_name!r}; run again with the allow_empty param set to true to empty it anyway")
    if not allow_backfill:
        last = last_published_ds(lake, playlist_name, entry)
        if last is not None and ds < last:
            return (f"ds={ds} is older than ds={last}, the week the playlist {playlist_name!r} holds: publishing "
                    f"it would replace newer picks with older ones; run again with the allow_backfill param set "
                    f"to true to publish it anyway")
    return None


def last_published_ds(lake: Lake, playlist_name: str, entry: dict[str, Any] | None) -> str | None:
    """The week the playlist holds: ``published_ds`` in ``_playlist.json``, else (a lake written before
    that key existed) the newest publish record for that name that was neither skipped nor a dry run."""
    if entry and entry.get("published_ds"):
        return str(entry["published_ds"])
    rows = delta.read_rows(lake, PUBLISHED, columns=["ds", "skipped", "dry_run"],
                           filters=[("playlist_name", "=", playlist_name)])
    published = [r["ds"] for r in rows if not r["skipped"] and not r["dry_run"]]
    return max(published, default=None)


def listed_playlists(api: Any) -> dict[str, dict[str, Any]]:
    """Every playlist ``/me/playlists`` lists (owned and followed), by id in listed order, all pages.

    A playlist the user deleted is no longer listed, though ``GET /playlists/{id}`` still answers it.
    """
    listed: dict[str, dict[str, Any]] = {}
    page = api.call(api.sp.current_user_playlists, limit=50)
    while page:
        for playlist in page.get("items") or []:
            if playlist and playlist.get("id"):
                listed.setdefault(playlist["id"], playlist)
        page = api.call(api.sp.next, page) if page.get("next") else None
    return listed


def _require_listing_scope(api: Any) -> None:
    """Refuse a token that cannot see private playlists in ``/me/playlists``.

    The playlist is private: without ``playlist-read-private`` it is never listed, so it would look
    deleted and every run would create another one. (Scopes unknown, e.g. a stub client: no check.)
    """
    scopes = getattr(api.auth, "scopes", None)
    if scopes and LIST_SCOPE not in scopes:
        raise ReauthorizationRequired(
            f"the Spotify authorization lacks the {LIST_SCOPE} scope, which listing your playlists needs to "
            f"find the private playlist it fills (granted: {' '.join(sorted(scopes))}). {REAUTHORIZE_HINT}")


def owned_playlist_named(listed: dict[str, dict[str, Any]], user_id: str, name: str) -> dict[str, Any] | None:
    """The first listed playlist that ``user_id`` owns and that is called ``name`` (None if there is none)."""
    matches = [p for p in listed.values() if _owner_id(p) == user_id and p.get("name") == name]
    if len(matches) > 1:
        log.warning("%d of your playlists are called %r: using %s; delete the others in Spotify",
                    len(matches), name, matches[0]["id"])
    return matches[0] if matches else None


def _stored_target(entry: dict[str, Any] | None, listed: dict[str, dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The stored playlist as ``/me/playlists`` lists it, or None when there is none or it is no longer listed."""
    if entry is None:
        return None
    target = listed.get(entry["id"])
    if target is None:
        log.warning("the stored playlist %r (%s) is no longer in your playlists on Spotify (deleting a playlist "
                    "unfollows it): it is left alone and another one is used", name, entry["id"])
    return target


def _check_target(lake: Lake, playlist: dict[str, Any], user_id: str, name: str,
                  sources: frozenset[str] = frozenset()) -> None:
    """Refuse a playlist that ``user_id`` does not own, that is not called ``name``, that this project did not
    create (no :data:`MARKER`) or that is one of the config's ``sources``.

    The id comes from the lake; whoever can change the lake (or point a run at another one) must not
    be able to aim the owner's token at another playlist the owner can edit.
    """
    where = published_table(lake) / PLAYLIST_FILE
    owner, actual = _owner_id(playlist), playlist.get("name")
    if owner != user_id:
        raise PlaylistRefused(
            f"the playlist {playlist['id']} that {where} names for {name!r} belongs to {owner!r}, not to the "
            f"authorized user {user_id!r}: publishing only replaces the user's own playlist. Restore "
            f"{PLAYLIST_FILE} if it was changed, or remove its {name!r} entry to use the user's own playlist")
    if actual != name:
        raise PlaylistRefused(
            f"the playlist {playlist['id']} that {where} names for {name!r} is called {actual!r} on Spotify, "
            f"not {name!r}: publishing only replaces the playlist with the configured name. Rename it back to "
            f"{name!r} in Spotify, or remove the {name!r} entry from {PLAYLIST_FILE} to use a new playlist")
    if playlist["id"] in sources:
        raise PlaylistRefused(
            f"the playlist {playlist['id']} ({actual!r}) is one of the [sources] of your config: the songs it "
            "holds are what the model learns from, so it is never replaced. Choose another [model] playlist_name")
    if not created_here(playlist):
        raise PlaylistRefused(
            f"the playlist {playlist['id']} that {where} names for {name!r} was not created by Weekly Discovery "
            f"(its description lacks {MARKER!r}): it is never replaced. Restore {PLAYLIST_FILE} if it was "
            f"changed, put the sentence back into the description if you edited it, or remove the {name!r} entry "
            f"from {PLAYLIST_FILE} to use a new playlist")


def _create(api: Any, user_id: str, name: str) -> dict[str, Any]:
    """``POST /me/playlists``, never blindly repeated; after a possibly lost answer, the playlist is looked for.

    ``idempotent=False`` lets the client retry only failures that prove Spotify did nothing (429, 401,
    no connection); after a 5xx, a timeout or a dropped connection it raises at once.
    """
    try:
        return _write(api, "create the playlist", api.sp.current_user_playlist_create, name,
                      public=False, description=DESCRIPTION, idempotent=False)
    except SpotifyUnavailable as lost:
        log.warning("creating the playlist %r failed after the request may have reached Spotify (%s): not "
                    "sending it again; looking for it in your playlists", name, lost)
        found = owned_playlist_named(listed_playlists(api), user_id, name)
        if found is None:
            raise PlaylistCreateUncertain(
                f"creating the playlist {name!r} failed and it is not in your playlists (yet); the request is "
                "not repeated since Spotify may have carried it out: the task will be retried and looks for "
                f"the playlist again before creating one ({lost})") from None
        log.info("the playlist %r was created all the same (%s): using it", name, found["id"])
        return found


def _entry(playlist: dict[str, Any], name: str, **when: str) -> dict[str, Any]:
    """What ``_playlist.json`` remembers of a playlist; ``when``: ``created_ds`` or ``found_ds``."""
    playlist_id = playlist["id"]
    return {
        "id": playlist_id,
        "uri": playlist.get("uri") or f"spotify:playlist:{playlist_id}",
        "url": (playlist.get("external_urls") or {}).get("spotify")
        or f"https://open.spotify.com/playlist/{playlist_id}",
        "name": name,
        **when,
        "created_at" if "created_ds" in when else "found_at": _now(),
    }


def _owner_id(playlist: dict[str, Any]) -> str | None:
    return (playlist.get("owner") or {}).get("id")


def _write_skip_record(lake: Lake, ds: PartitionDate, record: dict[str, Any]) -> None:
    """Record a skipped publish, keeping the record of what that week published before (if any)."""
    earlier = read_record(lake, ds)
    if earlier is not None:
        earlier = earlier.get("earlier_record") if earlier.get("skipped") else earlier
        if earlier:
            record["earlier_record"] = earlier
    write_record(lake, ds, record)


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
