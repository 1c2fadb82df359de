"""The bad-input corpus: one suite, one case per kind of bad input.

Every case ends in one of two ways: a clear error that names the fix, or rows quarantined and
counted while the rest of the run proceeds. The raw lake, the config files and the feature
file are written by hand here; one normalize run (the job's own function) and one file
look-up run cover the data cases. Every expected value is written by hand.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.reliability.conftest import raw_rows, table_rows
from weekly_discovery.enrich import lookup_job
from weekly_discovery.ingest import job as normalize_job
from weekly_discovery.lake import QUARANTINE_ITEMS, SILVER_TRACKS
from weekly_discovery.lake.layout import Lake
from weekly_discovery.settings.config import ConfigError, load_config

pytestmark = pytest.mark.spark

DS = "2026-11-23"
ADDED = "2026-11-22T09:00:00Z"
HTML_NAME = "<script>alert('x')</script> Rock &amp; <b>Roll</b>\x07\x00\x1b[31m"
PLAYLIST_ID = "CorpusPlaylist00000000"


def tid(letter: str) -> str:
    return f"track{letter}".ljust(22, "0")


def track(letter: str, **changes) -> dict:
    base = {"id": tid(letter), "uri": f"spotify:track:{tid(letter)}", "name": f"Song {letter}", "type": "track",
            "duration_ms": 180_000, "explicit": False, "is_local": False,
            "artists": [{"id": "Artist1".ljust(22, "0"), "name": "Artist One"}],
            "album": {"id": "Album1".ljust(22, "0"), "name": "Album One", "release_date": "2024-02-02"}}
    return {k: v for k, v in {**base, **changes}.items() if v is not ...}


def paging(items: list) -> str:
    return json.dumps({"href": "https://api.spotify.com/v1/me/tracks", "items": items, "limit": 50, "next": None,
                       "offset": 0, "previous": None, "total": len(items)})


SAVED_PAGES = {
    0: paging([
        # 0: unknown fields at both levels: kept, the extra fields stay in the raw page only
        {"added_at": ADDED, "surprise": {"nested": [1, 2]}, "track": track("A", popularity_v2=3, new_flag=True)},
        # 1: missing fields (no name, album, artists): kept, those columns are null
        {"added_at": ADDED, "track": track("B", name=..., album=..., artists=...)},
        # 2: wrong types inside a track: the mistyped fields are null, the track is kept
        {"added_at": "yesterday", "track": track("C", duration_ms="three minutes", explicit="yes")},
        # 3, 4: a track without an id (key absent; id null): quarantined as missing_id
        {"added_at": ADDED, "track": track("D", id=...)},
        {"added_at": ADDED, "track": track("E", id=None)},
        # 5: a name with HTML and control characters: kept verbatim (it is data), escaped when rendered
        {"added_at": ADDED, "track": track("F", name=HTML_NAME)},
        # 6: an item of the wrong type (a string, not an object): quarantined as null_item
        "just a string",
        # 7: a plain good track after all that
        {"added_at": ADDED, "track": track("G")},
        # 8: an id that is not Spotify's 22 base-62 characters: quarantined as invalid_id, never sent to an API
        {"added_at": ADDED, "track": track("I", id="12345")},
    ]),
    1: '{"items": [{"added_at": "2026-11-',  # malformed JSON (a truncated download)
    2: '{"href": "x", "total": 3}',  # a paging object without items
    3: '{"items": 5}',  # wrong type for items
}


def page_path(key: str, n: int) -> str:
    return f"raw/spotify/source={key}/ds={DS}/page-{n:05d}.json"


def write_raw(lake: Lake) -> None:
    pages = {page_path("saved_tracks", n): text for n, text in SAVED_PAGES.items()}
    playlist = {page_path(f"playlist-{PLAYLIST_ID}", 0): paging([{"added_at": ADDED, "item": track("H")}])}
    for rel, text in {**pages, **playlist}.items():
        Path(lake.root, rel).parent.mkdir(parents=True, exist_ok=True)
        Path(lake.root, rel).write_text(text)
    common = {"ds": DS, "mode": "full", "requests": 1, "extracted_at": "x"}
    manifests = [
        {**common, "source_key": "saved_tracks", "kind": "saved_tracks", "role": "liked", "spotify_id": None,
         "name": "Liked Songs", "snapshot_id": None, "pages": list(pages), "item_total": 9},
        {**common, "source_key": f"playlist-{PLAYLIST_ID}", "kind": "playlist", "role": "candidates",
         "spotify_id": PLAYLIST_ID, "name": "Corpus candidates", "snapshot_id": "s1", "pages": list(playlist),
         "item_total": 1},
    ]
    for manifest in manifests:
        folder = lake.raw_partition(manifest["source_key"], DS)
        (folder / "_manifest.json").write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def corpus(spark, tmp_path_factory):
    """One normalize run over the whole raw corpus, then one file look-up over its silver tracks."""
    tmp = tmp_path_factory.mktemp("corpus")
    lake = Lake(str(tmp / "lake"))
    write_raw(lake)
    handler, logger = _Collect(), logging.getLogger("weekly_discovery")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        metrics = normalize_job.normalize_date(spark, lake, DS, normalize_job.load_raw_input(lake, DS))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return {"tmp": tmp, "lake": lake, "metrics": metrics, "log": handler.lines}


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def silver(corpus) -> dict[str, dict]:
    return {r["track_id"]: r for r in table_rows(corpus["lake"], SILVER_TRACKS, DS)}


def quarantine(corpus) -> list[tuple]:
    rows = table_rows(corpus["lake"], QUARANTINE_ITEMS, DS)
    return sorted((r["position"], r["reason"], r["detail"], r["raw"]) for r in rows)


# ---- the cases ----------------------------------------------------------------------------
def case_malformed_json_page(corpus, spark):
    assert (9, "malformed_page", "not valid JSON for a paging object", SAVED_PAGES[1]) in quarantine(corpus)
    assert corpus["metrics"]["sources"]["saved_tracks"]["quarantined"]["malformed_page"] == 3
    assert corpus["metrics"]["sources"]["saved_tracks"]["pages"] == 4


def case_unknown_fields(corpus, spark):
    row = silver(corpus)[tid("A")]
    assert (row["name"], row["position"], row["artist_names"], row["duration_ms"]) == \
        ("Song A", 0, ["Artist One"], 180_000)
    assert "popularity_v2" not in row and "surprise" not in row


def case_missing_fields(corpus, spark):
    row = silver(corpus)[tid("B")]
    assert (row["name"], row["album_id"], row["artist_ids"], row["primary_artist_name"], row["position"]) == \
        (None, None, None, None, 1)
    # a page without its items array is quarantined with that reason
    assert (9, "malformed_page", "paging object has no items array", SAVED_PAGES[2]) in quarantine(corpus)


def case_wrong_types(corpus, spark):
    row = silver(corpus)[tid("C")]
    assert (row["duration_ms"], row["explicit"], row["added_at"], row["name"]) == (None, None, None, "Song C")
    # kept, but not silently: each unreadable field is counted (track C's three, no other track's)
    assert corpus["metrics"]["sources"]["saved_tracks"]["unreadable_fields"] == \
        {"added_at": 1, "duration_ms": 1, "explicit": 1}
    assert corpus["metrics"]["totals"]["unreadable_fields"] == {"added_at": 1, "duration_ms": 1, "explicit": 1}
    rows = quarantine(corpus)
    assert (6, "null_item", None, "just a string") in rows  # an item that is not an object
    assert (9, "malformed_page", "not valid JSON for a paging object", SAVED_PAGES[3]) in rows  # items: 5


def case_track_without_id(corpus, spark):
    rows = [r for r in quarantine(corpus) if r[1] == "missing_id"]
    assert [r[0] for r in rows] == [3, 4]
    assert json.loads(rows[0][3])["track"]["uri"] == f"spotify:track:{tid('D')}"  # the raw item is kept
    assert corpus["metrics"]["sources"]["saved_tracks"]["quarantined"]["missing_id"] == 2


def case_track_with_an_invalid_id(corpus, spark):
    rows = [r for r in quarantine(corpus) if r[1] == "invalid_id"]
    assert [r[0] for r in rows] == [8]
    assert json.loads(rows[0][3])["track"]["id"] == "12345"  # the raw item is kept
    assert "12345" not in silver(corpus)


def case_html_and_control_characters_in_names(corpus, spark):
    from weekly_discovery.report.render import top_artists_section

    assert silver(corpus)[tid("F")]["name"] == HTML_NAME  # data is kept as Spotify sent it
    html = top_artists_section({"top_artists": {"min_tracks": 3, "total": 1, "shown": 1, "artists": [
        {"name": HTML_NAME, "artist_id": "Artist1".ljust(22, "0"), "tracks": 5}]}})
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Rock &amp;amp; &lt;b&gt;Roll&lt;/b&gt;[31m" in html
    assert not any(ch in html for ch in "\x00\x07\x1b")  # control characters are not valid in HTML text


def case_counts_and_the_rest_proceeds(corpus, spark):
    s = corpus["metrics"]["sources"]
    assert {k: s["saved_tracks"][k] for k in ("pages", "items", "tracks", "superseded", "quarantined_total")} == \
        {"pages": 4, "items": 9, "tracks": 5, "superseded": 0, "quarantined_total": 7}
    assert s["saved_tracks"]["quarantined"] == {"null_item": 1, "local_file": 0, "episode": 0, "missing_id": 2,
                                                "invalid_id": 1, "duplicate": 0, "malformed_page": 3}
    assert sorted(silver(corpus)) == [tid(x) for x in "ABCFGH"]  # the playlist's track too
    assert (f"normalize ds={DS} source=saved_tracks role=liked items=9 tracks=5 quarantined=7 "
            "(null_item=1, missing_id=2, invalid_id=1, malformed_page=3) "
            "unreadable_fields=(added_at=1, duration_ms=1, explicit=1: kept, stored as null)") in corpus["log"]


def case_config_with_an_unknown_key(corpus, spark):
    path = corpus["tmp"] / "unknown-key.toml"
    path.write_text('[sources]\nliked = ["saved_tracks"]\n\n[enrichment]\nprovider = ["reccobeats"]\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert str(info.value) == (
        f"config {path}: unknown key 'provider' in [enrichment]; expected one of: file, min_coverage, "
        "missing_retry_days, providers, reccobeats_url")


def case_config_with_a_bad_playlist_id(corpus, spark):
    path = corpus["tmp"] / "bad-id.toml"
    path.write_text('[sources]\nliked = ["saved_tracks"]\ndisliked = ["https://open.spotify.com/album/x"]\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert str(info.value) == (
        f"config {path}: sources.disliked[0]: 'https://open.spotify.com/album/x' is not a 22-character Spotify "
        "playlist id (37i9dQZF1DXcBWIGoYBM5M), a URI (spotify:playlist:37i9dQZF1DXcBWIGoYBM5M) or a link "
        "(https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M)")


def case_feature_file_with_a_broken_row(corpus, spark):
    features = ["danceability", "energy", "valence", "tempo"]
    rows = {  # id -> values; G's energy is not a finite number, the rest are fine
        tid("A"): [0.5, 0.6, 0.7, 120.0], tid("G"): [0.5, float("nan"), 0.7, 121.0],
        tid("H"): [0.1, 0.2, 0.3, 90.0], "NotInTheLibrary0000000": [0.9, 0.9, 0.9, 99.0],
    }
    table = pa.table({"track_id": list(rows), **{f: [v[i] for v in rows.values()] for i, f in enumerate(features)}})
    pq.write_table(table, corpus["tmp"] / "features.parquet")
    config = corpus["tmp"] / "file.toml"
    config.write_text(
        '[sources]\nliked = ["saved_tracks"]\ncandidates = ["spotify:playlist:%s"]\n\n'
        '[enrichment]\nproviders = ["file"]\n\n[enrichment.file]\npath = "features.parquet"\nformat = "parquet"\n'
        '[enrichment.file.columns]\nid = "track_id"\n' % PLAYLIST_ID)
    manifest = lookup_job.lookup(spark, corpus["lake"], DS, str(config))
    assert {k: manifest[k] for k in ("looked_up", "hits", "absent", "malformed", "malformed_rows")} == \
        {"looked_up": 6, "hits": 2, "absent": 3, "malformed": 1, "malformed_rows": 1}
    assert manifest["malformed_sample"] == [{"track_id": tid("G"), "detail": "energy=NaN"}]
    written = {r["track_id"]: r["status"] for r in raw_rows(corpus["lake"].raw_features_partition("file", DS))}
    assert written == {tid("A"): "hit", tid("B"): "absent", tid("C"): "absent", tid("F"): "absent",
                       tid("G"): "malformed", tid("H"): "hit"}


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case, corpus, spark):
    CASES[case](corpus, spark)
