"""Normalize at 1M tracks with heap to spare: the driver JVM's heap and GCs in Spark's default 1 GB.

    .venv/bin/python -m benchmarks.normalize_heap [--tracks 1000000] [--workdir DIR] [--keep] [--no-baseline]
                                                  [--live-interval 4]

Generates the raw extract pages of ``--tracks`` tracks once (benchmarks/generate.py: a Liked Songs source
and a candidate playlist with its oddities, ~1.9 KB per item; into a temporary folder, or into
``--workdir``, where pages already generated for the same size are reused), then runs the real
``spark-submit --master local[2] jobs/normalize.py`` as the ingest DAG submits it: no driver memory set,
so Spark's default 1 GB heap, which in local mode is also the executor's. The JVM logs its collections
(``spark.driver.extraJavaOptions=-Xlog:gc*``) and Spark writes its event log with executor metrics.

"Heap to spare" is the job's live data, measured where it is exact: the job runs twice.

1. As the DAG runs it, with its GC log and event log: wall time, young and full collections, and the heap
   left after each young collection. That last figure is G1's occupancy, not the job's data: G1 lets
   garbage build up in old regions until a marking cycle and the mixed collections after it reclaim them,
   so it hovers near G1's own start-marking threshold (~45% of the heap) whatever the job holds.
2. Again, with the live heap sampled every ``--live-interval`` seconds: ``jcmd <pid> GC.class_histogram``
   collects the whole heap (a full collection, logged as "Heap Inspection Initiated GC") and counts what is still
   reachable. The largest sample is the live-heap peak, printed with the classes that held it. A sample
   is a lower bound of the peak between two samples. When the JVM skips the collection (a thread holds the
   GC locker) the histogram counts garbage too: such a sample is not kept (:class:`LiveHeapSampler`).

The target: the live-heap peak at most half the maximum heap, and no full collection of the JVM's own in
either run (the diagnostic ones of run 2 excepted). Spark's own figure, the largest ``JVMHeapMemory`` it
sampled (garbage included, so it approaches the maximum whenever the JVM lets the heap fill before
collecting), and its "major GC" count (G1's old-generation collector, i.e. full GCs) are printed beside
it for comparison. Also printed: wall time, young
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
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from benchmarks import generate
from benchmarks.measure import (
    MB,
    REPO,
    LoadSampler,
    driver_heap,
    log_tail,
    run_measured,
    spark_env,
    spark_submit_command,
    with_event_log,
)
from weekly_discovery.lake import METRICS, SILVER_TRACKS, Lake

TARGET_SHARE = 0.5  # live-heap peak <= half the maximum heap ...
TARGET_FULL_GCS = 0  # ... and no full collection
_UNITS = {"K": 1 / 1024, "M": 1.0, "G": 1024.0}
# "[12.345s][info][gc] GC(17) Pause Young (Normal) (G1 Evacuation Pause) 512M->130M(1024M) 12.345ms"
_PAUSE = re.compile(r"GC\(\d+\) (Pause \w+)(?: \(([^)]*)\))?.*?\s(\d+)([KMG])->(\d+)([KMG])\((\d+)([KMG])\)\s+([\d.]+)ms")
_MAX_HEAP = re.compile(r"Heap Max Capacity: (\d+)([KMG])")
# `jcmd PID GC.class_histogram` (JDK 17): "   1:          3609      147944808  [J (java.base@17.0.15)", ...,
# "Total       1277855       86630976"
_HISTO_ROW = re.compile(r"^\s*\d+:\s+\d+\s+(\d+)\s+(\S+)")
_HISTO_TOTAL = re.compile(r"^Total\s+\d+\s+(\d+)\s*$")
SPARK_SUBMIT_CLASS = "org.apache.spark.deploy.SparkSubmit"
LAUNCHER_CLASS = "org.apache.spark.launcher.Main"  # spark-submit's first, short JVM: it only builds the command
# the causes G1 logs for a full collection jcmd asked for: GC.class_histogram, GC.run
JCMD_GC_CAUSES = ("Heap Inspection Initiated GC", "Diagnostic Command")


def histogram(text: str) -> tuple[float | None, list[tuple[str, float]]]:
    """(live MiB, [(class, MiB), ...] largest first) of one ``jcmd PID GC.class_histogram`` output; the live
    size is None when the output has no total (the JVM was gone, or refused the command)."""
    total, classes = None, []
    for line in text.splitlines():
        if found := _HISTO_ROW.match(line):
            classes.append((found.group(2), int(found.group(1)) / MB))
        elif found := _HISTO_TOTAL.match(line):
            total = int(found.group(1)) / MB
    return total, sorted(classes, key=lambda c: -c[1])


def jcmd_full_gcs(text: str) -> int:
    """How many full collections jcmd asked for in ``text``, lines of a ``-Xlog:gc*`` file."""
    count = 0
    for line in text.splitlines():
        found = _PAUSE.search(line)
        if found and found.group(1) == "Pause Full" and found.group(2) in JCMD_GC_CAUSES:
            count += 1
    return count


class LiveHeapSampler:
    """Samples the live heap of the Spark driver JVM started under a process: every ``interval`` seconds
    ``jcmd PID GC.class_histogram``, which collects the whole heap first, then counts what is reachable.

    The JVM skips that collection while a thread holds the GC locker (native code reading a Java array:
    the compression of a Parquet page, for one) and then counts garbage too; such an attempt is recognized
    by the missing "Heap Inspection Initiated GC" in ``gc_log``, not kept, and tried again a second later.
    ``samples``: (seconds since the JVM was found, live MiB, the five largest classes)."""

    ATTEMPTS = 3

    def __init__(self, interval: float, jcmd: str, gc_log: Path):
        self.interval = interval
        self.jcmd = jcmd
        self.gc_log = gc_log
        self.samples: list[tuple[float, float, list[tuple[str, float]]]] = []
        self.errors = 0
        self.skipped = 0  # attempts whose collection the JVM skipped
        self._log_read = 0  # bytes of gc_log counted so far (complete lines only)
        self._jcmd_gcs = 0  # jcmd's full collections in them
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, root_pid: int) -> None:
        self._thread = threading.Thread(target=self._run, args=(root_pid,), name="live-heap", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=120)

    def _jvm(self, root_pid: int) -> int | None:
        try:
            root = psutil.Process(root_pid)
            for proc in (root, *root.children(recursive=True)):
                cmdline = proc.cmdline()
                if proc.name() == "java" and SPARK_SUBMIT_CLASS in cmdline and LAUNCHER_CLASS not in cmdline:
                    return proc.pid
        except psutil.Error:
            pass
        return None

    def _jcmd_gcs_so_far(self) -> int:
        """jcmd's full collections logged so far; reads only what the log gained since the last call."""
        try:
            with open(self.gc_log, "rb") as log:
                log.seek(self._log_read)
                new = log.read()
        except FileNotFoundError:
            return self._jcmd_gcs
        complete = new[:new.rfind(b"\n") + 1]
        self._log_read += len(complete)
        self._jcmd_gcs += jcmd_full_gcs(complete.decode(errors="replace"))
        return self._jcmd_gcs

    def _sample(self, pid: int) -> tuple[float, list[tuple[str, float]]] | None:
        for attempt in range(self.ATTEMPTS):
            if attempt:
                time.sleep(1)
            before = self._jcmd_gcs_so_far()
            result = subprocess.run([self.jcmd, str(pid), "GC.class_histogram"], capture_output=True, text=True,
                                    timeout=120, check=False)
            live, classes = histogram(result.stdout)
            if live is None:
                self.errors += 1
                return None
            if self._jcmd_gcs_so_far() > before:
                return live, classes
            self.skipped += 1
        return None

    def _run(self, root_pid: int) -> None:
        pid = None
        while pid is None and not self._stop.wait(0.2):
            pid = self._jvm(root_pid)
        found_at = time.monotonic()
        while pid is not None and not self._stop.wait(self.interval):
            if sample := self._sample(pid):
                self.samples.append((time.monotonic() - found_at, sample[0], sample[1][:5]))
            elif not psutil.pid_exists(pid):
                pid = self._jvm(root_pid)  # the driver ended (or another JVM was found first)

    def peak(self) -> tuple[float, float, list[tuple[str, float]]] | None:
        return max(self.samples, key=lambda s: s[1]) if self.samples else None


def gc_summary(path: Path) -> dict:
    """Young and full pauses, pause time, heap after each collection and the maximum heap (MiB) of a
    ``-Xlog:gc*`` file (G1, JDK 11+). Remark and cleanup pauses count in the pause time only; full
    collections a ``jcmd`` asked for (:data:`JCMD_GC_CAUSES`) are counted apart, in ``diagnostic_full``."""
    out = {"young": 0, "full": 0, "diagnostic_full": 0, "pause_ms": 0.0, "peak_after_mb": 0.0,
           "peak_before_mb": 0.0, "max_heap_mb": None, "concurrent_cycles": 0}
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
        kind, detail, before, bu, after, au, _cap, _cu, ms = found.groups()
        out["pause_ms"] += float(ms)
        out["peak_before_mb"] = max(out["peak_before_mb"], float(before) * _UNITS[bu])
        if kind == "Pause Young":
            out["young"] += 1
        elif kind == "Pause Full" and detail in JCMD_GC_CAUSES:
            out["diagnostic_full"] += 1  # asked for by jcmd (the live-heap samples), not the JVM's own
            continue
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


def submit(lake: Lake, run_dir: Path, label: str, env: dict[str, str], *, events: bool,
           sampler: LiveHeapSampler | None = None):
    """Run the normalize job once with its GC log in ``run_dir`` (and its event log); return the measurement."""
    gc_log = run_dir / f"gc-{label}.log"
    command = spark_submit_command(REPO / "jobs" / "normalize.py", ["--lake", lake.root, "--ds", generate.DS])
    # filecount=0: one file, never rotated (a rotated log loses the start of the run)
    java_options = f"-Xlog:gc*:file={gc_log}:time,uptime,level,tags:filecount=0"
    command = [command[0], "--conf", f"spark.driver.extraJavaOptions={java_options}",
               *(with_event_log(command, run_dir / "events") if events else command)[1:]]
    try:
        return run_measured(label, command, env=env, cwd=REPO, timeout=3600, log_path=run_dir / f"job-{label}.log",
                            on_start=sampler.watch if sampler else None)
    finally:
        if sampler:
            sampler.stop()


def find_jcmd() -> str | None:
    """The JDK's ``jcmd`` (beside ``$JAVA_HOME/bin/java`` first, else on PATH), or None."""
    home = os.environ.get("JAVA_HOME")
    if home and os.access(Path(home, "bin", "jcmd"), os.X_OK):
        return str(Path(home, "bin", "jcmd"))
    return shutil.which("jcmd")


def verdict(live_peak_mb: float | None, full_gcs: int, max_heap_mb: float) -> str:
    """MET, or MISSED by how much: the live-heap peak <= TARGET_SHARE of the maximum heap, <= TARGET_FULL_GCS."""
    limit = TARGET_SHARE * max_heap_mb
    why = []
    if live_peak_mb is None:
        why.append("no live-heap sample (jcmd found no JVM)")
    elif live_peak_mb > limit:
        why.append(f"live heap {live_peak_mb - limit:,.0f} MB over")
    if full_gcs > TARGET_FULL_GCS:
        why.append(f"{full_gcs} full GCs")
    return "MISSED by " + ", ".join(why) if why else "MET"


def classes_text(classes: list[tuple[str, float]]) -> str:
    names = {"[J": "long[]: Spark's memory pages", "[B": "byte[]", "[Ljava.lang.Object;": "Object[]"}
    return ", ".join(f"{names.get(name, name)} {mb:,.0f} MB" for name, mb in classes[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, help="keep the pages here and reuse them on the next run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the single-process baseline")
    parser.add_argument("--live-interval", type=float, default=4.0,
                        help="seconds between two live-heap samples of the second run (default 4)")
    args = parser.parse_args(argv)
    jcmd = find_jcmd()
    if jcmd is None:
        print("normalize_heap: FAILED: jcmd is missing; it samples the live heap and comes with the JDK, not the "
              "runtime: sudo apt-get install openjdk-17-jdk-headless (or set JAVA_HOME to a JDK)")
        return 2
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
        run_dir.mkdir(parents=True)
        with LoadSampler(interval=5) as load:
            job = submit(lake, run_dir, "plain", env, events=True)
        if job.ok:
            sampler = LiveHeapSampler(args.live_interval, jcmd, run_dir / "gc-live.log")
            with LoadSampler(interval=5) as live_load:
                live_job = submit(lake, run_dir, "live", env, events=False, sampler=sampler)
        for run in (job, *([live_job] if job.ok else [])):
            if not run.ok:
                print(log_tail(run, 60))
                print(f"normalize {args.tracks:,} tracks: FAILED (exit {run.returncode}, {run.label} run); log {run.log}")
                return 1
        gc, live_gc = gc_summary(run_dir / "gc-plain.log"), gc_summary(run_dir / "gc-live.log")
        spark = driver_heap(run_dir / "events")
        metrics = json.loads((lake.partition(SILVER_TRACKS, generate.DS) / METRICS).read_text())
        base = None
        if not args.no_baseline:
            with LoadSampler(interval=5) as base_load:
                single = run_measured("baseline", [sys.executable, "-m", "benchmarks.baselines", "normalize",
                                                   "--lake", lake.root, "--ds", generate.DS],
                                      env=env, cwd=REPO, timeout=1800, log_path=run_dir / "baseline.log")
            lines = Path(single.log).read_text(errors="replace").strip().splitlines()
            base = (single, json.loads(lines[-1]) if single.ok and lines else {}, base_load.summary())

        max_heap = gc["max_heap_mb"] or 1024.0
        peak = sampler.peak()
        full = gc["full"] + live_gc["full"]
        t = metrics["totals"]
        print(f"job output: {t['items']:,} items, {t['tracks']:,} silver tracks, {t['quarantined_total']:,} quarantined")
        print(f"run 1, as the DAG runs it: {job.wall_s:.1f} s (spark-submit --master local[2], default driver memory, "
              f"whole process); GC log: {gc['young']} young pauses, {gc['full']} full GCs, "
              f"{gc['concurrent_cycles']} concurrent mark cycles, {gc['pause_ms'] / 1000:.1f} s in pauses; heap "
              f"before GC peaked at {gc['peak_before_mb']:,.0f} MB, after a young GC at {gc['peak_after_mb']:,.0f} MB "
              "(G1's occupancy: live data plus old regions it has not reclaimed yet)")
        if spark:
            print(f"Spark's executor metrics: peak JVMHeapMemory {spark.get('peak_JVMHeapMemory_mb', 0):,.0f} MB "
                  f"(garbage included), {spark.get('MajorGCCount', 0):.0f} major GCs "
                  f"({spark.get('MajorGCTime', 0) / 1000:.1f} s), all GC {spark.get('TotalGCTime', 0) / 1000:.1f} s; "
                  f"JVM peak RSS {job.peak_jvm_mb:,.0f} MB, Python {job.peak_python_mb:,.0f} MB")
        print(f"run 2, live heap every {args.live_interval:g} s: {live_job.wall_s:.1f} s, {len(sampler.samples)} samples"
              f" ({sampler.errors} failed; {sampler.skipped} attempts not kept: the JVM skipped their collection, the GC "
              f"locker being held), {live_gc['full']} full GCs besides the {live_gc['diagnostic_full']} "
              "the samples asked for; live heap (MB): "
              + (", ".join(f"{live:,.0f}" for _at, live, _classes in sampler.samples) or "no sample"))
        if peak:
            print(f"live-heap peak {peak[1]:,.0f} MB, {peak[0]:.0f} s into the job; largest: {classes_text(peak[2])}")
        print(f"normalize {args.tracks:,} tracks: live heap peaked at "
              + (f"{peak[1]:,.0f} MB" if peak else "? MB") + f" of {max_heap:,.0f} MB, {full} full GCs "
              f"(target <= {TARGET_SHARE * max_heap:,.0f} MB = {TARGET_SHARE:.0%} of the maximum heap, "
              f"<= {TARGET_FULL_GCS} full GCs: {verdict(peak[1] if peak else None, full, max_heap)})")
        if base:
            single, _result, bl = base
            print(f"single-process baseline (benchmarks.baselines normalize: json + pandas, one process): "
                  f"{single.wall_s:.1f} s, peak RSS {single.peak_tree_mb:,.0f} MB"
                  + ("" if single.ok else f" (FAILED, exit {single.returncode})") + f"; load mean {bl['mean']:.1f}")
        for name, sampled in (("run 1", load), ("run 2", live_load)):
            s = sampled.summary()
            print(f"load average (1 min) during {name}: min {s['min']:.1f}, mean {s['mean']:.1f}, max {s['max']:.1f}")
        print(f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print("where the heap goes, stage by stage (run 1's event log and GC log):")
        print("\n".join(stage_timeline(run_dir / "events", gc_pauses(run_dir / "gc-plain.log"))))
        print(f"logs: {run_dir}")
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not args.workdir:
            print(f"kept: {workdir}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
