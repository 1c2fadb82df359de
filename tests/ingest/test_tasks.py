"""The ingest DAG's last task: it reads the normalize job's metrics and announces the date downstream.

The lake is built here with delta-rs and a hand-written metrics file; expected values are written by hand.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pyarrow as pa
import pytest

from weekly_discovery.ingest.tasks import landed_lines, publish_tracks
from weekly_discovery.lake import SILVER_TRACKS, Lake
from weekly_discovery.lake import delta

DS = "2026-11-23"
NO_REASONS = {"null_item": 0, "duplicate": 0}
METRICS = {
    "ds": DS,
    "sources": {"saved_tracks": {"role": "liked", "name": "Liked Songs", "mode": "full", "tracks": 2, "items": 3,
                                 "quarantined": {**NO_REASONS, "null_item": 1}, "quarantined_total": 1}},
    "totals": {"tracks": 2, "unique_tracks": 2, "sources": 1, "quarantined_total": 1},
}


def write_normalized(lake: Lake, ds: str, tracks: list[str]) -> None:
    """What the normalize job leaves: the date's tracks, then its metrics file."""
    delta.write_date(lake, SILVER_TRACKS, ds, pa.table({"track_id": tracks, "source_key": ["saved_tracks"] * len(tracks)},
                                                       schema=pa.schema([("track_id", pa.string()),
                                                                         ("source_key", pa.string())])))
    path = lake.partition(SILVER_TRACKS, ds) / "_metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**METRICS, "ds": ds}))


def test_publish_reads_the_metrics_and_announces_the_date(tmp_path, caplog):
    lake = Lake(str(tmp_path / "lake"))
    write_normalized(lake, DS, ["a", "b"])
    event = SimpleNamespace(extra=None)
    with caplog.at_level("INFO"):
        totals = publish_tracks({"ds": DS, "lake_root": lake.root, "config_path": "wd.toml"}, event)
    assert totals == METRICS["totals"]
    assert event.extra == {"ds": DS, "lake_root": lake.root}
    assert "liked      Liked Songs: 2 tracks from 3 items (full; quarantined 1: null_item=1)" in caplog.text
    assert f"silver/tracks: ds={DS} of the Delta table {lake.root}/silver/tracks" in caplog.text


def test_a_date_normalized_to_no_tracks_is_still_published(tmp_path):
    """A date can have no rows: the metrics file, not the rows, says the job completed."""
    lake = Lake(str(tmp_path / "lake"))
    write_normalized(lake, "2026-11-16", ["a"])
    write_normalized(lake, DS, [])
    assert not delta.has_date(lake, SILVER_TRACKS, DS)
    run = {"ds": DS, "lake_root": lake.root, "config_path": "wd.toml"}
    assert publish_tracks(run, SimpleNamespace(extra=None)) == METRICS["totals"]


def test_a_date_without_metrics_fails_with_the_fix(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    write_normalized(lake, "2026-11-16", ["a"])
    with pytest.raises(FileNotFoundError, match=r"silver/tracks has no rows for ds=2026-11-23\): the normalize job "
                                                r"did not complete for 2026-11-23; rerun the ingest DAG"):
        publish_tracks({"ds": DS, "lake_root": lake.root, "config_path": "wd.toml"}, SimpleNamespace(extra=None))


def test_landed_lines_name_each_table_and_the_date(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    assert landed_lines(lake, DS, METRICS)[-3:] == [
        f"bronze/items: ds={DS} of the Delta table {lake.root}/bronze/items",
        f"silver/tracks: ds={DS} of the Delta table {lake.root}/silver/tracks",
        f"quarantine/items: ds={DS} of the Delta table {lake.root}/quarantine/items",
    ]
