"""Whether a date's ``report.json`` is still current, so the report DAG can skip its Spark analysis.

The library report DAG runs twice a week for the same date: on ``tracks_enriched`` and again on the
weekly DAG's ``recommendations`` event, only so that the page gains its model section (which ``render``
reads from the lake itself). The analysis in ``report.json`` depends on nothing but date D of the Delta
table ``silver/tracks_enriched`` (and its ``_metrics.json``) and a few config values, so the second
spark-submit (13-18 s, most of it Spark's start-up) would compute the same numbers again.

The job records an **input fingerprint** in ``report.json`` (key ``fingerprint``), taken before it reads
a row: the data files the table's current version holds for D, as its Delta log lists them (path, size,
modification time: the log is read, no Parquet file is opened), the ``_metrics.json`` beside them (size,
modification time), the analysis settings (``[report]``, ``[model] features``), the configured reference
playlists, and the versions of the report and fingerprint formats. :func:`decide` takes the same
fingerprint now and compares: equal means the Spark task is skipped and ``render`` re-renders the page
from the existing ``report.json``.

Why the log's file list and not the table's history: a rerun of enrich for D commits new files (Delta
never rewrites a file in place), so D's list changes; a run of another date, a MERGE elsewhere or a
VACUUM of files no version uses leaves it as it was; and it is the table's state, which stays readable
after old commits leave the history (log retention), where "the newest commit that wrote D" would not.
A fingerprint taken before the read can only err towards recomputing (an input rewritten while the job
ran makes the next run compute again).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weekly_discovery.lake import TRACKS_ENRICHED, Lake, PartitionDate, Table, read_json
from weekly_discovery.lake import delta
from weekly_discovery.lake.storage import ObjectPath
from weekly_discovery.report.compute import REPORT_VERSION, ReportSettings
from weekly_discovery.report.paths import REPORT_JSON, report_dir
from weekly_discovery.settings.config import Config

FINGERPRINT_VERSION = 2  # 2: the Delta log's files of the date (1: a listing of the partition folder)
FINGERPRINT_KEY = "fingerprint"


def report_settings(config: Config) -> ReportSettings:
    """What the analysis is asked to compute, from ``[report]`` and ``[model] features`` (the job's only settings)."""
    r = config.report
    return ReportSettings(bin_width=r.bin_width, top_artist_min_tracks=r.top_artist_min_tracks,
                          strong_correlation=r.strong_correlation, correlation_features=tuple(config.model.features))


def side_files(partition: Path | ObjectPath) -> dict[str, dict[str, int]]:
    """``{name: {"size", "mtime_ns"}}`` of the files beside a date's data whose names start with ``_`` (its
    ``_metrics.json``): a listing only, no file is opened. Empty when there is no such folder."""
    if isinstance(partition, ObjectPath):
        found = {str(path.relative_to(partition)): {"size": int(info.size), "mtime_ns": int(info.mtime_ns)}
                 for path, info in partition.walk_files()}
        return {name: f for name, f in sorted(found.items()) if name.startswith("_") and "/" not in name}
    try:
        entries = list(os.scandir(partition))
    except FileNotFoundError:
        return {}
    files = {}
    for entry in entries:
        if entry.name.startswith("_") and entry.is_file(follow_symlinks=False):
            stat = entry.stat(follow_symlinks=False)
            files[entry.name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return dict(sorted(files.items()))


def date_files(lake: Lake, table: Table, ds: PartitionDate) -> dict[str, dict[str, int]]:
    """``{path: {"size", "mtime_ns"}}`` of the data files the table's current version holds for ``ds``, from
    its Delta log (paths relative to the table); empty when the table or the date has none."""
    import pyarrow as pa

    current = delta.open_table(lake, table)
    if current is None:
        return {}
    actions = pa.table(current.get_add_actions(flatten=True))  # an arro3 table, read through the Arrow C interface
    column = f"partition.{delta.DS}"
    if column not in actions.column_names:
        return {}
    files = {}
    for row in actions.select(["path", "size_bytes", "modification_time", column]).to_pylist():
        if row[column] == ds:
            files[row["path"]] = {"size": int(row["size_bytes"]), "mtime_ns": _epoch_ns(row["modification_time"])}
    return dict(sorted(files.items()))


def _epoch_ns(value: Any) -> int:
    """Delta's modificationTime (milliseconds since the epoch; a timestamp in some versions) in nanoseconds."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return int(value.timestamp() * 1_000_000) * 1000
    return int(value) * 1_000_000


def input_files(lake: Lake, ds: PartitionDate) -> dict[str, dict[str, int]]:
    """What the analysis of ``ds`` reads: date ``ds`` of ``silver/tracks_enriched`` (the log's files) and the
    ``_metrics.json`` beside it."""
    return {**date_files(lake, TRACKS_ENRICHED, ds), **side_files(lake.partition(TRACKS_ENRICHED, ds))}


def input_fingerprint(lake: Lake, ds: PartitionDate, config: Config) -> dict[str, Any]:
    """What the analysis of ``ds`` reads, as JSON: compared whole by :func:`decide`."""
    partition = lake.partition(TRACKS_ENRICHED, ds)
    return {
        "version": FINGERPRINT_VERSION,
        "report_version": REPORT_VERSION,
        "input": {"table": lake.relative(partition), "files": input_files(lake, ds)},
        "settings": report_settings(config).to_json(),
        "reference_sources": sorted(s.key for s in config.sources_in("reference")),
    }


@dataclass(frozen=True)
class Decision:
    """Whether the Spark analysis runs, and the sentence the task log gives as the reason."""

    run_analysis: bool
    reason: str


def decide(lake: Lake, ds: PartitionDate, config: Config, *, recompute: bool = False) -> Decision:
    """Run the analysis unless ``report.json`` of ``ds`` was computed from the input and settings there now."""
    path = report_dir(lake, ds) / REPORT_JSON
    if recompute:
        return Decision(True, f"the recompute param is set: the Spark analysis of ds={ds} runs again")
    try:
        report = read_json(path)
    except FileNotFoundError:
        return Decision(True, f"no report.json for ds={ds} yet: the Spark analysis runs")
    except ValueError as exc:  # truncated or hand-edited: computing again repairs it
        return Decision(True, f"{path} is not readable JSON ({exc}): the Spark analysis runs again")
    recorded = report.get(FINGERPRINT_KEY) if isinstance(report, Mapping) else None
    if not isinstance(recorded, Mapping):
        return Decision(True, f"report.json of ds={ds} records no input fingerprint (written by an older version): "
                              "the Spark analysis runs again")
    current = input_fingerprint(lake, ds, config)
    changes = differences(recorded, current)
    if changes:
        return Decision(True, f"report.json of ds={ds} is out of date ({'; '.join(changes)}): "
                              "the Spark analysis runs again")
    return Decision(False, f"report.json of ds={ds} is current (input unchanged since {_newest(current)}, "
                           f"settings unchanged; computed at {report.get('generated_at', '?')}): "
                           "the Spark analysis is skipped; render only")


def differences(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What changed between two fingerprints, one phrase each (empty: the same input)."""
    if recorded.get("version") != current["version"] or recorded.get("report_version") != current["report_version"]:
        return ["written by another version of the report job"]
    changes = []
    then, now = recorded.get("input") or {}, current["input"]
    if then.get("table") != now["table"]:
        changes.append(f"it was computed from {then.get('table')}, not {now['table']}")
    elif then.get("files") != now["files"]:
        changes.append(f"{now['table']} was rewritten since ({len(then.get('files') or {})} files then, "
                       f"{len(now['files'])} now; newest written {_newest(current)})")
    settings_then, settings_now = recorded.get("settings") or {}, current["settings"]
    changed = sorted(k for k in settings_then.keys() | settings_now.keys()
                     if settings_then.get(k) != settings_now.get(k))
    if changed:
        changes.append("settings changed: " + ", ".join(
            f"{k} {settings_then.get(k)!r} -> {settings_now.get(k)!r}" for k in changed))
    if recorded.get("reference_sources") != current["reference_sources"]:
        changes.append("the reference playlists in the config changed")
    return changes


def _newest(fingerprint: Mapping[str, Any]) -> str:
    """The newest modification time of the input's files, as a UTC timestamp (``?`` without files)."""
    times = [f["mtime_ns"] for f in fingerprint["input"]["files"].values()]
    if not times:
        return "?"
    return dt.datetime.fromtimestamp(max(times) / 1e9, dt.timezone.utc).isoformat(timespec="seconds")
