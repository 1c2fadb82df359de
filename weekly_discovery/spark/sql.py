"""SQL over your lake: every Delta table registered by a short name, in ``spark-sql`` or for one query.

    make sql                                    # spark-sql on the demo's lake (or $WEEKLY_DISCOVERY_LAKE)
    make sql Q="SELECT count(*) FROM tracks"    # one query, its result printed as a table
    make sql LAKE=/path/to/lake Q="..."
    python -m weekly_discovery.spark.sql --lake ... -e "<query>" -e "<query>" --format json   # for scripts

The names are :data:`VIEWS` (``tracks``, ``tracks_enriched``, ``audio_features``, ``candidates``, ``scores``,
``recommendations``, ``picks``, ...): temporary views over ``delta.`<table folder>``` created when the session
starts, so nothing is written to the lake or to a metastore. A table the lake does not hold yet (no run
has written it) is left out, with a note. Every dated table has its ``ds`` column. docs/sql.md gives the
2016 post's queries.

Which lake: ``--lake``, else ``$WEEKLY_DISCOVERY_LAKE``, else the lake of ``$WEEKLY_DISCOVERY_CONFIG``, else
the demo's (``.demo/lake``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from weekly_discovery.core.errors import UserError
from weekly_discovery.lake import Lake
from weekly_discovery.lake import layout as L

VIEWS: Mapping[str, L.Table] = {
    "bronze_items": L.BRONZE_ITEMS,
    "tracks": L.SILVER_TRACKS,
    "quarantine_items": L.QUARANTINE_ITEMS,
    "audio_features": L.AUDIO_FEATURES,
    "tracks_enriched": L.TRACKS_ENRICHED,
    "quarantine_features": L.QUARANTINE_FEATURES,
    "candidates": L.CANDIDATES,
    "album_tracks": L.ALBUM_TRACKS,
    "scores": L.SCORES,
    "recommendations": L.RECOMMENDATIONS,
    "picks": L.PICKS,
    "removed_picks": L.REMOVED_PICKS,
    "published": L.PUBLISHED,
}
DEMO_LAKE = Path(__file__).resolve().parents[2] / ".demo" / "lake"
MAX_ROWS = 1000


class SqlError(UserError, RuntimeError):
    """No lake to open."""


def resolve_lake(explicit: str | None, env: Mapping[str, str] | None = None) -> str:
    from weekly_discovery.settings.config import CONFIG_ENV, LAKE_ENV, load_config

    env = os.environ if env is None else env
    if explicit:
        return explicit
    if env.get(LAKE_ENV):
        return env[LAKE_ENV]
    if env.get(CONFIG_ENV):
        return load_config(env[CONFIG_ENV], env=env).lake_root
    if DEMO_LAKE.is_dir():
        return str(DEMO_LAKE)
    raise SqlError(f"no lake given: pass LAKE=<folder or URI> (or set {LAKE_ENV} or {CONFIG_ENV}), "
                   "or run `make demo` first to query the demo's lake")


def view_statements(lake: Lake) -> tuple[list[str], list[str]]:
    """``CREATE TEMPORARY VIEW`` statements for the tables the lake holds, and the names it does not hold yet."""
    from weekly_discovery.lake import delta

    statements, missing = [], []
    for name, table in VIEWS.items():
        if delta.exists(lake, table):
            path = str(lake.table(table)).replace("`", "``")
            statements.append(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS SELECT * FROM delta.`{path}`")
        else:
            missing.append(name)
    return statements, missing


def run_queries(lake: Lake, queries: Sequence[str], fmt: str = "table", max_rows: int = MAX_ROWS) -> None:
    """Print each query's result: a text table (Spark's ``show``, values not cut, at most ``max_rows`` rows), or
    with ``fmt="json"`` one JSON array of row objects per query, one per line (for scripts)."""
    import json

    from weekly_discovery.spark.session import get_spark

    spark = get_spark("weekly-discovery-sql", {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "1"})
    statements, _ = view_statements(lake)
    for statement in statements:
        spark.sql(statement)
    for query in queries:
        frame = spark.sql(query)
        if fmt == "json":
            rows = [row.asDict(recursive=True) for row in frame.limit(max_rows).collect()]
            print(json.dumps(rows, default=str), flush=True)
        else:
            frame.show(max_rows, truncate=False)


def shell(lake: Lake) -> int:
    """``spark-sql`` with the views created by its init file (``-i``)."""
    from weekly_discovery.spark.delta import SESSION_CONF

    statements, _ = view_statements(lake)
    spark_home = os.environ.get("SPARK_HOME") or str(Path(__import__("pyspark").__file__).parent)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="weekly-discovery-views-", delete=False) as init:
        init.write("".join(f"{s};\n" for s in statements))
    try:
        conf = [arg for key, value in {**SESSION_CONF, "spark.ui.enabled": "false",
                                        "spark.sql.session.timeZone": "UTC"}.items()
                for arg in ("--conf", f"{key}={value}")]
        return subprocess.call([str(Path(spark_home, "bin", "spark-sql")), *conf, "-i", init.name])
    finally:
        os.unlink(init.name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SQL over the lake's Delta tables")
    parser.add_argument("--lake", help="the lake's folder or URI (default: see this module's docstring)")
    parser.add_argument("-e", "--query", action="append", default=[],
                        help="run a query and print its result (again for several); without it: open spark-sql")
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="how -e prints a result: a text table, or a JSON array of rows on one line")
    args = parser.parse_args(argv)
    try:
        lake = Lake(resolve_lake(args.lake))
    except SqlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    statements, missing = view_statements(lake)
    print(f"lake {lake.root}: {len(statements)} tables ({', '.join(n for n in VIEWS if n not in missing)})",
          file=sys.stderr)
    if missing:
        print(f"not written yet: {', '.join(missing)}", file=sys.stderr)
    if args.query:
        run_queries(lake, args.query, args.format)
        return 0
    return shell(lake)


if __name__ == "__main__":
    sys.exit(main())
