"""A hand-made report.json and weekly-model outputs for the render, plugin and browser tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from weekly_discovery.core.features import RATIO_FEATURES
from weekly_discovery.core.vocabulary import POST_FEATURES
from weekly_discovery.lake import delta
from weekly_discovery.lake.layout import PICKS, RECOMMENDATIONS, REPORTS, SILVER_TRACKS, Lake
from weekly_discovery.report import analysis as an
from weekly_discovery.report.compute import readings

EVIL = "<img src=x onerror=alert(1)>"
REF = "playlist-" + "R" * 22
REF2 = "playlist-" + "S" * 22


def _synthetic(seed: int = 3, n: int = 400):
    """Seeded feature samples with the usual structure (energy ~ loudness, acousticness ~ -energy)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    energy = rng.beta(4, 2.5, n)
    data = {
        "danceability": rng.beta(5, 3, n), "energy": energy,
        "speechiness": rng.beta(1.2, 12, n), "instrumentalness": rng.beta(0.4, 4, n),
        "acousticness": np.clip(1 - energy + rng.normal(0, 0.15, n), 0, 1),
        "liveness": rng.beta(1.5, 8, n), "mode": rng.integers(0, 2, n).astype(float),
        "valence": np.clip(0.3 + 0.4 * energy + rng.normal(0, 0.18, n), 0, 1),
        "loudness": -22 + 18 * energy + rng.normal(0, 1.8, n), "tempo": rng.normal(120, 25, n),
        "key": rng.integers(-1, 12, n).astype(float),
    }
    return data


def make_report(ds: str = "2026-11-23", *, label: str = EVIL) -> dict:
    """A complete report.json made by hand; a reference playlist and an artist carry ``label``."""
    import numpy as np

    liked, ref, ref2 = _synthetic(3), _synthetic(4, 150), _synthetic(5, 40)
    ref["danceability"] = np.clip(np.random.default_rng(9).normal(0.7, 0.07, 150), 0, 1)
    groups = [{"key": "liked", "label": "Your liked songs", "role": "liked", "tracks": 410, "with_features": 400},
              {"key": REF, "label": label, "role": "reference", "tracks": 150, "with_features": 150},
              {"key": REF2, "label": "Chill & \"quiet\"", "role": "reference", "tracks": 40, "with_features": 40}]
    by_feature = {}
    for feature in RATIO_FEATURES:
        by_feature[feature] = {}
        for key, data in (("liked", liked), (REF, ref), (REF2, ref2)):
            c = [0] * 10
            for v in data[feature]:
                c[an.bin_of(float(v), 0.1)] += 1
            by_feature[feature][key] = {"n": sum(c), "counts": c, "shares": an.shares_from_counts(c)}
    features = list(POST_FEATURES)
    matrix = np.corrcoef(np.array([liked[f] for f in features])).round(6).tolist()
    return {
        "version": 1,
        "ds": ds,
        "generated_at": f"{ds}T07:00:00+00:00",
        "input": {"table": f"silver/tracks_enriched/ds={ds}", "rows": 180},
        "settings": {"bin_width": 0.1, "top_artist_min_tracks": 3, "strong_correlation": 0.5, "reading_share": 0.6,
                     "concentrated_width": 0.3, "correlation_roles": ["liked", "disliked"]},
        "distributions": {
            "features": list(RATIO_FEATURES),
            "bins": an.bin_edges(0.1),
            "groups": groups,
            "by_feature": by_feature,
            "readings": readings(by_feature, groups, 0.1),
        },
        "top_artists": {"min_tracks": 3, "total": 3, "shown": 3, "artists": [
            {"artist_id": "A" * 22, "name": label, "tracks": 9},
            {"artist_id": "B" * 22, "name": "Björk", "tracks": 6},
            {"artist_id": "not-an-id\"><b>", "name": "Unknown id", "tracks": 4},
        ]},
        "correlation": {"features": features, "roles": ["liked", "disliked"], "rows": 400, "threshold": 0.5,
                        "matrix": matrix,
                        "strong_pairs": an.strong_pairs(features, matrix, 0.5)},
        "coverage": {
            "roles": {"liked": {"tracks": 80, "with_features": 75, "coverage": 0.9375,
                                "by_status": {"missing": 3, "ok": 75, "quarantined": 2},
                                "by_source": {"reccobeats": 70, "file": 5}},
                      "reference": {"tracks": 80, "with_features": 75, "coverage": 0.9375,
                                    "by_status": {"ok": 75, "pending": 5}, "by_source": {"reccobeats": 75}}},
            "library": {"tracks": 150, "with_features": 140, "coverage": 0.9333,
                        "by_status": {"missing": 3, "ok": 140, "pending": 5, "quarantined": 2},
                        "by_source": {"reccobeats": 135, "file": 5}},
            "enrichment": {"providers_in_order": ["spotify", "reccobeats", "file"], "min_coverage": 0.0,
                           "gates": {"checked": 150, "passed": 148, "quarantined": 2,
                                     "quarantined_by_field": {"loudness": 2}, "unknown_kept": {"tempo": 1}},
                           "providers": {"spotify": {"ran": True, "status": "off", "note": "403 for new apps",
                                                     "requests": 1},
                                         "reccobeats": {"ran": True, "status": "ok", "requests": 3, "asked": 150,
                                                        "answered": 145},
                                         "file": {"ran": True, "looked_up": 5, "hits": 5}},
                           "cache": None},
        },
    }


def write_report(lake: Lake, report: dict) -> Path:
    folder = lake.table(REPORTS) / f"ds={report['ds']}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report))
    return folder


def write_model_outputs(lake: Lake, ds: str, *, label: str = EVIL) -> None:
    """Issue 5's files for ``ds``, in the shape its brief describes (the recommendations: a date of the Delta
    table, with its ``_metrics.json`` beside it)."""
    import pyarrow as pa

    version = lake.table("models", "like_model") / f"version={ds}"
    version.mkdir(parents=True, exist_ok=True)
    (version / "model_card.json").write_text(json.dumps({  # the shape weekly_discovery.recommend.training.week writes
        "version": ds, "ds": ds, "features": ["danceability", "energy", "loudness"],
        "baseline": {"name": "logistic_regression", "params": {"regParam": 0.0},
                     "coefficients": {"danceability": 1.25, "energy": -0.5, "loudness": 0.08}, "intercept": -0.3,
                     "metrics": {"roc_auc": 0.7}},
        "champion": {"name": "random_forest", "params": {"numTrees": 50}, "label": "random_forest(numTrees=50)",
                     "metrics": {"roc_auc": 0.81, "roc_auc_sd": 0.03, "pr_auc": 0.77, "accuracy": 0.74,
                                 "confusion": [[30, 10], [12, 48]],
                                 "folds": [{"fold": 0, "roc_auc": 0.8}]},
                     "importances": {"danceability": 0.31, "energy": 0.22, "loudness": 0.12}},
        "promotion": {"promoted": True, "reason": "first model: promoted", "incumbent": None},
    }))
    (version.parent / "champion.json").write_text(json.dumps({"version": ds}))
    delta.write_date(lake, RECOMMENDATIONS, ds, pa.table({
        "rank": [1, 2],
        "track_id": ["T" * 22, "javascript:alert(1)"],
        "uri": ["spotify:track:" + "T" * 22, "x"],
        "name": [label, "Second song"],
        "artists": [[label, "Other"], ["Someone"]],
        "primary_artist_id": ["P" * 22, "Q" * 22],
        "primary_artist_name": [label, "Someone"],
        "probability": [0.93, 0.88],
        "source_key": ["playlist-" + "N" * 22, "playlist-" + "M" * 22],
        "source_name": ["New Music Friday", label],
    }))
    recs = lake.partition(RECOMMENDATIONS, ds)
    recs.mkdir(parents=True, exist_ok=True)
    (recs / "_metrics.json").write_text(json.dumps({"ds": ds, "model_version": ds, "playlists": [
        {"source_key": "playlist-" + "N" * 22, "name": label, "recommended": 12, "total": 50, "scored": 50},
        {"source_key": "playlist-" + "M" * 22, "name": "Fresh Finds", "recommended": 3, "total": 40,
         "scored": 38}]}))


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(str(tmp_path / "lake"))


def write_picks(lake: Lake, ds: str, picks: list[tuple]) -> None:
    """Date ``ds`` of ``gold/picks`` in the history table's shape: ``(rank, track_id, name, artists, source,
    probability, reason)`` per pick, the other columns filled from them (a rerun replaces the date)."""
    import pyarrow as pa

    rows = [{"ds": ds, "rank": rank, "track_id": tid, "track_uri": f"spotify:track:{tid}", "name": name,
             "artist_names": artists, "primary_artist_id": None, "primary_artist_name": artists[0] if artists else None,
             "source": source, "probability": p, "reason": reason, "playlist_id": "W" * 22}
            for rank, tid, name, artists, source, p, reason in picks]
    schema = pa.schema([("ds", pa.string()), ("rank", pa.int32()), ("track_id", pa.string()),
                        ("track_uri", pa.string()), ("name", pa.string()), ("artist_names", pa.list_(pa.string())),
                        ("primary_artist_id", pa.string()), ("primary_artist_name", pa.string()),
                        ("source", pa.string()), ("probability", pa.float64()), ("reason", pa.string()),
                        ("playlist_id", pa.string())])
    delta.write_date(lake, PICKS, ds, pa.Table.from_pylist(rows, schema=schema))


def write_library(lake: Lake, ds: str, rows: list[tuple[str, str, str]]) -> None:
    """Date ``ds`` of ``silver/tracks`` with the columns the hit rate reads: ``(track_id, role, source_key)`` rows."""
    import pyarrow as pa

    delta.write_date(lake, SILVER_TRACKS, ds, pa.table({
        "track_id": pa.array([r[0] for r in rows], pa.string()), "role": pa.array([r[1] for r in rows], pa.string()),
        "source_key": pa.array([r[2] for r in rows], pa.string()), "name": pa.array(["x"] * len(rows), pa.string())}))
