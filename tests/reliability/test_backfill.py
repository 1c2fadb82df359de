"""A backfill of three past dates, then a rerun of the middle one.

What "correct" means for a backfill: Spotify's API only shows the library as it is now (no
history of Liked Songs or of a playlist's items). A backfilled date therefore cannot hold the
library as it was on that date: it holds the library as the API showed it when that date's run
read it (``extracted_at`` in each manifest says when). Run in date order (as a backfill of the
ingest DAG runs), each date's incremental extraction builds on the newest partition strictly
before it, so:

- every backfilled partition holds exactly the library the stand-in serves (expected track ids
  come from the stand-in's own library, role by role, not from the pipeline);
- each date has its own complete silver partition (the later dates extracted incrementally, by
  copying the previous date's pages into their own raw partition, and still hold the whole library);
- a rerun of a middle date after later dates exist builds on the same earlier partition as its
  first run did, so with the library unchanged it changes nothing: every date's raw files,
  bronze, quarantine, silver rows and metrics compare equal, row by row;
- and no commit of the backfill or of the rerun touched another date than its own: each Delta table's
  log holds one commit per run, whose ``ds`` (in the commit info and on every file it added or removed)
  is the date run, and the later dates' data files are the very files their own runs committed.

A rerun after the library changed can only record the library as it is at rerun time (the API
offers nothing else); this test keeps the library unchanged, the condition under which a rerun
must change nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devtools.standin import StandIn, generate_demo_library
from tests.lake.deltalog import commit_info, live_files, log_versions, touched_dates
from tests.reliability.conftest import ingest, make_config, partition_contents, table_rows
from weekly_discovery.lake import BRONZE_ITEMS, QUARANTINE_ITEMS, SILVER_TRACKS
from weekly_discovery.lake import delta

pytestmark = pytest.mark.spark

DATES = ("2026-11-02", "2026-11-09", "2026-11-16")
TABLES = [BRONZE_ITEMS, QUARANTINE_ITEMS, SILVER_TRACKS]


def raw_contents(root: str, ds: str) -> dict[str, object]:
    """Raw files of one date (pages and manifests), minus the run-specific fields."""
    out = {}
    for path in sorted(Path(root, "raw").glob(f"spotify/source=*/ds={ds}/*.json")):
        data = json.loads(path.read_text())
        if path.name == "_manifest.json":
            data = {k: v for k, v in data.items() if k not in ("extracted_at", "requests")}
        out[str(path.relative_to(root))] = data
    return out


def silver_by_role(lake, ds: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for row in table_rows(lake, SILVER_TRACKS, ds):
        found.setdefault(row["role"], set()).add(row["track_id"])
    return found


def test_backfill_of_three_dates_then_rerun_of_one(spark, tmp_path):
    library = generate_demo_library(seed=3, n_tracks=500)
    expected = {role: library.role_track_ids(role) for role in ("liked", "disliked", "reference", "candidates")}
    with StandIn(library) as standin:
        config = make_config(standin, tmp_path)
        lake = config.lake
        for ds in DATES:  # oldest first, as a backfill runs
            ingest(spark, standin, config, ds)

        for table in TABLES:  # one commit per run, of that run's date only, in the order run
            assert delta.dates(lake, table) == list(DATES), table
            versions = log_versions(lake, table)
            assert [touched_dates(lake, table, v) for v in versions] == [{ds} for ds in DATES], table
            assert [commit_info(lake, table, v)["ds"] for v in versions] == list(DATES), table
        for ds in DATES:
            got = silver_by_role(lake, ds)
            assert got == {role: ids for role, ids in expected.items() if ids}, ds
        for previous, ds in zip(DATES, DATES[1:]):  # later dates copy the previous date's pages, not read them
            manifest = json.loads((lake.raw_partition("saved_tracks", ds) / "_manifest.json").read_text())
            assert manifest["mode"] == "unchanged"
            assert manifest["pages"] and all(f"/ds={ds}/" in page for page in manifest["pages"])
            assert list(manifest["copied_from"]) == manifest["pages"]
            assert all(f"/ds={previous}/" in page for page in manifest["copied_from"].values())

        before = {ds: (raw_contents(lake.root, ds), partition_contents(lake, TABLES, ds)) for ds in DATES}
        assert all(before[ds][1]["silver/tracks"] for ds in DATES)
        files_before = {(table, ds): live_files(lake, table, ds) for table in TABLES for ds in DATES}
        versions_before = {table: log_versions(lake, table) for table in TABLES}
        ingest(spark, standin, config, DATES[1])  # the rerun, after DATES[2] exists
        after = {ds: (raw_contents(lake.root, ds), partition_contents(lake, TABLES, ds)) for ds in DATES}
    assert after == before
    for table in TABLES:
        rerun = log_versions(lake, table)[len(versions_before[table]):]
        assert len(rerun) == 1, table  # the rerun's one commit per table ...
        assert touched_dates(lake, table, rerun[0]) == {DATES[1]}, table  # ... touched its own date only
        assert commit_info(lake, table, rerun[0])["ds"] == DATES[1]
        for ds in (DATES[0], DATES[2]):  # the other dates hold the files their own runs committed
            assert live_files(lake, table, ds) == files_before[(table, ds)], (table, ds)
    assert not Path(lake.root, "_staging").exists()  # nothing is staged any more
