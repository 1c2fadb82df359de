"""The run home of ``make run``: one folder that persists across restarts, and the credential store in it.

    <home>/airflow/           AIRFLOW_HOME: the metadata database (SQLite), airflow.cfg, task logs, ui-passwords.json
    <home>/logs/              the services' own output (scheduler.log, api-server.log, ...)
    <home>/lake/              the lake, unless the config's [lake] root or $WEEKLY_DISCOVERY_LAKE names another
    <home>/secrets/connections.json
                              the Spotify connection ``make spotify-auth`` stored (0600, in a 0700 folder), read
                              by Airflow's LocalFilesystemBackend secrets backend
    <home>/run.lock           held (flock) by the running ``make run``; says its pid and address

The home is ``$WEEKLY_DISCOVERY_HOME``, else ``$XDG_DATA_HOME/weekly-discovery``, else
``~/.local/share/weekly-discovery``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HOME_ENV = "WEEKLY_DISCOVERY_HOME"
#: Airflow's secrets backend that reads connections from a JSON file (no database, no service).
LOCAL_FILESYSTEM_BACKEND = "airflow.secrets.local_filesystem.LocalFilesystemBackend"
#: Extra field beside the refresh token: when the user gave consent (Spotify's tokens expire six months later).
AUTHORIZED_AT = "authorized_at"


@dataclass(frozen=True)
class RunHome:
    root: Path

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def connections_file(self) -> Path:
        return self.root / "secrets" / "connections.json"

    @property
    def lock_file(self) -> Path:
        return self.root / "run.lock"

    @property
    def database(self) -> Path:
        return self.airflow_home / "airflow.db"

    def secrets_backend_env(self) -> dict[str, str]:
        """The Airflow settings that make every service and task read connections from the store."""
        return {
            "AIRFLOW__SECRETS__BACKEND": LOCAL_FILESYSTEM_BACKEND,
            "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_file_path": str(self.connections_file)}),
        }


def resolve_home(env: Mapping[str, str] | None = None) -> RunHome:
    env = os.environ if env is None else env
    value = env.get(HOME_ENV)
    if not value:
        data = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
        value = str(Path(data) / "weekly-discovery")
    return RunHome(Path(value).expanduser().resolve())


def read_connections(path: Path) -> dict[str, Any]:
    """The store's connections by id ({} when there is no store yet)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno}): run `make spotify-auth` "
                         "again to write it anew") from None


def store_connection(path: Path, conn_id: str, connection: Mapping[str, Any]) -> None:
    """Put ``connection`` under ``conn_id`` in the store, replacing an earlier one, keeping the others.

    The new file is created 0600 beside the old one (in a 0700 folder) and renamed over it: a reader sees
    the old store or the new one, and the secret is never readable by others, not even for a moment.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    connections = read_connections(path)
    connections[conn_id] = dict(connection)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(connections, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def authorized_at(connection: Mapping[str, Any]) -> datetime | None:
    """When consent was given for the connection's refresh token (None if the store does not say)."""
    extra = connection.get("extra") or {}
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except json.JSONDecodeError:
            return None
    value = extra.get(AUTHORIZED_AT) if isinstance(extra, dict) else None
    try:
        return datetime.fromisoformat(value).astimezone(UTC) if value else None
    except ValueError:
        return None
