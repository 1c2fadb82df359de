"""The report's plain-Python arithmetic on small aggregates: bins, shares, readings, strong pairs.

No Spark here: the job collects counts (a few hundred numbers) and these functions turn them into
what ``report.json`` holds, so every rule is unit-tested on hand-made numbers.

**Bins.** ``bin_width`` divides 0..1 into ``n = round(1 / bin_width)`` half-open ranges
``[k*w, (k+1)*w)``; a value exactly on an edge goes to the range that *starts* there (0.3 with
w = 0.1 is in 0.3-0.4), and 1.0, which would start a range of its own, goes to the last one (0.9-1.0).
Spark computes the bin as ``floor(value * n + 1e-9)`` capped at ``n - 1``: the tiny epsilon keeps
0.3 * 10 = 2.9999999999999996 (binary floating point) in bin 3, where a person counts it.

**Reading rule.** For one group and one feature: the *smallest* run of adjacent ranges that holds at
least :data:`READING_SHARE` (60%) of the group's tracks; among runs of that length, the one holding
the most (then the lowest). A run at most :data:`CONCENTRATED_WIDTH` (0.3) wide reads "concentrated
in", a wider one "spread over".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from weekly_discovery.core.vocabulary import LIKED, ROLES

READING_SHARE = 0.6
CONCENTRATED_WIDTH = 0.3
BIN_EPSILON = 1e-9
LIBRARY_GROUP = LIKED  # the group of the liked songs, the library the other groups are read against
_EPS = 1e-9


def bin_count(bin_width: float) -> int:
    """How many ranges ``bin_width`` cuts 0..1 into (it must divide 1 evenly)."""
    n = round(1 / bin_width)
    if n < 1 or abs(n * bin_width - 1) > 1e-9:
        raise ValueError(f"bin_width must divide 1 evenly (0.05, 0.1, 0.2, 0.25...), got {bin_width}")
    return n


def bin_edges(bin_width: float) -> list[list[float]]:
    """``[[low, high], ...]`` of every range, rounded so 0.30000000000000004 prints as 0.3."""
    n = bin_count(bin_width)
    return [[round(k / n, 10), round((k + 1) / n, 10)] for k in range(n)]


def bin_of(value: float, bin_width: float) -> int:
    """The range a value falls in, by the same rule as the Spark job (for tests and docs)."""
    n = bin_count(bin_width)
    return max(0, min(n - 1, math.floor(value * n + BIN_EPSILON)))


def shares_from_counts(counts: Sequence[int]) -> list[float]:
    """Counts per range -> shares that sum to 1 (all zeros when the group has no values)."""
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def distribution_table(
    rows: Iterable[tuple[str, str, int, int]], groups: Sequence[str], features: Sequence[str], n_bins: int
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{feature: {group: {"n", "counts", "shares"}}}`` from ``(group, feature, bin, count)`` rows.

    Every (feature, group) pair is present, with zero counts where the group has no values.
    """
    table = {f: {g: [0] * n_bins for g in groups} for f in features}
    for group, feature, index, count in rows:
        if feature in table and group in table[feature]:
            table[feature][group][int(index)] += int(count)
    return {
        f: {g: {"n": sum(c), "counts": c, "shares": [round(s, 6) for s in shares_from_counts(c)]}
            for g, c in per_group.items()}
        for f, per_group in table.items()
    }


def reading_window(shares: Sequence[float], bin_width: float, share: float = READING_SHARE) -> dict[str, Any] | None:
    """The smallest run of adjacent ranges holding ``share`` of the tracks (see the module doc).

    Returns ``{"low", "high", "share", "concentrated"}`` or None when every share is zero.
    """
    n = len(shares)
    if n == 0 or sum(shares) <= 0:
        return None
    for length in range(1, n + 1):
        best: tuple[float, int] | None = None
        for start in range(n - length + 1):
            held = sum(shares[start:start + length])
            if held + _EPS >= share and (best is None or held > best[0] + _EPS):
                best = (held, start)
        if best is not None:
            held, start = best
            width = length * bin_width
            return {
                "low": round(start * bin_width, 10),
                "high": round((start + length) * bin_width, 10),
                "share": round(min(held, 1.0), 6),
                "concentrated": width <= CONCENTRATED_WIDTH + _EPS,
            }
    return None  # pragma: no cover - the full run always holds everything


def format_edge(value: float, bin_width: float) -> str:
    """0.6 -> "0.6" (bins of 0.1), 0.25 -> "0.25" (bins of 0.05 or 0.25)."""
    decimals = 1 if abs(round(bin_width * 10) - bin_width * 10) < 1e-9 else 2
    return f"{value:.{decimals}f}"


def describe_window(window: Mapping[str, Any] | None, bin_width: float) -> str:
    """``"concentrated in 0.6-0.8 (64%)"`` / ``"spread over 0.2-0.9 (62%)"`` / ``"no tracks with features"``."""
    if not window:
        return "no tracks with features"
    verb = "concentrated in" if window["concentrated"] else "spread over"
    span = f"{format_edge(window['low'], bin_width)}-{format_edge(window['high'], bin_width)}"
    return f"{verb} {span} ({window['share']:.0%})"


def reading_line(feature: str, groups: Sequence[Mapping[str, Any]], bin_width: float) -> str:
    """One sentence for a feature: each group's window, the library first.

    ``groups``: ``[{"key", "label", "window"}]`` in display order; the library group (key
    ``liked``) is called "your liked songs", a reference playlist by its name in quotes.
    """
    parts = []
    for group in groups:
        who = "your liked songs are" if group["key"] == LIBRARY_GROUP else f"\u201c{group['label']}\u201d is"
        parts.append(f"{who} {describe_window(group.get('window'), bin_width)}")
    return f"{feature}: " + "; ".join(parts) + "."


def strong_pairs(features: Sequence[str], matrix: Sequence[Sequence[float | None]], threshold: float) -> list[dict]:
    """Pairs with ``|r| >= threshold``, strongest first: ``[{"a", "b", "r"}]``."""
    pairs = []
    for i in range(len(features)):
        for j in range(i + 1, len(features)):
            r = matrix[i][j]
            if r is not None and abs(r) + _EPS >= threshold:
                pairs.append({"a": features[i], "b": features[j], "r": r})
    return sorted(pairs, key=lambda p: (-abs(p["r"]), p["a"], p["b"]))


def ranked_pairs(features: Sequence[str], matrix: Sequence[Sequence[float | None]], top: int) -> list[dict]:
    """The ``top`` pairs by ``|r|`` whatever the threshold (for the log's summary)."""
    return strong_pairs(features, matrix, 0.0)[:top]


def pair_text(pair: Mapping[str, Any]) -> str:
    """``"energy and loudness: 0.65"``."""
    return f"{pair['a']} and {pair['b']}: {pair['r']:.2f}"


def clean_number(value: Any) -> float | None:
    """A float JSON can hold: NaN and infinities (a constant feature's correlation) become None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def summary_lines(report: Mapping[str, Any], html_path: str | None = None, ui_route: str | None = None) -> list[str]:
    """The few lines a task log ends with: counts, strongest correlations, where to open the report."""
    ds = report["ds"]
    roles = report["coverage"]["roles"]
    per_role = ", ".join(f"{role} {roles[role]['tracks']}" for role in ROLES if role in roles)
    library = report["coverage"]["library"]
    lines = [f"library report ds={ds}: {library['tracks']} distinct tracks ({per_role or 'none'}), "
             f"{library['with_features']} with audio features"]
    corr = report["correlation"]
    if corr["rows"] >= 2:
        top = ", ".join(pair_text(p) for p in ranked_pairs(corr["features"], corr["matrix"], 3)) or "none"
        strong = len(corr["strong_pairs"])
        lines.append(f"strongest correlations over {corr['rows']} tracks: {top} "
                     f"({strong} pair(s) with |r| >= {corr['threshold']:g})")
    else:
        lines.append(f"correlation: only {corr['rows']} track(s) with every feature: no matrix")
    artists = report["top_artists"]
    if artists["artists"]:
        first = artists["artists"][0]
        lines.append(f"top artists: {artists['total']} with more than {artists['min_tracks']} liked tracks; "
                     f"first {first['name']} ({first['tracks']})")
    else:
        lines.append(f"top artists: none with more than {artists['min_tracks']} liked tracks")
    if html_path:
        lines.append(f"report: {html_path}")
    if ui_route:
        lines.append(f"open it in the Airflow UI: Browse > Library reports, or {ui_route}")
    return lines
