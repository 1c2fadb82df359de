"""Compute ``report.json`` from a ``tracks_enriched`` DataFrame: Spark aggregates in, plain dict out.

Used by ``jobs/report.py`` (and the Spark tests). Every ``collect()`` here is of an aggregate:
counts per (group, feature, range), artists above the threshold (capped), a k x k matrix,
counts per (role, status, source).

``report.json`` (version 1)::

    {"version": 1, "ds": "2026-11-23", "generated_at": "2026-11-23T07:00:00+00:00",
     "input": {"table": "silver/tracks_enriched/ds=2026-11-23", "rows": 2140},
     "settings": {"bin_width": 0.1, "top_artist_min_tracks": 3, "strong_correlation": 0.5,
                  "reading_share": 0.6, "concentrated_width": 0.3, "correlation_roles": ["liked", "disliked"]},
     "distributions": {
        "features": ["danceability", ...], "bins": [[0.0, 0.1], ...],
        "groups": [{"key": "liked", "label": "Your liked songs", "role": "liked", "tracks": 700, "with_features": 696},
                   {"key": "playlist-<id>", "label": "<playlist name>", "role": "reference", ...}],
        "by_feature": {"danceability": {"liked": {"n": 696, "counts": [...], "shares": [...]}, ...}},
        "readings": {"danceability": {"line": "danceability: your liked songs are spread over ...",
                                      "windows": {"liked": {"low": 0.2, "high": 0.9, "share": 0.62,
                                                            "concentrated": false}, ...}}}},
     "top_artists": {"min_tracks": 3, "total": 12, "shown": 12,
                     "artists": [{"artist_id": "...", "name": "...", "tracks": 9}, ...]},
     "correlation": {"features": [...], "roles": ["liked", "disliked"], "rows": 900, "threshold": 0.5,
                     "matrix": [[1.0, 0.12, ...], ...], "strong_pairs": [{"a": "energy", "b": "loudness", "r": 0.78}]},
     "coverage": {"roles": {"liked": {"tracks": 700, "with_features": 696, "coverage": 0.9943,
                                      "by_status": {"ok": 696, "missing": 4}, "by_source": {"reccobeats": 696}}, ...},
                  "library": {...same shape...},
                  "enrichment": {"gates": {...}, "providers": {...}, "providers_in_order": [...]} or null},
     "fingerprint": {...}}   added by jobs/report.py: what it was computed from (report/freshness.py)
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from weekly_discovery.core.coverage import role_coverage
from weekly_discovery.core.features import RATIO_FEATURES
from weekly_discovery.core.vocabulary import LIKED, POST_FEATURES, REFERENCE, TRAINING_ROLES
from weekly_discovery.report import analysis as an

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

REPORT_VERSION = 1
MAX_ARTISTS = 100  # the report lists at most this many; "total" says how many qualify
CORRELATION_ROLES = TRAINING_ROLES  # the labelled songs: liked and disliked


@dataclass(frozen=True)
class ReportSettings:
    """What the job is asked to compute (from ``[report]`` and ``[model] features`` of the config)."""

    bin_width: float = 0.1
    top_artist_min_tracks: int = 3
    strong_correlation: float = 0.5
    correlation_features: tuple[str, ...] = POST_FEATURES
    correlation_roles: tuple[str, ...] = CORRELATION_ROLES
    ratio_features: tuple[str, ...] = RATIO_FEATURES

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(reading_share=an.READING_SHARE, concentrated_width=an.CONCENTRATED_WIDTH)
        for key in ("correlation_features", "correlation_roles", "ratio_features"):
            data[key] = list(data[key])
        return data


def build_report(
    tracks: "DataFrame",
    ds: str,
    settings: ReportSettings,
    *,
    enrichment_metrics: Mapping[str, Any] | None = None,
    input_table: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Every number of the report for one date, as a JSON-ready dict (see the module doc)."""
    from weekly_discovery.report import transforms as tr

    timer = _Timer(ds)
    counts = tr.coverage_counts(tracks).collect()
    rows = sum(int(r["rows"]) for r in counts)
    coverage = coverage_section([(r["role"], r["feature_status"], r["feature_source"], int(r["tracks"]))
                                 for r in counts], enrichment_metrics)
    timer.step("coverage", f"{rows} rows, {coverage['library']['tracks']} distinct tracks")
    distributions = _distributions(tracks, settings, coverage["roles"].get(LIKED))
    timer.step("feature ranges", f"{len(distributions['groups'])} group(s) x {len(distributions['features'])} "
                                 "features")
    artists = tr.top_artists(tracks, settings.top_artist_min_tracks)
    artist_rows = [r.asDict() for r in artists.limit(MAX_ARTISTS).collect()]
    total_artists = artists.count() if len(artist_rows) == MAX_ARTISTS else len(artist_rows)
    timer.step("top artists", f"{total_artists} with more than {settings.top_artist_min_tracks} liked tracks")
    correlation = correlation_section(tracks, settings)
    timer.step("correlation", f"{len(correlation['features'])} features over {correlation['rows']} tracks")

    return {
        "version": REPORT_VERSION,
        "ds": ds,
        "generated_at": (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"),
        "input": {"table": input_table, "rows": rows},
        "settings": settings.to_json(),
        "distributions": distributions,
        "top_artists": {
            "min_tracks": settings.top_artist_min_tracks,
            "total": total_artists,
            "shown": len(artist_rows),
            "artists": [{"artist_id": r["artist_id"], "name": r["name"], "tracks": int(r["tracks"])}
                        for r in artist_rows],
        },
        "correlation": correlation,
        "coverage": coverage,
    }


class _Timer:
    """Logs one line per step with its duration (the task log shows where the time goes)."""

    def __init__(self, ds: str):
        self.ds = ds
        self.last = time.monotonic()

    def step(self, name: str, detail: str) -> None:
        now = time.monotonic()
        log.info("report ds=%s %s: %s (%.1f s)", self.ds, name, detail, now - self.last)
        self.last = now


def _distributions(tracks: "DataFrame", settings: ReportSettings, liked: Mapping[str, Any] | None) -> dict[str, Any]:
    from weekly_discovery.report import transforms as tr

    features = list(settings.ratio_features)
    n_bins = an.bin_count(settings.bin_width)
    groups = [{"key": an.LIBRARY_GROUP, "label": "Your liked songs", "role": LIKED,
               "tracks": (liked or {}).get("tracks", 0), "with_features": (liked or {}).get("with_features", 0)}]
    for r in tr.reference_playlists(tracks).collect():
        groups.append({"key": r["source_key"], "label": r["source_name"] or r["source_key"], "role": REFERENCE,
                       "tracks": int(r["tracks"]), "with_features": int(r["with_features"])})
    counts = [(r["group"], r["feature"], r["bin"], r["count"])
              for r in tr.bin_counts(tr.distribution_groups(tracks, features), features, settings.bin_width).collect()]
    by_feature = an.distribution_table(counts, [g["key"] for g in groups], features, n_bins)
    return {
        "features": features,
        "bins": an.bin_edges(settings.bin_width),
        "groups": groups,
        "by_feature": by_feature,
        "readings": readings(by_feature, groups, settings.bin_width),
    }


def readings(by_feature: Mapping[str, Mapping[str, Mapping[str, Any]]], groups: Sequence[Mapping[str, Any]],
             bin_width: float) -> dict[str, Any]:
    """``{feature: {"line", "windows": {group: window}}}`` by the reading rule."""
    out = {}
    for feature, per_group in by_feature.items():
        windows = {g["key"]: an.reading_window(per_group[g["key"]]["shares"], bin_width) for g in groups}
        line = an.reading_line(
            feature, [{"key": g["key"], "label": g["label"], "window": windows[g["key"]]} for g in groups], bin_width)
        out[feature] = {"line": line, "windows": windows}
    return out


def correlation_section(tracks: "DataFrame", settings: ReportSettings) -> dict[str, Any]:
    """Pearson matrix over distinct tracks of ``correlation_roles`` with every feature known."""
    from weekly_discovery.report import transforms as tr

    features = list(settings.correlation_features)
    n, raw = tr.correlation(tr.correlation_input(tracks, features, settings.correlation_roles), features)
    matrix = [[an.clean_number(v) for v in row] for row in raw] if n >= 2 else []
    return {
        "features": features,
        "roles": list(settings.correlation_roles),
        "rows": n,
        "threshold": settings.strong_correlation,
        "matrix": matrix,
        "strong_pairs": an.strong_pairs(features, matrix, settings.strong_correlation) if matrix else [],
    }


def coverage_section(counts: Sequence[tuple[str, str, str | None, int]],
                     enrichment_metrics: Mapping[str, Any] | None) -> dict[str, Any]:
    """Tracks per role by feature status and source (from the table), plus enrichment's own gate counts."""
    ordered, library = role_coverage(counts)
    enrichment = None
    if enrichment_metrics:
        enrichment = {key: enrichment_metrics.get(key)
                      for key in ("providers_in_order", "min_coverage", "gates", "providers", "cache")}
    return {"roles": ordered, "library": library, "enrichment": enrichment}
