"""Read the weekly model's outputs for a date, when they exist (issue 5 writes them; the report only reads).

- ``models/like_model/version=<ds>/model_card.json``: baseline coefficients per feature and intercept,
  the champion's metrics (roc_auc, pr_auc, accuracy, confusion) and feature importances;
- ``models/like_model/champion.json``: which version was the champion in force for ``ds`` (the history
  entry of the latest training date on or before ``ds``, not the current champion: an old week's report
  shows the model that week used);
- ``gold/recommendations`` (a Delta table), date ``ds``: rows (rank, track_id, uri, name, artists,
  probability, source playlist), and ``_metrics.json`` beside them
  (``gold/recommendations/ds=<ds>/_metrics.json``) with ``playlists: [{source_key, name, recommended, total}]``.

The shapes are read leniently (a missing key shows as "-" on the page) and normalised by
:func:`normalise`, so the page does not break when a field is added or renamed; a date without a
model card is "not run yet". Plain Python and delta-rs (:mod:`weekly_discovery.lake.delta`): no Spark.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from weekly_discovery.lake import (
    CHAMPION,
    LIKE_MODEL,
    METRICS,
    MODEL_CARD,
    RECOMMENDATIONS,
    Lake,
    delta,
    read_json,
)

log = logging.getLogger(__name__)

MAX_RECOMMENDATIONS = 200


def model_version_dir(lake: Lake, ds: str) -> Path:
    return lake.version(LIKE_MODEL, ds)


def load_model_outputs(lake: Lake, ds: str) -> dict[str, Any] | None:
    """The model's outputs for ``ds`` (normalised), or None when the weekly model has not run for it."""
    card_path = model_version_dir(lake, ds) / MODEL_CARD
    if not card_path.is_file():
        return None
    card = read_json(card_path)
    champion_path = lake.table(LIKE_MODEL) / CHAMPION
    champion = champion_as_of(_read_optional(champion_path), ds)
    rec_metrics = _read_optional(lake.partition(RECOMMENDATIONS, ds) / METRICS)
    recommendations = _read_recommendations(lake, ds, scored=rec_metrics is not None)
    return normalise(ds, card, champion, recommendations, rec_metrics)


def champion_as_of(pointer: Any, ds: str) -> dict[str, Any] | None:
    """``{"version": ...}`` of the champion in force for ``ds`` according to the pointer's history.

    The rule of :func:`weekly_discovery.recommend.model.store.champion_version` (``strictly_before=False``),
    read here on its own since a stage does not import another: the latest entry dated on or before
    ``ds`` names the champion. None when the pointer has no such entry (or no history at all: its
    top-level fields describe the current champion, which is not necessarily ``ds``'s).
    """
    history = pointer.get("history") if isinstance(pointer, Mapping) else None
    entries = [e for e in history or []
               if isinstance(e, Mapping) and e.get("ds") and e.get("champion") and str(e["ds"]) <= ds]
    if not entries:
        return None
    return {"version": max(entries, key=lambda e: str(e["ds"]))["champion"]}


def _read_optional(path: Path) -> Any:
    try:
        return read_json(path)
    except FileNotFoundError:
        return None
    except ValueError as exc:
        log.warning("%s is not valid JSON (%s): left out of the report", path, exc)
        return None


def _read_recommendations(lake: Lake, ds: str, *, scored: bool) -> list[dict[str, Any]] | None:
    """The date's recommendations by rank (the first :data:`MAX_RECOMMENDATIONS`); None when the score step
    has not run for ``ds`` (no rows and no ``_metrics.json``: ``scored``), [] when it recommended nothing."""
    rows = delta.read_rows(lake, RECOMMENDATIONS, ds)
    if not rows and not scored:
        return None
    rows.sort(key=lambda r: (_num(r.get("rank")) if _num(r.get("rank")) is not None else 1e18))
    return rows[:MAX_RECOMMENDATIONS]


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _pairs(value: Any, key_names: tuple[str, ...], value_names: tuple[str, ...]) -> list[tuple[str, Any]]:
    """``{"a": 1}`` or ``[{"feature": "a", "coefficient": 1}]`` or ``[["a", 1]]`` -> ``[("a", 1)]``."""
    if isinstance(value, Mapping):
        return [(str(k), v) for k, v in value.items()]
    out = []
    for item in value or []:
        if isinstance(item, Mapping):
            k = next((item[n] for n in key_names if n in item), None)
            v = next((item[n] for n in value_names if n in item), None)
            if k is not None:
                out.append((str(k), v))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            out.append((str(item[0]), item[1]))
    return out


def _first(mapping: Mapping[str, Any] | None, *names: str) -> Any:
    for name in names:
        if mapping and name in mapping and mapping[name] is not None:
            return mapping[name]
    return None


LEARNED_FROM = (  # the card's training kinds, in the order of their strength, as the page names them
    ("liked", "Liked Songs and liked playlists", "label 1"),
    ("disliked", "disliked playlists", "label 0"),
    ("removed", "picks you removed from the playlist", "label 0"),
    ("unsaved", "picks not saved weeks after they were offered", "label 0, weak"),
    ("background", "background: the week’s candidates, unlabeled", "label 0, positive-unlabeled"),
)


def learned_from(training: Any) -> list[dict[str, Any]]:
    """What the week's model learned from: one row per kind of song (count, weight, role), from the card's
    ``training.by_kind`` and ``training.weights``; [] for a card written before issue 27."""
    if not isinstance(training, Mapping) or not isinstance(training.get("by_kind"), Mapping):
        return []
    weights = training.get("weights") if isinstance(training.get("weights"), Mapping) else {}
    return [{"kind": kind, "what": what, "role": role, "songs": training["by_kind"].get(kind, 0),
             "weight": _num(weights.get(kind, 1.0))} for kind, what, role in LEARNED_FROM]


def normalise(ds: str, card: Mapping[str, Any], champion: Mapping[str, Any] | None,
              recommendations: list[Mapping[str, Any]] | None,
              rec_metrics: Mapping[str, Any] | None) -> dict[str, Any]:
    """One predictable shape for the page, whatever the exact field names of the model's files.

    The card (weekly_discovery.recommend.training.week) holds ``baseline: {name, params, coefficients: {feature: c},
    intercept, metrics}`` and ``champion: {name, params, label, metrics: {roc_auc, roc_auc_sd, pr_auc,
    accuracy, confusion, folds}, importances: {feature: v}`` (trees) or ``coefficients``/``intercept``
    (linear models)}``, plus ``promotion: {promoted, reason, incumbent}``.
    """
    baseline = _first(card, "baseline")
    baseline = baseline if isinstance(baseline, Mapping) else {}
    champ = _first(card, "champion")
    champ = champ if isinstance(champ, Mapping) else {}
    coefficients = _first(baseline, "coefficients") or _first(card, "coefficients", "baseline_coefficients")
    intercept = _first(baseline, "intercept")
    if intercept is None:
        intercept = _first(card, "intercept", "baseline_intercept")
    metrics = _first(champ, "metrics") or _first(card, "metrics") or {}
    importances = _first(champ, "importances", "feature_importances") or _first(card, "importances") or []
    promotion = _first(card, "promotion")
    playlists = []
    for p in (_first(rec_metrics, "playlists") or []):
        if isinstance(p, Mapping):
            playlists.append({"source_key": p.get("source_key"), "name": p.get("name") or p.get("source_key"),
                              "recommended": p.get("recommended"), "total": p.get("total")})
    recs = []
    for r in recommendations or []:
        artists = r.get("artists", r.get("artist_names"))
        if isinstance(artists, (list, tuple)):
            artists = ", ".join(str(a) for a in artists if a is not None)
        recs.append({
            "rank": r.get("rank"),
            "track_id": r.get("track_id"),
            "name": r.get("name"),
            "artists": artists or r.get("primary_artist_name"),
            "probability": _num(r.get("probability")),
            "playlist": r.get("source_name") or r.get("playlist") or r.get("source_playlist") or r.get("source_key"),
        })
    return {
        "ds": ds,
        "learned_from": learned_from(_first(card, "training")),
        "pu": _first(card, "pu"),
        "short_week": _first(rec_metrics, "short_week") or None,
        "max_per_artist": _first(rec_metrics, "max_per_artist"),
        "max_per_artist_setting": _first(rec_metrics, "max_per_artist_setting"),
        "version": _first(card, "version", "ds") or ds,
        "champion_version": _first(champion, "version", "ds"),
        "champion_name": _first(champ, "label", "name"),
        "promotion": (_first(promotion, "reason") if isinstance(promotion, Mapping) else None),
        "scored_by": _first(rec_metrics, "model_version"),
        "baseline_name": _first(baseline, "name"),
        "coefficients": [(k, _num(v)) for k, v in _pairs(coefficients, ("feature", "name"),
                                                         ("coefficient", "coef", "value"))],
        "intercept": _num(intercept),
        "metrics": dict(metrics) if isinstance(metrics, Mapping) else {},
        "importances": [(k, _num(v)) for k, v in _pairs(importances, ("feature", "name"),
                                                        ("importance", "value", "score"))],
        "champion_coefficients": [(k, _num(v)) for k, v in _pairs(_first(champ, "coefficients"), ("feature",),
                                                                  ("coefficient",))],
        "champion_scale": _first(champ, "coefficient_scale"),
        "playlists": playlists,
        "recommendations": recs,
        "recommendations_present": recommendations is not None,
    }
