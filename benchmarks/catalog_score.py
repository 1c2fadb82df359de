"""The score step over a 1.2M-row catalogue (the ``catalog`` source at the Kaggle file's scale).

    .venv/bin/python -m benchmarks.catalog_score [--rows 1200000] [--keep]

In a temporary folder: a generated catalogue CSV in the Kaggle layout (devtools/standin/catalogue.py),
a small generated library (``tracks_enriched``: 1,000 tracks, benchmarks/generate.py), a champion
trained on it by the real ``spark-submit jobs/train.py`` with the quick grid (not timed). Then the
measured step: the real ``spark-submit --master local[2] jobs/score.py`` with ``[discover] sources =
["catalog"]``, Spark's default driver memory (no ``spark.driver.memory``), as the DAG submits it.
Beside it, from the same run, a single-process baseline of the same work: pandas reads the CSV,
parses the artist lists, drops the library's songs and the malformed rows, and a scikit-learn
logistic regression fitted on the same library (the champion's features) scores every row and the
top 30 are taken. It prints the figure, its target (< 60 s), MET/MISSED, and the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import generate
from benchmarks.measure import (
    REPO,
    LoadSampler,
    run_measured,
    spark_env,
    spark_submit_command,
)
from devtools.standin.catalogue import KAGGLE_ROWS, write_catalogue
from weekly_discovery.lake import METRICS, RECOMMENDATIONS, TRACKS_ENRICHED, delta
from weekly_discovery.lake.layout import Lake

TARGET_S = 60.0
LIBRARY = {"liked": 700, "disliked": 300, "candidates": 200}


def write_config(path: Path, lake: Lake, catalogue: Path) -> Path:
    path.write_text(
        "[sources]\nliked = [\"saved_tracks\"]\n\n"
        f"[lake]\nroot = \"{lake.root}\"\n\n"
        "[model]\ngrid = \"quick\"\n\n"
        f"[discover]\nsources = [\"catalog\"]\ncatalog = \"{catalogue}\"\n",
        encoding="utf-8")
    return path


def baseline(lake: Lake, catalogue: Path, features: list[str], top_n: int = 30) -> dict:
    """The same work in one Python process: read, parse, drop the library and bad rows, fit, score, pick."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    started = time.monotonic()
    enriched = delta.read(lake, TRACKS_ENRICHED, generate.DS).to_pandas()
    base = [f.removeprefix("artist_avg_") for f in features]
    base = list(dict.fromkeys(base))
    labelled = enriched[enriched["role"].isin(["liked", "disliked"]) & (enriched["feature_status"] == "ok")]
    labelled = labelled.dropna(subset=base).drop_duplicates("track_id")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(labelled[base].astype(float), (labelled["role"] == "liked").astype(int))
    read_started = time.monotonic()
    df = pd.read_csv(catalogue, usecols=["id", "name", "artists", "artist_ids", *base], dtype={"id": str})
    read_s = time.monotonic() - read_started
    df["artist"] = df["artists"].str.extract(r"^\[['\"](.*?)['\"][,\]]", expand=False)
    known = set(enriched.loc[enriched["role"] != "candidates", "track_id"])
    ok = ~df["id"].isin(known) & df["id"].str.fullmatch(r"[0-9A-Za-z]{22}") & df[base].notna().all(axis=1)
    rows = df[ok]
    probability = model.predict_proba(rows[base].to_numpy(dtype=np.float64))[:, 1]
    top = rows.assign(probability=probability).nlargest(top_n, "probability")
    return {"seconds": time.monotonic() - started, "read_s": read_s, "rows": len(df), "scored": len(rows),
            "top": len(top)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_200_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="wd-catalog-bench-"))
    lake = Lake(str(workdir / "lake"))
    env = spark_env()
    try:
        started = time.monotonic()
        written = write_catalogue(workdir / "tracks_features.csv", args.rows, seed=11)
        print(f"catalogue: {written.rows:,} rows, {written.path.stat().st_size / 1e6:.0f} MB CSV, generated in "
              f"{time.monotonic() - started:.1f} s (the Kaggle file has {KAGGLE_ROWS:,})")
        generate.write_enriched(lake, LIBRARY)
        config = write_config(workdir / "config.toml", lake, written.path)
        job_args = ["--lake", lake.root, "--ds", generate.DS, "--config", str(config)]
        train = run_measured("train", spark_submit_command(REPO / "jobs" / "train.py", job_args), env=env, cwd=REPO,
                             timeout=1800, log_path=workdir / "train.log")
        if not train.ok:
            print((workdir / "train.log").read_text(errors="replace")[-3000:])
            raise SystemExit(f"training the champion failed (exit {train.returncode}); log {workdir / 'train.log'}")
        print(f"champion trained (quick grid, not timed): {train.wall_s:.0f} s")

        with LoadSampler(interval=5) as load:
            score = run_measured("score", spark_submit_command(REPO / "jobs" / "score.py", job_args), env=env,
                                 cwd=REPO, timeout=1800, log_path=workdir / "score.log")
        if not score.ok:
            print((workdir / "score.log").read_text(errors="replace")[-3000:])
            raise SystemExit(f"the score job failed (exit {score.returncode}); log {workdir / 'score.log'}")
        metrics = json.loads((lake.partition(RECOMMENDATIONS, generate.DS) / METRICS).read_text())
        with LoadSampler(interval=5) as base_load:
            single = baseline(lake, written.path, metrics["model"]["features"])
        c = metrics["catalogue"]
        verdict = "MET" if score.wall_s < TARGET_S else "MISSED"
        print(f"catalogue in the job: {c['rows']:,} rows read, {c['in_library']:,} in the library, {c['quarantined']:,} "
              f"quarantined, {c['scored']:,} scored, {c['recommended']:,} recommended; picks per source "
              f"{metrics['picks_per_source']}; champion {metrics['model']['name']} on {len(metrics['model']['features'])} "
              f"features")
        print(f"score 1.2M catalogue: {score.wall_s:.1f} s (target < {TARGET_S:.0f} s, {verdict}); "
              f"spark-submit --master local[2], default driver memory, whole process; peak RSS JVM "
              f"{score.peak_jvm_mb:,.0f} MB")
        print(f"single-process baseline (pandas read_csv + scikit-learn predict_proba, top 30): "
              f"{single['seconds']:.1f} s (CSV read {single['read_s']:.1f} s, {single['scored']:,} rows scored)")
        s, b = load.summary(), base_load.summary()
        print(f"load average (1 min) during the score job: min {s['min']:.1f}, mean {s['mean']:.1f}, max {s['max']:.1f}; "
              f"during the baseline: mean {b['mean']:.1f}; now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        if args.keep:
            print(f"kept: {workdir}")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
