"""Airflow as it runs in production, for tests: separate api-server, scheduler, dag-processor and
triggerer processes on loopback, LocalExecutor, a PostgreSQL metadata database, and a REST API client.

Every port is picked free (the executor's and triggerer's log servers too), so two test sessions on one
machine do not collide. Stopping kills each service's process group; task processes that left it are
found by their ``AIRFLOW_HOME`` and stopped by pid.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.util.processes import (
    Service,
    free_port,
    http_json,
    pids_with_env,
    start,
    stop_services,
    tail,
    wait_until,
)

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
TERMINAL = {"success", "failed"}
ADMIN = "admin"


def airflow_env(home: Path, sql_alchemy_conn: str, repo: Path, api_port: int,
                extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every service and the migration share."""
    venv_bin = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sql_alchemy_conn,
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__PARALLELISM="4",
        AIRFLOW__CORE__DAGS_FOLDER=str(repo / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(repo / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{ADMIN}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(api_port),
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{api_port}",
        AIRFLOW__API__WORKERS="1",
        # Shared by every component (tokens one signs, another checks); set here, never generated per process.
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),
        AIRFLOW__API__SECRET_KEY=secrets.token_hex(32),
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
        AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT=str(free_port()),
        PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.update(extra or {})
    return env


@dataclass
class AirflowStack:
    home: Path
    env: dict[str, str]
    api_port: int
    services: list[Service] = field(default_factory=list)
    _token: str | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    # ---- lifecycle -------------------------------------------------------------------------------
    def migrate(self, timeout: float = 300) -> None:
        log = self.home / "logs" / "db-migrate.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w") as out:
            result = subprocess.run(["airflow", "db", "migrate"], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    timeout=timeout, cwd=self.home)
        if result.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{tail(log, 60)}")

    def start(self, password: str) -> None:
        (self.home / "passwords.json").write_text(json.dumps({ADMIN: password}) + "\n")
        for name in SERVICES:
            self.services.append(start(name, ["airflow", name], self.env, self.home / "logs" / f"{name}.log",
                                       cwd=self.home))
        wait_until(self._healthy, timeout=180, what="api-server, scheduler, dag-processor and triggerer healthy",
                   interval=1, alive=self.services)
        self._token = http_json(f"{self.api}/auth/token", method="POST",
                                body={"username": ADMIN, "password": password})["access_token"]

    def _healthy(self) -> bool:
        health = http_json(f"{self.api}/api/v2/monitor/health", timeout=5)
        return all(health.get(part, {}).get("status") == "healthy"
                   for part in ("metadatabase", "scheduler", "triggerer", "dag_processor"))

    def stop(self) -> None:
        stop_services(self.services, grace=15)  # side by side, the api-server last
        for pid in pids_with_env("AIRFLOW_HOME", str(self.home)):  # task processes that left the group
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def tails(self, lines: int = 40) -> str:
        return "\n".join(s.tail(lines) for s in self.services)

    # ---- REST API v2 -----------------------------------------------------------------------------
    def call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        url = f"{self.api}/api/v2/{path.lstrip('/')}"
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        return http_json(url, method=method, body=body, headers={"Authorization": f"Bearer {self._token}"},
                         timeout=30)

    def dags(self) -> list[dict]:
        return self.call("GET", "dags", limit=100)["dags"]

    def import_errors(self) -> list[dict]:
        return self.call("GET", "importErrors", limit=100)["import_errors"]

    def wait_for_parsed(self, dag_files: list[Path], timeout: float = 180) -> list[dict]:
        """Wait until the dag-processor has parsed every file (as DAGs or as import errors)."""
        wanted = {p.name for p in dag_files}

        def parsed():
            seen = {Path(d["fileloc"]).name for d in self.dags()}
            seen |= {Path(e["filename"]).name for e in self.import_errors()}
            return wanted <= seen

        wait_until(parsed, timeout=timeout, what=f"the dag-processor to parse {sorted(wanted)}", interval=1,
                   alive=self.services)
        return self.dags()

    def downstream_of(self, dag_id: str) -> list[str]:
        """DAGs scheduled, directly or through other DAGs, on assets that ``dag_id`` produces."""
        assets = self.call("GET", "assets", limit=100)["assets"]
        found: list[str] = []
        frontier = {dag_id}
        while frontier:
            produced = [a for a in assets if any(t["dag_id"] in frontier for t in a["producing_tasks"])]
            frontier = {d["dag_id"] for a in produced for d in a["scheduled_dags"]} - set(found) - {dag_id}
            found.extend(sorted(frontier))
        return found

    def unpause(self, dag_id: str) -> None:
        self.call("PATCH", f"dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None, logical_date: str | None = None) -> str:
        body = {"logical_date": logical_date, "conf": conf or {}}
        return self.call("POST", f"dags/{dag_id}/dagRuns", body)["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        return self.call("GET", f"dags/{dag_id}/dagRuns", limit=100, order_by="run_after")["dag_runs"]

    def wait_for_run(self, dag_id: str, run_id: str | None = None, timeout: float = 300) -> dict:
        """The run (``run_id``, else the first one to appear) once it is in a terminal state."""

        def finished():
            runs = [r for r in self.runs(dag_id) if run_id is None or r["dag_run_id"] == run_id]
            return runs[0] if runs and runs[0]["state"] in TERMINAL else None

        what = f"{dag_id} run {run_id or '(first)'} to finish"
        return wait_until(finished, timeout=timeout, what=what, interval=2, alive=self.services)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.call("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> list[dict]:
        """Structured log lines of one try, read through the API (as the UI reads them)."""
        answer = self.call("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                           full_content="true")
        content = answer.get("content")
        return content if isinstance(content, list) else [{"event": str(content)}]

    def run_logs(self, dag_id: str, run_id: str) -> dict[str, list[dict]]:
        """Every try's log of every task of a run, by ``task_id#try``."""
        logs = {}
        for ti in self.task_instances(dag_id, run_id):
            for attempt in range(1, (ti.get("try_number") or 0) + 1):
                logs[f"{ti['task_id']}#{attempt}"] = self.task_log(dag_id, run_id, ti["task_id"], attempt)
        return logs
