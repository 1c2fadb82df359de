"""The user's library as the discovery sources need it, read from one date of ``silver/tracks``.

Small (thousands of rows), so delta-rs reads it into Python (:mod:`weekly_discovery.lake.delta`); no Spark
session for this. "Known" songs are those in a library role (liked, disliked, reference): a source never
offers them. Songs of the ``candidates`` role are not known: they are what the ``playlists`` source offers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from weekly_discovery.core.errors import UserError
from weekly_discovery.core.vocabulary import CANDIDATES, DISLIKED, LIBRARY_ROLES, LIKED
from weekly_discovery.lake import METRICS, PICKS, SILVER_TRACKS, Lake, PartitionDate, delta

_COLUMNS = ["track_id", "name", "artist_ids", "artist_names", "primary_artist_id", "primary_artist_name",
            "added_at", "role", "source_key", "source_id", "source_name", "position"]


class LibraryMissing(UserError, FileNotFoundError):
    """No ``silver/tracks`` for the week: the ingest has not run for it."""


@dataclass(frozen=True)
class LikedTrack:
    """A liked song: its primary artist (for the ``artists`` source) and when it was liked (seed weights)."""

    track_id: str
    primary_artist_id: str | None
    primary_artist_name: str | None
    added_at: dt.datetime | None


@dataclass(frozen=True)
class PlaylistTrack:
    """A song of a candidate playlist, as ``silver/tracks`` holds it."""

    track_id: str
    name: str | None
    artist_ids: tuple[str | None, ...]
    artist_names: tuple[str | None, ...]
    playlist_id: str | None
    playlist_name: str | None


@dataclass(frozen=True)
class UserLibrary:
    liked: frozenset[str]
    disliked: frozenset[str]
    known: frozenset[str]  # every song in a library role: never a candidate
    liked_tracks: tuple[LikedTrack, ...]  # one per liked song (its latest like), sorted by track id
    candidate_tracks: tuple[PlaylistTrack, ...]  # the candidate playlists' songs, by source key then position
    hits: frozenset[str] = frozenset()  # liked songs that were earlier weeks' picks (the user saved them)

    def top_artists(self, k: int) -> list[tuple[str, str | None, int]]:
        """``(artist id, name, liked songs)`` of the ``k`` primary artists with most liked songs (ties: by id)."""
        counts = Counter(t.primary_artist_id for t in self.liked_tracks if t.primary_artist_id)
        names = {t.primary_artist_id: t.primary_artist_name for t in self.liked_tracks}
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [(artist_id, names.get(artist_id), count) for artist_id, count in ranked]


def read_library(lake: Lake, ds: PartitionDate) -> UserLibrary:
    """The library of week ``ds`` from ``silver/tracks`` (its rows of that date).

    A week with no rows is a missing library unless the ingest recorded a run for it (its
    ``_metrics.json``): then the library is empty."""
    rows = delta.read_rows(lake, SILVER_TRACKS, ds, columns=list(_COLUMNS))
    if not rows and not (lake.partition(SILVER_TRACKS, ds) / METRICS).is_file():
        raise LibraryMissing(
            f"no library for ds={ds}: {lake.table(SILVER_TRACKS)} has no rows of that date; "
            f"run the spotify_ingest DAG for {ds} first"
        )
    library = library_from_rows(rows)
    return replace(library, hits=library.liked & frozenset(past_pick_ids(lake, ds)))


def past_pick_ids(lake: Lake, ds: PartitionDate) -> list[str]:
    """Every song published before week ``ds`` (``gold/picks``, a few thousand rows a year at most), sorted.

    Read here, not through the recommend stage (stages do not import each other): the table's name
    comes from the lake layout, and only its ``track_id`` column of the dates before ``ds`` is read.
    """
    rows = delta.read_rows(lake, PICKS, columns=["track_id"], filters=[(delta.DS, "<", ds)])
    return sorted({r["track_id"] for r in rows if r["track_id"]})


def library_from_rows(rows: list[dict[str, Any]]) -> UserLibrary:
    """Build the library from ``silver/tracks`` rows (split out so tests can hand it rows)."""
    by_role: dict[str, set[str]] = {}
    latest_like: dict[str, LikedTrack] = {}
    candidates = []
    for row in sorted(rows, key=lambda r: (r["role"], r["source_key"] or "", r["position"] or 0)):
        track_id = row["track_id"]
        by_role.setdefault(row["role"], set()).add(track_id)
        if row["role"] == LIKED:
            seen = latest_like.get(track_id)
            added_at = row["added_at"]
            if seen is None or (added_at is not None and (seen.added_at is None or added_at > seen.added_at)):
                latest_like[track_id] = LikedTrack(track_id, row["primary_artist_id"], row["primary_artist_name"],
                                                   added_at)
        elif row["role"] == CANDIDATES:
            candidates.append(PlaylistTrack(
                track_id, row["name"], tuple(row["artist_ids"] or ()), tuple(row["artist_names"] or ()),
                row["source_id"], row["source_name"],
            ))
    known = frozenset().union(*(by_role.get(role, set()) for role in LIBRARY_ROLES))
    return UserLibrary(
        liked=frozenset(by_role.get(LIKED, ())),
        disliked=frozenset(by_role.get(DISLIKED, ())),
        known=known,
        liked_tracks=tuple(latest_like[t] for t in sorted(latest_like)),
        candidate_tracks=tuple(candidates),
    )
