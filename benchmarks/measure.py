"""How the benchmark measures: the machine, the load, and a process tree's wall time and peak memory.

Peak memory is sampled, not read from the kernel's high-water mark: ``ru_maxrss`` covers one process,
while a Spark job is a tree (``spark-submit`` shell -> driver JVM -> Python driver -> Python workers).
:func:`run_measured` polls every process of the tree every ``interval`` seconds with psutil and keeps,
per sample, the RSS of the JVMs, of the Python processes and of the whole tree; the peaks are the
largest samples. A spike shorter than the interval can be missed; at 0.2 s that is a few percent at most
for jobs that hold their memory for seconds. A child the JVM forks (to start a Python worker or a
helper) briefly shows the JVM's whole RSS before its exec; such forks are not counted (their pages
are the JVM's own).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MB = 1024 * 1024


# --------------------------------------------------------------------------------------------------
# the machine and its load
# --------------------------------------------------------------------------------------------------


def _first_line(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc.__class__.__name__})"
    text = (result.stderr or result.stdout).strip().splitlines()
    return text[0] if text else "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, str]:
    """What the figures were measured on (versions as the benchmark's own interpreter sees them)."""
    import pyspark

    try:
        from importlib.metadata import version

        airflow_version = version("apache-airflow")
    except Exception:  # noqa: BLE001 - a benchmark without Airflow still reports the rest
        airflow_version = "not installed"
    return {
        "cores": str(os.cpu_count()),
        "ram": f"{psutil.virtual_memory().total / 1024 ** 3:.1f} GiB",
        "cpu": cpu_model(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "java": _first_line(["java", "-version"]),
        "spark": pyspark.__version__,
        "airflow": airflow_version,
    }


class LoadSampler:
    """Samples ``os.getloadavg()`` (1-minute) in the background; min / mean / max over the run."""

    def __init__(self, interval: float = 10.0):
        self.interval = interval
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-sampler", daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> "LoadSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.samples.append(os.getloadavg()[0])

    def summary(self) -> dict[str, float]:
        samples = self.samples or [os.getloadavg()[0]]
        return {"min": min(samples), "mean": statistics.fmean(samples), "max": max(samples),
                "samples": len(samples)}


# --------------------------------------------------------------------------------------------------
# one measured process tree
# --------------------------------------------------------------------------------------------------


@dataclass
class Measured:
    """Wall time and sampled peak RSS (MiB) of one command's process tree."""

    label: str
    wall_s: float
    returncode: int | None
    timed_out: bool = False
    peak_tree_mb: float = 0.0
    peak_jvm_mb: float = 0.0
    peak_python_mb: float = 0.0
    samples: int = 0
    log: str = ""  # where the command's output went
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def to_dict(self) -> dict:
        return asdict(self)


def _tree_rss(root: psutil.Process) -> tuple[float, float, float, list]:
    """(tree, jvm, python) RSS in MiB of ``root`` and its descendants right now, and (name, MiB) of each."""
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0, 0.0, 0.0, []
    tree = jvm = python = 0.0
    detail = []
    jvm_pids = set()
    for proc in procs:
        try:
            rss = proc.memory_info().rss / MB
            name = proc.name()
            parent = proc.ppid()
        except psutil.Error:
            continue
        if name == "java":
            jvm_pids.add(proc.pid)
        elif parent in jvm_pids and not name.startswith("python"):
            # a fork of the JVM caught before its exec (named after the forking thread, e.g. "Executor task l"):
            # it shares the JVM's pages, counting it would count the JVM twice
            detail.append((f"{name} (JVM fork, not counted)", round(rss)))
            continue
        tree += rss
        detail.append((name, round(rss)))
        if name == "java":
            jvm += rss
        elif name.startswith("python"):
            python += rss
    return tree, jvm, python, detail


def run_measured(label: str, command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                 timeout: float = 600.0, log_path: Path | None = None, interval: float = 0.2,
                 on_start: Callable[[int], None] | None = None) -> Measured:
    """Run ``command`` in its own process group; sample the tree's RSS; kill the group at ``timeout``.
    ``on_start`` is called with the process id once it started (e.g. to watch its descendants)."""
    log_path = log_path or Path(os.devnull)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    peaks = [0.0, 0.0, 0.0]
    peak_detail: list = []
    samples = 0
    timed_out = False
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        root = psutil.Process(proc.pid)
        if on_start:
            on_start(proc.pid)
        while proc.poll() is None:
            *sample, detail = _tree_rss(root)
            samples += 1
            if sample[0] > peaks[0]:
                peak_detail = detail
            peaks = [max(p, s) for p, s in zip(peaks, sample)]
            if time.monotonic() - started > timeout:
                timed_out = True
                _kill_group(proc)
                break
            time.sleep(interval)
        proc.wait()
    wall = time.monotonic() - started
    return Measured(label, round(wall, 2), proc.returncode, timed_out, round(peaks[0], 1), round(peaks[1], 1),
                    round(peaks[2], 1), samples, str(log_path), {"processes_at_tree_peak": peak_detail})


def _kill_group(proc: subprocess.Popen) -> None:
    """Stop the process group this benchmark started (and only it): TERM, then KILL after 10 s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def log_tail(measured: Measured, lines: int = 40) -> str:
    try:
        return "\n".join(Path(measured.log).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --------------------------------------------------------------------------------------------------
# Spark
# --------------------------------------------------------------------------------------------------


def spark_env() -> dict[str, str]:
    """What spark-submit needs to find this venv's pyspark and python (docs/stack.md), and the class-data
    archive for the driver JVM when this machine has one, as the DAGs' operator starts local jobs
    (:func:`weekly_discovery.airflow.spark_class_data.driver_java_options`)."""
    import pyspark

    from weekly_discovery.airflow import spark_class_data

    env = dict(os.environ)
    env.update(
        SPARK_HOME=os.environ.get("SPARK_HOME") or str(Path(pyspark.__file__).parent),
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        SPARK_LOCAL_IP="127.0.0.1",
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    options = spark_class_data.driver_java_options(env)
    if options:
        env["SPARK_SUBMIT_OPTS"] = options
    return env


def spark_submit_command(application: Path, args: list[str], master: str = "local[2]") -> list[str]:
    """The command the DAGs' SparkSubmitOperator runs, in local mode (no driver memory set: Spark's 1g)."""
    return [str(VENV_BIN / "spark-submit"), "--master", master,
            "--conf", "spark.ui.enabled=false", "--conf", "spark.ui.showConsoleProgress=false",
            "--conf", "spark.sql.session.timeZone=UTC",
            str(application), *args]


TRIVIAL_JOB = '''"""The smallest job: start a session the way the real jobs do, count one row, stop."""
from weekly_discovery.spark.session import get_spark

spark = get_spark("weekly-discovery-benchmark-startup")
assert spark.range(1).count() == 1
spark.stop()
'''


# --------------------------------------------------------------------------------------------------
# the driver's heap, as Spark measures it (event log + executor metrics)
# --------------------------------------------------------------------------------------------------

# Process RSS is not the driver's memory in the sense of the target: a JVM with a 1 GB heap has an RSS of
# 1.4-1.6 GB (metaspace, code cache, thread stacks, direct buffers). Spark itself samples the JVM's memory
# (executor metrics) and, with the event log on, writes the peaks: per task ("Task Executor Metrics" of
# SparkListenerTaskEnd, polled every EXECUTOR_METRICS_POLL) and per stage ("SparkListenerStageExecutorMetrics",
# from the heartbeats). In local mode the executor is the driver JVM ("driver"), so the largest JVMHeapMemory
# over those events is the driver's peak heap used. Heap used counts garbage not yet collected, so it is an
# upper bound on live data; the GC counters show whether the heap was tight.
EXECUTOR_METRICS_POLL = "200ms"
HEAP_METRICS = ("JVMHeapMemory", "JVMOffHeapMemory", "OnHeapExecutionMemory", "OnHeapStorageMemory",
                "OnHeapUnifiedMemory")
GC_METRICS = ("MinorGCCount", "MinorGCTime", "MajorGCCount", "MajorGCTime", "TotalGCTime")


def event_log_conf(directory: Path) -> list[str]:
    """spark-submit options that make Spark write its event log, with executor metrics, into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    conf = {
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": directory.resolve().as_uri(),
        "spark.eventLog.compress": "false",
        "spark.eventLog.logStageExecutorMetrics": "true",
        "spark.executor.metrics.pollingInterval": EXECUTOR_METRICS_POLL,
        # the stage peaks travel with the heartbeats: every second rather than every 10 s, so that little of a
        # stage's end goes unreported
        "spark.executor.heartbeatInterval": "1s",
    }
    return [part for key, value in conf.items() for part in ("--conf", f"{key}={value}")]


def with_event_log(command: list[str], directory: Path) -> list[str]:
    """``command`` (a spark-submit command line) with :func:`event_log_conf` added after the binary."""
    return [command[0], *event_log_conf(directory), *command[1:]]


def driver_heap(directory: Path) -> dict:
    """Peak executor metrics of the driver JVM (MiB; GC counts and ms as they are) from the event log(s) in
    ``directory``; ``{}`` when there is none (a job that died before its session started)."""
    peaks: dict[str, float] = {}
    sources: set[str] = set()
    max_heap = None
    # Spark 4 writes a rolling log: a folder eventlog_v2_<app id> of events_<n>_<app id> files
    files = sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith("appstatus")) \
        if directory.is_dir() else []
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if 'Executor Metrics"' not in line and '"Maximum Onheap Memory"' not in line:
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # the last line of a log cut short by a crash
                kind = event.get("Event", "")
                metrics = None
                if kind == "SparkListenerStageExecutorMetrics" and event.get("Executor ID") == "driver":
                    metrics = event.get("Executor Metrics")
                elif kind == "SparkListenerTaskEnd":
                    metrics = event.get("Task Executor Metrics")
                elif kind == "SparkListenerBlockManagerAdded" and \
                        (event.get("Block Manager ID") or {}).get("Executor ID") == "driver":
                    max_heap = event.get("Maximum Onheap Memory")
                if not metrics:
                    continue
                sources.add(kind.removeprefix("SparkListener"))
                for key in (*HEAP_METRICS, *GC_METRICS):
                    if key in metrics:
                        peaks[key] = max(peaks.get(key, 0), metrics[key])
    if not peaks:
        return {}
    out = {f"peak_{key}_mb": round(peaks[key] / MB, 1) for key in HEAP_METRICS if key in peaks}
    out.update({key: peaks[key] for key in GC_METRICS if key in peaks})
    if max_heap:
        out["spark_unified_memory_mb"] = round(max_heap / MB, 1)
    out["events"] = sorted(sources)
    return out
