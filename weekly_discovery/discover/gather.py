"""Run the configured candidate sources of one week and land their output (the discovery stage's task).

``gather(lake, ds, settings=..., seed=..., clients=...)`` reads the week's library from
``silver/tracks``, runs each source of ``settings.sources`` in order with its own request budget, logs
one line per source, and writes (see :mod:`weekly_discovery.discover.store`): each source's raw answers,
the album track lists read this week (merged into ``silver/album_tracks``), then the week's date of
``silver/candidates`` and its ``_metrics.json``, last. Every random choice is seeded by (seed, week) and
the album cache is read as it was before the week, so a rerun of the same date asks the same questions
and, with the same answers, writes the same rows.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from weekly_discovery.discover.library import read_library
from weekly_discovery.discover.sources import build_source
from weekly_discovery.discover.sources.base import STATUS_DONE, Clients, RequestBudget, SourceContext
from weekly_discovery.discover.store import (
    candidate_rows,
    merge_album_tracks,
    read_album_tracks,
    write_candidates,
    write_raw,
)
from weekly_discovery.lake import Lake, PartitionDate
from weekly_discovery.settings.config import Discover

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceSummary:
    source: str
    requests: int
    budget: int
    found: int  # distinct songs the answers offered
    new: int  # of those, songs not in the library: the candidate rows written
    status: str  # done, budget (stopped when the budget ran out) or off (the service refused)
    note: str
    seconds: float

    def as_metrics(self) -> dict[str, Any]:
        return {"requests": self.requests, "budget": self.budget, "found": self.found, "new": self.new,
                "status": self.status, "note": self.note}


@dataclass(frozen=True)
class GatherResult:
    ds: PartitionDate
    sources: tuple[SourceSummary, ...]
    candidates: int  # rows of silver/candidates
    candidates_path: Any  # the table's folder
    albums_known: int


def gather(lake: Lake, ds: PartitionDate, *, settings: Discover | None = None, seed: int = 0,
           clients: Clients | None = None) -> GatherResult:
    """Gather week ``ds``'s candidates from every configured source and land them (see the module docstring).

    ``seed`` (the run's seed, e.g. the model's) and ``ds`` seed every random choice. A source failing
    with a transient error (a service that kept failing through its retries) fails the whole call, and
    nothing of ``silver/candidates`` or ``silver/album_tracks`` is written for the week: the task retry redoes
    it. (A failure between the album merge and the candidates' commit leaves the merged lists: harmless, a
    rerun of the week reads the cache as it was before the week.)
    """
    settings = settings or Discover()
    clients = clients or Clients()
    library = read_library(lake, ds)
    albums = read_album_tracks(lake, before_ds=ds)
    albums_before = len(albums)
    summaries, candidates, read_this_week = [], [], []
    for name in settings.sources:
        source = build_source(name, settings)
        budget = RequestBudget(name, settings.budget(name))
        context = SourceContext(ds=ds, seed=seed, library=library, settings=settings, budget=budget,
                                clients=clients, album_tracks=albums)
        started = time.monotonic()
        result = source.gather(context)
        read_now: dict[str, list] = {}
        read_this_week.extend(result.album_tracks)
        for track in result.album_tracks:
            read_now.setdefault(track.album_id, []).append(track)
        albums.update({album_id: tuple(tracks) for album_id, tracks in read_now.items()})
        summary = SourceSummary(name, budget.used, budget.limit, result.found, len(result.candidates),
                                result.status, result.note, time.monotonic() - started)
        summaries.append(summary)
        candidates.extend(result.candidates)
        raw = write_raw(lake, name, ds, result, budget)
        log.info("discover %s: %d/%d requests, %d songs found, %d new to the library%s (%.1fs); raw answers in %s",
                 name, summary.requests, summary.budget, summary.found, summary.new,
                 "" if result.status == STATUS_DONE else f"; stopped: {result.note}", summary.seconds, raw)
    rows = candidate_rows(ds, candidates)
    metrics = {"ds": ds, "seed": seed, "sources": {s.source: s.as_metrics() for s in summaries},
               "candidates": len(rows), "settings": settings.as_dict()}
    merge_album_tracks(lake, ds, read_this_week)
    path = write_candidates(lake, ds, rows, metrics)
    log.info("discover: %d candidate rows from %d sources in %s (ds=%s); %d album track lists kept (%d new)",
             len(rows), len(summaries), path, ds, len(albums), len(albums) - albums_before)
    return GatherResult(ds, tuple(summaries), len(rows), path, len(albums))
