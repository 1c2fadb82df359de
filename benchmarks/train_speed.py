"""How long does the weekly training take? ``spark-submit jobs/train.py`` on a 10k-track labelled library.

    .venv/bin/python -m benchmarks.train_speed [--liked 8200] [--disliked 2700] [--candidates 2000]
        [--grid default] [--workdir /tmp/train_speed] [--keep]

Generates ``silver/tracks_enriched`` as the benchmark suite does (:func:`benchmarks.generate.write_enriched`:
8,200 liked and 2,700 disliked rows by default, i.e. ~10,000 labelled tracks once conflicts, duplicate
rows and unusable features are dropped (7,500 + 2,500 gave 9,185), plus candidate rows), runs the real job in ``local[2]`` with the
``[model] grid`` asked for, and prints its wall time against the issue-14 target (<= 30 s) beside a
single-process scikit-learn baseline from the same run: the same labelled set, artist profile, folds
and grid in one Python process (pandas + scikit-learn, no Spark: the floor the job's start-up and
distribution add to). It also prints the machine's load (``os.getloadavg()``) before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import generate  # noqa: E402
from benchmarks.measure import run_measured, spark_env, spark_submit_command  # noqa: E402
from weekly_discovery.lake import TRACKS_ENRICHED, Lake, delta  # noqa: E402

TARGET_S = 30.0


def load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def sklearn_baseline(lake: Lake, grid_name: str, k: int = 5, seed: int = 42) -> dict:
    """The job's work in one process: labelled set, artist profile, k grouped folds x the grid, refits."""
    import numpy as np

    from benchmarks.baselines import labelled_set
    from weekly_discovery.core.vocabulary import POST_FEATURES
    from weekly_discovery.recommend.model import scikit as sk
    from weekly_discovery.recommend.training import cross_validation
    from weekly_discovery.recommend.training.folds import FOLD, python_folds
    from weekly_discovery.recommend.model.families import GRIDS
    from weekly_discovery.recommend.profile import column, model_features
    from weekly_discovery.recommend.training.selection import candidate_features

    started, cpu_started = time.monotonic(), time.process_time()
    features = list(POST_FEATURES)
    enriched = delta.read(lake, TRACKS_ENRICHED, generate.DS).to_pandas()
    data = labelled_set(enriched, features)
    usable = enriched[(enriched["feature_status"] == "ok") & enriched["primary_artist_id"].notna()]
    averages = usable.drop_duplicates("track_id").groupby("primary_artist_id")[features].mean()
    data = data.join(averages.rename(columns=column), on="primary_artist_id")
    for name in features:
        data[column(name)] = data[column(name)].fillna(data[name])
    data[FOLD] = data["group_id"].map(python_folds(data["group_id"], k, seed))
    grid = GRIDS[grid_name]()
    aucs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for candidate in grid:
            columns = candidate_features(candidate, features, True)
            evaluation = cross_validation.Evaluation(candidate, columns)
            folds = [cross_validation.run_task(data, evaluation, fold, seed, 0.5) for fold in range(k)]
            aucs[candidate.label()] = float(np.mean([f["roc_auc"] for f in folds if f and f["roc_auc"] is not None]))
        best = max(grid, key=lambda c: aucs[c.label()])
        sk.fit(best, data, candidate_features(best, features, True), seed)
        sk.fit(grid[0], data, features, seed)
    assert set(model_features(features, True)) <= set(data.columns)
    return {"seconds": time.monotonic() - started, "cpu_s": time.process_time() - cpu_started,
            "rows": len(data), "selected": best.label(),
            "roc_auc": aucs[best.label()]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--liked", type=int, default=8_200)
    parser.add_argument("--disliked", type=int, default=2_700)
    parser.add_argument("--candidates", type=int, default=2_000)
    parser.add_argument("--grid", choices=("default", "quick"), default="default")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/train_speed"))
    parser.add_argument("--keep", action="store_true", help="keep the generated lake and the job's log")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    shutil.rmtree(args.workdir, ignore_errors=True)
    lake = Lake(str(args.workdir / "lake"))
    counts = {"liked": args.liked, "disliked": args.disliked, "candidates": args.candidates}
    generate.write_enriched(lake, counts)
    config = generate.write_config(args.workdir / "config.toml", lake)
    with config.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[model]\ngrid = "{args.grid}"\n')

    load_before = load()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = spark_submit_command(REPO / "jobs" / "train.py",
                                   ["--lake", lake.root, "--ds", generate.DS, "--config", str(config)])
    job = run_measured("train", command, env=spark_env(), cwd=REPO, timeout=900,
                       log_path=args.workdir / "train.log")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    job_cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    card_path = lake.version(generate_table(), generate.DS) / "model_card.json"
    card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    base = sklearn_baseline(lake, args.grid)
    load_after = load()

    rows = (card.get("training") or {}).get("rows", base["rows"])
    verdict = ("MET" if job.ok and job.wall_s <= TARGET_S
               else f"MISSED by {job.wall_s - TARGET_S:.1f} s" if job.ok else f"FAILED (exit {job.returncode})")
    champion = card.get("champion") or {}
    print(f"# train speed ({counts['liked']:,} liked + {counts['disliked']:,} disliked + {counts['candidates']:,} "
          f"candidate rows -> {rows:,} labelled tracks; load {load_before} before, {load_after} after; "
          f"{os.cpu_count()} cores)")
    print(f"train {rows / 1000:.0f}k rows {args.grid} grid: {job.wall_s:.1f} s (target <= {TARGET_S:.0f} s, {verdict}); "
          f"single-process scikit-learn baseline: {base['seconds']:.1f} s; job's model step {card.get('duration_s')} s")
    print(f"CPU seconds (user + sys; load-independent): job {job_cpu:.1f} (its reaped process tree: JVM, Python "
          f"driver and workers), baseline {base['cpu_s']:.1f}")
    print(f"selected: {champion.get('label')} ROC AUC {(champion.get('metrics') or {}).get('roc_auc')} "
          f"(baseline selected {base['selected']} {base['roc_auc']:.4f}); peak RSS {job.peak_tree_mb:.0f} MB")
    if not job.ok:
        print((args.workdir / "train.log").read_text()[-3000:])
    if args.json:
        args.json.write_text(json.dumps({"job": job.to_dict(), "baseline": base, "card": card, "load_before": load_before,
                                         "load_after": load_after, "target_s": TARGET_S, "job_cpu_s": job_cpu}, indent=2, default=str) + "\n")
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0 if job.ok else 1


def generate_table():
    from weekly_discovery.lake import LIKE_MODEL

    return LIKE_MODEL


if __name__ == "__main__":
    sys.exit(main())
