"""Normalize at 1M tracks with heap to spare: the driver JVM's heap and GCs in Spark's default 1 GB.

    .venv/bin/python -m benchmarks.normalize_heap [--tracks 1000000] [--workdir DIR] [--keep] [--no-baseline]

Generates the raw extract pages of ``--tracks`` tracks once (benchmarks/generate.py: a Liked Songs source
and a candidate playlist with its oddities, ~1.9 KB per item; into a temporary folder, or into
``--workdir``, where pages already generated for the same size are reused), then runs the real
``spark-submit --master local[2] jobs/normalize.py`` as the ingest DAG submits it: no driver memory set,
so Spark's default 1 GB heap, which in local mode is also the executor's. The JVM logs its collections
(``spark.driver.extraJavaOptions=-Xlog:gc*``) and Spark writes its event log with executor metrics.

"Heap to spare" is measured on the GC log, where it is exact: the largest heap still used right after a
collection (live data plus what the collector chose to keep) must be at most half the maximum heap, with
no full (stop-the-world, whole-heap) collection. Printed beside it, from ``-Xlog:gc+liveness=trace``: what
each of G1's concurrent marking cycles found live (the ``next-live`` total of its Post-Marking summary: every
object reachable when the cycle started, plus what was allocated during it). Spark's own figure, the largest ``JVMHeapMemory`` it
sampled (garbage included, so it approaches the maximum whenever the JVM lets the heap fill before
collecting), and its "major GC" count (G1's old-generation collector, i.e. full GCs) are printed beside
it for comparison with the 1,018 MB / 51 major GCs of docs/benchmarks.md. Also printed: wall time, young
collections, time in GC pauses, the JVM's peak RSS, the single-process baseline (``benchmarks.baselines
normalize``: json + pandas over the same pages, in one Python process) and the machine's load.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import generate
from benchmarks.measure import (
    REPO,
    LoadSampler,
    driver_heap,
    log_tail,
    run_measured,
    spark_env,
    spark_submit_command,
    with_event_log,
)
from weekly_discovery.lake.layout import Lake

TARGET_SHARE = 0.5  # peak heap after GC <= half the maximum heap ...
TARGET_FULL_GCS = 0  # ... and no full collection
_UNITS = {"K": 1 / 1024, "M": 1.0, "G": 1024.0}
# "[12.345s][info][gc] GC(17) Pause Young (Normal) (G1 Evacuation Pause) 512M->130M(1024M) 12.345ms"
_PAUSE = re.compile(r"GC\(\d+\) (Pause \w+)(?: \(([^)]*)\))?.*?\s(\d+)([KMG])->(\d+)([KMG])\((\d+)([KMG])\)\s+([\d.]+)ms")
_MAX_HEAP = re.compile(r"Heap Max Capacity: (\d+)([KMG])")
# JDK 17: "### PHASE Post-Marking @ 165.906", then
# "### SUMMARY  capacity: 1024.00 MB  used: 698.91 MB / 68.25 %  prev-live: 645.03 MB / 62.99 %  next-live: 645.03 MB ..."
_PHASE = re.compile(r"### PHASE (\S+)")
_SUMMARY = re.compile(r"### SUMMARY\s+capacity: [\d.]+ MB\s+used: ([\d.]+) MB.*\snext-live: ([\d.]+) MB")


def marked_live(path: Path) -> list[tuple[float, float]]:
    """(used MiB, live MiB) after each concurrent marking cycle (its Post-Marking summary) of a
    ``-Xlog:gc+liveness=trace`` file; the Post-Cleanup summaries, whose next-live is reset, are skipped."""
    out, phase = [], None
    if not path.is_file():
        return out
    for line in path.read_text(errors="replace").splitlines():
        if found := _PHASE.search(line):
            phase = found.group(1)
        elif (found := _SUMMARY.search(line)) and phase == "Post-Marking":
            out.append((float(found.group(1)), float(found.group(2))))
    return out


def gc_summary(path: Path) -> dict:
    """Young and full pauses, pause time, heap after each collection and the maximum heap (MiB) of a
    ``-Xlog:gc*`` file (G1, JDK 11+). Remark and cleanup pauses count in the pause time only."""
    out = {"young": 0, "full": 0, "pause_ms": 0.0, "peak_after_mb": 0.0, "peak_before_mb": 0.0,
           "max_heap_mb": None, "concurrent_cycles": 0}
    if not path.is_file():
        return out
    for line in path.read_text(errors="replace").splitlines():
        if (found := _MAX_HEAP.search(line)) and out["max_heap_mb"] is None:
            out["max_heap_mb"] = float(found.group(1)) * _UNITS[found.group(2)]
            continue
        if "Concurrent Mark Cycle" in line and "ms" not in line.split("Concurrent Mark Cycle")[1]:
            out["concurrent_cycles"] += 1
            continue
        found = _PAUSE.search(line)
        if not found:
            continue
        kind, _detail, before, bu, after, au, _cap, _cu, ms = found.groups()
        out["pause_ms"] += float(ms)
        out["peak_before_mb"] = max(out["peak_before_mb"], float(before) * _UNITS[bu])
        if kind == "Pause Young":
            out["young"] += 1
        elif kind == "Pause Full":
            out["full"] += 1
        else:
            continue  # Remark / Cleanup: no evacuation, the "after" is not a collection's result
        out["peak_after_mb"] = max(out["peak_after_mb"], float(after) * _UNITS[au])
    return out


_STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\dT[\d:.]+)([+-]\d{4})\]")


def gc_pauses(path: Path) -> list[tuple[float, str, float]]:
    """(epoch seconds, "young" | "full", heap after in MiB) of each evacuating pause, from the log's ``time``."""
    out = []
    if not path.is_file():
        return out
    for line in path.read_text(errors="replace").splitlines():
        stamp, found = _STAMP.search(line), _PAUSE.search(line)
        if not (stamp and found) or found.group(1) not in ("Pause Young", "Pause Full"):
            continue
        when = datetime.datetime.strptime(stamp.group(1) + stamp.group(2), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        out.append((when, "full" if found.group(1) == "Pause Full" else "young",
                    float(found.group(5)) * _UNITS[found.group(6)]))
    return out


def stage_timeline(events: Path, pauses: list[tuple[float, str, float]]) -> list[str]:
    """One line per Spark stage (from the event log): what it ran, its tasks and time, and the collections
    during it (stages that overlap share theirs). This is where the heap goes, stage by stage."""
    stages = []
    for path in sorted(p for p in events.rglob("events_*") if p.is_file()):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if '"SparkListenerStageCompleted"' not in line:
                continue
            info = json.loads(line)["Stage Info"]
            stages.append((info["Submission Time"] / 1000, info["Completion Time"] / 1000, info["Stage ID"],
                           info["Stage Name"], info["Number of Tasks"]))
    lines = []
    for start, end, stage, name, tasks in sorted(stages):
        during = [p for p in pauses if start <= p[0] <= end]
        full = sum(1 for p in during if p[1] == "full")
        peak = max((p[2] for p in during), default=0.0)
        lines.append(f"  stage {stage:>3} {name[:44]:<44} {tasks:>5} tasks {end - start:>6.1f} s  "
                     f"{len(during) - full:>4} young {full:>3} full GCs, peak after GC {peak:>5,.0f} MB")
    return lines


def pages_in(lake: Lake) -> tuple[int, int]:
    """(files, bytes) of the page files under the lake's raw folder."""
    files = [p for p in Path(lake.root, "raw").rglob("page-*.json")]
    return len(files), sum(p.stat().st_size for p in files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, help="keep the pages here and reuse them on the next run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the single-process baseline")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="wd-normalize-heap-"))
    lake = Lake(str(workdir / f"lake-{args.tracks}"))
    stamp = Path(lake.root, "generated.json")
    env = spark_env()
    try:
        if not stamp.is_file():
            started = time.monotonic()
            info = generate.write_raw_pages(lake, args.tracks)
            stamp.write_text(json.dumps(info))
            print(f"raw pages generated in {time.monotonic() - started:.0f} s")
        files, size = pages_in(lake)
        print(f"input: {args.tracks:,} tracks, {files:,} page files, {size / 1e6:,.0f} MB of raw pages in {lake.root}")

        run_dir = workdir / f"run-{time.strftime('%Y%m%dT%H%M%S')}"
        gc_log = run_dir / "gc.log"
        run_dir.mkdir(parents=True)
        command = spark_submit_command(REPO / "jobs" / "normalize.py", ["--lake", lake.root, "--ds", generate.DS])
        command = [command[0], "--conf",
                   f"spark.driver.extraJavaOptions=-Xlog:gc*,gc+liveness=trace:file={gc_log}:time,uptime,level,tags",
                   *with_event_log(command, run_dir / "events")[1:]]
        with LoadSampler(interval=5) as load:
            job = run_measured("normalize", command, env=env, cwd=REPO, timeout=3600, log_path=run_dir / "job.log")
        if not job.ok:
            print(log_tail(job, 60))
            print(f"normalize {args.tracks:,} tracks: FAILED (exit {job.returncode}); log {job.log}")
            return 1
        gc = gc_summary(gc_log)
        spark = driver_heap(run_dir / "events")
        metrics = json.loads((lake.partition("silver", "tracks", generate.DS) / "_metrics.json").read_text())
        base = None
        if not args.no_baseline:
            with LoadSampler(interval=5) as base_load:
                single = run_measured("baseline", [sys.executable, "-m", "benchmarks.baselines", "normalize",
                                                   "--lake", lake.root, "--ds", generate.DS],
                                      env=env, cwd=REPO, timeout=1800, log_path=run_dir / "baseline.log")
            lines = Path(single.log).read_text(errors="replace").strip().splitlines()
            base = (single, json.loads(lines[-1]) if single.ok and lines else {}, base_load.summary())

        max_heap = gc["max_heap_mb"] or 1024.0
        limit = TARGET_SHARE * max_heap
        met = gc["peak_after_mb"] <= limit and gc["full"] <= TARGET_FULL_GCS
        if met:
            verdict = "MET"
        else:
            why = []
            if gc["peak_after_mb"] > limit:
                why.append(f"peak after GC {gc['peak_after_mb'] - limit:,.0f} MB over")
            if gc["full"] > TARGET_FULL_GCS:
                why.append(f"{gc['full']} full GCs")
            verdict = "MISSED by " + ", ".join(why)
        t = metrics["totals"]
        print(f"job output: {t['items']:,} items, {t['tracks']:,} silver tracks, {t['quarantined_total']:,} quarantined")
        print(f"wall time: {job.wall_s:.1f} s (spark-submit --master local[2], default driver memory, whole process)")
        print(f"GC log: {gc['young']} young pauses, {gc['full']} full GCs, {gc['concurrent_cycles']} concurrent "
              f"mark cycles, {gc['pause_ms'] / 1000:.1f} s in pauses; heap before GC peaked at "
              f"{gc['peak_before_mb']:,.0f} MB")
        if spark:
            print(f"Spark's executor metrics: peak JVMHeapMemory {spark.get('peak_JVMHeapMemory_mb', 0):,.0f} MB "
                  f"(garbage included), {spark.get('MajorGCCount', 0):.0f} major GCs "
                  f"({spark.get('MajorGCTime', 0) / 1000:.1f} s), all GC {spark.get('TotalGCTime', 0) / 1000:.1f} s; "
                  f"JVM peak RSS {job.peak_jvm_mb:,.0f} MB, Python {job.peak_python_mb:,.0f} MB")
        marked = marked_live(gc_log)
        print(f"G1's marking cycles: {len(marked)}; live at the end of each (MB): "
              + (", ".join(f"{live:,.0f}" for _used, live in marked) or "none ran")
              + (f"; largest {max(live for _used, live in marked):,.0f} MB" if marked else ""))
        print(f"normalize {args.tracks:,} tracks: peak heap after GC {gc['peak_after_mb']:,.0f} MB of "
              f"{max_heap:,.0f} MB, {gc['full']} full GCs (target <= {limit:,.0f} MB = {TARGET_SHARE:.0%} of the "
              f"maximum heap, <= {TARGET_FULL_GCS} full GCs: {verdict})")
        if base:
            single, _result, bl = base
            print(f"single-process baseline (benchmarks.baselines normalize: json + pandas, one process): "
                  f"{single.wall_s:.1f} s, peak RSS {single.peak_tree_mb:,.0f} MB"
                  + ("" if single.ok else f" (FAILED, exit {single.returncode})") + f"; load mean {bl['mean']:.1f}")
        s = load.summary()
        print(f"load average (1 min) during the Spark job: min {s['min']:.1f}, mean {s['mean']:.1f}, "
              f"max {s['max']:.1f}; now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print("where the heap goes, stage by stage (event log + GC log):")
        print("\n".join(stage_timeline(run_dir / "events", gc_pauses(gc_log))))
        print(f"logs: {run_dir}")
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not args.workdir:
            print(f"kept: {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
