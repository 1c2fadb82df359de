"""End to end: the real ``spark-submit jobs/normalize.py`` on a tiny raw lake built here.

The lake root contains a space (Spark reports such paths percent-encoded) and the job
runs from an unrelated working directory, and fails if its executors need Python
(:func:`tests.util.spark.without_python_workers`). The outputs are Delta tables, read back with
delta-rs (:mod:`weekly_discovery.lake.delta`, not the Spark code under test) and sorted here: a
table keeps no row order. Expected values are written by hand.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.util.spark import without_python_workers
from weekly_discovery.ingest import job as normalize_job
from weekly_discovery.ingest.normalize import RawInputError
from weekly_discovery.lake import BRONZE_ITEMS, QUARANTINE_ITEMS, SILVER_TRACKS, Lake
from weekly_discovery.lake import delta
from weekly_discovery.spark.schemas import TRACKS_SCHEMA

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
JOB = REPO / "jobs" / "normalize.py"
SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"

DS = "2026-11-23"
LAST_WEEK = "2026-11-16"
PLAYLIST_ID = "DislikedPlaylist000000"
PLAYLIST = f"playlist-{PLAYLIST_ID}"


def tid(letter: str) -> str:
    return f"track{letter}".ljust(22, "0")


def track(letter: str) -> dict:
    return {"id": tid(letter), "uri": f"spotify:track:{tid(letter)}", "name": f"Song {letter}", "type": "track",
            "duration_ms": 180_000, "explicit": False, "is_local": False,
            "artists": [{"id": "Artist1".ljust(22, "0"), "name": "Artist One"}],
            "album": {"id": "Album1".ljust(22, "0"), "name": "Album One", "release_date": "2024-02-02"}}


def paging(items: list, offset: int = 0) -> str:
    return json.dumps({"href": "https://api.spotify.com/v1/x", "items": items, "limit": 50, "next": None,
                       "offset": offset, "previous": None, "total": len(items)})


def write_source(lake: Lake, manifest: dict, pages: dict[str, str]) -> None:
    """Write page files (lake-relative path -> text) and the manifest, as the extract step does."""
    for rel, text in pages.items():
        path = Path(lake.root, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    folder = lake.raw_partition(manifest["source_key"], manifest["ds"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_manifest.json").write_text(json.dumps(manifest))


def page(key: str, ds: str, n: int) -> str:
    return f"raw/spotify/source={key}/ds={ds}/page-{n:05d}.json"


def build_raw_lake(lake: Lake) -> None:
    saved_added = {"added_at": "2026-11-22T09:00:00Z"}
    # last week's full extract of saved tracks: [C, D]
    old_saved = {page("saved_tracks", LAST_WEEK, 0): paging([{**saved_added, "track": track(x)} for x in "CD"])}
    base = {"kind": "saved_tracks", "role": "liked", "spotify_id": None, "name": "Liked Songs",
            "snapshot_id": None, "source_key": "saved_tracks", "requests": 1, "extracted_at": "x"}
    write_source(lake, {**base, "ds": LAST_WEEK, "mode": "full", "pages": list(old_saved), "item_total": 2},
                 old_saved)
    # today's incremental pass: a new page [A, B, C] first, then last week's pages
    new_saved = {page("saved_tracks", DS, 0): paging([{**saved_added, "track": track(x)} for x in "ABC"])}
    write_source(lake, {**base, "ds": DS, "mode": "incremental", "pages": [*new_saved, *old_saved],
                        "item_total": 4}, new_saved)

    entry = {"added_at": "2026-11-01T10:00:00Z", "added_by": {"id": "me"}, "is_local": False}
    local = {"added_at": "2026-11-01T10:00:00Z", "is_local": True,
             "item": {"id": None, "uri": "spotify:local:x:y:z:100", "name": "z", "type": "track", "is_local": True}}
    playlist_pages = {
        page(PLAYLIST, DS, 0): paging([{**entry, "item": track("E")}, local, {**entry, "item": None}]),
        page(PLAYLIST, DS, 1): paging([{**entry, "item": track("E")}, {**entry, "track": track("F")}], offset=3),
        page(PLAYLIST, DS, 2): '{"items": [',
    }
    write_source(lake, {"source_key": PLAYLIST, "kind": "playlist", "role": "disliked", "spotify_id": PLAYLIST_ID,
                        "name": "Not For Me", "snapshot_id": "snap1", "ds": DS, "mode": "full",
                        "pages": list(playlist_pages), "item_total": 5, "requests": 3, "extracted_at": "x"},
                 playlist_pages)


def run_job(lake_root: Path, ds: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    return subprocess.run(
        [str(SPARK_SUBMIT), "--master", "local[2]", "--conf", "spark.ui.enabled=false", *without_python_workers(),
         str(JOB), "--lake", str(lake_root), "--ds", ds],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=180,
    )


def output(result: subprocess.CompletedProcess) -> str:
    """The job's log: spark-submit merges the Python driver's stderr into its stdout."""
    return result.stdout + result.stderr


def rows(lake: Lake, table, ds: str = DS) -> list[dict]:
    """One date's rows (without ``ds``), sorted by source and position."""
    return sorted(delta.read_rows(lake, table, ds), key=lambda r: (r["source_key"], r["position"]))


def silver_rows(lake: Lake) -> list[dict]:
    return rows(lake, SILVER_TRACKS)


TABLES = (BRONZE_ITEMS, SILVER_TRACKS, QUARANTINE_ITEMS)


def other_date(lake: Lake) -> dict:
    """LAST_WEEK's rows of each output table: runs of DS must leave them alone."""
    return {t: rows(lake, t, LAST_WEEK) for t in TABLES}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("job") / "my lake"
    lake = Lake(str(root))
    build_raw_lake(lake)
    earlier = run_job(root, LAST_WEEK, cwd=tmp_path_factory.mktemp("cwd"))  # the tables exist before DS
    assert earlier.returncode == 0, output(earlier)[-3000:]
    kept = other_date(lake)
    assert [(r["source_key"], r["track_id"]) for r in kept[SILVER_TRACKS]] == [
        ("saved_tracks", tid("C")), ("saved_tracks", tid("D"))]
    assert kept[QUARANTINE_ITEMS] == []  # a date without rows: none
    result = run_job(root, DS, cwd=tmp_path_factory.mktemp("cwd"))
    assert result.returncode == 0, output(result)[-3000:]
    assert other_date(lake) == kept  # replaceWhere of DS only
    return lake, result, kept


def test_silver_tracks(first_run):
    lake, _, _ = first_run
    rows = silver_rows(lake)
    assert [(r["source_key"], r["track_id"], r["position"]) for r in rows] == [
        (PLAYLIST, tid("E"), 0),
        (PLAYLIST, tid("F"), 4),
        ("saved_tracks", tid("A"), 0),
        ("saved_tracks", tid("B"), 1),
        ("saved_tracks", tid("C"), 2),
        ("saved_tracks", tid("D"), 4),
    ]
    table = delta.read(lake, SILVER_TRACKS, DS)
    schema = table.schema
    assert schema.names == TRACKS_SCHEMA.fieldNames()
    # a table created by a DataFrame write declares every column nullable (Delta's rule); the job itself
    # fails rather than write a track without an id (normalize._required_string)
    assert all(r["track_id"] for r in delta.read_rows(lake, SILVER_TRACKS))
    assert str(schema.field("added_at").type) == "timestamp[us, tz=UTC]"
    assert delta.dates(lake, SILVER_TRACKS) == [LAST_WEEK, DS]
    # one commit per table for the run, recording the date it wrote
    assert [c.get("ds") for c in delta.history(lake, SILVER_TRACKS)[:2]] == [DS, LAST_WEEK]
    assert rows[0]["artist_names"] == ["Artist One"] and rows[0]["source_name"] == "Not For Me"


def test_bronze_and_quarantine(first_run):
    lake, _, _ = first_run
    bronze = rows(lake, BRONZE_ITEMS)
    assert [(r["source_key"], r["position"]) for r in bronze] == (
        [(PLAYLIST, p) for p in range(5)] + [("saved_tracks", p) for p in range(5)])
    assert bronze[1]["is_local"] is True and bronze[2]["item"] is None
    assert bronze[0]["item"]["id"] == tid("E") and bronze[0]["page"] == page(PLAYLIST, DS, 0)
    assert delta.read_rows(lake, BRONZE_ITEMS, columns=["ds"], filters=[("source_key", "=", PLAYLIST)]) == \
        [{"ds": DS}] * 5
    quarantine = rows(lake, QUARANTINE_ITEMS)
    assert [(r["position"], r["reason"]) for r in quarantine] == [
        (1, "local_file"), (2, "null_item"), (3, "duplicate"), (5, "malformed_page")]
    assert quarantine[-1]["raw"] == '{"items": [' and quarantine[-1]["page"] == page(PLAYLIST, DS, 2)


def test_metrics_and_log(first_run):
    lake, result, _ = first_run
    metrics = json.loads((lake.partition(SILVER_TRACKS, DS) / "_metrics.json").read_text())
    assert metrics["sources"]["saved_tracks"]["superseded"] == 1
    assert metrics["sources"][PLAYLIST]["quarantined"] == {
        "null_item": 1, "local_file": 1, "episode": 0, "missing_id": 0, "invalid_id": 0, "duplicate": 1, "malformed_page": 1}
    assert metrics["totals"] | {"quarantined": None} == {
        "sources": 2, "pages": 5, "items": 10, "tracks": 6, "unique_tracks": 6, "superseded": 1,
        "quarantined": None, "quarantined_total": 4,
        "unreadable_fields": {"added_at": 0, "duration_ms": 0, "explicit": 0}}
    assert metrics["outputs"] == {"bronze": f"bronze/items/ds={DS}", "quarantine": f"quarantine/items/ds={DS}",
                                  "silver": f"silver/tracks/ds={DS}"}
    assert (f"normalize ds={DS} source={PLAYLIST} role=disliked items=5 tracks=2 quarantined=4 "
            "(null_item=1, local_file=1, duplicate=1, malformed_page=1)") in output(result)
    assert f"normalize ds={DS} source=saved_tracks role=liked items=5 tracks=4 quarantined=0 superseded=1" \
        in output(result)
    assert f"wrote silver: date {DS} of the Delta table {lake.table(SILVER_TRACKS)}" in output(result)
    # five pages of a few KB: the small-input settings (the mechanism: tests/report/test_report_job.py)
    assert re.search(rf"weekly-discovery-normalize-{DS}: small input \(0\.0 MB, under 32 MB\): "
                     r".*spark\.sql\.adaptive\.enabled=false", output(result))


def test_rerun_gives_the_same_rows_in_one_new_commit_per_table(first_run, tmp_path):
    lake, _, kept = first_run
    tables = TABLES
    metrics_file = lake.partition(SILVER_TRACKS, DS) / "_metrics.json"
    before = ({t: rows(lake, t) for t in tables}, metrics_file.read_text())
    versions = {t: len(delta.history(lake, t)) for t in tables}
    result = run_job(Path(lake.root), DS, cwd=tmp_path)
    assert result.returncode == 0, output(result)[-3000:]
    after = ({t: rows(lake, t) for t in tables}, metrics_file.read_text())
    assert after == before
    assert {t: len(delta.history(lake, t)) for t in tables} == {t: n + 1 for t, n in versions.items()}
    assert other_date(lake) == kept
    assert not Path(lake.root, "_staging").exists()


def test_date_without_manifests_fails_with_the_fix(first_run, tmp_path):
    lake, _, _ = first_run
    result = run_job(Path(lake.root), "2026-11-30", cwd=tmp_path)
    assert result.returncode != 0
    assert "run the extract step (the ingest DAG) for 2026-11-30 first" in output(result)
    assert not delta.has_date(lake, SILVER_TRACKS, "2026-11-30")
    assert not (lake.partition(SILVER_TRACKS, "2026-11-30") / "_metrics.json").exists()


def test_missing_page_file_is_reported_before_spark_starts(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    build_raw_lake(lake)
    Path(lake.root, page("saved_tracks", LAST_WEEK, 0)).unlink()  # e.g. deleted by hand
    with pytest.raises(RawInputError, match=r"1 page file\(s\) listed in the manifests do not exist: .*"
                       r"source=saved_tracks/ds=2026-11-16/page-00000.json"):
        normalize_job.load_raw_input(lake, DS)
    assert normalize_job.main(["--lake", lake.root, "--ds", DS]) == 2


def test_a_local_run_lowers_sparks_memory_share_and_says_so(first_run):
    # spark-submit --master local[2] set no spark.memory.fraction: the job reads that from the driver's
    # JVM before its session starts, and lowers the share (weekly_discovery.ingest.job.job_conf)
    _, result, _ = first_run
    assert re.search(r"normalize ds=2026-11-23 session settings: .*spark\.memory\.fraction=0\.2", output(result))
