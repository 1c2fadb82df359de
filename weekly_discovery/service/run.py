"""``make run``: Weekly Discovery's Airflow on your machine, every Monday, until Ctrl-C or ``make stop``.

    python -m weekly_discovery.service run [--config FILE] [--port 8080]   # what `make run` runs
    python -m weekly_discovery.service stop                                # what `make stop` runs

Checks before anything starts (exit 2, one message): the config file (``--config``, else
``$WEEKLY_DISCOVERY_CONFIG``, else ``./weekly-discovery.toml``) and the Spotify connection it names, in the run
home's store (``make spotify-auth``) or in ``AIRFLOW_CONN_<ID>``. Then, in the run home
(:mod:`weekly_discovery.service.home`: the metadata database, logs, the lake unless the config names
one, the credential store), it starts Airflow's four services (:mod:`weekly_discovery.service.airflow_services`)
with the Spark settings of this installation (its pyspark, its Python, ``spark_default`` = ``local[2]``
unless ``AIRFLOW_CONN_SPARK_DEFAULT`` says otherwise), unpauses every DAG, prints the address and how to sign
in once, and watches the services. ``spotify_ingest`` runs every Monday at 06:00 UTC; the others follow on
their assets. A missed Monday (the machine was off) runs once when the scheduler is back (docs/run.md).

One ``make run`` per home: it holds ``<home>/run.lock`` (flock) while it runs, with its pid and address in it;
a second one says so and exits 1. ``make stop`` sends SIGTERM to that pid only and waits for the lock to be
released; the runner then stops what it started and nothing else.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from weekly_discovery.service.home import RunHome, read_connections, resolve_home
from weekly_discovery.core.errors import UserError
from weekly_discovery.service.airflow_services import (
    PASSWORDS_FILE,
    USER,
    AirflowServices,
    check_port,
    kept_password,
    service_env,
    until_signal,
)
from weekly_discovery.settings.config import CONFIG_ENV, LAKE_ENV, Config, load_config
from weekly_discovery.spotify.credentials import SpotifyCredentials

REPO = Path(__file__).resolve().parents[2]
DAGS, PLUGINS = REPO / "dags", REPO / "plugins"
DEFAULT_CONFIG = "weekly-discovery.toml"
SPARK_LOCAL = json.dumps({"conn_type": "spark", "host": "local[2]"})
STOP_TIMEOUT = 180


class RunError(UserError):
    """Something to fix before ``make run`` can start; the message says what."""


def config_path(given: str | None, env: Mapping[str, str], cwd: Path) -> Path:
    value = given or env.get(CONFIG_ENV)
    if value:
        return Path(value).expanduser().resolve()
    path = cwd / DEFAULT_CONFIG
    if not path.is_file():
        raise RunError(f"no config file: pass CONFIG=~/weekly-discovery.toml (or set {CONFIG_ENV}, or put "
                       f"{DEFAULT_CONFIG} in {cwd}); start from weekly-discovery.example.toml")
    return path


def checked_config(path: Path, home: RunHome, env: Mapping[str, str]) -> tuple[Config, str | None]:
    """The config, read as the tasks will read it; and the lake folder ``make run`` sets when the config names
    none (``<home>/lake``)."""
    config = load_config(path, env)
    lake_default = None
    if not env.get(LAKE_ENV) and not (config.raw.get("lake") or {}).get("root"):
        lake_default = str(home.lake)
        config = load_config(path, {**env, LAKE_ENV: lake_default})
    return config, lake_default


def check_connection(conn_id: str, home: RunHome, env: Mapping[str, str]) -> str:
    """Where the Spotify connection comes from; :class:`RunError` if it is missing or incomplete."""
    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    if env.get(variable):
        return f"${variable}"
    store = home.connections_file
    if store.exists() and store.stat().st_mode & 0o077:
        raise RunError(f"{store} is readable by others: `chmod 600 {store}` (it holds your Spotify secret)")
    try:
        stored = read_connections(store).get(conn_id)
    except ValueError as exc:
        raise RunError(str(exc)) from None
    if stored is None:
        raise RunError(f"no Spotify connection {conn_id!r} in {store}: run `make spotify-auth` first (it stores "
                       f"it there), or set {variable}")
    SpotifyCredentials.from_connection_fields(conn_id, stored.get("login"), stored.get("password"),
                                              stored.get("extra"))
    return str(store)


def run_env(home: RunHome, config: Config, lake_default: str | None, env: Mapping[str, str]) -> dict[str, str]:
    """The environment every service and task gets: Airflow's home and folders, the credential store, Spark."""
    import pyspark

    env = dict(env)
    env.update(
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(PLUGINS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        **home.secrets_backend_env(),
    )
    env[CONFIG_ENV] = str(config.path)
    if lake_default:
        env[LAKE_ENV] = lake_default
    env.setdefault("AIRFLOW_CONN_SPARK_DEFAULT", SPARK_LOCAL)
    env.setdefault("SPARK_HOME", str(Path(pyspark.__file__).parent))
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return env


class RunLock:
    """``<home>/run.lock``: held (flock) by the running ``make run``; its JSON says the pid and the address."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        self._fh = fh
        self.write({"pid": os.getpid(), "started": datetime.now(UTC).isoformat(timespec="seconds")})
        return True

    def write(self, info: Mapping[str, Any]) -> None:
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(json.dumps(dict(info)))
        self._fh.flush()

    def release(self) -> None:
        if self._fh is not None:
            self._fh.seek(0)
            self._fh.truncate()
            self._fh.close()  # closing releases the flock
            self._fh = None

    def holder(self) -> dict[str, Any] | None:
        """What the running ``make run`` wrote, or None when none holds the lock."""
        try:
            fh = open(self.path)
        except FileNotFoundError:
            return None
        with fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    return json.loads(fh.read() or "{}")
                except ValueError:
                    return {}
            fcntl.flock(fh, fcntl.LOCK_UN)
            return None


def run(args: argparse.Namespace) -> int:
    env = os.environ
    home = resolve_home(env)
    try:
        path = config_path(args.config, env, Path.cwd())
        config, lake_default = checked_config(path, home, env)
        source = check_connection(config.spotify_connection_id, home, env)
        if not DAGS.is_dir():
            raise RunError(f"no DAG folder at {DAGS}: run make run from a clone of the repository")
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    lock = RunLock(home.lock_file)
    if not lock.acquire():
        held = lock.holder() or {}
        print(f"Weekly Discovery is already running on this home ({home.root}): pid {held.get('pid', '?')}, "
              f"UI at {held.get('address', '(starting)')}. `make stop` stops it.", file=sys.stderr)
        return 1
    base = f"http://{args.host}:{args.port}"
    try:
        check_port(args.host, args.port, "make run RUN_ARGS='--port {port}'")
    except SystemExit as exc:
        lock.release()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    services = None
    try:
        with until_signal("stopping Airflow..."):
            airflow_home = home.airflow_home
            env = service_env(run_env(home, config, lake_default, env), airflow_home, args.host, args.port)
            services = AirflowServices(env, airflow_home, home.logs, base)
            print(f"Weekly Discovery: config {config.path}; Spotify connection {config.spotify_connection_id} "
                  f"from {source}; lake {config.lake_root}")
            print(f"starting Airflow in {home.root} (SQLite, LocalExecutor): api-server, scheduler, "
                  f"dag-processor, triggerer; their logs in {home.logs}")
            services.migrate()
            password = kept_password(airflow_home)
            token, dags = services.bring_up(password, DAGS)
            unpaused = services.unpause(token, [d["dag_id"] for d in dags])
            ingest = services.api("dags/spotify_ingest", token)
            lock.write({"pid": os.getpid(), "address": f"{base}/",
                        "started": datetime.now(UTC).isoformat(timespec="seconds")})
            print(f"\nWeekly Discovery is running. Airflow UI: {base}/")
            print(f"  sign in as {USER} with the password in {airflow_home / PASSWORDS_FILE} (kept across restarts)")
            print(f"  unpaused: {', '.join(unpaused)}")
            print(f"  spotify_ingest runs every Monday at 06:00 UTC (next: {ingest.get('next_dagrun_run_after')}); "
                  "the other DAGs follow on their assets")
            print("Ctrl-C or `make stop` stops everything; `make status` says what ran.", flush=True)
            services.watch()
    finally:
        if services is not None:
            services.stop()
        lock.release()
        print("stopped.", flush=True)
    return 0


def stop(args: argparse.Namespace) -> int:
    home = resolve_home()
    lock = RunLock(home.lock_file)
    held = lock.holder()
    if held is None:
        print(f"Weekly Discovery is not running (home {home.root}).")
        return 0
    pid = held.get("pid")
    if not isinstance(pid, int):
        print(f"{home.lock_file} is held but names no pid: stop that make run with Ctrl-C", file=sys.stderr)
        return 1
    print(f"stopping Weekly Discovery (pid {pid})...", flush=True)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + STOP_TIMEOUT
    while lock.holder() is not None:
        if time.monotonic() > deadline:
            print(f"still running after {STOP_TIMEOUT} s (pid {pid})", file=sys.stderr)
            return 1
        time.sleep(0.5)
    print("stopped.")
    return 0
