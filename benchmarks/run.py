"""The pipeline against its limits: API requests, Spark jobs vs pandas, overheads; writes its report to test-artifacts/benchmarks-run.md.

    .venv/bin/python -m benchmarks.run                 # the full run (long: see docs/benchmarks.md)
    .venv/bin/python -m benchmarks.run --quick         # small sizes only, a few minutes
    .venv/bin/python -m benchmarks.run --sizes 10000 100000 --api-sizes 1000 --no-demo

Sections (each can be skipped with ``--skip``):

- ``api``: requests of ingest + enrichment per library size (benchmarks/api_requests.py);
- ``dags``: DAG parse time per DAG file (benchmarks/dag_parse.py);
- ``spark``: each Spark job through the real ``spark-submit --master local[2]`` on generated inputs
  (benchmarks/generate.py) beside its single-process pandas / scikit-learn version (benchmarks/baselines.py),
  with wall time and sampled peak RSS (benchmarks/measure.py), and the start-up cost of a trivial job;
- ``target``: the weekly train + score over 1M candidate tracks (a 10k-track labelled library);
- ``demo``: ``make demo`` once, timed (``--with-demo``, on by default except with ``--quick``).

Every step has a time cap (``--cap-seconds``, default 600): a step that reaches it is stopped and shown
as capped, and a larger size of the same step is skipped when a linear projection of its time exceeds
twice the cap. The raw figures go to ``<workdir>/results.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import api_requests, generate
from benchmarks.measure import (
    REPO,
    TRIVIAL_JOB,
    LoadSampler,
    Measured,
    driver_heap,
    log_tail,
    machine_info,
    run_measured,
    spark_env,
    spark_submit_command,
    with_event_log,
)
from weekly_discovery.lake.layout import Lake

JOBS = ("normalize", "enrich", "report", "train", "score")
SECTIONS = ("api", "dags", "spark", "target", "demo")
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_API_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000,)
QUICK_API_SIZES = (1_000,)
TARGET_CANDIDATES, TARGET_LIKED, TARGET_DISLIKED = 1_000_000, 7_500, 2_500
TARGET_TRAIN_SCORE_S, TARGET_DRIVER_MB, TARGET_DEMO_S = 90.0, 1024.0, 180.0
PROJECTION_FACTOR = 2.0  # skip a step projected to take more than this many caps
OUTPUT = REPO / "test-artifacts" / "benchmarks-run.md"  # a run's full output; docs/benchmarks.md is the current table
COMMAND = ".venv/bin/python -m benchmarks.run"

log = logging.getLogger("benchmarks")


def say(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S} load {os.getloadavg()[0]:.1f}] {message}", flush=True)


# --------------------------------------------------------------------------------------------------
# the Spark section
# --------------------------------------------------------------------------------------------------


class Runner:
    """Runs the measured steps, keeps every result, applies the cap and the skip rule."""

    def __init__(self, workdir: Path, cap: float, quick: bool):
        self.workdir, self.cap, self.quick = workdir, cap, quick
        self.env = spark_env()
        self.logs = workdir / "logs"
        self.startups: list[float] = []
        self.startup_runs: list[dict] = []
        self.results: list[dict[str, Any]] = []
        self.history: dict[tuple[str, str], list[tuple[int, float, bool]]] = {}  # (engine, job) -> [(n, wall, ok)]

    def startup(self) -> Measured:
        job = self.workdir / "trivial_job.py"
        job.write_text(TRIVIAL_JOB)
        events = self.logs / "events" / f"startup-{len(self.startup_runs)}"
        m = run_measured("spark-submit start-up (trivial job)", with_event_log(spark_submit_command(job, []), events),
                         env=self.env, cwd=self.workdir, timeout=self.cap,
                         log_path=self.logs / f"startup-{len(self.startup_runs)}.log")
        m.extra["driver_heap"] = driver_heap(events)
        if m.ok:
            self.startups.append(m.wall_s)
        self.startup_runs.append(m.to_dict())
        say(f"spark-submit start-up: {m.wall_s:.1f} s, driver JVM peak {m.peak_jvm_mb:.0f} MB, "
            f"driver peak heap (Spark) {_heap_text(m.to_dict())}"
            + ("" if m.ok else f" (FAILED: {log_tail(m, 5)})"))
        return m

    @property
    def startup_s(self) -> float:
        return statistics.median(self.startups) if self.startups else 0.0

    def skip_reason(self, engine: str, job: str, n: int) -> str | None:
        """Why a step of size ``n`` is not run: a smaller size was capped, or its projected time is more than
        twice the cap. A step projected over the cap but under twice the cap still runs (and is stopped at the
        cap if the projection was right): a projection cannot show that a job fails, say out of memory.

        The projection is linear: through the last two sizes measured when there are two (the slope of
        the marginal cost), else from the one size through the start-up cost (Spark) or zero (pandas).
        """
        history = self.history.get((engine, job), [])
        if not history:
            return None
        n1, wall1, ok1 = history[-1]
        if not ok1:
            return f"not run: {n1:,} did not finish within the cap"
        if len(history) >= 2 and history[-2][2] and history[-2][0] < n1:
            n0, wall0, _ = history[-2]
            slope = max(0.0, (wall1 - wall0) / (n1 - n0))
            projected, basis = wall1 + slope * (n - n1), f"linear through {n0:,} and {n1:,}"
        else:
            base = self.startup_s if engine == "spark" else 0.0
            projected, basis = base + max(0.0, wall1 - base) * n / n1, f"linear from {n1:,}"
        if projected > PROJECTION_FACTOR * self.cap:
            return (f"not run: projected ~{projected / 60:.0f} min ({basis}) > {PROJECTION_FACTOR:g} x the cap "
                    f"of {self.cap / 60:.0f} min")
        return None

    def step(self, engine: str, job: str, n: int, command: list[str], cwd: Path, scenario: str = "scaling",
             note: str = "") -> dict:
        reason = self.skip_reason(engine, job, n) if scenario == "scaling" else None
        record: dict[str, Any] = {"engine": engine, "job": job, "n": n, "scenario": scenario}
        if note:
            record["note"] = note
        if reason:
            record.update(skipped=reason)
            say(f"{engine} {job} n={n:,}: {reason}")
            self.results.append(record)
            return record
        label = f"{engine}-{job}-{scenario}-{n}"
        events = self.logs / "events" / label
        if engine == "spark":
            shutil.rmtree(events, ignore_errors=True)
            command = with_event_log(command, events)
        m = run_measured(label, command, env=self.env, cwd=cwd, timeout=self.cap,
                         log_path=self.logs / f"{label}.log")
        if engine == "spark":
            m.extra["driver_heap"] = driver_heap(events)
        record.update(m.to_dict())
        if engine == "pandas" and m.ok:
            try:
                record["inner"] = json.loads(Path(m.log).read_text().strip().splitlines()[-1])
            except (ValueError, IndexError):
                pass
        if not m.ok and not m.timed_out:
            record["error"] = log_tail(m, 30)
            kind = failure_kind(record)
            if kind:
                record["error_kind"] = kind
        self.results.append(record)
        if scenario == "scaling":
            self.history.setdefault((engine, job), []).append((n, m.wall_s, m.ok))
        status = "ok" if m.ok else ("CAPPED" if m.timed_out else f"FAILED (exit {m.returncode}, log {m.log})")
        say(f"{engine} {job} n={n:,} [{scenario}]: {m.wall_s:.1f} s, peak tree {m.peak_tree_mb:.0f} MB, "
            f"JVM {m.peak_jvm_mb:.0f} MB, python {m.peak_python_mb:.0f} MB"
            + (f", driver peak heap (Spark) {_heap_text(record)}" if engine == "spark" else "") + f": {status}")
        return record

    def fallback_champion(self, lake: Lake, label: str) -> bool:
        """Train with the quick grid (not measured) so that scoring can still be measured."""
        command = spark_submit_command(REPO / "jobs" / "train.py", [*spark_args("train", lake, None, True)])
        m = run_measured(f"fallback-train-{label}", command, env=self.env, cwd=REPO, timeout=self.cap,
                         log_path=self.logs / f"fallback-train-{label}.log")
        say(f"fallback champion (quick grid, not measured) for {label}: {m.wall_s:.0f} s, exit {m.returncode}")
        return m.ok


FALLBACK_NOTE = "Spark scored with a quick-grid champion (the default-grid training did not finish)"


def failure_kind(record: dict) -> str | None:
    """``OutOfMemoryError: Java heap space`` and the like, from the step's log."""
    if record.get("error_kind"):
        return record["error_kind"]
    try:
        text = Path(record.get("log", "")).read_text(errors="replace")
    except OSError:
        text = record.get("error", "")
    for line in text.splitlines():
        if "java.lang.OutOfMemoryError" in line:
            return "java.lang.OutOfMemoryError" + line.split("java.lang.OutOfMemoryError", 1)[1][:60]
    return None


def heap_mb(r: dict | None) -> float | None:
    """The driver JVM's peak heap used (MiB) as Spark's executor metrics report it, if measured."""
    heap = ((r or {}).get("extra") or {}).get("driver_heap") or {}
    return heap.get("peak_JVMHeapMemory_mb")


def _heap_text(r: dict | None) -> str:
    heap = ((r or {}).get("extra") or {}).get("driver_heap") or {}
    if not heap.get("peak_JVMHeapMemory_mb"):
        return "-"
    gc = ""
    if "MajorGCCount" in heap:
        gc = f" ({heap['MajorGCCount']:.0f} major GCs, {heap.get('MajorGCTime', 0) / 1000:.1f} s; " \
             f"all GC {heap.get('TotalGCTime', 0) / 1000:.1f} s)"
    return f"{heap['peak_JVMHeapMemory_mb']:,.0f} MB{gc}"


def spark_args(job: str, lake: Lake, config: Path | None, quick: bool) -> list[str]:
    args = ["--lake", lake.root, "--ds", generate.DS]
    if job == "normalize":
        return args
    # every other job reads its settings from a config (--config); the quick grid is its [model] grid
    if config is None or (job == "train" and quick):
        config = generate.write_config(Path(lake.root).parent / f"config-{job}{'-quick' if quick else ''}.toml", lake)
        if job == "train" and quick:
            with config.open("a", encoding="utf-8") as fh:
                fh.write('\n[model]\ngrid = "quick"\n')
    return [*args, "--config", str(config)]


def baseline_command(job: str, lake: Lake) -> list[str]:
    command = [sys.executable, "-m", "benchmarks.baselines", job, "--lake", lake.root, "--ds", generate.DS]
    if job == "enrich":
        command += ["--previous-ds", generate.PREVIOUS_DS]
    return command


def run_size(runner: Runner, n: int, keep_models: Path, jobs: tuple[str, ...] = JOBS) -> dict:
    """Generate the inputs of size ``n``, run each job and its baseline; return the generation figures."""
    base = runner.workdir / f"n{n}"
    lakes = {"normalize": Lake(str(base / "raw")), "enrich": Lake(str(base / "enrich")),
             "report": Lake(str(base / "enriched"))}
    lakes["train"] = lakes["score"] = lakes["report"]
    started = time.monotonic()
    info = {"raw": generate.write_raw_pages(lakes["normalize"], n),
            "enrich": generate.write_enrich_inputs(lakes["enrich"], n),
            "enriched": generate.write_enriched(lakes["report"], generate.library_counts(n))}
    config = generate.write_config(base / "config.toml", lakes["enrich"])
    info["seconds"] = round(time.monotonic() - started, 1)
    info["raw_mb"] = round(info["raw"]["bytes"] / 1e6, 1)
    say(f"n={n:,}: inputs generated in {info['seconds']:.0f} s (raw pages {info['raw_mb']:.0f} MB)")
    models = lakes["report"].table("models", "like_model")
    note = ""
    for job in jobs:
        lake = lakes[job]
        if job == "score":
            _restore_models(keep_models, models, Path(lake.root, "baseline", "model"))
        command = spark_submit_command(REPO / "jobs" / f"{job}.py", spark_args(job, lake, config, runner.quick))
        spark = runner.step("spark", job, n, command, REPO, note=note if job == "score" else "")
        runner.step("pandas", job, n, baseline_command(job, lake), REPO)
        if job == "train":
            if spark.get("returncode") != 0 and not (models / "champion.json").is_file() \
                    and not (keep_models / "spark").is_dir():
                runner.fallback_champion(lake, f"n{n}")
                note = FALLBACK_NOTE
            _keep_models(keep_models, models, Path(lake.root, "baseline", "model"))
    shutil.rmtree(base, ignore_errors=True)
    return info


def _keep_models(keep: Path, spark_models: Path, pandas_model: Path) -> None:
    """Keep the newest trained models, so a size whose training was skipped can still be scored."""
    for source, name in ((spark_models, "spark"), (pandas_model, "pandas")):
        if source.is_dir() and any(source.iterdir()):
            shutil.rmtree(keep / name, ignore_errors=True)
            shutil.copytree(source, keep / name)


def _restore_models(keep: Path, spark_models: Path, pandas_model: Path) -> None:
    for target, name in ((spark_models, "spark"), (pandas_model, "pandas")):
        if not (target / "champion.json").is_file() and not (target / "model.pkl").is_file() and (keep / name).is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(keep / name, target)


def run_target(runner: Runner) -> dict:
    """Weekly train (default grid) + score over 1M candidates, a 10k-track labelled library."""
    counts = {"liked": TARGET_LIKED, "disliked": TARGET_DISLIKED, "candidates": TARGET_CANDIDATES}
    lake = Lake(str(runner.workdir / "target"))
    started = time.monotonic()
    generate.write_enriched(lake, counts)
    say(f"target: {sum(counts.values()):,} rows generated in {time.monotonic() - started:.0f} s")
    out = {"counts": counts}
    for job in ("train", "score"):
        command = spark_submit_command(REPO / "jobs" / f"{job}.py", spark_args(job, lake, None, False))
        note = ""
        if job == "score" and out["train"].get("returncode") != 0:
            if not runner.fallback_champion(lake, "target"):
                break
            note = FALLBACK_NOTE
        out[job] = runner.step("spark", job, counts["candidates"], command, REPO, scenario="target", note=note)
    shutil.rmtree(lake.root, ignore_errors=True)
    return out


# --------------------------------------------------------------------------------------------------
# overheads
# --------------------------------------------------------------------------------------------------


def run_dag_parse(workdir: Path) -> dict:
    env = dict(os.environ, AIRFLOW_HOME=str(workdir / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"))
    m = run_measured("dag parse", [sys.executable, "-m", "benchmarks.dag_parse"], env=env, cwd=REPO, timeout=600,
                     log_path=workdir / "logs" / "dag-parse.log")
    if not m.ok:
        return {"error": log_tail(m, 20)}
    for line in reversed(Path(m.log).read_text().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"error": "no JSON line in the output"}


def run_demo(workdir: Path) -> dict:
    m = run_measured("make demo", ["make", "demo"], cwd=REPO, timeout=1200, log_path=workdir / "logs" / "demo.log",
                     interval=0.5)
    out = m.to_dict()
    if not m.ok:
        out["error"] = log_tail(m, 20)
    return out


# --------------------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------------------


METHOD = """\
# Benchmarks: the pipeline against its limits

Generated by `{command}` (the `make bench` target); everything below the line is that run's output,
this paragraph and the next are the only hand-written parts. Read the figures with the machine and
its load in mind: this is a 2-core machine that was shared with other work during the run, so
absolute times are pessimistic; the Spark / pandas ratios are measured in the same run, step after
step, so they hold better than the absolute times.

**Method.** *API requests* are counted by the Spotify stand-in (a local HTTP server speaking the Web
API and ReccoBeats) while the real code runs against it: `extract_library` with spotipy, then the
real fetch step of `weekly_discovery/features` with Spotify's audio features allowed and forbidden.
*Spark jobs* run through the real `spark-submit --master local[2]` (Spark's default 1 GB driver heap,
as the DAGs submit them) on lake partitions generated directly with numpy/pyarrow in each job's
input shape (`benchmarks/generate.py`: raw pages for normalize, silver tracks + feature cache + the
week's raw batches for enrich, tracks_enriched for report/train/score). Each job is followed by a
single-process pandas / scikit-learn version of the same computation on the same files
(`benchmarks/baselines.py`). Wall time is the whole process (JVM and interpreter start-up
included). *Driver memory* is the driver JVM's peak heap used as Spark itself measures it: each
spark-submit runs with the event log on (`spark.eventLog.enabled`, `logStageExecutorMetrics`, executor
metrics polled every 200 ms, heartbeats every second) and the figure is the largest `JVMHeapMemory` of
the driver in the log's `SparkListenerStageExecutorMetrics` and `SparkListenerTaskEnd` events (in local
mode the executor is the driver JVM), with its major-GC count and time and all GC time. Heap used
includes garbage not yet collected, so it is an upper bound on live data, and it cannot pass the heap's
maximum (Spark's default 1 GB): a job that needs more fails with `OutOfMemoryError`, and a job near the
limit shows many major collections. Peak RSS is also kept: the largest sampled RSS (every 0.2 s, psutil)
of the process tree, of the JVM alone (heap plus metaspace, code cache, thread stacks and off-heap
buffers: 1.4-1.6 GB for a 1 GB heap, which is why RSS is not the target's measure) and of the Python
processes (a job that collected a table would show it there, in the Python driver). The
*start-up* of spark-submit is a trivial job (start a session, count one row, stop), run once before
and once after each size; its median is subtracted to give each job's share. *DAG parse* is
`DagBag(<file>)` after Airflow is imported, best of 3. *make demo* is run once as a subprocess.
Steps are capped (`--cap-seconds`, 10 min): a step that reaches the cap is stopped, and a larger size
of a step is not run when a linear projection of its time (through the last two sizes measured, else
from one size through the start-up cost) exceeds twice the cap; the table says which. When the weekly
default grid cannot finish, score is measured with a champion trained on the quick grid (not timed).
"""


def fmt_s(value: float | None) -> str:
    return "-" if value is None else (f"{value:.1f}" if value < 100 else f"{value:.0f}")


def fmt_mb(value: float | None) -> str:
    return "-" if not value else f"{value:,.0f}"


def spark_table(results: list[dict], startup: float) -> list[str]:
    lines = ["| job | tracks | Spark wall s | start-up share | Spark driver peak heap used (Spark's metrics) "
             "| Spark peak RSS MB: driver JVM / whole tree "
             "| pandas wall s | pandas peak RSS MB | Spark / pandas time | note |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    scaling = [r for r in results if r["scenario"] == "scaling"]
    sizes = sorted({r["n"] for r in scaling})
    for job in JOBS:
        for n in sizes:
            spark = next((r for r in scaling if r["engine"] == "spark" and r["job"] == job and r["n"] == n), None)
            pandas = next((r for r in scaling if r["engine"] == "pandas" and r["job"] == job and r["n"] == n), None)
            if spark is None and pandas is None:
                continue
            notes = []
            for name, r in (("Spark", spark), ("pandas", pandas)):
                if r and r.get("skipped"):
                    notes.append(f"{name} {r['skipped']}")
                elif r and r.get("timed_out"):
                    notes.append(f"{name} capped at {r['wall_s']:.0f} s")
                elif r and r.get("returncode") not in (0, None):
                    kind = failure_kind(r)
                    notes.append(f"{name} failed after {r.get('wall_s', 0):.0f} s (exit {r['returncode']}"
                                 + (f": {kind}" if kind else "") + ")")
            s_ok = bool(spark and spark.get("returncode") == 0 and not spark.get("timed_out"))
            p_ok = bool(pandas and pandas.get("returncode") == 0 and not pandas.get("timed_out"))
            s_wall = spark.get("wall_s") if spark and not spark.get("skipped") else None
            p_wall = pandas.get("wall_s") if pandas and not pandas.get("skipped") else None
            share = f"{min(1.0, startup / s_wall):.0%}" if s_ok and startup and s_wall else "-"
            ratio = f"{s_wall / p_wall:.1f}x" if s_ok and p_ok and p_wall else "-"
            if spark and spark.get("note"):
                notes.append(spark["note"])
            inner = (pandas or {}).get("inner") or {}
            if job == "train" and inner.get("selected"):
                notes.append(f"pandas selected {inner['selected']}")
            lines.append(
                f"| {job} | {n:,} | {fmt_s(s_wall)}{' (capped)' if spark and spark.get('timed_out') else ''} "
                f"| {share} | {_heap_text(spark)} | {fmt_mb(spark.get('peak_jvm_mb') if spark else None)} / "
                f"{fmt_mb(_tree_mb(spark))} "
                f"| {fmt_s(p_wall)} | {fmt_mb(pandas.get('peak_tree_mb') if pandas else None)} "
                f"| {ratio} | {'; '.join(notes)} |")
    return lines


def marginal_lines(results: list[dict]) -> list[str]:
    """Per job: the cost of 100k more rows (slope between the two largest sizes both engines finished), and
    where Spark would catch up with pandas if both kept those slopes."""
    done = {(r["engine"], r["job"], r["n"]): r["wall_s"] for r in results
            if r["scenario"] == "scaling" and r.get("returncode") == 0 and not r.get("timed_out")}
    lines = ["| job | sizes | Spark s per 100k more rows | pandas s per 100k more rows | Spark catches up at |",
             "| --- | --- | ---: | ---: | --- |"]
    for job in JOBS:
        sizes = sorted(n for (e, j, n) in done if e == "spark" and j == job and ("pandas", job, n) in done)
        if len(sizes) < 2:
            continue
        n0, n1 = sizes[-2], sizes[-1]
        slope = {e: (done[(e, job, n1)] - done[(e, job, n0)]) / (n1 - n0) for e in ("spark", "pandas")}
        gap = done[("spark", job, n1)] - done[("pandas", job, n1)]
        if gap <= 0:
            catch = f"already at {n1:,}"
        elif slope["spark"] < slope["pandas"]:
            catch = f"~{n1 + gap / (slope['pandas'] - slope['spark']):,.0f} rows (extrapolated)"
        else:
            catch = "never at these slopes: Spark's marginal cost is the higher one on 2 cores"
        lines.append(f"| {job} | {n0:,} -> {n1:,} | {slope['spark'] * 1e5:.1f} | {slope['pandas'] * 1e5:.1f} | {catch} |")
    return lines if len(lines) > 2 else []


def targets(results: dict) -> list[str]:
    lines = ["| target | measured | verdict |", "| --- | --- | --- |"]
    target = results.get("target") or {}
    train, score = target.get("train") or {}, target.get("score") or {}
    if train.get("returncode") == 0 and score.get("returncode") == 0:
        total = train["wall_s"] + score["wall_s"]
        verdict = ("met" if total < TARGET_TRAIN_SCORE_S else
                   f"missed by {total - TARGET_TRAIN_SCORE_S:.0f} s ({total / TARGET_TRAIN_SCORE_S:.1f}x)")
        lines.append(f"| weekly train + score over {target['counts']['candidates']:,} candidates "
                     f"({target['counts']['liked'] + target['counts']['disliked']:,} liked/disliked rows, default grid) "
                     f"< {TARGET_TRAIN_SCORE_S:.0f} s, local[2] | train {train['wall_s']:.0f} s + score "
                     f"{score['wall_s']:.0f} s = {total:.0f} s (start-up {results.get('startup_median_s', 0):.0f} s each) "
                     f"| {verdict} |")
    elif target:
        train_text = (f"train capped at {train.get('wall_s', 0):.0f} s" if train.get("timed_out")
                      else f"train exit {train.get('returncode')}")
        score_text = (f"score {score['wall_s']:.0f} s (with a quick-grid champion)" if score.get("returncode") == 0
                      else "score not measured")
        least = train.get("wall_s", 0) + score.get("wall_s", 0)
        lines.append(f"| weekly train + score over {target['counts']['candidates']:,} candidates "
                     f"({target['counts']['liked'] + target['counts']['disliked']:,} liked/disliked rows, default grid) "
                     f"< {TARGET_TRAIN_SCORE_S:.0f} s, local[2] | {train_text}; {score_text} "
                     f"| missed by more than {least - TARGET_TRAIN_SCORE_S:.0f} s (> {least / TARGET_TRAIN_SCORE_S:.1f}x) |")
    spark = [r for r in results.get("spark", []) if r["engine"] == "spark" and r["scenario"] == "scaling"
             and r.get("returncode") == 0]
    if spark:
        top = max(r["n"] for r in spark)
        at_top = [r for r in spark if r["n"] == top]
        if target.get("score", {}).get("returncode") == 0:
            at_top.append({**target["score"], "job": f"score of {target['score']['n']:,} candidates"})
        measured = [r for r in at_top if heap_mb(r)]
        per_job = ", ".join(f"{r['job']} {_heap_text(r)}" for r in measured) if measured else \
            "no heap figures (run without the event log)"
        failed = [r for r in results.get("spark", []) if r["engine"] == "spark" and r["scenario"] == "scaling"
                  and r["n"] == top and r.get("returncode") not in (0, None) and not r.get("timed_out")]
        if measured:
            worst = max(measured, key=heap_mb)
            verdict = ("met" if heap_mb(worst) < TARGET_DRIVER_MB and not failed else
                       f"missed by {heap_mb(worst) - TARGET_DRIVER_MB:.0f} MB ({worst['job']})"
                       if heap_mb(worst) >= TARGET_DRIVER_MB else "missed")
        else:
            verdict = "not measured"
        for r in failed:
            kind = failure_kind(r) or f"exit {r['returncode']}"
            per_job += f"; {r['job']} FAILED: {kind} (1 GB default driver heap)"
            verdict = f"missed: {r['job']} fails"
        rss = ", ".join(f"{r['job']} {r['peak_jvm_mb']:.0f}" for r in at_top)
        lines.append(f"| driver memory < 1 GB at {top:,} rows: peak heap used of the driver JVM as Spark's executor "
                     f"metrics report it (in local mode it also runs the executor), with Spark's default 1 GB heap "
                     f"| {per_job}; for comparison the JVM's peak RSS (heap + metaspace, code cache, stacks, "
                     f"off-heap): {rss} MB; Python driver at most {max(r['peak_python_mb'] for r in at_top):.0f} MB "
                     f"| {verdict} |")
    demo = results.get("demo")
    if demo:
        if demo.get("returncode") == 0:
            verdict = ("met" if demo["wall_s"] < TARGET_DEMO_S else
                       f"missed by {demo['wall_s'] - TARGET_DEMO_S:.0f} s")
            lines.append(f"| `make demo` after set-up < 3 min | {demo['wall_s']:.0f} s | {verdict} |")
        else:
            lines.append(f"| `make demo` after set-up < 3 min | failed (exit {demo.get('returncode')}) | not measured |")
    return lines


def merge(runs: list[dict]) -> dict:
    """The first run, with every later run's Spark steps replacing (or adding to) its own."""
    results = dict(runs[0])
    commands = [results["command"]]
    for later in runs[1:]:
        commands.append(later["command"])
        key = lambda r: (r["engine"], r["job"], r["n"], r["scenario"])  # noqa: E731
        replaced = {key(r) for r in later.get("spark", [])}
        results["spark"] = [r for r in results.get("spark", []) if key(r) not in replaced] + later.get("spark", [])
        results["startup_runs"] = results.get("startup_runs", []) + later.get("startup_runs", [])
        results["seconds"] = results.get("seconds", 0) + later.get("seconds", 0)
        results["later_runs"] = results.get("later_runs", []) + [
            {"command": later["command"], "started": later["started"], "load": later.get("load", {})}]
    if len(runs) > 1:
        walls = sorted(r["wall_s"] for r in results["startup_runs"] if r.get("returncode") == 0)
        results["startup_median_s"] = statistics.median(walls) if walls else 0.0
        results["command"] = " && ".join(commands)
    return results


def _tree_mb(r: dict | None) -> float | None:
    """Peak RSS of the tree, less JVM forks caught before their exec (runs before measure.py left them out)."""
    if not r or not r.get("peak_tree_mb"):
        return None
    forks = sum(rss for name, rss in (r.get("extra") or {}).get("processes_at_tree_peak", [])
                if name not in ("java", "bash", "sh", "chmod", "make") and not name.startswith("python")
                and "not counted" not in name)
    return max(r["peak_tree_mb"] - forks, r.get("peak_jvm_mb") or 0.0)


def render(results: dict, command: str) -> str:
    out = [METHOD.format(command=command), "---", ""]
    m, load = results["machine"], results.get("load", {})
    out += [f"Run of {results['started']} ({results['seconds'] / 60:.0f} min): `{command}`", "",
            f"Machine: {m['cores']} cores, {m['ram']} RAM, {m['cpu']}; {m['os']}; Python {m['python']}, "
            f"{m['java']}, Spark {m['spark']}, Airflow {m['airflow']}.",
            f"Load average (1 min) during the run: min {load.get('min', 0):.1f}, mean {load.get('mean', 0):.1f}, "
            f"max {load.get('max', 0):.1f} ({load.get('samples', 0)} samples) on {m['cores']} cores."]
    for later in results.get("later_runs", []):
        ll = later.get("load", {})
        out.append(f"Completed by `{later['command']}` ({later['started']}), whose steps replace the same steps "
                   f"above; load average during it: min {ll.get('min', 0):.1f}, mean {ll.get('mean', 0):.1f}, "
                   f"max {ll.get('max', 0):.1f}.")
    out.append("")
    if results.get("api"):
        out += ["## API requests: ingest + enrichment", "",
                "Minimum in brackets. Enrichment asks for every distinct track of the library once; "
                "\"forbidden\" is what every app registered since 27 Nov 2024 gets (one 403, then ReccoBeats). "
                "The rerun is the next week with nothing changed.", ""]
        out += api_requests.table_lines(results["api"]) + [""]
    if results.get("spark"):
        startup = results.get("startup_median_s", 0.0)
        runs = results.get("startup_runs", [])
        out += ["## Spark jobs vs single-process pandas / scikit-learn", "",
                f"spark-submit start-up (trivial job): median {startup:.1f} s of {len(runs)} runs "
                f"({', '.join(fmt_s(r['wall_s']) for r in runs)} s), driver JVM "
                f"{max((r['peak_jvm_mb'] for r in runs), default=0):.0f} MB. "
                "The start-up share is that median over the job's wall time.", ""]
        out += spark_table(results["spark"], startup) + [""]
        marginal = marginal_lines(results["spark"])
        if marginal:
            out += ["Where Spark would pay: the marginal cost of rows, start-up set aside.", ""] + marginal + [""]
        gen = results.get("generated", {})
        if gen:
            out += ["Inputs per size: " + "; ".join(
                f"{n}: raw pages {g['raw_mb']:.0f} MB ({g['raw']['pages']:,} files), enrich {g['enrich']['new_ids']:,} "
                f"new ids in {g['enrich']['batches']:,} batches, generated in {g['seconds']:.0f} s"
                for n, g in gen.items()), ""]
    target = results.get("target")
    if target:
        out += ["## Weekly train + score over 1M candidates", "",
                f"tracks_enriched with {target['counts']['candidates']:,} candidate rows, "
                f"{target['counts']['liked']:,} liked and {target['counts']['disliked']:,} disliked rows; "
                "`jobs/train.py` with the weekly default grid (5 configurations x 5 folds + refits), then `jobs/score.py`.", ""]
        for job in ("train", "score"):
            r = target.get(job)
            if r:
                status = "ok" if r.get("returncode") == 0 else ("capped" if r.get("timed_out") else "failed")
                out.append(f"- {job}: {r.get('wall_s', 0):.0f} s ({status}), driver JVM peak {fmt_mb(r.get('peak_jvm_mb'))} MB, "
                           f"whole tree {fmt_mb(_tree_mb(r))} MB" + (f"; {r['note']}" if r.get("note") else ""))
        out.append("")
    dags = results.get("dags")
    if dags:
        out += ["## Overheads", "", f"DAG parse (`DagBag(<file>)`, Airflow imported first in "
                f"{dags.get('airflow_import_s', 0):.1f} s): best of 3 and the first, cold parse of each file.", "",
                "| DAG file | best of 3 ms | first parse ms | DAGs |", "| --- | ---: | ---: | --- |"]
        for name, f in (dags.get("files") or {}).items():
            out.append(f"| {name} | {f['best_s'] * 1000:.1f} | {f['first_s'] * 1000:.0f} | {', '.join(f['dags'])}"
                       f"{' (import errors!)' if f['errors'] else ''} |")
        if dags.get("error"):
            out.append(f"\nDAG parse failed: {dags['error'][-500:]}")
        out.append("")
    demo = results.get("demo")
    if demo:
        out += [f"`make demo` (after set-up): {demo['wall_s']:.0f} s wall, peak RSS of its process tree "
                f"{fmt_mb(demo.get('peak_tree_mb'))} MB" + ("" if demo.get("returncode") == 0 else
                                                             f", FAILED (exit {demo.get('returncode')})"), ""]
    out += ["## Targets", ""] + targets(results) + [""]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", help=f"Spark job sizes (default {DEFAULT_SIZES})")
    parser.add_argument("--api-sizes", type=int, nargs="+", help=f"API library sizes (default {DEFAULT_API_SIZES})")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes only (1k), quick training grid, no 1M target, no demo")
    parser.add_argument("--with-demo", dest="demo", action="store_true", default=None, help="run `make demo` once")
    parser.add_argument("--no-demo", dest="demo", action="store_false")
    parser.add_argument("--skip", nargs="+", choices=SECTIONS, default=[])
    parser.add_argument("--jobs", nargs="+", choices=JOBS, default=list(JOBS), help="Spark jobs to measure "
                        "(score needs train, or a model kept from a smaller size)")
    parser.add_argument("--cap-seconds", type=float, default=600.0, help="time cap per measured step")
    parser.add_argument("--workdir", type=Path, help="where inputs and logs go (default: a new temp folder)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the Markdown report (default test-artifacts/benchmarks-run.md)")
    parser.add_argument("--keep", action="store_true", help="keep the workdir (logs, results.json)")
    parser.add_argument("--render", type=Path, nargs="+", metavar="RESULTS_JSON",
                        help="measure nothing: rewrite the report from earlier runs' results.json; the steps of a "
                             "later file replace the same steps (engine, job, size) of an earlier one")
    args = parser.parse_args(argv)
    if args.render:
        results = merge([json.loads(p.read_text()) for p in args.render])
        text = render(results, results["command"])
        args.output.write_text(text + "\n", encoding="utf-8")
        print(text)
        return 0
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    api_sizes = args.api_sizes or (QUICK_API_SIZES if args.quick else DEFAULT_API_SIZES)
    skip = set(args.skip) | ({"demo"} if (args.demo is False or (args.demo is None and args.quick)) else set())
    if args.quick:
        skip.add("target")
    command = " ".join([COMMAND, *(argv if argv is not None else sys.argv[1:])]).strip()

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("weekly_discovery.enrich.fetch").setLevel(logging.ERROR)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="wd-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict[str, Any] = {"started": dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "command": command,
                               "machine": machine_info(), "sizes": list(sizes), "api_sizes": list(api_sizes)}
    say(f"workdir {workdir}; machine {results['machine']}")

    def save() -> None:
        results["seconds"] = time.monotonic() - started
        (workdir / "results.json").write_text(json.dumps(results, indent=2, default=str))

    with LoadSampler() as load:
        if "api" not in skip:
            results["api"] = []
            for n in api_sizes:
                say(f"API requests, library of {n:,}")
                results["api"].append(api_requests.measure(n, workdir))
                say(api_requests.table_lines(results["api"])[-1])
                save()
        if "dags" not in skip:
            results["dags"] = run_dag_parse(workdir)
            say(f"DAG parse: {json.dumps(results['dags'])[:300]}")
            save()
        runner = Runner(workdir, args.cap_seconds, args.quick)
        if "spark" not in skip or "target" not in skip:
            runner.startup()
        if "spark" not in skip:
            results["generated"] = {}
            keep_models = workdir / "models"
            keep_models.mkdir(exist_ok=True)
            for n in sizes:
                results["generated"][f"{n:,}"] = run_size(runner, n, keep_models, tuple(args.jobs))
                if not args.quick:  # one more start-up sample per size (quick mode saves the time)
                    runner.startup()
                results["spark"], results["startup_runs"] = runner.results, runner.startup_runs
                results["startup_median_s"] = runner.startup_s
                save()
        if "target" not in skip:
            results["target"] = run_target(runner)
            results["spark"], results["startup_runs"] = runner.results, runner.startup_runs
            results["startup_median_s"] = runner.startup_s
            save()
        if "demo" not in skip:
            say("make demo")
            results["demo"] = run_demo(workdir)
            say(f"make demo: {results['demo']['wall_s']:.0f} s, exit {results['demo']['returncode']}")
    results["load"] = load.summary()
    results["load_at_end"] = os.getloadavg()
    save()
    text = render(results, command)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n", encoding="utf-8")
    print()
    print(text)
    print(f"\nwrote {args.output}; raw figures and logs in {workdir}" + ("" if args.keep else " (removed)"))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
