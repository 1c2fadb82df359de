"""The disk a lake takes after N weekly runs of the demo's chain (issue 28: the cache copied each week).

    .venv/bin/python -m benchmarks.lake_disk [--weeks 8] [--home /tmp/lake-disk]

Runs ``make demo``'s chain (devtools.demo: its generated library, config and ``airflow dags test`` runs) for
N consecutive Mondays, the person reacting between weeks as in the demo, then prints the lake's bytes per
layer and table, the total and the wall time, with the machine's load. It imports the demo from the tree it
runs in, so ``benchmarks/delta_before_after.py`` runs it in the pre-Delta tree too (the baseline).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import sys
import time
from pathlib import Path


def tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def playlist_of_the_week(demo, lake, ds: str) -> dict:
    """What the week published, in either tree: the Delta table's record, or the pre-Delta ``_publish.json``."""
    if hasattr(demo, "published_record"):
        return demo.published_record(lake, ds)
    from weekly_discovery.lake import PUBLISHED, read_json

    return read_json(lake.partition(PUBLISHED, ds) / "_publish.json")


def main(argv: list[str] | None = None) -> int:
    from devtools import demo, warm_airflow
    from devtools.standin import StandIn, generate_demo_library
    from weekly_discovery.lake.layout import Lake

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--home", default="/tmp/weekly-discovery-lake-disk")
    args = parser.parse_args(argv)
    home = Path(args.home)
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    started = time.monotonic()
    first = dt.date(2026, 10, 5)
    mondays = [(first + dt.timedelta(days=7 * i)).isoformat() for i in range(args.weeks)]
    library = generate_demo_library(seed=7)
    demo.demo_catalogue(library, home / demo.CATALOGUE_FILE)  # the demo's config names it
    with StandIn(library, audio_features="forbidden") as standin, contextlib.ExitStack() as stack, \
            contextlib.redirect_stdout(open(home / "chain.log", "w")):
        config_path = demo.write_config(library, standin, home / "weekly-discovery.toml")
        env = demo.demo_env(standin, config_path, home)
        env = stack.enter_context(warm_airflow.warm_server(env, home / "warm-airflow.log"))
        runs = [demo.airflow(["db", "migrate"], env, "db-migrate", home)]
        lake = Lake(str(home / "lake"))
        for week, day in enumerate(mondays, 1):
            demo.run_week(env, lake, standin, day, runs, first=week == 1)
            if week < len(mondays):
                published = playlist_of_the_week(demo, lake, day)
                library.react(published["playlist_id"], save=demo.REACTION[0], remove=demo.REACTION[1])
    root = Path(lake.root)
    print(f"lake after {args.weeks} weekly runs ({len(library.saved)} liked songs): {root}")
    for layer in sorted(p for p in root.iterdir() if p.is_dir()):
        for table in sorted(p for p in layer.iterdir() if p.is_dir()):
            print(f"  {layer.name}/{table.name}: {tree_bytes(table) / 1e6:.2f} MB")
    print(f"lake disk after {args.weeks} weeks: {tree_bytes(root) / 1e6:.1f} MB "
          f"(raw {tree_bytes(root / 'raw') / 1e6:.1f} MB); {time.monotonic() - started:.0f} s wall, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
