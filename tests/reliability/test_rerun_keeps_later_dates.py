"""A rerun of a past date must not change or break a later date (regression).

A later date's extraction reuses the pages of the date before it (Liked Songs before the
incremental stop, an unchanged playlist). When the later manifest referenced the earlier date's page
files, a rerun of the earlier date (which replaces its whole raw partition) deleted or rewrote files
the later date relied on: normalizing the later date then failed ("page file(s) listed in the
manifests do not exist"), or silently picked up tracks it never saw. Raw partitions are now
self-contained (reused pages are copied into the later partition), so:

1. D1 is ingested; a song is liked; D2 is ingested (incremental: one new page + D1's pages); D3 is
   ingested (unchanged: D2's pages, the liked song among them);
2. the song is un-liked and D2 is rerun: D2 becomes ``unchanged`` and its own new page is gone;
3. another song is liked and D2 is rerun again: D2's ``page-00000`` now holds other content;

and after each rerun, D3's bronze, quarantine and silver rows (sorted) and metrics are as before, and
so are they after normalizing D3 again (a rerun of D3, which replaces D3 only). The expected track ids
come from the stand-in's library, not from the pipeline; the extraction runs over HTTP against the
stand-in and normalize is the job's own code.
"""

from __future__ import annotations

import json

import pytest

from devtools.standin import StandIn, generate_demo_library
from tests.reliability.conftest import ingest, make_config, partition_contents, table_rows
from weekly_discovery.ingest import job as normalize_job
from weekly_discovery.lake import BRONZE_ITEMS, QUARANTINE_ITEMS, SILVER_TRACKS

pytestmark = pytest.mark.spark

D1, D2, D3 = "2026-11-02", "2026-11-09", "2026-11-16"
TABLES = [BRONZE_ITEMS, QUARANTINE_ITEMS, SILVER_TRACKS]


def normalize(spark, lake, ds: str) -> None:
    normalize_job.normalize_date(spark, lake, ds, normalize_job.load_raw_input(lake, ds))


def saved_manifest(lake, ds: str) -> dict:
    return json.loads((lake.raw_partition("saved_tracks", ds) / "_manifest.json").read_text())


def liked_ids(lake, ds: str) -> set[str]:
    return {r["track_id"] for r in table_rows(lake, SILVER_TRACKS, ds) if r["role"] == "liked"}


def test_rerun_of_an_earlier_date_leaves_a_later_date_unchanged(spark, tmp_path):
    library = generate_demo_library(seed=5, n_tracks=400)
    liked_song, other_song = [t for t in library.tracks if t not in library.role_track_ids("liked")][:2]
    liked_at_d1 = library.role_track_ids("liked")  # Liked Songs and any other source of the role
    with StandIn(library) as standin:
        config = make_config(standin, tmp_path)
        lake = config.lake
        ingest(spark, standin, config, D1)
        library.save_track(liked_song, added_at="2026-11-05T10:00:00Z")
        ingest(spark, standin, config, D2)
        ingest(spark, standin, config, D3)
        assert saved_manifest(lake, D2)["mode"] == "incremental"
        assert saved_manifest(lake, D3)["mode"] == "unchanged"
        assert liked_ids(lake, D3) == liked_at_d1 | {liked_song}
        d3_before = partition_contents(lake, TABLES, D3)
        assert d3_before["silver/tracks"]

        # 2. un-like the song, rerun D2: it becomes unchanged and holds D1's library
        library.saved[:] = [(added, tid) for added, tid in library.saved if tid != liked_song]
        ingest(spark, standin, config, D2)
        assert saved_manifest(lake, D2)["mode"] == "unchanged"
        assert liked_ids(lake, D2) == liked_at_d1
        assert partition_contents(lake, TABLES, D3) == d3_before  # the rerun of D2 left D3 alone
        normalize(spark, lake, D3)
        assert partition_contents(lake, TABLES, D3) == d3_before

        # 3. like another song, rerun D2: its page-00000 is rewritten with other content
        library.save_track(other_song, added_at="2026-11-06T10:00:00Z")
        ingest(spark, standin, config, D2)
        assert saved_manifest(lake, D2)["mode"] == "incremental"
        assert liked_ids(lake, D2) == liked_at_d1 | {other_song}
        assert partition_contents(lake, TABLES, D3) == d3_before
        normalize(spark, lake, D3)
        assert partition_contents(lake, TABLES, D3) == d3_before
        assert liked_ids(lake, D3) == liked_at_d1 | {liked_song}  # nothing it never saw
