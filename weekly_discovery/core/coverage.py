"""How many tracks of each role have audio features: the counts the enrichment checks and the report shows.

Both stages collect the same small aggregate from ``silver/tracks_enriched`` (one row per role, feature
status and source, with a track count; role ``*`` for the distinct tracks of the whole library) and turn
it into the same per-role entries here::

    {"tracks": 700, "with_features": 696, "coverage": 0.9943,
     "by_status": {"missing": 4, "ok": 696}, "by_source": {"reccobeats": 696}}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from weekly_discovery.core.vocabulary import STATUS_OK, role_rank

LIBRARY = "*"
"""The role of the aggregate rows that count the library's distinct tracks, whatever their roles."""
UNKNOWN_SOURCE = "unknown"


def empty_entry() -> dict[str, Any]:
    return {"tracks": 0, "with_features": 0, "by_status": {}, "by_source": {}, "coverage": None}


def role_coverage(counts: Iterable[tuple[str, str, str | None, int]],
                  source_order: Callable[[str], Any] | None = None) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """``(roles, library)`` from ``(role, feature status, feature source, tracks)`` rows.

    ``roles`` holds one entry per role (see the module docstring), in the order of
    :data:`~weekly_discovery.core.vocabulary.ROLES`; ``library`` the entry of role ``*`` (empty without one).
    ``coverage`` is the share of tracks with features (4 decimals; None for no track). ``by_status`` is
    sorted by status; ``by_source`` (tracks with features, by the provider that gave them; ``unknown`` when
    the row names none) by ``source_order``, else most tracks first.
    """
    roles: dict[str, dict[str, Any]] = {}
    for role, status, source, tracks in counts:
        entry = roles.setdefault(role, empty_entry())
        entry["tracks"] += tracks
        entry["by_status"][status] = entry["by_status"].get(status, 0) + tracks
        if status == STATUS_OK:
            entry["with_features"] += tracks
            key = source or UNKNOWN_SOURCE
            entry["by_source"][key] = entry["by_source"].get(key, 0) + tracks
    for entry in roles.values():
        entry["coverage"] = round(entry["with_features"] / entry["tracks"], 4) if entry["tracks"] else None
        entry["by_status"] = dict(sorted(entry["by_status"].items()))
        order = (lambda kv: source_order(kv[0])) if source_order else (lambda kv: -kv[1])
        entry["by_source"] = dict(sorted(entry["by_source"].items(), key=order))
    library = roles.pop(LIBRARY, empty_entry())
    return {role: roles[role] for role in sorted(roles, key=role_rank)}, library
