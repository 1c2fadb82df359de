"""A Delta table's log read as the files it is (``_delta_log/<version>.json``, one JSON action a line).

Tests use it to check what a commit did (which dates it touched, which files it added or removed) without
going through delta-rs or Spark, the code under test. Local tables only; the tables of the tests are small,
with no checkpoint (a checkpoint would hide earlier actions: :func:`live_files` refuses to guess).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import unquote

from weekly_discovery.lake.layout import Lake, Table

LOG_NAME = re.compile(r"^(\d{20})\.json$")


def log_folder(lake: Lake, table: Table) -> Path:
    return Path(lake.table(table), "_delta_log")


def log_versions(lake: Lake, table: Table) -> list[int]:
    """The versions committed to ``table`` (its ``_delta_log/<version>.json`` files), oldest first."""
    folder = log_folder(lake, table)
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for m in map(LOG_NAME.match, os.listdir(folder)) if m)


def log_actions(lake: Lake, table: Table, version: int) -> list[dict]:
    """The actions of one commit (``commitInfo``, ``add``, ``remove``, ``metaData``...), one dict each."""
    path = log_folder(lake, table) / f"{version:020d}.json"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def commit_info(lake: Lake, table: Table, version: int) -> dict:
    """One commit's ``commitInfo``, with the keys of its ``userMetadata`` JSON (where Spark's writes put the
    run and the date; delta-rs's put them at the top level) merged in."""
    [info] = [a["commitInfo"] for a in log_actions(lake, table, version) if "commitInfo" in a]
    user = info.get("userMetadata")
    return {**json.loads(user), **info} if isinstance(user, str) and user.startswith("{") else info


def touched_dates(lake: Lake, table: Table, version: int) -> set[str]:
    """The ``ds`` of every file one commit added or removed."""
    return {action[kind]["partitionValues"]["ds"] for action in log_actions(lake, table, version)
            for kind in ("add", "remove") if kind in action}


def live_files(lake: Lake, table: Table, ds: str | None = None) -> set[str]:
    """The data files of the table's latest version (of date ``ds`` only, when given), as absolute paths:
    every ``add`` of the log not removed by a later ``remove``."""
    folder = Path(lake.table(table))
    assert not list(log_folder(lake, table).glob("*.checkpoint*")), "the log has a checkpoint: replay it too"
    live: dict[str, dict] = {}
    for version in log_versions(lake, table):
        for action in log_actions(lake, table, version):
            if "add" in action:
                live[action["add"]["path"]] = action["add"]
            elif "remove" in action:
                live.pop(action["remove"]["path"], None)
    return {str(folder / unquote(path)) for path, add in live.items()
            if ds is None or add["partitionValues"].get("ds") == ds}


def data_files_on_disk(lake: Lake, table: Table, ds: str | None = None) -> set[str]:
    """Every Parquet data file under the table's folder (of date ``ds``), whether the table uses it or not."""
    folder = Path(lake.table(table)) if ds is None else Path(lake.partition(table, ds))
    if not folder.is_dir():
        return set()
    return {str(Path(top, name)) for top, _, names in os.walk(folder) for name in names
            if name.endswith(".parquet") and not name.startswith((".", "_")) and "_delta_log" not in top}
