"""``python -m weekly_discovery.service run|stop|status``: what ``make run``, ``make stop`` and ``make status`` run."""

from __future__ import annotations

import argparse
import sys

from weekly_discovery.service import run, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m weekly_discovery.service",
                                     description="Weekly Discovery's Airflow as a service on this machine")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("run", help="start Airflow with your config; Ctrl-C or `stop` stops it")
    start.add_argument("--config", help="the config file (else $WEEKLY_DISCOVERY_CONFIG, else ./weekly-discovery.toml)")
    start.add_argument("--host", default="127.0.0.1", help="address the UI listens on (default: 127.0.0.1)")
    start.add_argument("--port", type=int, default=8080, help="the UI's port (default: 8080)")
    commands.add_parser("stop", help="stop the running `run` of this home")
    show = commands.add_parser("status", help="what ran, the playlist's week, the next run, the token's age")
    show.add_argument("--config", help="the config file (as for run)")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run.run(args)
    if args.command == "stop":
        return run.stop(args)
    return status.status(args.config)


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    sys.exit(main())
