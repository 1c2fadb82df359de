"""Serve the demo library until SIGTERM/SIGINT.

    python -m devtools.standin --port 8765 --print-connection --write-config demo.toml

Prints ``standin listening on http://HOST:PORT`` once it accepts requests (scripts wait for that
line), then, with ``--print-connection``, the Airflow connection JSON for ``AIRFLOW_CONN_...``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from devtools.standin.library import generate_demo_library, write_demo_config
from devtools.standin.server import StandIn

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.standin", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=7, help="seed of the demo library")
    parser.add_argument("--tracks", type=int, default=3000, help="catalogue size of the demo library")
    parser.add_argument("--audio-features", choices=("ok", "forbidden"), default="ok",
                        help="'forbidden' answers /audio-features with 403, like apps created after Nov 2024")
    parser.add_argument("--print-connection", action="store_true", help="print the Airflow connection JSON")
    parser.add_argument("--write-config", metavar="PATH", help="write the demo user's pipeline config (TOML) here")
    parser.add_argument("--log-level", default="WARNING", help="DEBUG logs every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    library = generate_demo_library(seed=args.seed, n_tracks=args.tracks)
    if args.write_config:
        path = write_demo_config(library, args.write_config)
        logger.info("wrote demo config to %s", path)

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())

    with StandIn(library, host=args.host, port=args.port, audio_features=args.audio_features) as standin:
        print(f"standin listening on {standin.base_url}", flush=True)
        if args.print_connection:
            print(standin.connection_json(), flush=True)
        stopping.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
