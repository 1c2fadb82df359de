"""``make ui``: the demo in the real Airflow UI: trigger the chain, watch it, read the task logs and the report.

Prepares the demo's home as ``make demo`` does (:mod:`devtools.demo`: the seeded library served by the Spotify
stand-in with Spotify's audio features forbidden, the generated catalogue file, the config, both connections, the small-job Spark
settings, ``.demo/airflow`` as ``AIRFLOW_HOME``), then runs Airflow as a person runs it on a laptop: the
api-server, scheduler, dag-processor and triggerer as four processes, LocalExecutor. The metadata database is
the demo's SQLite file (``.demo/airflow/airflow.db``), so the runs of an earlier ``make demo`` are there; on a
fresh home the UI starts empty. SQLite is fine for one person clicking through a demo; a real installation
uses PostgreSQL (docs/deploy.md).

Sign-in: Airflow's simple auth manager with one user, ``admin``, whose password is generated at each start,
printed once and kept only in ``<AIRFLOW_HOME>/ui-passwords.json`` (0600). The JWT and session secrets are
generated per start too: nothing secret is in the repository.

Pausing: the four DAGs scheduled on assets are unpaused at each start (they run only when the data they
wait for lands); ``spotify_ingest`` keeps the state a person gave it, paused at first, so nothing runs
until someone triggers it. Its Trigger dialog unpauses it (the box is ticked by default). The DAGs' start date
is the moment ``make ui`` started (``WEEKLY_DISCOVERY_START_DATE``, unless you set it), so unpausing schedules
next Monday's run rather than last Monday's at once: one press of *Trigger* runs one chain.

Ctrl-C (SIGINT) or SIGTERM stops everything it started: each service's process group, any task process that
left its group (found by this home's ``AIRFLOW_HOME`` in its environment), then the stand-in.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import sys
import time
from datetime import UTC, datetime, timezone
from pathlib import Path

from devtools.demo import CATALOGUE_FILE, DEMO, REPO, demo_env, write_config
from devtools.processes import (
    Service,
    free_port,
    http_json,
    pids_with_env,
    start,
    stop_services,
    wait_until,
)
from devtools.standin import StandIn, generate_demo_library
from devtools.standin.catalogue import demo_catalogue
from weekly_discovery.airflow.policy import START_DATE_ENV

SERVICES = ("scheduler", "dag-processor", "triggerer", "api-server")
USER = "admin"
PASSWORDS_FILE = "ui-passwords.json"


class Stop(Exception):
    """SIGINT or SIGTERM arrived: stop everything and leave."""


def check_port(host: str, port: int) -> None:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            raise SystemExit(f"port {port} on {host} is in use (another Airflow?): choose another one, "
                             f"e.g. make ui UI_ARGS='--port {port + 1}'") from None


def airflow_env(env: dict[str, str], airflow_home: Path, host: str, port: int) -> dict[str, str]:
    """The demo's environment plus what the four services share: executor, sign-in, ports, secrets."""
    env = dict(env)
    base = f"http://{host}:{port}"
    env.update(
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
        # Free ports, so make ui runs beside another Airflow (or a test's).
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port(host)),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port(host)),
        AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT=str(free_port(host)),
    )
    # The weekly schedule starts now: unpausing spotify_ingest (the Trigger dialog does) then waits for next
    # Monday instead of also running last Monday's slot at once, so one press runs one chain.
    env.setdefault(START_DATE_ENV, datetime.now(UTC).isoformat(timespec="seconds"))
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


def wait_for(check, what: str, services: list[Service], timeout: float = 300):
    """:func:`devtools.processes.wait_until`, with the services' log tails and a clean exit on failure."""
    try:
        return wait_until(check, timeout, what, interval=1, alive=services)
    except (RuntimeError, TimeoutError) as exc:
        raise SystemExit(f"{exc}\n" + "\n".join(s.tail(20) for s in services)) from None


def healthy(base: str) -> bool:
    health = http_json(f"{base}/api/v2/monitor/health")
    return all(health.get(part, {}).get("status") == "healthy"
               for part in ("metadatabase", "scheduler", "triggerer", "dag_processor"))


def unpause_asset_scheduled(base: str, token: str, services: list[Service]) -> tuple[list[str], list[dict]]:
    """Wait until every DAG file is parsed, then unpause the DAGs scheduled on assets (they wait for data)."""
    wanted = {p.name for p in (REPO / "dags").glob("*.py")}

    def parsed():
        dags = http_json(f"{base}/api/v2/dags?limit=100", token=token)["dags"]
        errors = http_json(f"{base}/api/v2/importErrors?limit=100", token=token)["import_errors"]
        if errors:
            raise SystemExit("DAG import errors:\n" + "\n".join(f"{e['filename']}: {e['stack_trace']}"
                                                                for e in errors))
        return dags if wanted <= {Path(d["fileloc"]).name for d in dags} else None

    dags = wait_for(parsed, f"the dag-processor to parse {sorted(wanted)}", services)
    unpaused = []
    for dag in dags:
        details = http_json(f"{base}/api/v2/dags/{dag['dag_id']}/details", token=token)
        if details.get("asset_expression"):
            http_json(f"{base}/api/v2/dags/{dag['dag_id']}", method="PATCH", body={"is_paused": False}, token=token)
            unpaused.append(dag["dag_id"])
    return sorted(unpaused), dags


def leftovers(airflow_home: Path) -> list[int]:
    """Processes whose environment holds this home's ``AIRFLOW_HOME`` (task processes that left a group)."""
    return pids_with_env("AIRFLOW_HOME", str(airflow_home))


def stop_all(services: list[Service], airflow_home: Path) -> None:
    stop_services(services, grace=15)  # side by side, the api-server last: tasks report to it while they end
    for pid in leftovers(airflow_home):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _raise_stop(signum, frame):
    raise Stop(signal.Signals(signum).name)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.ui", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=DEMO, help="the demo's folder (default: .demo)")
    parser.add_argument("--host", default="127.0.0.1", help="address the UI listens on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="the UI's port (default: 8080)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    home = args.home.resolve()
    airflow_home = home / "airflow"
    logs = home / "logs" / "ui"
    check_port(args.host, args.port)
    base = f"http://{args.host}:{args.port}"
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    services: list[Service] = []
    standin = None
    try:
        home.mkdir(parents=True, exist_ok=True)
        library = generate_demo_library(seed=7)  # the demo's steps, as devtools.demo.main takes them
        catalogue = demo_catalogue(library, home / CATALOGUE_FILE)  # before the stand-in serves the library
        standin = StandIn(library, audio_features="forbidden").start()
        config_path = write_config(library, standin, home / "weekly-discovery.toml")
        env = airflow_env(demo_env(standin, config_path, home), airflow_home, args.host, args.port)
        print(f"Spotify stand-in at {standin.base_url} serving the demo library "
              f"({len(library.saved)} liked songs, {len(library.playlists)} playlists); config: {config_path}; "
              f"catalogue: {catalogue.rows:,} songs")
        print(f"starting Airflow on {airflow_home} (SQLite, LocalExecutor): api-server, scheduler, dag-processor, "
              f"triggerer; their logs in {logs}")
        services.append(start("db migrate", ["airflow", "db", "migrate"], env, logs / "db-migrate.log"))
        if services[0].process.wait() != 0:
            raise SystemExit(f"airflow db migrate failed\n{services[0].tail()}")
        services.clear()
        password = write_password(airflow_home)
        for name in SERVICES:
            services.append(start(name, ["airflow", name], env, logs / f"{name}.log"))
        wait_for(lambda: healthy(base), "the four services to be healthy", services)
        token = http_json(f"{base}/auth/token", method="POST", body={"username": USER, "password": password})
        unpaused, dags = unpause_asset_scheduled(base, token["access_token"], services)
        paused = sorted(d["dag_id"] for d in dags if d["dag_id"] not in unpaused and d["is_paused"])
        print(f"\nAirflow UI: {base}/")
        print(f"  sign in as {USER} with password {password}  (generated for this session)")
        print(f"  unpaused (they start when their input lands): {', '.join(unpaused)}")
        if paused:
            print(f"  paused: {', '.join(paused)}: nothing runs until you trigger it")
        print("  Dags > spotify_ingest > Trigger: the chain runs through the Assets; each task's Logs tab shows\n"
              "  its progress; the report is under Browse > Library reports. More: docs/ui.md")
        print("Ctrl-C stops everything.", flush=True)
        while True:
            for service in services:
                if service.process.poll() is not None:
                    raise SystemExit(f"{service.name} exited with {service.process.returncode}\n{service.tail()}")
            time.sleep(1)
    except Stop as stop:
        print(f"\n{stop}: stopping Airflow and the stand-in...", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(services, airflow_home)
        if standin is not None:
            standin.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    sys.exit(main())
