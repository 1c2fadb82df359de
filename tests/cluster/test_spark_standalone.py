"""The pipeline's Spark jobs on a real Spark standalone cluster give the same tables as local mode.

A master and a worker (2 cores, 2 GB) run on 127.0.0.1 from the pip package's ``sbin/spark-daemon.sh``.
The raw input is extracted from the Spotify stand-in by the ingest and enrich DAGs' own Python task
functions; the Spark tasks of ``spotify_ingest`` and ``spotify_enrich`` (their applications and
arguments, read from the DAGs) then run twice, each into its own copy of the lake: through
``spark_job``'s operator with ``spark_default`` = ``spark://127.0.0.1:<port>``, and, as the reference,
with a plain ``spark-submit --master local[2]``. The Delta tables are read back with delta-rs and compared
row by row.

On the cluster the job's Python driver runs as ``python -S`` (no site-packages: the project is not
installed there, as on a cluster node), from an unrelated working directory, so the job only works if
``weekly_discovery`` arrives through ``--py-files``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from devtools.demo import small_job_jvm_options
from devtools.standin import StandIn, generate_demo_library, write_demo_config
from tests.util.processes import free_port, http_json, tail, wait_until
from weekly_discovery.lake import delta
from weekly_discovery.lake.layout import DELTA_TABLES, Lake

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
SPARK_HOME = Path(os.environ["SPARK_HOME"])
DS = "2026-11-23"
N_TRACKS = 600  # a small library: the point is where the jobs run, not how much they read
INGEST, ENRICH = "spotify_ingest", "spotify_enrich"
SPARK_TASKS = {INGEST: ["normalize"], ENRICH: ["enrich"]}
_XCOM = re.compile(r"^\{\{\s*ti\.xcom_pull\(task_ids='(\w+)'\)\['(\w+)'\]\s*\}\}$")


# ---- the cluster --------------------------------------------------------------------------------

def _daemon(env: dict[str, str], action: str, cls: str, *args: str) -> None:
    script = SPARK_HOME / "sbin" / "spark-daemon.sh"
    result = subprocess.run(["bash", str(script), action, cls, "1", *args], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, f"spark-daemon.sh {action} {cls}: {result.stdout}{result.stderr}"


def _pids(pid_dir: Path) -> list[int]:
    return [int(p.read_text().strip()) for p in pid_dir.glob("*.pid") if p.read_text().strip().isdigit()]


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory):
    """``spark://127.0.0.1:<port>`` of a running master with one registered worker."""
    base = tmp_path_factory.mktemp("spark-cluster")
    dirs = {name: base / name for name in ("logs", "pids", "work")}
    for path in dirs.values():
        path.mkdir()
    env = {**os.environ, "SPARK_LOG_DIR": str(dirs["logs"]), "SPARK_PID_DIR": str(dirs["pids"]),
           "SPARK_WORKER_DIR": str(dirs["work"]), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_IDENT_STRING": f"wd-test-{os.getpid()}",
           # as the session's drivers and executors: C1 JIT, the class-data archive (tests/conftest.py)
           "SPARK_DAEMON_JAVA_OPTS": small_job_jvm_options(dict(os.environ))}
    port, ui, worker_ui = free_port(), free_port(), free_port()
    master_url = f"spark://127.0.0.1:{port}"
    master, worker = "org.apache.spark.deploy.master.Master", "org.apache.spark.deploy.worker.Worker"
    started = []
    try:
        _daemon(env, "start", master, "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui))
        started.append(master)
        _daemon(env, "start", worker, "--host", "127.0.0.1", "--webui-port", str(worker_ui),
                "--cores", "2", "--memory", "2g", master_url)
        started.append(worker)
        state_url = f"http://127.0.0.1:{ui}/json/"
        wait_until(lambda: any(w["state"] == "ALIVE" for w in http_json(state_url)["workers"]),
                   timeout=90, what=f"a worker to register with {master_url}", interval=1)
        yield {"url": master_url, "state_url": state_url, "logs": dirs["logs"]}
    except BaseException:
        for log in sorted(dirs["logs"].glob("*.out")):
            print(f"----- {log.name} -----\n{tail(log, 60)}", file=sys.stderr)
        raise
    finally:
        pids = _pids(dirs["pids"])
        for cls in reversed(started):
            subprocess.run(["bash", str(SPARK_HOME / "sbin" / "spark-daemon.sh"), "stop", cls, "1"], env=env,
                           capture_output=True, timeout=60)
        for pid in pids:  # a daemon that ignored the stop
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass


# ---- the input: extracted from the stand-in by the DAGs' own task functions ---------------------

@pytest.fixture(scope="module")
def standin_env(tmp_path_factory):
    """The stand-in, a config for it and the environment the task functions read."""
    base = tmp_path_factory.mktemp("pipeline")
    library = generate_demo_library(seed=7, n_tracks=N_TRACKS)
    with StandIn(library, audio_features="forbidden") as standin:
        config = write_demo_config(library, base / "weekly-discovery.toml")
        with config.open("a") as fh:
            fh.write(f'\n[lake]\nroot = "{base / "lake-local"}"\n\n[enrichment]\n'
                     f'providers = ["spotify", "reccobeats"]\nreccobeats_url = "{standin.reccobeats_url}"\n')
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("AIRFLOW_CONN_SPOTIFY_DEFAULT", standin.connection_json())
            mp.setenv("WEEKLY_DISCOVERY_CONFIG", str(config))
            mp.delenv("WEEKLY_DISCOVERY_LAKE", raising=False)
            mp.setenv("WEEKLY_DISCOVERY_PY_FILES_DIR", str(base / "py-files"))
            yield base, config


def spark_tasks(dag_id: str):
    from airflow.models import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / f"{dag_id}.py"))  # examples are off via AIRFLOW__CORE__LOAD_EXAMPLES
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags[dag_id]
    return [dag.get_task(task_id) for task_id in SPARK_TASKS[dag_id]]


def render(args: list[str], run: dict[str, str], lake_root: Path) -> list[str]:
    """The DAG's arguments with the ``prepare`` XCom values filled in, pointed at ``lake_root``."""
    out = []
    for arg in args:
        match = _XCOM.match(arg)
        if not match:
            out.append(arg)
            continue
        assert match.group(1) == "prepare", f"unexpected XCom source in {arg!r}"
        key = match.group(2)
        out.append(str(lake_root) if key == "lake_root" else str(run[key]))
    return out


def driver_without_site_packages(folder: Path) -> Path:
    """A Python like a cluster node's: the runtime libraries (pyarrow, pydantic, ...) but not the project.

    ``-S`` skips site-packages' ``.pth`` files, so the editable install of ``weekly_discovery`` is invisible;
    the libraries' folder goes at the END of PYTHONPATH, after what spark-submit puts there (pyspark, py4j and
    the ``--py-files`` zip). So ``weekly_discovery`` can only come from the zip.
    """
    import sysconfig

    libraries = sysconfig.get_paths()["purelib"]
    script = folder / "python-S"
    script.write_text(f'#!/bin/sh\nPYTHONPATH="${{PYTHONPATH:+$PYTHONPATH:}}{libraries}" exec "{sys.executable}" -S "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    alone = subprocess.run([str(script), "-c", "import weekly_discovery"], cwd=folder, capture_output=True, text=True,
                           env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert alone.returncode != 0 and "No module named 'weekly_discovery'" in alone.stderr, alone.stderr
    return script


def job_command(task, run: dict[str, str], lake_root: Path) -> tuple[str, list[str]]:
    return task.application, render(list(task.application_args), run, lake_root)


def submit_to_cluster(task, run: dict[str, str], lake_root: Path, master: str, cwd: Path, python: str) -> None:
    """Run one of the DAG's Spark tasks through ``spark_job``'s operator, ``spark_default`` = ``master``."""
    from weekly_discovery.airflow.policy import spark_job

    application, args = job_command(task, run, lake_root)
    op = spark_job(task.task_id, Path(application), args)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_SPARK_DEFAULT", master)
        mp.setenv("PYSPARK_PYTHON", python)
        mp.setenv("PYSPARK_DRIVER_PYTHON", python)
        mp.chdir(cwd)
        op.execute(context={})


def submit_locally(task, run: dict[str, str], lake_root: Path, cwd: Path, env: dict[str, str]) -> None:
    """The reference: the same job with a plain ``spark-submit --master local[2]``."""
    application, args = job_command(task, run, lake_root)
    result = subprocess.run([str(Path(sys.executable).parent / "spark-submit"), "--master", "local[2]",
                             "--conf", "spark.ui.enabled=false", application, *args],
                            cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{task.task_id} in local mode failed:\n{(result.stdout + result.stderr)[-4000:]}"


@pytest.fixture(scope="module")
def runs(spark_cluster, standin_env):
    """Both lakes after normalize and enrich ran in local mode and on the cluster.

    Each job runs in local mode (a thread) while it runs on the cluster: the two are independent,
    and on two cores the overlap saves a JVM start-up per job.
    """
    from weekly_discovery.enrich import tasks as enrich_tasks
    from weekly_discovery.ingest import tasks as ingest_tasks

    base, _config = standin_env
    local, cluster = base / "lake-local", base / "lake-cluster"
    cwd = {name: base / f"cwd-{name}" for name in ("local", "cluster")}
    for path in cwd.values():
        path.mkdir()
    python_s = str(driver_without_site_packages(base))
    local_env = dict(os.environ)  # copied before the cluster runs change the process environment

    def both(dag_id: str, run: dict[str, str]) -> None:
        for task in spark_tasks(dag_id):
            with ThreadPoolExecutor(max_workers=1) as pool:
                reference = pool.submit(submit_locally, task, run, local, cwd["local"], local_env)
                submit_to_cluster(task, run, cluster, spark_cluster["url"], cwd["cluster"], python_s)
                reference.result()

    run = ingest_tasks.prepare({"params": {"ds": DS}})
    ingest_tasks.extract(run, full_resync=False)
    shutil.copytree(Path(local, "raw"), Path(cluster, "raw"))
    both(INGEST, run)

    run = enrich_tasks.prepare({"params": {"ds": DS}})
    enrich_tasks.fetch(run)  # reads silver tracks; both lakes' are compared equal below
    shutil.copytree(Path(local, "raw", "features"), Path(cluster, "raw", "features"))
    both(ENRICH, run)
    return Lake(str(local)), Lake(str(cluster))


# ---- reading outputs independently of the code under test ---------------------------------------

def table_rows(lake: Lake, table) -> list[str]:
    """Every row of a Delta table (read by delta-rs) as canonical JSON, sorted (file layout may differ)."""
    rows = delta.read_rows(lake, table)
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)


def outputs(lake: Lake) -> dict[str, object]:
    """Every Delta table the jobs wrote, by its name (``silver/tracks``...)."""
    return {str(table): table for table in DELTA_TABLES if delta.exists(lake, table)}


def test_the_jobs_ran_on_the_cluster(runs, spark_cluster):
    apps = http_json(spark_cluster["state_url"])["completedapps"]
    names = sorted(a["name"] for a in apps)
    assert len(names) == sum(len(t) for t in SPARK_TASKS.values()), names
    assert all(a["state"] == "FINISHED" for a in apps), apps
    assert any("normalize" in n for n in names) and any("enrich" in n for n in names)


def test_cluster_outputs_equal_local_outputs(runs):
    local, cluster = runs
    local_tables, cluster_tables = outputs(local), outputs(cluster)
    assert sorted(cluster_tables) == sorted(local_tables)
    for expected in ("bronze/items", "silver/tracks", "quarantine/items", "silver/audio_features",
                     "silver/tracks_enriched"):
        assert expected in local_tables
    for name, table in local_tables.items():
        local_rows = table_rows(local, table)
        assert table_rows(cluster, table) == local_rows, f"{name} differs between local mode and the cluster"
        metrics = Path(local.root, name, f"ds={DS}", "_metrics.json")
        if metrics.is_file():
            cluster_metrics = Path(cluster.root, name, f"ds={DS}", "_metrics.json")
            assert json.loads(cluster_metrics.read_text()) == json.loads(metrics.read_text())
    tracks = table_rows(local, local_tables["silver/tracks"])
    assert len(tracks) > N_TRACKS / 4  # a real library landed, not two empty tables
    assert not Path(cluster.root, "_staging").exists()


def test_the_package_went_with_the_job(runs):
    from weekly_discovery.airflow.private_folder import cache_dir
    from weekly_discovery.airflow.spark_submit import package_zip

    archive = package_zip()
    assert archive.parent == cache_dir()
    import zipfile

    names = zipfile.ZipFile(archive).namelist()
    assert "weekly_discovery/__init__.py" in names and "weekly_discovery/spark/session.py" in names
    assert not any("__pycache__" in n for n in names)
    assert package_zip() == archive  # same content, same file: built once
