"""The weekly DAG's Spark work on the demo lake: ``jobs/weekly.py`` (one spark-submit) against train + score (two).

    .venv/bin/python -m benchmarks.weekly_job --chain-dir /tmp/chain   # a `benchmarks.chain --demo --workdir` folder
    .venv/bin/python -m benchmarks.weekly_job                          # builds one first (the demo chain, not timed)
    .venv/bin/python -m benchmarks.weekly_job --rounds 3               # alternate the two shapes three times

Issue #14 (fewer spark-submits where two jobs always run back to back): the weekly_recommendations DAG
used to run ``jobs/train.py`` then ``jobs/score.py``, two spark-submits that each paid a JVM, a Spark
session and a first job (~6.6 s with the demo's small-job settings); its one Spark task now runs
``jobs/weekly.py``. Each round copies the chain's enriched library, catalogue and config into two fresh
folders (no model yet, as in a first demo run), with the demo's small-job Spark settings
(:func:`devtools.demo.small_job_env`), and times, in alternating order, the new job and the old two-job shape of
the same code, both exactly as the DAG's operator submits them (``local[2]``). It prints the new job's
wall time against its share of ``make demo``'s 90 s target, the two-job figure from the same run
beside it, the single-process pandas / scikit-learn baseline (:mod:`benchmarks.baselines` train +
score on the same lake), whether both shapes wrote the same model card, champion and
recommendations, and the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.measure import LoadSampler, run_measured, spark_env, spark_submit_command  # noqa: E402
from devtools.demo import small_job_env  # noqa: E402

DS_GLOB = "silver/tracks_enriched/ds=*"
# make demo's target is 90 s for the whole chain after set-up (today 116 s, of which the weekly DAG's two Spark
# tasks were 52.5 s: train 24.5 + score 28.0 at load ~2). Its proportional share: 90 x 52.5 / 116 = 40.7 s.
TARGET_S = 40.0
CLOCK_FIELDS = ("trained_at", "duration_s", "updated_at")  # the clock's, not the data's


def load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def build_chain(workdir: Path) -> Path:
    """A demo chain's folder (lake, config, catalogue, spark-conf): ``benchmarks.chain --demo`` (not timed)."""
    subprocess.run([sys.executable, "-m", "benchmarks.chain", "--demo", "--workdir", str(workdir)], cwd=REPO,
                   check=True, stdout=subprocess.DEVNULL)
    return workdir


def fresh_copy(chain: Path, dest: Path) -> Path:
    """The chain's week as a first run sees it: the silver tables, the catalogue, the config, the Spark
    settings; no model, no scores, no picks."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copytree(chain / "lake" / "silver", dest / "lake" / "silver")
    if (chain / "catalogue").is_dir():
        shutil.copytree(chain / "catalogue", dest / "catalogue")
    shutil.copy2(chain / "weekly-discovery.toml", dest / "weekly-discovery.toml")
    return dest


def run_jobs(folder: Path, jobs: list[str], ds: str, logs: Path) -> list:
    env = small_job_env(spark_env())
    args = ["--lake", str(folder / "lake"), "--ds", ds, "--config", str(folder / "weekly-discovery.toml")]
    done = []
    for job in jobs:
        measured = run_measured(job, spark_submit_command(REPO / "jobs" / f"{job}.py", args), env=env, cwd=REPO,
                                timeout=900, log_path=logs / f"{folder.name}-{job}.log")
        done.append(measured)
        if not measured.ok:
            break
    return done


def outputs(folder: Path, ds: str) -> dict:
    """What a week's training and scoring leave, clock fields removed: card, champion pointer, scores and
    recommendations (rows sorted) with their metrics."""
    import pyarrow.dataset as pads

    lake = folder / "lake"
    card = json.loads((lake / "models" / "like_model" / f"version={ds}" / "model_card.json").read_text())
    pointer = json.loads((lake / "models" / "like_model" / "champion.json").read_text())
    # each candidate's fitting seconds are the clock's too; the catalogue's path is the copy's folder
    card["candidates"] = [{k: v for k, v in c.items() if k != "seconds"} for c in card["candidates"]]
    found = {"card": {k: v for k, v in card.items() if k not in CLOCK_FIELDS},
             "champion": {k: v for k, v in pointer.items() if k not in CLOCK_FIELDS}}
    for table in ("scores", "recommendations"):
        part = lake / "gold" / table / f"ds={ds}"
        rows = pads.dataset(str(part), format="parquet", ignore_prefixes=["_", "."]).to_table().to_pylist()
        found[table] = sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)
        metrics = json.loads((part / "_metrics.json").read_text())
        if metrics.get("catalogue"):
            metrics["catalogue"].pop("path", None)
        found[f"{table}_metrics"] = metrics
    return found


def baseline_seconds(folder: Path, ds: str) -> float | str:
    """pandas / scikit-learn train + score (:mod:`benchmarks.baselines`) on ``folder``'s lake, their own clock."""
    total = 0.0
    for job in ("train", "score"):
        done = subprocess.run([sys.executable, "-m", "benchmarks.baselines", job, "--lake", str(folder / "lake"),
                               "--ds", ds], cwd=REPO, capture_output=True, text=True, check=False)
        try:
            total += float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
        except (IndexError, ValueError, KeyError):
            return f"n/a ({(done.stderr.strip().splitlines() or ['failed'])[-1][:100]})"
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chain-dir", type=Path, help="a `benchmarks.chain --demo --workdir` folder (default: build one)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of (one job, two jobs), order alternating")
    parser.add_argument("--workdir", type=Path, help="keep the copies and logs here (default: a temp folder, removed)")
    args = parser.parse_args(argv)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="weekly-job-"))
    work.mkdir(parents=True, exist_ok=True)
    chain = args.chain_dir or build_chain(work / "chain")
    ds = sorted((chain / "lake").glob(DS_GLOB))[-1].name.removeprefix("ds=")
    one: list[float] = []
    two: list[tuple[float, float]] = []
    same = []
    failed = []
    load_before = load()
    with LoadSampler(interval=5.0) as sampler:
        for n in range(args.rounds):
            shapes = [("one", ["weekly"]), ("two", ["train", "score"])]
            if n % 2:
                shapes.reverse()
            folders = {}
            for shape, jobs in shapes:
                folder = fresh_copy(chain, work / f"round{n + 1}-{shape}")
                done = run_jobs(folder, jobs, ds, work / "logs")
                if not all(d.ok for d in done) or len(done) != len(jobs):
                    failed.append(f"round {n + 1} {'+'.join(jobs)}: exit {done[-1].returncode}, log {work / 'logs'}")
                    continue
                folders[shape] = folder
                if shape == "one":
                    one.append(done[0].wall_s)
                else:
                    two.append((done[0].wall_s, done[1].wall_s))
            if len(folders) == 2:
                same.append(outputs(folders["one"], ds) == outputs(folders["two"], ds))
        base = baseline_seconds(fresh_copy(chain, work / "baseline"), ds)
    load_after = load()
    summary = sampler.summary()

    print(f"# weekly job on the demo lake ({chain}, ds={ds}; {os.cpu_count()} cores; load {load_before} before, "
          f"{load_after} after, 1-min load during min {summary['min']:.1f} mean {summary['mean']:.1f} max "
          f"{summary['max']:.1f})")
    if one:
        wall = statistics.median(one)
        verdict = "MET" if wall <= TARGET_S else f"MISSED by {wall - TARGET_S:.1f} s ({wall / TARGET_S:.1f}x)"
        runs = ", ".join(f"{s:.1f}" for s in one)
        print(f"weekly job (jobs/weekly.py, one spark-submit): {wall:.1f} s median of {len(one)} ({runs}); "
              f"target <= {TARGET_S:.0f} s (the weekly DAG's share of make demo's 90 s): {verdict}")
    if two:
        totals = [a + b for a, b in two]
        runs = ", ".join(f"{a:.1f} + {b:.1f}" for a, b in two)
        print(f"before, this run: train.py + score.py as two spark-submits: {statistics.median(totals):.1f} s median "
              f"({runs}); saved by one job: {statistics.median(totals) - statistics.median(one):.1f} s" if one else "")
    print(f"single-process baseline (pandas / scikit-learn train + score, benchmarks.baselines): "
          + (f"{base:.1f} s" if isinstance(base, float) else base))
    if same:
        print(f"same outputs (model card and champion without clock fields, scores, recommendations, metrics): "
              f"{'yes' if all(same) else 'NO'} in {sum(same)} of {len(same)} round(s)")
    for line in failed:
        print(f"FAILED {line}")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if one and two and all(same) and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
