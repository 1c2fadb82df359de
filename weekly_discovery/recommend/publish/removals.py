"""Picks the user took out of the playlist: seen when the next week is published, kept out for good.

The novelty rules keep a song out of the playlist when it is in the library (liked, disliked,
reference), when it was published in the last ``novelty_weeks`` weeks, and when the user removed it
from the playlist after it was offered. The last one is seen here: when the weekly run of ``D``
starts, before training (the model learns from removed picks: :mod:`weekly_discovery.recommend.training.feedback`),
:func:`detect_removals` reads the items the playlist holds now (a page or two of
``GET /playlists/{id}/items``; it is the user's own playlist) and compares them with the picks of the week
it holds (``published_ds`` in ``playlist.json``; :func:`weekly_discovery.recommend.publish.playlist.detect_reaction`
says when it does not compare). A pick that is no longer there was removed by the user.

The Delta table ``gold/removed_picks``, dated by the week offered (``ds``), keeps one row per removed song:
``track_id``, ``offered_ds`` (the week it was published, = ``ds``) and ``detected_ds`` (the publish run
that saw it gone; the first one is kept). A run adds what it sees to what is stored and writes the
offered week again (:func:`weekly_discovery.lake.delta.write_date`: one commit, other weeks untouched),
so a rerun adds nothing twice and loses nothing. Training and scoring week ``D`` use every song removed and detected
**by** ``D`` (:func:`removed_pick_ids`): detection runs before both, so a rerun of ``D`` sees the same
list as the first run did. A disliked song needs no rule of its own: a song the user puts
in a disliked playlist is in the library, which is always kept out.
"""

from __future__ import annotations

import logging
from typing import Any

from weekly_discovery.lake import REMOVED_PICKS, Lake, PartitionDate
from weekly_discovery.lake import delta
from weekly_discovery.recommend.publish.history import read_picks, recent_pick_ids

log = logging.getLogger(__name__)

COLUMNS = ("track_id", "offered_ds", "detected_ds")
ITEMS_PAGE = 50  # the API's maximum for playlist items


def week_pick_ids(lake: Lake, week: str) -> list[str]:
    """The track ids published in ``week`` (``gold/picks``), in rank order; [] when none were."""
    return [r["track_id"] for r in read_picks(lake, week, ["track_id"]) if r["track_id"]]


def playlist_track_ids(api: Any, playlist_id: str) -> set[str]:
    """The ids of the songs the playlist holds now (every page of its items; episodes and local files have none)."""
    page = api.call(api.sp.playlist_items, playlist_id, limit=ITEMS_PAGE, offset=0, additional_types=("track",))
    ids: set[str] = set()
    while page:
        for entry in page.get("items") or []:
            item = (entry or {}).get("item") or (entry or {}).get("track") or {}
            if item.get("id"):
                ids.add(item["id"])
        page = api.call(api.sp.next, page) if page.get("next") else None
    return ids


def detect_removals(api: Any, lake: Lake, ds: PartitionDate, playlist_id: str, offered_ds: str | None) -> list[str]:
    """Record the picks of ``offered_ds`` that the playlist no longer holds; return the newly seen ones.

    Called when the weekly run of ``ds`` starts, before training. ``offered_ds`` None (a new
    playlist, or one never filled) or a week with no recorded picks: nothing to compare, no request.
    """
    if not offered_ds:
        return []
    offered = week_pick_ids(lake, offered_ds)
    if not offered:
        return []
    held = playlist_track_ids(api, playlist_id)
    stored = {r["track_id"]: r for r in delta.read_rows(lake, REMOVED_PICKS, offered_ds, list(COLUMNS))}
    new = [t for t in dict.fromkeys(offered) if t not in held and t not in stored]
    if new:
        rows = sorted([*stored.values(), *({"track_id": t, "offered_ds": offered_ds, "detected_ds": ds} for t in new)],
                      key=lambda r: r["track_id"])
        _write(lake, offered_ds, rows)
    log.info("the playlist holds %d of the %d songs offered on %s; %d newly removed by you (kept out of every "
             "later week), %d seen before", len(set(offered) & held), len(set(offered)), offered_ds, len(new),
             len(stored))
    return new


def removed_schema() -> Any:
    import pyarrow as pa

    return pa.schema([pa.field(name, pa.string(), nullable=False) for name in COLUMNS])


def _write(lake: Lake, offered_ds: str, rows: list[dict[str, Any]]) -> None:
    """Replace the removals of the week offered ``offered_ds`` with ``rows`` (every one of them, old and new)."""
    import pyarrow as pa

    delta.write_date(lake, REMOVED_PICKS, offered_ds, pa.Table.from_pylist(rows, schema=removed_schema()))


def removed_pick_ids(lake: Lake, ds: PartitionDate) -> list[str]:
    """Every song removed from the playlist and detected by week ``ds``, sorted (see the module)."""
    rows = delta.read_rows(lake, REMOVED_PICKS, columns=["track_id"],
                           filters=[("ds", "<", ds), ("detected_ds", "<=", ds)])
    return sorted({r["track_id"] for r in rows})


def kept_out_ids(lake: Lake, ds: PartitionDate, novelty_weeks: int) -> tuple[list[str], list[str]]:
    """``(recent, removed)``: the picks of the ``novelty_weeks`` weeks before ``ds`` and the picks the user
    removed (detected by ``ds``); together with the library, what week ``ds`` may not pick."""
    return recent_pick_ids(lake, ds, novelty_weeks), removed_pick_ids(lake, ds)
