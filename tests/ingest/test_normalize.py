"""The normalize transforms on tiny hand-written pages, with hand-written expected rows.

Three sources for 2026-11-23:

- saved tracks (liked), incremental: today's page [A, B, C] then last week's pages
  [C, D] and [E]; C's second occurrence is the overlap -> superseded.
- a disliked playlist: page 0 [F (item+track), G (legacy track only), local file, episode,
  removed item], page 1 [F again, a track without id, H], page 2 truncated JSON.
- a reference playlist: page 0 an HTML error body, page 1 [F, I], page 2 never written.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pyspark.sql import Row

from weekly_discovery.ingest import normalize as nz
from weekly_discovery.spark.schemas import (
    BRONZE_ITEMS_SCHEMA,
    PAGE_LIST_SCHEMA,
    QUARANTINE_SCHEMA,
    RAW_TEXT_SCHEMA,
    TRACKS_SCHEMA,
)

pytestmark = pytest.mark.spark

DS = "2026-11-23"
LAST_WEEK = "2026-11-16"
DISLIKED = "playlist-DislikedPlaylist000000"
REFERENCE = "playlist-ReferencePlaylist00000"
SAVED = "saved_tracks"


def tid(letter: str) -> str:
    return f"track{letter}".ljust(22, "0")


def page_path(key: str, ds: str, n: int) -> str:
    return f"raw/spotify/source={key}/ds={ds}/page-{n:05d}.json"


def track(letter: str, *, explicit: bool = False, artists=(("Ar1", "Artist One"),)) -> dict:
    """A TrackObject as the API sends it (with fields the pipeline ignores)."""
    return {
        "id": tid(letter),
        "uri": f"spotify:track:{tid(letter)}",
        "name": f"Song {letter}",
        "type": "track",
        "duration_ms": 200_000,
        "explicit": explicit,
        "is_local": False,
        "popularity": 40,
        "artists": [{"id": a.ljust(22, "0"), "name": n, "type": "artist"} for a, n in artists],
        "album": {"id": "Album1".ljust(22, "0"), "name": "First Album", "release_date": "2019-05",
                  "release_date_precision": "month", "album_type": "album"},
    }


def saved(letter: str, added_at: str = "2026-11-20T08:00:00Z") -> dict:
    return {"added_at": added_at, "track": track(letter)}


def in_playlist(obj: dict | None, *, legacy_only: bool = False, is_local: bool = False) -> dict:
    entry = {"added_at": "2026-10-01T12:30:00Z", "added_by": {"id": "owner"}, "is_local": is_local}
    if legacy_only:
        return {**entry, "track": obj}
    return {**entry, "item": obj, "track": obj}


def paging(items: list, offset: int = 0) -> str:
    return json.dumps({"href": "https://api.spotify.com/v1/x", "items": items, "limit": 5,
                       "next": None, "offset": offset, "previous": None, "total": 99})


LOCAL_FILE = in_playlist(
    {"id": None, "uri": "spotify:local:Band:Demo:Garage+Song:181", "name": "Garage Song", "type": "track",
     "is_local": True, "duration_ms": 181_000, "artists": [{"id": None, "name": "Band"}],
     "album": {"id": None, "name": "Demo"}},
    is_local=True,
)
EPISODE = in_playlist(
    {"id": "Episode1".ljust(22, "0"), "uri": "spotify:episode:" + "Episode1".ljust(22, "0"),
     "name": "A Podcast Episode", "type": "episode", "duration_ms": 3_600_000, "explicit": False,
     "show": {"id": "Show1".ljust(22, "0"), "name": "A Show"}}
)
REMOVED = in_playlist(None)
NO_ID = in_playlist({"id": None, "uri": None, "name": "Ghost", "type": "track", "is_local": False})
TRUNCATED = '{"href": "https://api.spotify.com/v1/x", "items": [{"added_at": "2026-'
HTML = "<html><body>502 Bad Gateway</body></html>"

MANIFESTS = [
    {"source_key": SAVED, "kind": "saved_tracks", "role": "liked", "spotify_id": None, "name": "Liked Songs",
     "snapshot_id": None, "ds": DS, "mode": "incremental",
     "pages": [page_path(SAVED, DS, 0), page_path(SAVED, LAST_WEEK, 0), page_path(SAVED, LAST_WEEK, 1)]},
    {"source_key": DISLIKED, "kind": "playlist", "role": "disliked", "spotify_id": DISLIKED[9:],
     "name": "Nope", "snapshot_id": "snap-d", "ds": DS, "mode": "full",
     "pages": [page_path(DISLIKED, DS, n) for n in range(3)]},
    {"source_key": REFERENCE, "kind": "playlist", "role": "reference", "spotify_id": REFERENCE[9:],
     "name": "Vibes", "snapshot_id": "snap-r", "ds": DS, "mode": "unchanged",
     "pages": [page_path(REFERENCE, LAST_WEEK, n) for n in range(3)]},
]

PAGE_TEXTS = {
    page_path(SAVED, DS, 0): paging([saved("A", "2026-11-22T10:00:00Z"), saved("B"), saved("C")]),
    page_path(SAVED, LAST_WEEK, 0): paging([saved("C", "2026-11-01T00:00:00Z"), saved("D")]),
    page_path(SAVED, LAST_WEEK, 1): paging([saved("E")], offset=2),
    page_path(DISLIKED, DS, 0): paging([in_playlist(track("F")), in_playlist(track("G"), legacy_only=True),
                                        LOCAL_FILE, EPISODE, REMOVED]),
    page_path(DISLIKED, DS, 1): paging([in_playlist(track("F")), NO_ID, in_playlist(track("H"))], offset=5),
    page_path(DISLIKED, DS, 2): TRUNCATED,
    page_path(REFERENCE, LAST_WEEK, 0): HTML,
    page_path(REFERENCE, LAST_WEEK, 1): paging([
        in_playlist(track("F")),
        in_playlist(track("I", explicit=True, artists=(("Ar2", "Second"), ("Ar3", "Third")))),
    ]),
    # page_path(REFERENCE, LAST_WEEK, 2) is listed but its file was never written
}

# The lake root has a space: Spark reports it percent-encoded in file_path.
LAKE_URI = "file:/home/me/Music%20Lake/"


@pytest.fixture(scope="module")
def pages(spark):
    page_list = spark.createDataFrame(nz.page_list_rows(DS, MANIFESTS), PAGE_LIST_SCHEMA)
    raw = spark.createDataFrame([(LAKE_URI + path, text) for path, text in PAGE_TEXTS.items()], RAW_TEXT_SCHEMA)
    return nz.parse_pages(page_list, raw).cache()


@pytest.fixture(scope="module")
def classified(pages):
    return nz.classify_items(nz.extract_items(pages)).cache()


def test_silver_keeps_first_occurrence_of_each_track_per_source(classified):
    rows = [(r.source_key, r.track_id, r.position) for r in nz.to_silver(classified).collect()]
    assert rows == [
        (DISLIKED, tid("F"), 0),
        (DISLIKED, tid("G"), 1),
        (DISLIKED, tid("H"), 7),
        (REFERENCE, tid("F"), 0),
        (REFERENCE, tid("I"), 1),
        (SAVED, tid("A"), 0),
        (SAVED, tid("B"), 1),
        (SAVED, tid("C"), 2),
        (SAVED, tid("D"), 4),
        (SAVED, tid("E"), 5),
    ]


def test_silver_row_content(classified):
    by_key = {(r.source_key, r.track_id): r for r in nz.to_silver(classified).collect()}
    assert by_key[(SAVED, tid("C"))] == Row(
        track_id="trackC0000000000000000",
        track_uri="spotify:track:trackC0000000000000000",
        name="Song C",
        artist_ids=["Ar10000000000000000000"],
        artist_names=["Artist One"],
        primary_artist_id="Ar10000000000000000000",
        primary_artist_name="Artist One",
        album_id="Album10000000000000000",
        album_name="First Album",
        album_release_date="2019-05",
        duration_ms=200_000,
        explicit=False,
        added_at=dt.datetime(2026, 11, 20, 8, 0),  # today's page wins over last week's 2026-11-01
        role="liked",
        source_key="saved_tracks",
        source_id=None,
        source_name="Liked Songs",
        snapshot_id=None,
        position=2,
    )
    legacy = by_key[(DISLIKED, tid("G"))]  # read from the deprecated `track` field
    assert (legacy.name, legacy.role, legacy.source_id, legacy.snapshot_id) == (
        "Song G", "disliked", "DislikedPlaylist000000", "snap-d")
    two_artists = by_key[(REFERENCE, tid("I"))]
    assert two_artists.artist_ids == ["Ar20000000000000000000", "Ar30000000000000000000"]
    assert (two_artists.primary_artist_name, two_artists.explicit) == ("Second", True)


def test_silver_schema_is_the_declared_one(classified):
    assert nz.to_silver(classified).schema == TRACKS_SCHEMA
    assert "ds" not in TRACKS_SCHEMA.fieldNames()


def test_quarantine_rows_and_reasons(classified, pages):
    rows = [(r.source_key, r.position, r.reason, r.item_id, r.detail)
            for r in nz.to_quarantine(classified, pages).collect()]
    assert rows == [
        (DISLIKED, 2, "local_file", None, None),
        (DISLIKED, 3, "episode", "Episode100000000000000", None),
        (DISLIKED, 4, "null_item", None, None),
        (DISLIKED, 5, "duplicate", tid("F"), "first at position 0"),
        (DISLIKED, 6, "missing_id", None, None),
        (DISLIKED, 8, "malformed_page", None, "not valid JSON for a paging object"),
        (REFERENCE, 0, "malformed_page", None, "not valid JSON for a paging object"),
        (REFERENCE, 2, "malformed_page", None, "page file is missing or empty"),
    ]


def test_quarantine_keeps_raw_text_and_context(classified, pages):
    rows = {(r.source_key, r.position): r for r in nz.to_quarantine(classified, pages).collect()}
    local = rows[(DISLIKED, 2)]
    assert json.loads(local.raw) == LOCAL_FILE
    assert (local.ds, local.role, local.source_name, local.snapshot_id, local.page) == (
        DS, "disliked", "Nope", "snap-d", page_path(DISLIKED, DS, 0))
    assert (local.item_uri, local.item_name, local.added_at) == (
        "spotify:local:Band:Demo:Garage+Song:181", "Garage Song", "2026-10-01T12:30:00Z")
    assert json.loads(rows[(DISLIKED, 4)].raw) == REMOVED
    assert rows[(DISLIKED, 8)].raw == TRUNCATED
    assert rows[(REFERENCE, 0)].raw == HTML
    assert rows[(REFERENCE, 2)].raw is None
    assert nz.to_quarantine(classified, pages).schema == QUARANTINE_SCHEMA


def test_bronze_has_every_item_of_readable_pages(classified):
    bronze = nz.to_bronze(classified)
    assert bronze.schema == BRONZE_ITEMS_SCHEMA
    rows = bronze.collect()
    assert [(r.source_key, r.position) for r in rows] == (
        [(DISLIKED, p) for p in range(8)] + [(REFERENCE, 0), (REFERENCE, 1)] + [(SAVED, p) for p in range(6)]
    )
    by_key = {(r.source_key, r.position): r for r in rows}
    legacy = by_key[(DISLIKED, 1)]
    assert (legacy.item.id, legacy.added_by_id, legacy.is_local) == (tid("G"), "owner", False)
    assert by_key[(DISLIKED, 4)].item is None
    assert by_key[(DISLIKED, 3)].item.type == "episode"
    overlap = by_key[(SAVED, 3)]  # last week's C: in bronze, though superseded in silver
    assert (overlap.item.id, overlap.added_at, overlap.page) == (
        tid("C"), "2026-11-01T00:00:00Z", page_path(SAVED, LAST_WEEK, 0))


def test_items_that_are_not_objects_are_null_items(spark):
    key = "playlist-" + "Odd".ljust(22, "0")
    manifest = {**MANIFESTS[1], "source_key": key, "spotify_id": key[9:], "pages": [page_path(key, DS, 0)]}
    page_list = spark.createDataFrame(nz.page_list_rows(DS, [manifest]), PAGE_LIST_SCHEMA)
    raw = spark.createDataFrame(
        [("file:///lake/" + page_path(key, DS, 0), '{"items": [null, 5, "text", {"added_at": null}]}')],
        RAW_TEXT_SCHEMA,
    )
    classified = nz.classify_items(nz.extract_items(nz.parse_pages(page_list, raw)))
    assert [(r.position, r.reason) for r in classified.orderBy("position").collect()] == [
        (0, "null_item"), (1, "null_item"), (2, "null_item"), (3, "null_item")]


NOTHING_UNREADABLE = {"added_at": 0, "duration_ms": 0, "explicit": 0}


def test_metrics(classified, pages):
    counts = [tuple(r) for r in nz.outcome_counts(classified, pages).collect()]
    unique = {r.role: r.unique_tracks for r in nz.unique_tracks_by_role(nz.to_silver(classified)).collect()}
    assert unique == {"liked": 5, "disliked": 3, "reference": 2, None: 9}
    metrics = nz.build_metrics(DS, MANIFESTS, counts, unique, {"silver": "silver/tracks/ds=2026-11-23"})

    no_reasons = dict.fromkeys(["null_item", "local_file", "episode", "missing_id", "invalid_id", "duplicate",
                                "malformed_page"], 0)
    assert metrics["sources"][SAVED] == {
        "kind": "saved_tracks", "role": "liked", "name": "Liked Songs", "mode": "incremental", "snapshot_id": None,
        "pages": 3, "items": 6, "tracks": 5, "superseded": 1, "quarantined": no_reasons, "quarantined_total": 0,
        "unreadable_fields": NOTHING_UNREADABLE,
    }
    assert metrics["sources"][DISLIKED]["quarantined"] == {
        "null_item": 1, "local_file": 1, "episode": 1, "missing_id": 1, "invalid_id": 0, "duplicate": 1,
        "malformed_page": 1}
    assert (metrics["sources"][DISLIKED]["items"], metrics["sources"][DISLIKED]["tracks"]) == (8, 3)
    assert metrics["sources"][REFERENCE]["quarantined"] == {**no_reasons, "malformed_page": 2}
    assert metrics["roles"]["reference"] == {
        "sources": 1, "pages": 3, "items": 2, "tracks": 2, "unique_tracks": 2, "superseded": 0,
        "quarantined": {**no_reasons, "malformed_page": 2}, "quarantined_total": 2,
        "unreadable_fields": NOTHING_UNREADABLE,
    }
    assert metrics["totals"] == {
        "sources": 3, "pages": 9, "items": 16, "tracks": 10, "unique_tracks": 9, "superseded": 1,
        "quarantined": {"null_item": 1, "local_file": 1, "episode": 1, "missing_id": 1, "invalid_id": 0, "duplicate": 1,
                        "malformed_page": 3},
        "quarantined_total": 8, "unreadable_fields": NOTHING_UNREADABLE,
    }
    assert metrics["ds"] == DS and metrics["outputs"] == {"silver": "silver/tracks/ds=2026-11-23"}


def test_summary_lines():
    metrics = nz.build_metrics(
        DS, MANIFESTS[:2],
        [(SAVED, "track", 5), (SAVED, "superseded", 1), (DISLIKED, "track", 3), (DISLIKED, "local_file", 1),
         (DISLIKED, "duplicate", 2)],
        {None: 8}, {},
    )
    assert nz.summary_lines(metrics) == [  # sources in key order
        f"normalize ds={DS} source={DISLIKED} role=disliked items=6 tracks=3 quarantined=3 "
        "(local_file=1, duplicate=2)",
        f"normalize ds={DS} source=saved_tracks role=liked items=6 tracks=5 quarantined=0 superseded=1",
        f"normalize ds={DS} total sources=2 pages=6 items=12 tracks=8 unique_tracks=8 quarantined=3 "
        "(local_file=1, duplicate=2) superseded=1",
    ]


def test_page_list_rows_in_manifest_order():
    assert nz.page_list_rows(DS, MANIFESTS[:1]) == [
        (DS, SAVED, "saved_tracks", "liked", None, "Liked Songs", None, page_path(SAVED, DS, 0), 0),
        (DS, SAVED, "saved_tracks", "liked", None, "Liked Songs", None, page_path(SAVED, LAST_WEEK, 0), 1),
        (DS, SAVED, "saved_tracks", "liked", None, "Liked Songs", None, page_path(SAVED, LAST_WEEK, 1), 2),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ds": LAST_WEEK}, "says ds='2026-11-16'"),
        ({"pages": ["../../etc/passwd"]}, "invalid raw page path"),
        ({"spotify_id": "SomeOtherPlaylist00000"}, "give source key"),
        ({"role": None}, "lacks role"),
    ],
)
def test_page_list_rows_rejects_bad_manifests(change, message):
    with pytest.raises(nz.RawInputError, match=message):
        nz.page_list_rows(DS, [{**MANIFESTS[1], **change}])


def test_source_without_pages_gives_empty_outputs_and_zero_metrics(spark):
    manifest = {**MANIFESTS[2], "pages": []}  # an empty playlist
    page_list = spark.createDataFrame(nz.page_list_rows(DS, [manifest]), PAGE_LIST_SCHEMA)
    pages = nz.parse_pages(page_list, spark.createDataFrame([], RAW_TEXT_SCHEMA))
    classified = nz.classify_items(nz.extract_items(pages))
    assert nz.to_silver(classified).count() == 0
    assert nz.to_quarantine(classified, pages).count() == 0
    counts = [tuple(r) for r in nz.outcome_counts(classified, pages).collect()]
    metrics = nz.build_metrics(DS, [manifest], counts, {}, {})
    assert (metrics["sources"][REFERENCE]["items"], metrics["totals"]["tracks"]) == (0, 0)
