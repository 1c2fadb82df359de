"""``make ui``: the demo in the real Airflow UI: trigger the chain, watch it, read the task logs and the report.

Prepares the demo's home as ``make demo`` does (:mod:`devtools.demo`: the seeded library served by the Spotify
stand-in with Spotify's audio features forbidden, the generated catalogue file, the config, both connections, the small-job Spark
settings, ``.demo/airflow`` as ``AIRFLOW_HOME``), then runs Airflow's four services as ``make run`` does
(:mod:`weekly_discovery.service.airflow_services`: api-server, scheduler, dag-processor and triggerer as four
processes, LocalExecutor), with the demo's connection in the environment instead of the run home's store. The metadata database is
the demo's SQLite file (``.demo/airflow/airflow.db``), so the runs of an earlier ``make demo`` are there; on a
fresh home the UI starts empty. SQLite is fine for one person clicking through a demo; a real installation
uses PostgreSQL (docs/deploy.md).

Sign-in: Airflow's simple auth manager with one user, ``admin``, whose password is generated at each start,
printed once and kept only in ``<AIRFLOW_HOME>/ui-passwords.json`` (0600) (``make run`` keeps it across
starts instead). The JWT and session secrets are generated per start too: nothing secret is in the repository.

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
import sys
from datetime import UTC, datetime
from pathlib import Path

from devtools.demo import CATALOGUE_FILE, DEMO, REPO, demo_env, write_config
from devtools.standin import StandIn, generate_demo_library
from devtools.standin.catalogue import demo_catalogue
from weekly_discovery.airflow.policy import START_DATE_ENV
from weekly_discovery.service.airflow_services import (
    USER,
    AirflowServices,
    check_port,
    service_env,
    until_signal,
    write_password,
)


def airflow_env(env: dict[str, str], airflow_home: Path, host: str, port: int) -> dict[str, str]:
    """The demo's environment plus the four services' settings; the weekly schedule starts now."""
    env = service_env(env, airflow_home, host, port)
    # The weekly schedule starts now: unpausing spotify_ingest (the Trigger dialog does) then waits for next
    # Monday instead of also running last Monday's slot at once, so one press runs one chain.
    env.setdefault(START_DATE_ENV, datetime.now(UTC).isoformat(timespec="seconds"))
    return env


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
    check_port(args.host, args.port, "make ui UI_ARGS='--port {port}'")
    base = f"http://{args.host}:{args.port}"
    services: AirflowServices | None = None
    standin = None
    try:
        with until_signal("stopping Airflow and the stand-in..."):
            home.mkdir(parents=True, exist_ok=True)
            library = generate_demo_library(seed=7)  # the demo's steps, as devtools.demo.main takes them
            catalogue = demo_catalogue(library, home / CATALOGUE_FILE)  # before the stand-in serves the library
            standin = StandIn(library, audio_features="forbidden").start()
            config_path = write_config(library, standin, home / "weekly-discovery.toml")
            env = airflow_env(demo_env(standin, config_path, home), airflow_home, args.host, args.port)
            services = AirflowServices(env, airflow_home, logs, base)
            print(f"Spotify stand-in at {standin.base_url} serving the demo library "
                  f"({len(library.saved)} liked songs, {len(library.playlists)} playlists); config: {config_path}; "
                  f"catalogue: {catalogue.rows:,} songs")
            print(f"starting Airflow on {airflow_home} (SQLite, LocalExecutor): api-server, scheduler, "
                  f"dag-processor, triggerer; their logs in {logs}")
            services.migrate()
            password = write_password(airflow_home)
            token, dags = services.bring_up(password, REPO / "dags")
            # the DAGs scheduled on assets wait for data; spotify_ingest keeps the state a person gave it
            unpaused = services.unpause(token, services.asset_scheduled(token, dags))
            paused = sorted(d["dag_id"] for d in dags if d["dag_id"] not in unpaused and d["is_paused"])
            print(f"\nAirflow UI: {base}/")
            print(f"  sign in as {USER} with password {password}  (generated for this session)")
            print(f"  unpaused (they start when their input lands): {', '.join(unpaused)}")
            if paused:
                print(f"  paused: {', '.join(paused)}: nothing runs until you trigger it")
            print("  Dags > spotify_ingest > Trigger: the chain runs through the Assets; each task's Logs tab shows\n"
                  "  its progress; the report is under Browse > Library reports. More: docs/ui.md")
            print("Ctrl-C stops everything.", flush=True)
            services.watch()
    finally:
        if services is not None:
            services.stop()
        if standin is not None:
            standin.stop()
        print("stopped.", flush=True)
    return 0

if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    sys.exit(main())
