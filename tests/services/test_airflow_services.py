"""Airflow as a service: the pipeline runs on api-server + scheduler + dag-processor + triggerer.

The set-up is production's, shrunk onto loopback: a throwaway PostgreSQL 15 metadata database, the
four services as separate processes, LocalExecutor, spark-submit in local mode, the Spotify stand-in
(in this process) as Spotify. Everything is driven through the REST API v2 with a JWT, as a user's
tooling would: unpause, trigger ``spotify_ingest``, watch the DAGs downstream of its asset run from
their assets, read the task logs. The downstream DAGs are discovered from the API (assets the ingest
produces, DAGs scheduled on them, and so on), so DAGs added to dags/ are checked without editing this.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.standin import StandIn, generate_demo_library, write_demo_config
from tests.util.airflow_stack import AirflowStack, airflow_env
from tests.util.postgres import remove_postgres, start_postgres
from tests.util.processes import free_port, wait_until
from weekly_discovery.lake.layout import Lake

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
INGEST = "spotify_ingest"
REPORT = "library_report"
DS = "2026-11-23"
RUN_TIMEOUT = 420  # seconds per DAG run
# A third of the demo library (~270 liked, ~80 disliked, 65 candidates): enough for every DAG, model
# training included; Spark's fixed costs, not the rows, dominate each job.
N_TRACKS = 1000


@dataclass
class Stack:
    airflow: AirflowStack
    standin: StandIn
    lake: Lake


def write_config(library, standin: StandIn, path: Path, lake_root: Path) -> Path:
    write_demo_config(library, path)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[lake]\nroot = "{lake_root}"\n'
                 '\n[enrichment]\n'
                 '# the stand-in forbids /audio-features, as Spotify does for apps registered today\n'
                 'providers = ["spotify", "reccobeats"]\n'
                 f'reccobeats_url = "{standin.reccobeats_url}"\n'
                 '\n[discover]\n'
                 '# new songs from the stand-in\'s ReccoBeats and artist albums, never the internet\n'
                 f'reccobeats_url = "{standin.reccobeats_url}"\n'
                 '\n[model]\n'
                 '# two cross-validation folds instead of five: the services are under test here, not the model\n'
                 'folds = 2\n'
                 'grid = "quick"\n')
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    base = tmp_path_factory.mktemp("airflow-services")
    home, lake_root = base / "airflow", base / "lake"
    home.mkdir()
    library = generate_demo_library(seed=7, n_tracks=N_TRACKS)
    standin = StandIn(library, audio_features="forbidden", client_secret=f"secret-{secrets.token_hex(12)}",
                      refresh_token=f"refresh-{secrets.token_hex(16)}").start()
    postgres = airflow = None
    try:
        config = write_config(library, standin, base / "weekly-discovery.toml", lake_root)
        postgres = start_postgres()
        postgres.create_database("airflow")
        api_port = free_port()
        env = airflow_env(home, postgres.url("airflow"), REPO, api_port, extra={
            "AIRFLOW_CONN_SPOTIFY_DEFAULT": standin.connection_json(),
            "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": "local[2]"}),
            "WEEKLY_DISCOVERY_CONFIG": str(config),
            "WEEKLY_DISCOVERY_PY_FILES_DIR": str(base / "py-files"),
            # the DAG files do not change during the test: parse them once, not every 30 s
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
        })
        env.pop("WEEKLY_DISCOVERY_LAKE", None)
        airflow = AirflowStack(home, env, api_port)
        started = time.monotonic()
        airflow.migrate()
        print(f"airflow db migrate on PostgreSQL: {time.monotonic() - started:.0f}s")
        airflow.start(password=secrets.token_urlsafe(16))
        print(f"services healthy: {time.monotonic() - started:.0f}s")
        yield Stack(airflow, standin, Lake(str(lake_root)))
    except BaseException:
        if airflow is not None:
            print(airflow.tails(60), file=sys.stderr)
        raise
    finally:
        if airflow is not None:
            airflow.stop()
        if postgres is not None:
            remove_postgres(postgres)
        standin.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(autouse=True)
def service_logs_on_failure(request, stack):
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print("\n" + stack.airflow.tails(60), file=sys.stderr)


def events(entries: list[dict]) -> str:
    """The log lines a person reads in the UI."""
    return "\n".join(str(e.get("event", "")) for e in entries)


def failed_task_logs(airflow: AirflowStack, dag_id: str, run_id: str) -> str:
    out = []
    for ti in airflow.task_instances(dag_id, run_id):
        if ti["state"] not in ("success", "skipped"):
            out.append(f"--- {dag_id}.{ti['task_id']}: {ti['state']} ---")
            if ti.get("try_number"):
                out.append(events(airflow.task_log(dag_id, run_id, ti["task_id"], ti["try_number"]))[-4000:])
    return "\n".join(out)


def test_the_pipeline_runs_on_the_services_and_logs_progress_without_secrets(stack):
    airflow = stack.airflow
    airflow.wait_for_parsed(sorted((REPO / "dags").glob("*.py")))
    assert airflow.import_errors() == []
    downstream = airflow.downstream_of(INGEST)
    assert "spotify_enrich" in downstream, downstream
    # Unpausing a weekly DAG with catchup=False makes the scheduler create a run for its latest
    # schedule (last Monday 06:00). Our run takes that logical date, so the scheduler finds the run
    # already there and moves on to the next Monday: one ingest run, not two.
    latest_schedule = airflow.call("GET", f"dags/{INGEST}")["next_dagrun_logical_date"]
    started = time.monotonic()
    run_id = airflow.trigger(INGEST, {"ds": DS}, logical_date=latest_schedule)
    for dag_id in (*downstream, INGEST):
        airflow.unpause(dag_id)
    runs = {INGEST: airflow.wait_for_run(INGEST, run_id, timeout=RUN_TIMEOUT)}
    assert runs[INGEST]["state"] == "success", failed_task_logs(airflow, INGEST, run_id)
    print(f"{INGEST}: {runs[INGEST]['state']} after {time.monotonic() - started:.0f}s")
    for dag_id in downstream:  # breadth-first from the ingest: each one's upstream has finished
        run = airflow.wait_for_run(dag_id, timeout=RUN_TIMEOUT)
        print(f"{dag_id}: {run['state']} after {time.monotonic() - started:.0f}s")
        assert run["state"] == "success", failed_task_logs(airflow, dag_id, run["dag_run_id"])
        assert run["run_type"] == "asset_triggered", run
        runs[dag_id] = run

    # The report is scheduled on tracks_enriched OR recommendations: it runs once when the enrichment lands and
    # again when the weekly DAG publishes (then with the week's model section). Every other DAG runs once.
    report_runs = wait_until(
        lambda: (lambda rs: rs if len(rs) == 2 and all(r["state"] in ("success", "failed") for r in rs) else None)(
            airflow.runs(REPORT)),
        timeout=RUN_TIMEOUT, what=f"the second {REPORT} run (on the recommendations event) to finish", interval=2)
    assert [r["state"] for r in report_runs] == ["success", "success"], failed_task_logs(
        airflow, REPORT, report_runs[-1]["dag_run_id"])
    assert all(r["run_type"] == "asset_triggered" for r in report_runs), report_runs
    for dag_id in (INGEST, *downstream):
        expected = 2 if dag_id == REPORT else 1
        assert len(airflow.runs(dag_id)) == expected, f"{dag_id} ran {len(airflow.runs(dag_id))} times: {airflow.runs(dag_id)}"

    lake = stack.lake
    from weekly_discovery.lake import delta
    from weekly_discovery.lake.layout import SILVER_TRACKS, TRACKS_ENRICHED

    assert delta.has_date(lake, SILVER_TRACKS, DS) and delta.has_date(lake, TRACKS_ENRICHED, DS)

    for dag_id, run in runs.items():  # where the time went (shown with -s, or -rP)
        durations = ", ".join(f"{ti['task_id']} {ti.get('duration') or 0:.0f}s"
                              for ti in airflow.task_instances(dag_id, run["dag_run_id"]))
        print(f"{dag_id} {run['start_date']} .. {run['end_date']}: {durations}")

    logs = {dag_id: airflow.run_logs(dag_id, run["dag_run_id"]) for dag_id, run in runs.items()}
    ingest = logs[INGEST]
    assert re.search(r"saved_tracks: page 1 of \d+, 50 of \d+ items", events(ingest["extract#1"]))
    assert re.search(r"total: \d+ tracks \(\d+ distinct per role\) from \d+ sources", events(ingest["publish#1"]))
    assert re.search(r"normalize ds=\S+ source=saved_tracks role=liked items=\d+ tracks=\d+",
                     events(ingest["normalize#1"]))
    assert re.search(r"batch 1 of \d+", events(logs["spotify_enrich"]["fetch#1"]))
    assert re.search(r"--py-files \S+/weekly_discovery-[0-9a-f]{64}\.zip", events(ingest["normalize#1"]))
    secrets_ = {"client secret": stack.standin.client_secret, "refresh token": stack.standin.refresh_token}
    for dag_id, by_task in logs.items():
        assert by_task, f"no task logs for {dag_id}"
        for task, entries in by_task.items():
            text = json.dumps(entries)
            for name, secret in secrets_.items():
                assert secret not in text, f"the {name} appears in the log of {dag_id}.{task}"
