"""What the class-data archive of Spark's classes saves a short job: a trivial spark-submit with and without it.

    .venv/bin/python -m benchmarks.spark_start [--rounds 3]

Runs the smallest job (:data:`benchmarks.measure.TRIVIAL_JOB`: a session, one row counted) the way the demo
and the tests run their jobs (``local[2]``, the small-job settings of :func:`devtools.demo.small_job_env`),
alternating with and without ``-XX:SharedArchiveFile`` (:mod:`weekly_discovery.airflow.spark_class_data`;
the archive is made first if missing, and that time is printed apart). Prints the medians of wall and CPU seconds (the job's
processes: spark-submit, its JVM, the Python driver) side by side, and the machine's load.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.measure import TRIVIAL_JOB, spark_env, spark_submit_command  # noqa: E402
from devtools.demo import small_job_env  # noqa: E402


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (children's user + system) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    base = {k: v for k, v in spark_env().items() if k not in ("SPARK_CONF_DIR", "SPARK_SUBMIT_OPTS")}
    started = time.monotonic()
    with_archive = small_job_env(base)
    print(f"archive ready in {time.monotonic() - started:.1f} s (made once per Spark and Java; reused after)")
    if "SharedArchiveFile" not in with_archive["SPARK_SUBMIT_OPTS"]:
        raise SystemExit("no class-data archive could be made here: see the message above")
    without = {**with_archive, "SPARK_SUBMIT_OPTS": " ".join(
        o for o in with_archive["SPARK_SUBMIT_OPTS"].split() if not o.startswith("-XX:SharedArchiveFile="))}
    load_before = os.getloadavg()[0]
    results: dict[str, list[tuple[float, float]]] = {"with": [], "without": []}
    with tempfile.TemporaryDirectory() as folder:
        job = Path(folder) / "trivial_job.py"
        job.write_text(TRIVIAL_JOB)
        command = spark_submit_command(job, [])
        for _ in range(args.rounds):
            for name, env in (("without", without), ("with", with_archive)):
                results[name].append(timed(command, env))
    print(f"trivial spark-submit, local[2], C1 JIT, {args.rounds} rounds alternated, "
          f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name in ("without", "with"):
        walls, cpus = zip(*results[name])
        print(f"  {name:>7} the archive: median {statistics.median(walls):.1f} s wall, "
              f"{statistics.median(cpus):.1f} s CPU  (walls {', '.join(f'{w:.1f}' for w in walls)})")
    saved = statistics.median(w for w, _ in results["without"]) - statistics.median(w for w, _ in results["with"])
    print(f"  saved per spark-submit: {saved:.1f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
