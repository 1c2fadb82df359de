"""This week's picks and the user's reaction to earlier ones, read from the lake for the report page.

* ``gold/picks`` (a Delta table, one date per week): one row per song published that week (written by
  publishing; a dry run or a skipped week writes none) with ``rank``, ``track_id``, ``name``,
  ``artist_names``, ``source``, ``probability`` and ``reason``;
* ``silver/tracks`` (a Delta table): date ``ds`` is the library as the ingest read it on ``ds``; its
  ``liked`` rows from ``saved_tracks`` are the user's Liked Songs on that date.

The hit rate of an earlier week W is the share of W's picks that are among the Liked Songs read on
``ds``: the honest measure of the recommender, and it needs no request of its own (the ingest reads the
saved tracks anyway). A pick saved and removed again before ``ds`` does not count. Plain Python and
delta-rs (:mod:`weekly_discovery.lake.delta`): a year of picks is ~1,500 rows and the saved tracks one
string column.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from weekly_discovery.core.vocabulary import SAVED_TRACKS
from weekly_discovery.lake import METRICS, PICKS, RECOMMENDATIONS, SILVER_TRACKS, Lake, PartitionDate, delta, read_json

log = logging.getLogger(__name__)

PICK_COLUMNS = ("rank", "track_id", "name", "artist_names", "primary_artist_name", "source", "probability",
                "reason")  # what the page shows of a pick (a week's few rows are read whole: a missing column is None)
SOURCE_ORDER = ("reccobeats", "artists", "catalog", "playlists")  # the page's column order; others follow


def week_picks(lake: Lake, ds: PartitionDate) -> list[dict[str, Any]]:
    """The picks published for ``ds`` (date ``ds`` of ``gold/picks``), by rank; empty when none were."""
    out = []
    for r in delta.read_rows(lake, PICKS, ds):
        artists = r.get("artist_names")
        if not isinstance(artists, list):
            artists = [r["primary_artist_name"]] if r.get("primary_artist_name") else []
        out.append({"rank": r.get("rank"), "track_id": r.get("track_id"), "name": r.get("name"),
                    "artists": [a for a in artists if a], "source": r.get("source"),
                    "probability": r.get("probability"), "reason": r.get("reason")})
    out.sort(key=lambda r: (r["rank"] is None, r["rank"] if r["rank"] is not None else 0, r["track_id"] or ""))
    return out


def saved_track_ids(lake: Lake, ds: PartitionDate) -> set[str] | None:
    """The Liked Songs as the ingest read them on ``ds``, or None when it has not run for ``ds``.

    The ingest ran for ``ds`` when ``silver/tracks`` has rows of that date, or (an empty library) its
    ``_metrics.json`` of that date is there."""
    saved = delta.read(lake, SILVER_TRACKS, ds, columns=["track_id"],
                       filters=[("role", "=", "liked"), ("source_key", "=", SAVED_TRACKS)])
    if saved is None:
        return None
    if saved.num_rows == 0 and not delta.has_date(lake, SILVER_TRACKS, ds) \
            and not (lake.partition(SILVER_TRACKS, ds) / METRICS).is_file():
        return None
    return set(saved.column("track_id").to_pylist())


def _rate(offered: int, saved: int | None) -> dict[str, Any]:
    return {"offered": offered, "saved": saved,
            "rate": (saved / offered) if saved is not None and offered else None}


def hit_rates(lake: Lake, ds: PartitionDate) -> dict[str, Any]:
    """For every week before ``ds`` with picks: picks offered, saved since, and the rate, per source and in total.

    Returns ``{"ds", "saved_known", "sources": [...], "weeks": [{"ds", "offered", "saved", "rate",
    "by_source": {source: {"offered", "saved", "rate"}}}], "total": {"offered", "saved", "rate",
    "by_source": {...}}}``, weeks oldest first. ``saved_known`` is False when the ingest has not run for
    ``ds`` (:func:`saved_track_ids`): the weeks are listed with their picks, and ``saved``/``rate`` are None.
    """
    saved = saved_track_ids(lake, ds)
    if saved is None:
        log.warning("no %s rows for ds=%s: the hit rates of earlier picks are unknown", SILVER_TRACKS, ds)
    by_week: dict[str, set[tuple[str, str]]] = {}
    for r in delta.read_rows(lake, PICKS, columns=["ds", "track_id", "source"], filters=[("ds", "<", ds)]):
        by_week.setdefault(r["ds"], set()).add((r["track_id"], r.get("source") or "unknown"))
    weeks = []
    totals: dict[str, list[int]] = {}
    for week in sorted(by_week):
        per: dict[str, list[int]] = {}
        for r in by_week[week]:  # a song counted once per source
            entry = per.setdefault(r[1], [0, 0])
            entry[0] += 1
            entry[1] += 1 if saved is not None and r[0] in saved else 0
        if not per:
            continue
        offered = sum(v[0] for v in per.values())
        hits = sum(v[1] for v in per.values())
        for source, (o, h) in per.items():
            t = totals.setdefault(source, [0, 0])
            t[0] += o
            t[1] += h
        weeks.append({"ds": week, **_rate(offered, hits if saved is not None else None),
                      "by_source": {s: _rate(o, h if saved is not None else None)
                                    for s, (o, h) in _ordered(per).items()}})
    offered = sum(v[0] for v in totals.values())
    hits = sum(v[1] for v in totals.values())
    known = saved is not None
    return {
        "ds": ds,
        "saved_known": known,
        "sources": list(_ordered(totals)),
        "weeks": weeks,
        "total": {**_rate(offered, hits if known else None),
                  "by_source": {s: _rate(o, h if known else None) for s, (o, h) in _ordered(totals).items()}},
    }


def _ordered(per_source: Mapping[str, Any]) -> dict[str, Any]:
    rank = {s: i for i, s in enumerate(SOURCE_ORDER)}
    return {s: per_source[s] for s in sorted(per_source, key=lambda s: (rank.get(s, len(rank)), s))}


def novelty(lake: Lake, ds: PartitionDate) -> dict[str, Any] | None:
    """The novelty rules the week's picks were made under, from the score step's ``_metrics.json``
    (``gold/recommendations``): ``weeks`` (novelty_weeks), ``recent`` (songs published in those weeks)
    and ``removed`` (songs the user took out of the playlist) kept out; None before the score step ran."""
    path = lake.partition(RECOMMENDATIONS, ds) / METRICS
    if not path.is_file():  # a local path or an object-store path alike
        return None
    metrics = read_json(path)
    if "novelty_weeks" not in metrics:
        return None
    return {"weeks": metrics["novelty_weeks"], "recent": metrics.get("recently_published_excluded"),
            "removed": metrics.get("removed_by_you_excluded")}


def load_picks(lake: Lake, ds: PartitionDate) -> dict[str, Any]:
    """What the report's "This week's picks" and "Your reaction" sections show for ``ds``."""
    return {"ds": ds, "picks": week_picks(lake, ds), "reaction": hit_rates(lake, ds),
            "novelty": novelty(lake, ds)}
