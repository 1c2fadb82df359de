"""Airflow's four services as a person runs them on one machine, for ``make run`` and ``make ui``.

The api-server, scheduler, dag-processor and triggerer as four processes (each in its own session), the
LocalExecutor, the metadata database in ``AIRFLOW_HOME`` (SQLite: one person's installation; docs/deploy.md
has PostgreSQL). Sign-in: Airflow's simple auth manager with one user, ``admin``, whose password is kept only
in ``<AIRFLOW_HOME>/ui-passwords.json`` (0600). The JWT and session secrets are generated at each start, and
the log-server and health-check ports are free ones, so the services run beside another Airflow.

Stopping (:meth:`AirflowServices.stop`): every service's process group side by side, the api-server last
(tasks that end meanwhile still report to it), then any task process that left its group, found by this
home's ``AIRFLOW_HOME`` in its environment. Nothing else is touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from weekly_discovery.service.processes import (
    Service,
    free_port,
    http_json,
    pids_with_env,
    start,
    stop_services,
    wait_until,
)

T = TypeVar("T")

SERVICES = ("scheduler", "dag-processor", "triggerer", "api-server")
USER = "admin"
PASSWORDS_FILE = "ui-passwords.json"
START_TIMEOUT = 300


class _Stop(Exception):
    """SIGINT or SIGTERM arrived (caught by :func:`until_signal`)."""


def _raise_stop(signum, frame):
    raise _Stop(signal.Signals(signum).name)


@contextlib.contextmanager
def until_signal(announce: str) -> Iterator[None]:
    """Run the block until Ctrl-C (SIGINT) or SIGTERM (``make stop``, a service manager), which ends it
    quietly after printing the signal's name and ``announce``. From the block's end on both signals are
    ignored: a second Ctrl-C must not cut the caller's clean-up short."""
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    try:
        yield
    except _Stop as stop:
        print(f"\n{stop}: {announce}", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def check_port(host: str, port: int, retry_hint: str) -> None:
    """Fail with a message naming ``retry_hint`` (how to choose another port) if ``port`` is taken."""
    with socket.socket() as sock:
        # as the api-server binds: connections of an earlier server in TIME_WAIT do not count, a listener does
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise SystemExit(f"port {port} on {host} is in use (another Airflow?): choose another one, e.g. "
                             f"{retry_hint.format(port=port + 1)}") from None


def service_env(env: Mapping[str, str], airflow_home: Path, host: str, port: int) -> dict[str, str]:
    """``env`` plus what the four services share: executor, sign-in, ports, per-start secrets."""
    env = dict(env)
    base = f"http://{host}:{port}"
    env.update(
        AIRFLOW_HOME=str(airflow_home),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__PARALLELISM=env.get("AIRFLOW__CORE__PARALLELISM", "4"),  # a laptop: not 32 workers
        AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="False",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{USER}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(airflow_home / PASSWORDS_FILE),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{base}/execution/",
        AIRFLOW__API__HOST=host,
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API__BASE_URL=base,
        AIRFLOW__API__WORKERS="1",
        # Every service signs or checks the same tokens: one secret for all, new at each start.
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),
        AIRFLOW__API__SECRET_KEY=secrets.token_hex(32),
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port(host)),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port(host)),
        AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT=str(free_port(host)),
    )
    return env


def write_password(airflow_home: Path) -> str:
    """A new password for ``admin``, in a file only this user can read (never in the repository).

    The file of an earlier start is removed and a new one created 0600 before the password is written:
    rewriting the old one would leave the new password readable for a moment if its mode was looser, and
    for good to whoever had it open already.
    """
    password = secrets.token_urlsafe(12)
    path = airflow_home / PASSWORDS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)  # exactly 0600 whatever the umask, before anything is written
    with os.fdopen(fd, "w") as fh:
        json.dump({USER: password}, fh)
    return password


def kept_password(airflow_home: Path) -> str:
    """``admin``'s password of an earlier start if its file is intact and 0600, else a new one
    (:func:`write_password`): a service that restarts keeps the password its user knows."""
    path = airflow_home / PASSWORDS_FILE
    try:
        if path.stat().st_mode & 0o077 == 0:
            password = json.loads(path.read_text()).get(USER)
            if isinstance(password, str) and password:
                return password
    except (OSError, ValueError, AttributeError):
        pass
    return write_password(airflow_home)


def healthy(base: str) -> bool:
    health = http_json(f"{base}/api/v2/monitor/health")
    return all(health.get(part, {}).get("status") == "healthy"
               for part in ("metadatabase", "scheduler", "triggerer", "dag_processor"))


def leftovers(airflow_home: Path) -> list[int]:
    """Processes whose environment holds this home's ``AIRFLOW_HOME`` (task processes that left a group)."""
    return pids_with_env("AIRFLOW_HOME", str(airflow_home))


class AirflowServices:
    """The four services of one ``AIRFLOW_HOME``, their output in ``logs``, the UI at ``base``."""

    def __init__(self, env: Mapping[str, str], airflow_home: Path, logs: Path, base: str) -> None:
        self.env, self.airflow_home, self.logs, self.base = dict(env), airflow_home, logs, base
        self.services: list[Service] = []

    def migrate(self) -> None:
        """``airflow db migrate``: creates the metadata database, or upgrades an earlier one (kept as is)."""
        migrate = start("db migrate", ["airflow", "db", "migrate"], self.env, self.logs / "db-migrate.log")
        self.services.append(migrate)  # stopped with the others if a signal comes meanwhile
        if migrate.process.wait() != 0:
            raise SystemExit(f"airflow db migrate failed\n{migrate.tail()}")
        self.services.remove(migrate)

    def start(self) -> None:
        for name in SERVICES:
            self.services.append(start(name, ["airflow", name], self.env, self.logs / f"{name}.log"))

    def wait(self, check: Callable[[], T], what: str, timeout: float = START_TIMEOUT) -> T:
        """:func:`wait_until` with the services' log tails and a clean exit on failure."""
        try:
            return wait_until(check, timeout, what, interval=1, alive=self.services)
        except (RuntimeError, TimeoutError) as exc:
            raise SystemExit(f"{exc}\n" + "\n".join(s.tail(20) for s in self.services)) from None

    def wait_healthy(self) -> None:
        self.wait(lambda: healthy(self.base), "the four services to be healthy")

    def bring_up(self, password: str, dags_folder: Path) -> tuple[str, list[dict]]:
        """Start the services on the migrated database, wait until they are healthy, sign in and wait for the DAG
        files of ``dags_folder`` to be parsed: the API token and the DAGs."""
        self.start()
        self.wait_healthy()
        token = self.token(password)
        return token, self.parsed_dags(token, dags_folder)

    def token(self, password: str) -> str:
        return http_json(f"{self.base}/auth/token", method="POST",
                         body={"username": USER, "password": password})["access_token"]

    def api(self, path: str, token: str, **kwargs: Any) -> Any:
        return http_json(f"{self.base}/api/v2/{path}", token=token, **kwargs)

    def parsed_dags(self, token: str, dags_folder: Path) -> list[dict]:
        """Wait until every DAG file of ``dags_folder`` is parsed; fail with the import errors if any."""
        wanted = {p.name for p in dags_folder.glob("*.py")}

        def parsed():
            dags = self.api("dags?limit=100", token)["dags"]
            errors = self.api("importErrors?limit=100", token)["import_errors"]
            if errors:
                raise SystemExit("DAG import errors:\n" + "\n".join(f"{e['filename']}: {e['stack_trace']}"
                                                                    for e in errors))
            return dags if wanted <= {Path(d["fileloc"]).name for d in dags} else None

        return self.wait(parsed, f"the dag-processor to parse {sorted(wanted)}")

    def unpause(self, token: str, dag_ids: Iterable[str]) -> list[str]:
        done = []
        for dag_id in dag_ids:
            self.api(f"dags/{dag_id}", token, method="PATCH", body={"is_paused": False})
            done.append(dag_id)
        return sorted(done)

    def asset_scheduled(self, token: str, dags: Iterable[dict]) -> list[str]:
        """The DAGs scheduled on assets (they run only when the data they wait for lands)."""
        return [d["dag_id"] for d in dags
                if self.api(f"dags/{d['dag_id']}/details", token).get("asset_expression")]

    def watch(self) -> None:
        """Return never; fail (SystemExit) when a service exits. A signal ends it (:func:`until_signal`)."""
        while True:
            for service in self.services:
                if service.process.poll() is not None:
                    raise SystemExit(f"{service.name} exited with {service.process.returncode}\n{service.tail()}")
            time.sleep(1)

    def stop(self) -> None:
        stop_services(self.services, grace=15)
        for pid in leftovers(self.airflow_home):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.services.clear()
