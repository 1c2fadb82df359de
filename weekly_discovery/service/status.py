"""``make status``: is it running, what ran last, which week the playlist holds, when the next run is, and how
old the Spotify authorization is.

Reads the run home only (no service needs to be up): the metadata database (SQLite, read-only), the lake's
``gold/published`` table, the credential store's consent date and ``run.lock``. Nothing secret is printed.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from weekly_discovery.service.home import RunHome, authorized_at, read_connections, resolve_home
from weekly_discovery.core.errors import UserError
from weekly_discovery.lake import PUBLISHED, Lake
from weekly_discovery.lake.delta import read_rows
from weekly_discovery.service.run import RunLock, checked_config, config_path
from weekly_discovery.spotify.authorize import DEFAULT_CONNECTION_ID, TOKEN_LIFETIME

DAG_IDS = ("spotify_ingest", "spotify_discover", "spotify_enrich", "library_report", "weekly_recommendations")
#: `make status` asks for a new authorization this long before the refresh token expires.
RENEW_WARNING = timedelta(weeks=4)


def _when(value: str | None) -> datetime | None:
    """A time as Airflow's SQLite database stores it (UTC, no zone)."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None


def _show(moment: datetime | None) -> str:
    return moment.strftime("%a %Y-%m-%d %H:%M UTC") if moment else "-"


def months_ago(then: datetime, now: datetime) -> str:
    days = (now - then).days
    if days < 31:
        return "today" if days == 0 else f"{days} day{'s' if days > 1 else ''} ago"
    months = days // 30
    return f"{months} month{'s' if months > 1 else ''} ago"


def dag_lines(database: Path) -> list[str]:
    """The last run of each DAG and the next scheduled one, from the metadata database."""
    if not database.exists():
        return [f"no Airflow database yet ({database}): `make run` creates it"]
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        lines = ["last runs:"]
        for dag_id in DAG_IDS:
            row = db.execute("SELECT state, run_type, logical_date, run_after, end_date FROM dag_run "
                             "WHERE dag_id = ? ORDER BY run_after DESC LIMIT 1", (dag_id,)).fetchone()
            if row is None:
                lines.append(f"  {dag_id:<24} never ran")
                continue
            state, run_type, logical, run_after, ended = row
            lines.append(f"  {dag_id:<24} {state:<8} {run_type:<15} for {_show(_when(logical or run_after))}"
                         f", ended {_show(_when(ended))}")
        row = db.execute("SELECT is_paused, next_dagrun_create_after FROM dag WHERE dag_id = 'spotify_ingest'"
                         ).fetchone()
    if row is None:
        lines.append("next scheduled run: - (the DAGs were never parsed: `make run`)")
    else:
        paused, next_run = row
        lines.append(f"next scheduled run: spotify_ingest at {_show(_when(next_run))}"
                     + (" (but spotify_ingest is paused)" if paused else ""))
    return lines


def playlist_line(lake_root: str) -> str:
    rows = read_rows(Lake(lake_root), PUBLISHED, columns=["ds", "playlist_name", "tracks", "dry_run", "skipped"])
    published = sorted((r for r in rows if not r["dry_run"] and not r["skipped"]), key=lambda r: r["ds"])
    if not published:
        return f"playlist: nothing published yet (lake {lake_root})"
    last = published[-1]
    return (f"playlist: {last['playlist_name']!r} holds the week of {last['ds']} ({last['tracks']} songs; "
            f"{len(published)} week{'s' if len(published) > 1 else ''} published, lake {lake_root})")


def credential_line(home: RunHome, conn_id: str, now: datetime) -> str:
    store = home.connections_file
    try:
        stored = read_connections(store).get(conn_id)
    except ValueError as exc:
        return f"Spotify connection: {exc}"
    if stored is None:
        return f"Spotify connection {conn_id}: not in {store}; run `make spotify-auth`"
    given = authorized_at(stored)
    if given is None:
        return f"Spotify connection {conn_id}: stored without its consent date; `make spotify-auth` records it"
    expires = given + TOKEN_LIFETIME
    left = expires - now
    text = f"Spotify refresh token given {months_ago(given, now)} ({given.date()})"
    if left <= timedelta(0):
        return f"{text}: it expired about {expires.date()}; renew it now with `make spotify-auth`"
    if left <= RENEW_WARNING:
        weeks = max(1, left.days // 7)
        return f"{text}: renew with `make spotify-auth` within {weeks} week{'s' if weeks > 1 else ''} (it expires about {expires.date()})"
    return f"{text}: valid until about {expires.date()} (renew with `make spotify-auth` before then)"


def status_lines(config: str | None, env: Mapping[str, str], cwd: Path, now: datetime) -> list[str]:
    home = resolve_home(env)
    held = RunLock(home.lock_file).holder()
    lines = [f"Weekly Discovery (home {home.root}): "
             + (f"running, pid {held.get('pid')}, UI at {held.get('address', '(starting)')}" if held is not None
                else "not running")]
    lines += dag_lines(home.database)
    conn_id = DEFAULT_CONNECTION_ID
    try:
        checked, _ = checked_config(config_path(config, env, cwd), home, env)
        conn_id = checked.spotify_connection_id
        lines.append(playlist_line(checked.lake_root))
    except UserError as exc:
        lines.append(f"playlist: unknown ({exc})")
    lines.append(credential_line(home, conn_id, now))
    return lines


def status(config: str | None) -> int:
    print("\n".join(status_lines(config, os.environ, Path.cwd(), datetime.now(UTC))))
    return 0
