"""Why a song was picked: the liked songs nearest to it, and the one-line reason stored with the pick.

A pick's reason says where the song came from (its source and provenance, as in ``silver/candidates``),
how sure the model is, and which of the user's liked songs it sounds closest to. "Closest" is measured in
the model's own audio features, standardized so that tempo (BPM) or loudness (dB) does not drown the 0..1
features: each feature becomes a z-score with the mean and sample standard deviation of the library's
liked and disliked songs (the rows the model learns from), and the distance is Euclidean over the
z-scores. A feature with no spread in the library (a standard deviation of 0 or undefined) cannot tell
songs apart there and is left out of the distance.

:func:`nearest_liked` runs on the driver, over the week's few picks and the library's liked and disliked rows
(one person's library: the rows training collects too); :func:`reason_line` is plain Python, called per pick.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from weekly_discovery.core.vocabulary import LIKED, STATUS_OK, TRAINING_ROLES

NEAREST_K = 3
MAX_REASON_CHARS = 300  # the whole line
MAX_NAME_CHARS = 60  # one song, artist or playlist name inside it
MAX_SEEDS_NAMED = 2  # "ReccoBeats, from <song> and <song>" (and "and 3 more")


# --------------------------------------------------------------------------------------------------
# the nearest liked songs (on the driver)
# --------------------------------------------------------------------------------------------------


def nearest_liked(picks: Sequence[Mapping[str, Any]], library: Sequence[Mapping[str, Any]],
                  features: Sequence[str], k: int = NEAREST_K) -> dict[str, list[dict[str, Any]]]:
    """For each pick, the ``k`` liked songs closest to it in standardized audio features.

    ``picks``: rows with ``track_id`` and the ``features`` (a track seen twice counts once). ``library``:
    rows of ``silver/tracks_enriched`` with ``track_id``, ``name``, ``artist_names``, ``role``,
    ``feature_status`` and the features; rows of other roles are ignored. The liked songs are the distinct
    ``liked`` tracks with ``feature_status`` ok and every feature known; the z-score statistics come from
    the distinct liked and disliked tracks with features.

    Returns ``track_id -> closest``: a list of ``{track_id, name, artist_names, distance}``, nearest first
    (ties by track_id). Every pick is in the result; a pick with a missing feature, or a library without
    liked songs, gets an empty list.
    """
    import numpy as np

    features = list(features)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not features:
        raise ValueError("nearest_liked needs at least one feature")

    def values(row: Mapping[str, Any]) -> list[float] | None:
        out = []
        for f in features:
            v = row.get(f)
            if v is None or not isinstance(v, (int, float)) or isinstance(v, bool) or math.isnan(v):
                return None
            out.append(float(v))
        return out

    training: dict[str, list[float]] = {}
    liked: dict[str, tuple[Mapping[str, Any], list[float]]] = {}
    for row in library:  # each track once; rows of one track (several sources) carry the same features
        if row.get("role") not in TRAINING_ROLES or row.get("feature_status") != STATUS_OK:
            continue
        known = values(row)
        if known is None:
            continue
        training.setdefault(row["track_id"], known)
        if row["role"] == LIKED:
            liked.setdefault(row["track_id"], (row, known))
    kept = []  # a feature with no spread in the library cannot tell songs apart: left out
    if len(training) >= 2:
        stats = np.array(list(training.values()))
        means, sds = stats.mean(axis=0), stats.std(axis=0, ddof=1)
        kept = [i for i in range(len(features)) if math.isfinite(sds[i]) and sds[i] > 0]
    liked_ids = sorted(liked)
    liked_z = (np.array([liked[t][1] for t in liked_ids]).reshape(len(liked_ids), len(features))[:, kept]
               - means[kept]) / sds[kept] if kept else np.zeros((len(liked_ids), 0))

    result: dict[str, list[dict[str, Any]]] = {}
    for pick in picks:
        track = pick["track_id"]
        if track in result:
            continue
        known = values(pick)
        if known is None or not liked_ids:
            result[track] = []
            continue
        z = (np.array(known)[kept] - means[kept]) / sds[kept] if kept else np.zeros(0)
        distances = np.sqrt(((liked_z - z) ** 2).sum(axis=1))
        order = sorted((d, t) for d, t in zip(distances.tolist(), liked_ids) if t != track)[:k]
        result[track] = [{"track_id": t, "name": liked[t][0].get("name"),
                          "artist_names": list(liked[t][0].get("artist_names") or []), "distance": d}
                         for d, t in order]
    return result


# --------------------------------------------------------------------------------------------------
# the reason line (plain Python)
# --------------------------------------------------------------------------------------------------

# Control characters (C0, DEL, C1) and the bidirectional overrides and isolates, which can make a line
# display in another order than it reads; whitespace runs (newlines, tabs) become one space.
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")


def clean_text(value: Any, limit: int = MAX_NAME_CHARS) -> str:
    """``value`` as one line of plain text: control characters dropped, whitespace collapsed, at most
    ``limit`` characters (cut with an ellipsis)."""
    text = _SPACES.sub(" ", _INVISIBLE.sub("", "" if value is None else str(value))).strip()
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"


def reason_line(source: str, provenance: Mapping[str, Any], probability: float | None,
                closest: Sequence[Mapping[str, Any]]) -> str:
    """The pick's one-line reason: where it came from; the model's probability; the liked songs it is near.

    For example ``ReccoBeats, from One More Time and Aerodynamic; 87% like; close to Digital Love (Daft
    Punk), Around the World (Daft Punk)``.

    ``source`` is the candidate's source (``reccobeats``, ``artists``, ``catalog``, ``playlists``).
    ``provenance`` holds the ``silver/candidates`` columns plus names the caller resolves; the keys read:

    * ``seed_names``: reccobeats: the names of the liked songs used as seeds (resolved from
      ``seed_track_ids``, in that order); without names, ``seed_track_ids`` gives their count;
    * ``seed_artist_name``: artists: the liked artist whose albums were read;
      ``artist_liked_count``: how many of the user's liked songs are by that artist;
      ``album_name``: the album the song is on (optional);
    * ``playlist_name``: playlists: the candidate playlist's name;
    * catalog needs no key (``catalogue``, the file's path, is not shown).

    Missing keys shorten the line rather than fail it. ``closest`` is :func:`nearest_liked`'s list
    (``name``, ``artist_names``); the first ``NEAREST_K`` are named. ``probability`` None or not finite
    leaves the probability out. The result is plain text (the report escapes it), one line, without
    control characters, at most :data:`MAX_REASON_CHARS` characters.
    """
    parts = [_origin(source, provenance)]
    if probability is not None and isinstance(probability, (int, float)) and math.isfinite(probability):
        parts.append(f"{probability * 100:.0f}% like")
    near = [_song(c) for c in list(closest)[:NEAREST_K]]
    near = [s for s in near if s]
    if near:
        parts.append("close to " + ", ".join(near))
    return clean_text("; ".join(p for p in parts if p), MAX_REASON_CHARS)


def _origin(source: str, p: Mapping[str, Any]) -> str:
    if source == "reccobeats":
        names = [clean_text(n) for n in (p.get("seed_names") or []) if clean_text(n)]
        if names:
            shown = names[:MAX_SEEDS_NAMED]
            more = len(names) - len(shown)
            text = " and ".join(shown) if not more else ", ".join(shown) + f" and {more} more"
            return f"ReccoBeats, from {text}"
        seeds = len(p.get("seed_track_ids") or [])
        if seeds:
            return f"ReccoBeats, from {seeds} of your liked song{'s' if seeds != 1 else ''}"
        return "ReccoBeats"
    if source == "artists":
        artist = clean_text(p.get("seed_artist_name"))
        album = clean_text(p.get("album_name"))
        text = f"new from {artist}" if artist else "new from an artist you like"
        if album:
            text += f" ({album})"
        count = p.get("artist_liked_count")
        if isinstance(count, int) and not isinstance(count, bool) and count > 0:
            text += f", {count} song{'s' if count != 1 else ''} in your library"
        return text
    if source == "catalog":
        return "from your catalogue"
    if source == "playlists":
        name = clean_text(p.get("playlist_name"))
        return f"from your playlist {name}" if name else "from one of your playlists"
    return f"from {clean_text(source)}" if clean_text(source) else ""


def _song(c: Mapping[str, Any]) -> str:
    name = clean_text(c.get("name"))
    if not name:
        return ""
    artists = [clean_text(a) for a in (c.get("artist_names") or []) if clean_text(a)]
    return f"{name} ({artists[0]})" if artists else name
