"""What keeps the normalize job inside Spark's default 1 GB heap at 1M tracks (benchmarks/normalize_heap.py).

Two plan properties, checked on small inputs: the page texts (the whole raw input) are never shuffled
to be joined to the page list, and an item keeps its raw JSON text only when it is quarantined (the
one output that shows it), so the texts do not travel through the first-occurrence window and the
cache. The outputs themselves are covered by tests/ingest/test_normalize.py and
tests/ingest/test_normalize_job.py; expected values here are written by hand.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.util.spark import IN_PROCESS_CONF, LARGE_INPUT_CONF, runtime_conf
from weekly_discovery.ingest import normalize as nz
from weekly_discovery.ingest.job import job_conf
from weekly_discovery.spark.schemas import PAGE_LIST_SCHEMA, RAW_TEXT_SCHEMA

pytestmark = pytest.mark.spark

DS = "2026-11-23"
PLAYLIST = "playlist-" + "Mix".ljust(22, "0")

os.environ["TZ"] = "UTC"  # as tests/util/spark.py: PySpark's timestamps in the process's zone
time.tzset()


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    from weekly_discovery.spark.session import get_spark

    existing = SparkSession.getActiveSession()
    session = get_spark("weekly-discovery-ingest-tests", IN_PROCESS_CONF)
    with runtime_conf(session, LARGE_INPUT_CONF):  # the 1M-track job these transforms guard runs on Spark's defaults
        yield session
    if existing is None:
        session.stop()


def tid(letter: str) -> str:
    return f"track{letter}".ljust(22, "0")


def track(letter: str, **fields) -> dict:
    return {"id": tid(letter), "uri": f"spotify:track:{tid(letter)}", "name": f"Song {letter}", "type": "track",
            "duration_ms": 180_000, "explicit": False, "is_local": False, "artists": [], "album": None, **fields}


def page_path(key: str, n: int) -> str:
    return f"raw/spotify/source={key}/ds={DS}/page-{n:05d}.json"


MANIFESTS = [
    {"source_key": "saved_tracks", "kind": "saved_tracks", "role": "liked", "spotify_id": None,
     "name": "Liked Songs", "snapshot_id": None, "ds": DS, "pages": [page_path("saved_tracks", 0)]},
    {"source_key": PLAYLIST, "kind": "playlist", "role": "candidates", "spotify_id": PLAYLIST[9:],
     "name": "Mix", "snapshot_id": "snap", "ds": DS, "pages": [page_path(PLAYLIST, 0)]},
]
SAVED_ITEMS = [
    {"added_at": "2026-11-22T10:00:00Z", "track": track("A")},
    {"added_at": "2026-11-21T10:00:00Z", "track": track("B", duration_ms="long")},  # kept, one field unreadable
    {"added_at": "2026-11-20T10:00:00Z", "track": track("A")},  # superseded
    {"added_at": "2026-11-19T10:00:00Z", "track": None},  # null_item
]
PLAYLIST_ITEMS = [
    {"added_at": "2026-11-22T10:00:00Z", "item": track("C")},
    {"added_at": "2026-11-22T11:00:00Z", "item": track("C")},  # duplicate
]


def pages(spark, texts: dict[str, str]):
    page_list = spark.createDataFrame(nz.page_list_rows(DS, MANIFESTS), PAGE_LIST_SCHEMA)
    raw = spark.createDataFrame([(f"file:///lake/{path}", text) for path, text in texts.items()], RAW_TEXT_SCHEMA)
    return nz.parse_pages(page_list, raw)


def test_page_texts_are_joined_to_the_page_list_without_a_shuffle(spark, tmp_path):
    """Read from files as the job reads them, with automatic broadcasts off, so only the code's own
    choice can avoid a sort-merge join (which shuffles both sides: every page's text)."""
    for path, items in ((page_path("saved_tracks", 0), SAVED_ITEMS), (page_path(PLAYLIST, 0), PLAYLIST_ITEMS)):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(json.dumps({"items": items}))
    from pyspark.sql import functions as F

    texts = spark.read.text([str(p) for p in tmp_path.rglob("page-*.json")], wholetext=True).select(
        F.col("_metadata.file_path").alias("file_path"), F.col("value").alias("text"))
    page_list = spark.createDataFrame(nz.page_list_rows(DS, MANIFESTS), PAGE_LIST_SCHEMA)
    before = spark.conf.get("spark.sql.autoBroadcastJoinThreshold")
    spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
    try:
        parsed = nz.parse_pages(page_list, texts)
        plan = parsed._jdf.queryExecution().executedPlan().toString()
        counts = {r.page: r.item_count for r in parsed.collect()}
    finally:
        spark.conf.set("spark.sql.autoBroadcastJoinThreshold", before)
    assert "SortMergeJoin" not in plan and "ShuffledHashJoin" not in plan
    assert counts == {page_path("saved_tracks", 0): 4, page_path(PLAYLIST, 0): 2}


def test_a_listed_page_without_a_file_text_is_still_a_page(spark):
    rows = pages(spark, {page_path("saved_tracks", 0): json.dumps({"items": SAVED_ITEMS})}).collect()
    found = {r.page: (r.problem, r.item_count, r.first_position) for r in rows}
    assert found == {page_path("saved_tracks", 0): (None, 4, 0),
                     page_path(PLAYLIST, 0): ("page file is missing or empty", 0, 0)}


def test_items_keep_their_raw_text_only_when_quarantined(spark):
    texts = {page_path("saved_tracks", 0): json.dumps({"items": SAVED_ITEMS}),
             page_path(PLAYLIST, 0): json.dumps({"items": PLAYLIST_ITEMS})}
    classified = nz.classify_items(nz.extract_items(pages(spark, texts)))
    rows = {(r.source_key, r.position): (r.status, r.reason, r.raw is not None, list(r.unreadable))
            for r in classified.collect()}
    assert rows == {
        ("saved_tracks", 0): ("track", None, False, []),
        ("saved_tracks", 1): ("track", None, False, ["duration_ms"]),
        ("saved_tracks", 2): ("superseded", None, False, []),
        ("saved_tracks", 3): ("quarantined", "null_item", True, []),
        (PLAYLIST, 0): ("track", None, False, []),
        (PLAYLIST, 1): ("quarantined", "duplicate", True, []),
    }
    quarantined = {(r.source_key, r.position): json.loads(r.raw) for r in nz.to_quarantine(
        classified, pages(spark, texts)).collect()}
    assert quarantined == {("saved_tracks", 3): SAVED_ITEMS[3], (PLAYLIST, 1): PLAYLIST_ITEMS[1]}
    counts = {(key, outcome): n for key, outcome, n in nz.outcome_counts(classified, pages(spark, texts)).collect()}
    assert counts == {("saved_tracks", "track"): 2, ("saved_tracks", "superseded"): 1,
                      ("saved_tracks", "null_item"): 1, ("saved_tracks", "unreadable:duration_ms"): 1,
                      (PLAYLIST, "track"): 1, (PLAYLIST, "duplicate"): 1}


# ---- the memory share: local mode only, never over what the submitter set ---------------------------------


@pytest.mark.parametrize("submitted, fraction", [
    ({"spark.master": "local[2]"}, 0.2),  # one JVM is driver and executor: sorts spill early
    ({}, 0.2),  # plain Python (tests): PySpark's local[*]
    ({"spark.master": "spark://spark-master:7077"}, None),  # a cluster's executors keep Spark's default
    ({"spark.master": "k8s://https://kube:6443"}, None),
    ({"spark.master": "local[2]", "spark.memory.fraction": "0.5"}, None),  # the submitter's own value wins
])
def test_the_memory_share_is_lowered_only_in_local_mode_and_only_when_unset(submitted, fraction):
    conf = job_conf(submitted)
    assert conf.get("spark.memory.fraction") == fraction
    assert conf["spark.sql.inMemoryColumnarStorage.batchSize"] == 1000  # the rest always applies


def test_this_module_runs_on_sparks_defaults(spark):
    assert spark.conf.get("spark.sql.adaptive.enabled") == "true"
    assert spark.conf.get("spark.sql.codegen.wholeStage") == "true"
