"""This week's picks and the user's reaction to earlier ones, read from the lake for the report page.

* ``gold/picks/ds=<week>/``: one row per song published that week (written by publishing; a dry run
  or a skipped week writes none) with ``rank``, ``track_id``, ``name``, ``artist_names``, ``source``,
  ``probability`` and ``reason``;
* ``silver/tracks/ds=<ds>/``: the library as the ingest read it on ``ds``; its ``liked`` rows from
  ``saved_tracks`` are the user's Liked Songs on that date.

The hit rate of an earlier week W is the share of W's picks that are among the Liked Songs read on
``ds``: the honest measure of the recommender, and it needs no request of its own (the ingest reads the
saved tracks anyway). A pick saved and removed again before ``ds`` does not count. Plain Python and
pyarrow: a year of picks is ~1,500 rows and the saved tracks one string column.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from weekly_discovery.core.vocabulary import SAVED_TRACKS
from weekly_discovery.lake import (
    METRICS,
    PICKS,
    RECOMMENDATIONS,
    SILVER_TRACKS,
    Lake,
    arrow_source,
    check_ds,
    list_partitions,
    read_json,
)

log = logging.getLogger(__name__)

PICK_COLUMNS = ("rank", "track_id", "name", "artist_names", "primary_artist_name", "source", "probability",
                "reason")
SOURCE_ORDER = ("reccobeats", "artists", "catalog", "playlists")  # the page's column order; others follow


def _read_rows(lake: Lake, folder: Any, columns: Iterable[str] | None = None) -> list[dict[str, Any]] | None:
    """The rows of a partition's Parquet files (only ``columns`` that exist), or None without a partition."""
    if not lake.exists(folder):
        return None
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for file in sorted(folder.glob("*.parquet")):
        source, filesystem = arrow_source(file)
        parquet = pq.ParquetFile(source, filesystem=filesystem)
        names = parquet.schema_arrow.names
        wanted = [c for c in columns if c in names] if columns is not None else None
        rows.extend(parquet.read(columns=wanted).to_pylist())
    return rows


def week_picks(lake: Lake, ds: str) -> list[dict[str, Any]]:
    """The picks published for ``ds`` (``gold/picks/ds=<ds>``), by rank; empty when none were."""
    rows = _read_rows(lake, lake.partition(PICKS, check_ds(ds)), PICK_COLUMNS) or []
    out = []
    for r in rows:
        artists = r.get("artist_names")
        if not isinstance(artists, list):
            artists = [r["primary_artist_name"]] if r.get("primary_artist_name") else []
        out.append({"rank": r.get("rank"), "track_id": r.get("track_id"), "name": r.get("name"),
                    "artists": [a for a in artists if a], "source": r.get("source"),
                    "probability": r.get("probability"), "reason": r.get("reason")})
    out.sort(key=lambda r: (r["rank"] is None, r["rank"] if r["rank"] is not None else 0, r["track_id"] or ""))
    return out


def saved_track_ids(lake: Lake, ds: str) -> set[str] | None:
    """The Liked Songs as the ingest read them on ``ds``, or None when it has not run for ``ds``."""
    rows = _read_rows(lake, lake.partition(SILVER_TRACKS, check_ds(ds)), ("track_id", "role", "source_key"))
    if rows is None:
        return None
    return {r["track_id"] for r in rows if r.get("role") == "liked" and r.get("source_key") == SAVED_TRACKS}


def _rate(offered: int, saved: int | None) -> dict[str, Any]:
    return {"offered": offered, "saved": saved,
            "rate": (saved / offered) if saved is not None and offered else None}


def hit_rates(lake: Lake, ds: str) -> dict[str, Any]:
    """For every week before ``ds`` with picks: picks offered, saved since, and the rate, per source and in total.

    Returns ``{"ds", "saved_known", "sources": [...], "weeks": [{"ds", "offered", "saved", "rate",
    "by_source": {source: {"offered", "saved", "rate"}}}], "total": {"offered", "saved", "rate",
    "by_source": {...}}}``, weeks oldest first. ``saved_known`` is False when ``silver/tracks`` has no
    partition for ``ds``: the weeks are listed with their picks, and ``saved``/``rate`` are None.
    """
    ds = check_ds(ds)
    saved = saved_track_ids(lake, ds)
    if saved is None:
        log.warning("no %s partition for ds=%s: the hit rates of earlier picks are unknown", SILVER_TRACKS, ds)
    weeks = []
    totals: dict[str, list[int]] = {}
    for week in list_partitions(lake.table(PICKS)):
        if week >= ds:
            continue
        rows = _read_rows(lake, lake.partition(PICKS, week), ("track_id", "source")) or []
        per: dict[str, list[int]] = {}
        for r in {(r["track_id"], r.get("source") or "unknown") for r in rows}:  # a song counted once per source
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


def novelty(lake: Lake, ds: str) -> dict[str, Any] | None:
    """The novelty rules the week's picks were made under, from the score step's ``_metrics.json``
    (``gold/recommendations``): ``weeks`` (novelty_weeks), ``recent`` (songs published in those weeks)
    and ``removed`` (songs the user took out of the playlist) kept out; None before the score step ran."""
    path = lake.partition(RECOMMENDATIONS, check_ds(ds)) / METRICS
    if not path.is_file():  # a local path or an object-store path alike
        return None
    metrics = read_json(path)
    if "novelty_weeks" not in metrics:
        return None
    return {"weeks": metrics["novelty_weeks"], "recent": metrics.get("recently_published_excluded"),
            "removed": metrics.get("removed_by_you_excluded")}


def load_picks(lake: Lake, ds: str) -> dict[str, Any]:
    """What the report's "This week's picks" and "Your reaction" sections show for ``ds``."""
    return {"ds": check_ds(ds), "picks": week_picks(lake, ds), "reaction": hit_rates(lake, ds),
            "novelty": novelty(lake, ds)}
