"""Whether a date's ``report.json`` is still current, so the report DAG can skip its Spark analysis.

The library report DAG runs twice a week for the same date: on ``tracks_enriched`` and again on the
weekly DAG's ``recommendations`` event, only so that the page gains its model section (which ``render``
reads from the lake itself). The analysis in ``report.json`` depends on nothing but
``silver/tracks_enriched/ds=D`` and a few config values, so the second spark-submit (13-18 s, most of it
Spark's start-up) would compute the same numbers again.

The job records an **input fingerprint** in ``report.json`` (key ``fingerprint``), taken before it reads
a row: the enriched partition's file listing (name, size, modification time: a directory listing, no
Parquet is opened; a rewrite by enrich gives new part-file names, sizes and times, and on object storage
a new commit marker), the analysis settings (``[report]``, ``[model] features``), the configured
reference playlists, and the versions of the report and fingerprint formats. :func:`decide` takes the
same fingerprint now and compares: equal means the Spark task is skipped and ``render`` re-renders the
page from the existing ``report.json``. A fingerprint taken before the read can only err towards
recomputing (an input rewritten while the job ran makes the next run compute again).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weekly_discovery.core.config import Config
from weekly_discovery.lake import TRACKS_ENRICHED, Lake, read_json
from weekly_discovery.lake.storage import ObjectPath
from weekly_discovery.report.compute import REPORT_VERSION, ReportSettings
from weekly_discovery.report.paths import REPORT_JSON, report_dir

FINGERPRINT_VERSION = 1
FINGERPRINT_KEY = "fingerprint"


def report_settings(config: Config) -> ReportSettings:
    """What the analysis is asked to compute, from ``[report]`` and ``[model] features`` (the job's only settings)."""
    r = config.report
    return ReportSettings(bin_width=r.bin_width, top_artist_min_tracks=r.top_artist_min_tracks,
                          strong_correlation=r.strong_correlation, correlation_features=tuple(config.model.features))


def partition_files(partition: Path | ObjectPath) -> dict[str, dict[str, int]]:
    """``{name: {"size", "mtime_ns"}}`` of every file in a partition: a listing only, no file is opened.

    Empty when the partition is missing (the job then fails with its own message).
    """
    if isinstance(partition, ObjectPath):
        return {str(path.relative_to(partition)): {"size": int(info.size), "mtime_ns": int(info.mtime_ns)}
                for path, info in partition.walk_files()}
    try:
        entries = list(os.scandir(partition))
    except FileNotFoundError:
        return {}
    files = {}
    for entry in entries:
        if entry.is_file(follow_symlinks=False):
            stat = entry.stat(follow_symlinks=False)
            files[entry.name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return dict(sorted(files.items()))


def input_fingerprint(lake: Lake, ds: str, config: Config) -> dict[str, Any]:
    """What the analysis of ``ds`` reads, as JSON: compared whole by :func:`decide`."""
    partition = lake.partition(TRACKS_ENRICHED, ds)
    return {
        "version": FINGERPRINT_VERSION,
        "report_version": REPORT_VERSION,
        "input": {"table": lake.relative(partition), "files": partition_files(partition)},
        "settings": report_settings(config).to_json(),
        "reference_sources": sorted(s.key for s in config.sources_in("reference")),
    }


@dataclass(frozen=True)
class Decision:
    """Whether the Spark analysis runs, and the sentence the task log gives as the reason."""

    run_analysis: bool
    reason: str


def decide(lake: Lake, ds: str, config: Config, *, recompute: bool = False) -> Decision:
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
