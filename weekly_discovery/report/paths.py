"""Where reports live, which lake a web request reads, and the ``latest`` pointer.

Layout (built on :mod:`weekly_discovery.lake.layout`)::

    reports/library/ds=<YYYY-MM-DD>/report.json   the numbers (jobs/report.py)
    reports/library/ds=<YYYY-MM-DD>/index.html    the page (render.py)
    reports/library/latest.json                   {"ds": "<newest date with an index.html>"}

The reports are files, not a Delta table: each is written with
:func:`~weekly_discovery.lake.write_atomic` (a temporary file renamed into place, one PUT on object
storage), ``index.html`` last, so a date folder counts as a report once its ``index.html`` is there.

The web plugin only ever turns a date into a path through :func:`report_file`, which accepts a
``YYYY-MM-DD`` date and a fixed file name, and checks that the resolved path stays inside the
reports table (so neither ``..`` nor a symlink can lead elsewhere).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from weekly_discovery.lake import REPORTS, Lake, LakeError, parse_ds, read_json, write_atomic
from weekly_discovery.settings.config import CONFIG_ENV, CONFIG_VARIABLE, LAKE_ENV, ConfigError, load_config

REPORT_JSON = "report.json"
INDEX_HTML = "index.html"
LATEST = "latest.json"
SERVED_FILES = (INDEX_HTML, REPORT_JSON)


def reports_table(lake: Lake) -> Path:
    return lake.table(REPORTS)


def report_dir(lake: Lake, ds: str) -> Path:
    """The folder of one date's report files (not a table partition: the reports are plain files)."""
    return reports_table(lake) / f"ds={parse_ds(ds)}"


def report_file(lake: Lake, ds: str, name: str = INDEX_HTML) -> Path:
    """The path of a report's file, for a date given by a user (a URL). Raises LakeError if unsafe."""
    if name not in SERVED_FILES:
        raise LakeError(f"not a report file: {name!r}")
    ds = parse_ds(ds)  # the pattern, then a real calendar date (2026-13-45 is refused)
    table = reports_table(lake).resolve()
    path = (report_dir(lake, ds) / name).resolve()
    if not path.is_relative_to(table) or path.parent.parent != table:
        raise LakeError(f"report path for {ds!r} points outside {table}")
    return path


def list_reports(lake: Lake) -> list[str]:
    """Dates with a rendered report (``index.html``), newest first."""
    dates = []
    for folder in reports_table(lake).glob("ds=*"):  # no folder yet: nothing (locally and on object storage)
        try:
            dates.append(parse_ds(folder.name[len("ds="):]))
        except LakeError:
            continue  # not a date folder of ours
    return [ds for ds in sorted(dates, reverse=True) if (report_dir(lake, ds) / INDEX_HTML).is_file()]


def read_latest(lake: Lake) -> str | None:
    """The ``latest`` pointer's date, if the pointer exists and its report is there."""
    path = reports_table(lake) / LATEST
    try:
        ds = parse_ds(str(read_json(path).get("ds")))
    except (FileNotFoundError, ValueError, AttributeError):
        return None
    return ds if (report_dir(lake, ds) / INDEX_HTML).is_file() else None


def update_latest(lake: Lake) -> str | None:
    """Point ``latest.json`` at the newest rendered report; written atomically (temp file + rename)."""
    dates = list_reports(lake)
    if not dates:
        return None
    write_atomic(reports_table(lake) / LATEST, (json.dumps({"ds": dates[0]}) + "\n").encode())
    return dates[0]


def resolve_lake(
    env: Mapping[str, str] | None = None,
    variable_getter: Callable[[str], str | None] | None = None,
) -> Lake:
    """The lake the pipeline writes to, by the pipeline's own rules, for code outside a task (the web plugin).

    ``$WEEKLY_DISCOVERY_LAKE`` wins; else the config file from ``$WEEKLY_DISCOVERY_CONFIG`` (or the
    Airflow Variable ``weekly_discovery_config`` when ``variable_getter`` is given) and its ``[lake] root``.
    Raises :class:`ConfigError` saying what to set.
    """
    env = os.environ if env is None else env
    if env.get(LAKE_ENV):
        return Lake(env[LAKE_ENV])
    path = env.get(CONFIG_ENV) or (variable_getter(CONFIG_VARIABLE) if variable_getter else None)
    if not path:
        raise ConfigError(f"no lake configured for the reports: set {LAKE_ENV} or {CONFIG_ENV} (or the Airflow "
                          f"Variable {CONFIG_VARIABLE}) in the api-server's environment")
    return load_config(path, env=env).lake


def describe(report: Mapping[str, Any]) -> str:
    """A one-line description of a report for the list page."""
    library = report.get("coverage", {}).get("library", {})
    return f"{library.get('tracks', '?')} tracks, {library.get('with_features', '?')} with features"


UI_PREFIX = "/weekly-discovery"
"""Where the Airflow plugin mounts its FastAPI app on the api-server."""


def ui_route(ds: str) -> str:
    """The path of a report's page on the api-server (under ``[api] base_url``)."""
    return f"{UI_PREFIX}/reports/{parse_ds(ds)}/"
