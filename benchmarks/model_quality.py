"""How good is the weekly model? The post's logistic regression reproduced, and the challengers.

    .venv/bin/python benchmarks/model_quality.py [--datasets kaggle demo] [--folds 5] [--seed 42] [--json out.json]

Two labelled sets, each cross-validated with the training code the weekly job runs
(:mod:`weekly_discovery.recommend`: labelled set, artist-grouped folds, the candidate grid, metrics):

- ``kaggle``: ../shared/data/song_attributes_like_dislike.csv, 2,017 real songs one listener marked
  liked (target 1) or disliked (0); rows are ordered by target, so they are shuffled (seeded) first.
  Run with the post's eleven features, then with duration_ms and time_signature added.
- ``demo``: the demo library of the Spotify stand-in (``generate_demo_library()``): Liked Songs and the
  liked playlist = 1, the disliked playlist = 0, with each track's generated features.

For every feature set it prints, per model, ROC AUC (mean +- sd over folds), PR AUC, accuracy and the
CPU seconds of its k fits (scikit-learn fits run as Spark tasks, recommend/model/scikit.py), then a scikit-learn RandomForestClassifier and an unregularized scikit-learn logistic
regression on the same folds as references. docs/model.md records a run.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from anywhere without installing

from weekly_discovery.core.vocabulary import POST_FEATURES  # noqa: E402
from weekly_discovery.recommend.model import families as cand  # noqa: E402
from weekly_discovery.recommend.model.columns import GROUP, LABEL  # noqa: E402
from weekly_discovery.recommend.training.dataset import labelled_set
from weekly_discovery.recommend.training.folds import python_folds  # noqa: E402
from weekly_discovery.recommend.profile import model_features, with_artist_profile  # noqa: E402
from weekly_discovery.recommend.training.selection import best_of, prepare, train_candidates  # noqa: E402

KAGGLE_CSV = REPO.parent / "shared" / "data" / "song_attributes_like_dislike.csv"
ALL_FEATURES = (*POST_FEATURES, "duration_ms", "time_signature")
ENRICHED_COLUMNS = ("track_id", "name", "primary_artist_id", "primary_artist_name", "role", "source_key",
                    "position", "feature_status")


def kaggle_rows(path: Path, seed: int) -> "Any":
    """The CSV in the enriched table's shape (one source, artist name as artist id), shuffled."""
    import pandas as pd

    df = pd.read_csv(path).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    out = pd.DataFrame({
        "track_id": [f"kaggle-{i:05d}" for i in df.index],
        "name": df["song_title"].astype(str),
        "primary_artist_id": df["artist"].astype(str),
        "primary_artist_name": df["artist"].astype(str),
        "role": df["target"].map({1: "liked", 0: "disliked"}),
        "source_key": "kaggle",
        "position": df.index.astype("int32"),
        "feature_status": "ok",
    })
    for name in ALL_FEATURES:
        out[name] = df[name].astype(float)
    return out


def demo_rows(seed: int) -> "Any":
    """The stand-in's demo library: its liked and disliked sources with each track's features."""
    import pandas as pd

    from devtools.standin import generate_demo_library

    library = generate_demo_library(seed=seed)
    records = []
    for role in ("liked", "disliked"):
        for source in library.roles[role]:
            ids = ([t for _, t in library.saved] if source == "saved_tracks"
                   else library.playlists[source].track_ids())
            for position, track_id in enumerate(ids):
                track = library.tracks[track_id]
                records.append({
                    "track_id": track_id, "name": track.name, "primary_artist_id": track.artists[0].id,
                    "primary_artist_name": track.artists[0].name, "role": role, "source_key": source,
                    "position": position, "feature_status": "ok",
                    **{name: float(track.features[name]) for name in ALL_FEATURES if name != "duration_ms"},
                    "duration_ms": float(track.duration_ms),
                })
    return pd.DataFrame.from_records(records)


def spark_session():
    import os

    from weekly_discovery.spark.session import get_spark

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the scikit-learn fits run in Python workers

    return get_spark("weekly-discovery-model-benchmark",
                     {"spark.master": "local[2]", "spark.ui.enabled": False, "spark.sql.shuffle.partitions": 2})


def sklearn_references(pdf: "Any", features: tuple[str, ...], k: int, seed: int,
                       profile: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """scikit-learn models on the same labelled rows and the same folds (:func:`python_folds`).

    The forest sees what the challengers see (``features`` + ``profile``, the artist averages);
    the logistic regression sees the post's inputs (``features``).
    """
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, roc_auc_score

    folds = pdf[GROUP].map(python_folds(pdf[GROUP], k, seed)).to_numpy()
    y = pdf[LABEL].to_numpy()
    forest_name = "sklearn RandomForest(500 trees)" + (", + artist profile" if profile else "")
    makers = {
        forest_name: (lambda: RandomForestClassifier(n_estimators=500, random_state=seed, n_jobs=2),
                      [*features, *profile]),
        "sklearn LogisticRegression(no penalty)": (lambda: LogisticRegression(penalty=None, max_iter=10_000),
                                                   list(features)),
    }
    out = {}
    for name, (make, columns) in makers.items():
        x = pdf[columns].to_numpy()
        started = time.monotonic()
        roc, pr, correct = [], [], 0
        for fold in range(k):
            train, test = folds != fold, folds == fold
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = make().fit(x[train], y[train])
            p = model.predict_proba(x[test])[:, 1]
            if len(set(y[test])) == 2:
                roc.append(roc_auc_score(y[test], p))
                pr.append(average_precision_score(y[test], p))
            correct += int(((p >= 0.5) == (y[test] == 1)).sum())
        out[name] = {"roc_auc": float(np.mean(roc)), "roc_auc_sd": float(np.std(roc)), "pr_auc": float(np.mean(pr)),
                     "pr_auc_sd": float(np.std(pr)), "accuracy": correct / len(y),
                     "seconds": time.monotonic() - started}
    return out


def evaluate(spark, name: str, rows: "Any", features: tuple[str, ...], k: int, seed: int,
             artist_profile: bool = True) -> dict[str, Any]:
    """CV of the weekly grid and the scikit-learn references on one labelled set; prints as it goes."""
    enriched = spark.createDataFrame(rows[[*ENRICHED_COLUMNS, *ALL_FEATURES]])
    labelled = labelled_set(enriched, features)
    data = prepare(with_artist_profile(labelled.df, enriched), k, seed)
    profile = model_features(features, artist_profile)[len(features):]
    counts = labelled.counts
    print(f"\n## {name}: {counts['rows']} tracks ({counts['positives']} liked, {counts['negatives']} disliked), "
          f"{data.select(GROUP).distinct().count()} artists, {k} artist-grouped folds, seed {seed}")
    print(f"features: {', '.join(features)}" + (" (challengers: + each one's artist average)" if profile else ""))
    print(f"{'model':<78} {'ROC AUC':>16} {'PR AUC':>16} {'accuracy':>9} {'time':>7}")
    results = train_candidates(data, features, cand.default_grid(), k, seed, artist_profile=artist_profile,
                               on_result=lambda r: print(line(r.candidate.label(), r.cv, r.seconds), flush=True))
    best = best_of(results)
    print(line(f"-> selected: {best.candidate.label()}", best.cv, best.seconds))
    pdf = data.select(GROUP, LABEL, *features, *profile).toPandas()  # small: a benchmark may collect it
    data.unpersist()
    references = sklearn_references(pdf, features, k, seed, profile)
    for ref_name, ref in references.items():
        print(line(ref_name, ref, ref["seconds"]), flush=True)
    return {"dataset": name, "features": list(features), "artist_profile": artist_profile, "training": counts,
            "candidates": [r.to_dict() for r in results], "selected": best.to_dict(), "references": references}


TARGET_SELECTED = 0.86  # issue #5: the selected model on the Kaggle likes
TARGET_13_FEATURES = 0.87  # issue #14: the scikit-learn challengers keep the quality of the Spark ML ones
PREVIOUS_SELECTED = {11: 0.8654, 13: 0.8715}  # the Spark ML grid's selected model (docs/model.md, 2026-11-25)
EXPECTED_POST = 0.70  # the post's model reproduced: "about 0.70"


def targets(report: list[dict[str, Any]]) -> list[str]:
    """The issues' figures on the Kaggle set, each against its target and beside the previous figure."""
    out = ["", "## targets (Kaggle set, artist-grouped folds)"]
    for result in report:
        if not result["dataset"].startswith("kaggle"):
            continue
        post = result["candidates"][0]["cv"]["roc_auc"]
        selected = result["selected"]
        auc = selected["cv"]["roc_auc"]
        n = len(result["features"])
        target = TARGET_13_FEATURES if n >= 13 else TARGET_SELECTED
        verdict = "MET" if auc >= target else f"MISSED by {target - auc:.4f}"
        previous = PREVIOUS_SELECTED.get(n)
        out.append(f"{result['dataset']}: post's model {post:.4f} (expected about {EXPECTED_POST:.2f}); selected "
                   f"{selected['name']} grouped ROC AUC with {n} features {auc:.4f} vs target {target:.2f}: {verdict}"
                   + (f" (previous, Spark ML grid: {previous:.4f})" if previous else ""))
    return out


def line(name: str, m: dict[str, Any], seconds: float) -> str:
    def pm(mean: float | None, sd: float | None) -> str:
        return "n/a" if mean is None else f"{mean:.4f} +- {sd or 0:.4f}"

    return (f"{name:<78} {pm(m.get('roc_auc'), m.get('roc_auc_sd')):>16} {pm(m.get('pr_auc'), m.get('pr_auc_sd')):>16} "
            f"{m.get('accuracy') or 0:>9.4f} {seconds:>6.0f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=("kaggle", "demo"), default=["kaggle", "demo"])
    parser.add_argument("--csv", type=Path, default=KAGGLE_CSV)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--no-artist-profile", action="store_true",
                        help="challengers without the artist averages (as with [model] artist_profile = false)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    plans = []
    if "kaggle" in args.datasets:
        if not args.csv.is_file():
            parser.error(f"{args.csv} not found (it lives in ../shared/data beside the repo); pass --csv")
        rows = kaggle_rows(args.csv, args.seed)
        plans += [("kaggle, the post's 11 features", rows, POST_FEATURES),
                  ("kaggle, + duration_ms and time_signature", rows, ALL_FEATURES)]
    if "demo" in args.datasets:
        rows = demo_rows(7)
        plans += [("demo library, the post's 11 features", rows, POST_FEATURES),
                  ("demo library, + duration_ms", rows, (*POST_FEATURES, "duration_ms"))]

    spark = spark_session()
    started = time.monotonic()
    try:
        report = [evaluate(spark, name, rows, features, args.folds, args.seed, not args.no_artist_profile)
                  for name, rows, features in plans]
    finally:
        spark.stop()
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    for lines in targets(report):
        print(lines)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
