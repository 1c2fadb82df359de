"""Coverage metrics of the enrich step: built from small aggregates, logged, and checked.

The per-role counts are :func:`weekly_discovery.core.coverage.role_coverage` (the report shows the same).

Pure Python (no Spark), so the publish task can log them without importing pyspark.
Example ``_metrics.json`` (``silver/tracks_enriched/ds=D``)::

    {"ds": "2026-11-23", "providers_in_order": ["spotify", "reccobeats"], "min_coverage": 0.9,
     "min_coverage_by_role": {"liked": 0.9, "disliked": 0.9, "reference": 0.9, "candidates": 0.9},
     "roles": {"liked": {"tracks": 700, "with_features": 696, "coverage": 0.9943,
                         "by_source": {"reccobeats": 696}, "by_status": {"missing": 4, "ok": 696}}, ...},
     "library": {...same shape, distinct tracks of every role...},
     "gates": {"checked": 1350, "passed": 1349, "quarantined": 1, "quarantined_by_field": {"loudness": 1},
               "unknown_kept": {"tempo": 2, "time_signature": 3}},
     "cache": {"previous_snapshot": "2026-11-16", "rows": 1360, "by_status": {"missing": 9, "ok": 1351},
               "new_rows": {"missing": 4, "ok": 1346}},
     "providers": {"spotify": {"ran": true, "status": "off", "note": "Spotify's /audio-features answers 403...",
                               "requests": 1, "asked": 0, "answered": 0, "new_batches": 0, "reused_batches": 0},
                   "reccobeats": {"ran": true, "status": "ok", "requests": 34, "asked": 1350, ...}},
     "outputs": {"audio_features": "silver/audio_features", "tracks_enriched": "silver/tracks_enriched/ds=2026-11-23",
                 ...}}

``cache``: ``previous_snapshot`` is the newest ``fetched_ds`` of the feature cache as of D (the last date before
D that stored features of these rows; null on the first run), ``rows`` / ``by_status`` count the cache once D's
rows are in (the cache as of D, one row per track id, with D's rows replacing theirs), ``new_rows`` D's own rows
(the ones merged into ``silver/audio_features``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from weekly_discovery.core.coverage import role_coverage
from weekly_discovery.core.vocabulary import (
    CANDIDATES,
    DISLIKED,
    FEATURE_COLUMNS,
    LIKED,
    REFERENCE,
    ROLES,
    STATUS_OK,
    role_rank,
)

DEFAULT_MIN_COVERAGE: Mapping[str, float] = {LIKED: 0.5, DISLIKED: 0.5, REFERENCE: 0.0, CANDIDATES: 0.0}
"""The coverage floor per role when ``enrichment.min_coverage`` is not set.

Liked and disliked tracks are the model's labelled set: with fewer than half of them described, the
model learns from a thin, biased sample (the tracks one provider happens to know), and at 0% nothing
can be trained at all; failing here, at the step that lost the features, names the cause, where a 0
floor let it surface two DAGs later as "0 usable tracks". Half, not more: a library of older or
obscure music can sit well below 90% with one free provider and still train a useful model, and the
demo library (about 97 to 99% with ReccoBeats alone) passes with room to spare. Candidates and
reference playlists are not gated (0): a candidate without features is simply not scored, and a
reference playlist only feeds the report; their coverage is still logged. Setting
``enrichment.min_coverage`` applies that one floor to every role, as before.
"""


def coverage_floors(min_coverage: float | None) -> dict[str, float]:
    """The floor of each role: ``min_coverage`` for all of them, or :data:`DEFAULT_MIN_COVERAGE` when unset."""
    if min_coverage is None:
        return dict(DEFAULT_MIN_COVERAGE)
    return {role: float(min_coverage) for role in ROLES}


def floors_text(min_coverage: float | None) -> str:
    """How the floors read in a log line, e.g. ``liked 50%, disliked 50%, reference 0%, candidates 0% (default)``."""
    if min_coverage is not None:
        return f"{min_coverage:.0%} for every role (enrichment.min_coverage)"
    floors = ", ".join(f"{role} {floor:.0%}" for role, floor in coverage_floors(None).items())
    return f"{floors} (the default; enrichment.min_coverage sets one floor for every role)"


def build_metrics(
    ds: str,
    chain: Sequence[str],
    coverage: Iterable[tuple[str, str, str | None, int]],
    gates: Iterable[tuple[str, str, int]],
    snapshot: Mapping[str, int],
    new_rows: Mapping[str, int],
    manifests: Mapping[str, Mapping[str, Any]],
    *,
    previous_ds: str | None,
    min_coverage: float | None,
    outputs: Mapping[str, str],
) -> dict[str, Any]:
    """The ``_metrics.json`` of ``silver/tracks_enriched/ds=D`` from the collected aggregates.

    ``min_coverage`` is the configured value (None: unset); ``min_coverage_by_role`` the floors checked.
    """
    roles, library = role_coverage(coverage, _chain_key(chain))

    gate = {"checked": 0, "quarantined": 0, "quarantined_by_field": {}, "unknown_kept": {}}
    for kind, field, tracks in gates:
        if kind == "checked":
            gate["checked"] = tracks
        elif kind == "quarantined" and field == "*":
            gate["quarantined"] = tracks
        elif kind == "quarantined":
            gate["quarantined_by_field"][field] = tracks
        elif kind == "unknown_kept":
            gate["unknown_kept"][field] = tracks
    gate["passed"] = gate["checked"] - gate["quarantined"]
    order = {name: i for i, name in enumerate(FEATURE_COLUMNS)}
    for key in ("quarantined_by_field", "unknown_kept"):
        gate[key] = dict(sorted(gate[key].items(), key=lambda kv: order.get(kv[0], 99)))

    providers = {}
    for name in chain:
        m = manifests.get(name)
        if m is None:
            providers[name] = {"ran": False}
        elif name == "file":
            providers[name] = {"ran": True, "requests": 0, **{k: m.get(k) for k in
                               ("looked_up", "hits", "absent", "malformed", "malformed_rows", "path",
                                "file_modified_at")}}
        else:
            providers[name] = {"ran": True, **{k: m.get(k) for k in
                               ("status", "note", "requests", "asked", "answered", "new_batches",
                                "reused_batches")}}
    return {
        "ds": ds,
        "providers_in_order": list(chain),
        "min_coverage": min_coverage,
        "min_coverage_by_role": coverage_floors(min_coverage),
        "roles": roles,
        "library": library,
        "gates": gate,
        "cache": {
            "previous_snapshot": previous_ds,
            "rows": sum(snapshot.values()),
            "by_status": dict(sorted(snapshot.items())),
            "new_rows": dict(sorted(new_rows.items())),
        },
        "providers": providers,
        "outputs": dict(outputs),
    }


def _chain_key(chain: Sequence[str]):
    position = {name: i for i, name in enumerate(chain)}
    return lambda name: (position.get(name, len(position)), str(name))


def coverage_lines(metrics: Mapping[str, Any]) -> list[str]:
    """One log line per role (and one for the library)."""
    lines = []
    roles = sorted(metrics["roles"].items(), key=lambda kv: role_rank(kv[0]))  # JSON keys come back sorted
    for role, entry in [*roles, ("library", metrics["library"])]:
        if not entry.get("tracks"):
            continue
        sources = ", ".join(f"{k} {v}" for k, v in entry["by_source"].items()) or "none"
        others = ", ".join(f"{k} {v}" for k, v in entry["by_status"].items() if k != STATUS_OK) or "none"
        lines.append(f"coverage {role}: {entry['with_features']} of {entry['tracks']} tracks have features "
                     f"({entry['coverage']:.1%}); by source: {sources}; without: {others}")
    gates = metrics["gates"]
    lines.append(f"quality gates: {gates['checked']} new answers checked, {gates['quarantined']} quarantined "
                 f"{_kv(gates['quarantined_by_field'])}, unknown kept as null {_kv(gates['unknown_kept'])}")
    return lines


def _kv(mapping: Mapping[str, int]) -> str:
    return "(" + (", ".join(f"{k} {v}" for k, v in mapping.items()) or "none") + ")"


FILE_HINT = "a \"file\" snapshot such as Kaggle's 'Spotify 1.2M+ songs' tracks_features.csv"


def coverage_failures(metrics: Mapping[str, Any], min_coverage: float | None, chain: Sequence[str]) -> list[str]:
    """One message per role whose coverage is below its floor (:func:`coverage_floors`), naming what to add."""
    floors = coverage_floors(min_coverage)
    missing = [name for name in ("reccobeats", "file") if name not in chain]
    if missing == ["reccobeats", "file"]:
        advice = f"add \"reccobeats\" to enrichment.providers, or {FILE_HINT}"
    elif missing == ["reccobeats"]:
        advice = "add \"reccobeats\" to enrichment.providers"
    elif missing == ["file"]:
        advice = f"add {FILE_HINT} to enrichment.providers"
    else:
        advice = ("every provider is configured already: the rest are unknown to all of them; use a larger "
                  "feature file or lower enrichment.min_coverage")
    off = [f"provider {name} was off" for name, m in metrics["providers"].items() if m.get("status") == "off"]
    messages = []
    for role, entry in metrics["roles"].items():
        floor = floors.get(role, 0.0)
        if entry["tracks"] and entry["coverage"] < floor:
            without = ", ".join(f"{v} {k}" for k, v in entry["by_status"].items() if k != STATUS_OK)
            below = (f"enrichment.min_coverage {floor:.1%}" if min_coverage is not None else
                     f"the default floor {floor:.1%} for {role} tracks (enrichment.min_coverage is not set)")
            messages.append(
                f"audio-feature coverage of role {role!r} is {entry['coverage']:.1%} ({entry['with_features']} of "
                f"{entry['tracks']} tracks; {without}), below {below}"
                + (f" ({'; '.join(off)})" if off else "") + f": {advice}."
            )
    return messages
