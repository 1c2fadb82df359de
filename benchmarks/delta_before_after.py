"""Issue 28's figures before and after Delta Lake, in one run on one machine.

    .venv/bin/python -m benchmarks.delta_before_after [--before-commit b82282e] [--only demo chain ...]

"Before" is the last commit with the home-made table format (b82282e), checked out into a temporary git
worktree; "after" is this tree. Each benchmark runs in both, one after the other, with the same virtualenv
(Delta's jars in pyspark's jars/ do not change what the older code does):

* ``demo``: ``make demo``'s chain after set-up (``benchmarks.chain --demo``), target <= 90 s;
* ``chain``: the four DAGs over a 10k-track library (``benchmarks.chain``);
* ``normalize``: normalize at 1M tracks (``benchmarks.normalize_heap``);
* ``catalog``: scoring the 1.2M-row catalogue (``benchmarks.catalog_score``);
* ``disk``: the lake's bytes after 8 weekly runs of the demo's chain (``benchmarks/lake_disk.py``, run from
  this tree in both: it imports the demo of the tree it runs in).

It prints each benchmark's headline lines (figures, targets, baselines, load) for both trees, then a
summary table.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.targets import headlines

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
BEFORE_COMMIT = "b82282e"
BENCHMARKS = {
    "demo": (["-m", "benchmarks.chain", "--demo"], r"([\d.]+) s wall \(target"),
    "chain": (["-m", "benchmarks.chain"], r"([\d.]+) s wall \(target"),
    "normalize": (["-m", "benchmarks.normalize_heap", "--no-baseline"], r"run 1, as the DAG runs it: ([\d.]+) s"),
    "catalog": (["-m", "benchmarks.catalog_score"], r"score 1.2M catalogue: ([\d.]+) s"),
    "disk": ([str(REPO / "benchmarks" / "lake_disk.py"), "--weeks", "8"], r"lake disk after \d+ weeks: ([\d.]+) MB"),
}


def worktree(commit: str) -> Path:
    path = Path(f"/tmp/weekly-discovery-before-{commit}")
    if not (path / "weekly_discovery").is_dir():
        subprocess.run(["git", "worktree", "add", "--detach", "-f", str(path), commit], cwd=REPO, check=True,
                       capture_output=True)
    return path


def run(tree: Path, name: str) -> tuple[float, list[str], str | None]:
    args, pattern = BENCHMARKS[name]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    print(f"\n===== {name} in {tree} (load average {os.getloadavg()[0]:.1f}) =====", flush=True)
    started = time.monotonic()
    result = subprocess.run([PY, *args], cwd=tree, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    lines = headlines(output) or output.splitlines()[-5:]
    for line in lines:
        print(f"  {line}")
    if result.returncode != 0:
        print(f"  FAILED (exit {result.returncode}):\n{output[-3000:]}")
        return elapsed, lines, None
    found = re.findall(pattern, output)
    return elapsed, lines, found[-1] if found else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-commit", default=BEFORE_COMMIT)
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), default=list(BENCHMARKS))
    args = parser.parse_args(argv)
    before = worktree(args.before_commit)
    rows = []
    for name in args.only:
        b_elapsed, _, b_figure = run(before, name)
        a_elapsed, _, a_figure = run(REPO, name)
        rows.append((name, b_figure, a_figure, b_elapsed, a_elapsed))
    print(f"\n{'benchmark':<10} {'before':>12} {'after':>12}   (wall s: before / after)   "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, b_figure, a_figure, b_elapsed, a_elapsed in rows:
        unit = "MB" if name == "disk" else "s"
        print(f"{name:<10} {str(b_figure) + ' ' + unit:>12} {str(a_figure) + ' ' + unit:>12}   "
              f"({b_elapsed:.0f} / {a_elapsed:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
