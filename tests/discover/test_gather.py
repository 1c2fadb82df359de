"""gather over the tiny world: the raw answers, silver/candidates (rows written by hand), the album cache.

silver/candidates and silver/album_tracks are Delta tables: they are read back through delta-rs, and sorted
here (Delta keeps no row order)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from devtools.standin.library import Album, Track
from tests.discover.kit import (
    ADA,
    ALB_A1,
    ALB_A2,
    ALB_B1,
    BO,
    CY,
    PLAYLIST_ID,
    metrics_of,
    rb_id,
    read_album_cache,
    read_candidates,
    sid,
    write_silver_tracks,
)
from weekly_discovery.discover.gather import gather
from weekly_discovery.discover.library import LibraryMissing
from weekly_discovery.discover.store import raw_partition
from weekly_discovery.lake import ALBUM_TRACKS, CANDIDATES, Lake, delta
from weekly_discovery.settings.config import Discover

DS1, DS2 = "2026-11-23", "2026-11-30"
ALBUMS_ROUTE = "GET /v1/artists/{artist_id}/albums"
TRACKS_ROUTE = "GET /v1/albums/{album_id}/tracks"
RECCO_ROUTE = "GET /reccobeats/v1/track/recommendation"


def settings(standin, **kwargs) -> Discover:
    return Discover(reccobeats_url=standin.reccobeats_url, top_artists=2, **kwargs)


def row(source, rank, name, artist, **provenance):
    base = {"ds": DS1, "source": source, "rank": rank, "track_id": sid(name), "track_uri": f"spotify:track:{sid(name)}",
            "name": f"Song {name}", "artist_ids": [artist.id], "artist_names": [artist.name], "seed_track_ids": [],
            "seed_artist_id": None, "seed_artist_name": None, "album_id": None, "album_name": None,
            "playlist_id": None, "playlist_name": None, "catalogue": None, "reccobeats_id": None}
    return base | provenance


EXPECTED_ARTISTS = [
    row("artists", 0, "a4", ADA, seed_artist_id=ADA.id, seed_artist_name="Ada", album_id=ALB_A2.id,
        album_name="Second Light"),
    row("artists", 1, "a2", ADA, seed_artist_id=ADA.id, seed_artist_name="Ada", album_id=ALB_A1.id,
        album_name="First Light"),
]
EXPECTED_PLAYLISTS = [
    row("playlists", 0, "c1", CY, playlist_id=PLAYLIST_ID, playlist_name="Friends Mix"),
    row("playlists", 1, "a2", ADA, playlist_id=PLAYLIST_ID, playlist_name="Friends Mix"),
]
# ReccoBeats answers every other song for the three liked seeds (the tiny catalogue is smaller than size=100);
# b2 (disliked) is dropped. Its order is the stand-in's, so these are compared without rank.
EXPECTED_RECCOBEATS = [
    row("reccobeats", None, name, artist, seed_track_ids=sorted([sid("a1"), sid("a3"), sid("b1")]),
        reccobeats_id=rb_id(name))
    for name, artist in (("a2", ADA), ("a4", ADA), ("c1", CY), ("c2", CY))
]


@pytest.fixture
def lake(tmp_path, tiny):
    lake = Lake(str(tmp_path / "lake"))
    write_silver_tracks(lake, DS1, tiny)
    write_silver_tracks(lake, DS2, tiny)
    return lake


def candidates(lake, ds):
    return read_candidates(lake, ds)


def test_gather_writes_one_row_per_song_and_source_with_provenance(lake, tiny_standin, clients):
    result = gather(lake, DS1, settings=settings(tiny_standin), seed=7, clients=clients)

    rows = candidates(lake, DS1)
    assert [r for r in rows if r["source"] == "artists"] == EXPECTED_ARTISTS
    assert [r for r in rows if r["source"] == "playlists"] == EXPECTED_PLAYLISTS
    recco = sorted((r | {"rank": None, "seed_track_ids": sorted(r["seed_track_ids"])}
                    for r in rows if r["source"] == "reccobeats"), key=lambda r: r["track_id"])
    assert recco == EXPECTED_RECCOBEATS
    assert sorted(r["rank"] for r in rows if r["source"] == "reccobeats") == [0, 1, 2, 3]
    assert len(rows) == result.candidates == 8

    assert [s.source for s in result.sources] == ["reccobeats", "artists", "playlists"]  # the configured order
    summary = {s.source: (s.requests, s.budget, s.found, s.new, s.status) for s in result.sources}
    assert summary == {
        "reccobeats": (1, 20, 5, 4, "done"),  # 3 liked songs: one call of up to 5 seeds
        "artists": (5, 150, 6, 2, "done"),  # Ada: albums + 2 albums' tracks; Bo: albums + 1 album's tracks
        "playlists": (0, 0, 3, 2, "done"),
    }
    metrics = metrics_of(lake, DS1)
    assert metrics["sources"]["artists"] == {"requests": 5, "budget": 150, "found": 6, "new": 2, "status": "done",
                                             "note": ""}
    assert tiny_standin.count(ALBUMS_ROUTE) == 2 and tiny_standin.count(TRACKS_ROUTE) == 3
    assert tiny_standin.count(RECCO_ROUTE) == 1


def test_raw_answers_are_kept_verbatim_with_what_was_asked(lake, tiny_standin, clients):
    gather(lake, DS1, settings=settings(tiny_standin), seed=7, clients=clients)

    artists = raw_partition(lake, "artists", DS1)
    manifest = json.loads((artists / "_manifest.json").read_text())
    assert [a["endpoint"] for a in manifest["answers"]] == [
        f"/v1/artists/{ADA.id}/albums", f"/v1/albums/{ALB_A2.id}/tracks", f"/v1/albums/{ALB_A1.id}/tracks",
        f"/v1/artists/{BO.id}/albums", f"/v1/albums/{ALB_B1.id}/tracks",
    ]
    assert manifest["answers"][0]["params"] == {"include_groups": "album,single", "limit": 10, "offset": 0}
    assert (manifest["requests"], manifest["budget"], manifest["status"]) == (5, 150, "done")
    first = json.loads((artists / "answer-00000.json").read_text())
    assert [a["id"] for a in first["items"]] == [ALB_A2.id, ALB_A1.id]  # the answer as Spotify sent it

    recco = raw_partition(lake, "reccobeats", DS1)
    manifest = json.loads((recco / "_manifest.json").read_text())
    (answer,) = manifest["answers"]
    assert answer["endpoint"] == "/v1/track/recommendation" and answer["params"]["size"] == 100
    assert sorted(answer["params"]["seeds"].split(",")) == sorted([sid("a1"), sid("a3"), sid("b1")])
    body = json.loads((recco / "answer-00000.json").read_text())
    assert sorted(r["href"].rsplit("/", 1)[1] for r in body["content"]) == sorted(
        sid(n) for n in ("a2", "a4", "b2", "c1", "c2"))  # verbatim: b2 (disliked) is still in the raw answer

    playlists = json.loads((raw_partition(lake, "playlists", DS1) / "_manifest.json").read_text())
    assert (playlists["requests"], playlists["answers"]) == (0, [])


def test_a_rerun_of_a_date_gives_the_same_rows_and_leaves_the_other_dates_alone(lake, tiny_standin, clients):
    gather(lake, DS1, settings=settings(tiny_standin), seed=7, clients=clients)
    gather(lake, DS2, settings=settings(tiny_standin), seed=7, clients=clients)
    first = _state(lake)
    assert first["candidates"][DS1] and first["candidates"][DS2]
    gather(lake, DS1, settings=settings(tiny_standin), seed=7, clients=clients)

    assert _state(lake) == first
    # DS1 read 3 album track lists, DS2 none (kept), the rerun of DS1 read the cache from before DS1: 3 again
    assert tiny_standin.count(TRACKS_ROUTE) == 6
    # one commit per run and date; the rerun replaced DS1 only
    assert [c.get("ds") for c in delta.history(lake, CANDIDATES)][:3] == [DS1, DS2, DS1]


def _state(lake):
    """What a run leaves: each date's candidate rows and metrics, the album cache, the raw files."""
    return {
        "candidates": {ds: read_candidates(lake, ds) for ds in (DS1, DS2)},
        "metrics": {ds: metrics_of(lake, ds) for ds in (DS1, DS2)},
        "albums": read_album_cache(lake),
        "raw": _files(Path(lake.root) / "raw"),
    }


def test_albums_read_one_week_are_not_asked_again_the_next(lake, tiny_standin, tiny, clients):
    gather(lake, DS1, settings=settings(tiny_standin), seed=7, clients=clients)
    kept = read_album_cache(lake)
    assert [(r["album_id"], r["track_id"], r["position"], r["read_ds"]) for r in kept] == [
        (ALB_A1.id, sid("a1"), 0, DS1), (ALB_A1.id, sid("a2"), 1, DS1), (ALB_A1.id, sid("a3"), 2, DS1),
        (ALB_A2.id, sid("a4"), 0, DS1), (ALB_B1.id, sid("b1"), 0, DS1), (ALB_B1.id, sid("b2"), 1, DS1),
    ]
    assert kept[0] | {"artist_ids": None, "artist_names": None} == {
        "album_id": ALB_A1.id, "album_name": "First Light", "album_artist_id": ADA.id,
        "album_release_date": "2024-03-01", "track_id": sid("a1"), "track_name": "Song a1", "artist_ids": None,
        "artist_names": None, "track_number": 1, "position": 0, "read_ds": DS1}
    assert (list(kept[0]["artist_ids"]), list(kept[0]["artist_names"])) == ([ADA.id], ["Ada"])
    # Ada releases a new single before the next week.
    new = Album(sid("AlbA3"), "Third Light", "2026-11-27", (ADA,), "single", 1)
    tiny.tracks[sid("a5")] = Track(sid("a5"), "Song a5", [ADA], new, 180_000, dict(tiny.tracks[sid("a1")].features),
                                   reccobeats_id=rb_id("a5"))
    tiny_standin.reset_counts()

    result = gather(lake, DS2, settings=settings(tiny_standin, sources=("artists",)), seed=7, clients=clients)

    assert tiny_standin.count(ALBUMS_ROUTE) == 2
    assert tiny_standin.count(TRACKS_ROUTE) == 1  # only the new single
    assert tiny_standin.request_log[-2].path == f"/v1/albums/{new.id}/tracks"
    assert result.sources[0].requests == 3
    rows = candidates(lake, DS2)
    assert [(r["track_id"], r["album_id"]) for r in rows] == [  # kept albums still offer their songs
        (sid("a5"), new.id), (sid("a4"), ALB_A2.id), (sid("a2"), ALB_A1.id)]
    # one table: the six rows of DS1 as they were, and the new single's row of DS2
    assert [(r["album_id"], r["track_id"], r["read_ds"]) for r in read_album_cache(lake)] == sorted(
        [(r["album_id"], r["track_id"], r["read_ds"]) for r in kept] + [(new.id, sid("a5"), DS2)])
    assert len(delta.history(lake, ALBUM_TRACKS)) == 2  # one merge per run that read album track lists


def test_a_backfill_of_an_earlier_week_records_the_earlier_read_and_leaves_the_later_week(lake, tiny_standin,
                                                                                         clients):
    only_artists = settings(tiny_standin, sources=("artists",))
    gather(lake, DS2, settings=only_artists, seed=7, clients=clients)
    later = read_candidates(lake, DS2)
    assert {r["read_ds"] for r in read_album_cache(lake)} == {DS2}
    tiny_standin.reset_counts()

    gather(lake, DS1, settings=only_artists, seed=7, clients=clients)  # the earlier week, run afterwards

    assert tiny_standin.count(TRACKS_ROUTE) == 3  # nothing was read before DS1: every list asked again
    cache = read_album_cache(lake)
    assert len(cache) == 6 and {r["read_ds"] for r in cache} == {DS1}  # the same rows, now read at DS1
    assert read_candidates(lake, DS2) == later
    assert delta.dates(lake, CANDIDATES) == [DS1, DS2]
    tiny_standin.reset_counts()
    gather(lake, DS2, settings=only_artists, seed=7, clients=clients)  # DS2's rerun finds them kept before it
    assert tiny_standin.count(TRACKS_ROUTE) == 0 and read_candidates(lake, DS2) == later


def test_a_week_without_new_songs_has_no_rows_but_its_run_is_recorded(tmp_path, tiny, tiny_standin, clients):
    lake = Lake(str(tmp_path / "lake"))
    no_candidate_playlist = dataclasses.replace(tiny, roles={r: k for r, k in tiny.roles.items() if r != "candidates"})
    write_silver_tracks(lake, DS1, no_candidate_playlist)
    result = gather(lake, DS1, settings=settings(tiny_standin, sources=("playlists",)), seed=7, clients=clients)
    assert result.candidates == 0
    assert read_candidates(lake, DS1) == [] and not delta.has_date(lake, CANDIDATES, DS1)
    assert metrics_of(lake, DS1)["candidates"] == 0 and metrics_of(lake, DS1)["sources"]["playlists"]["new"] == 0



def test_a_rerun_keeps_only_its_own_answers_and_writes_the_manifest_last(lake, tiny_standin, clients,
                                                                           monkeypatch):
    from weekly_discovery.discover import store

    gather(lake, DS1, settings=settings(tiny_standin, sources=("artists",)), seed=7, clients=clients)
    artists = raw_partition(lake, "artists", DS1)
    assert sorted(p.name for p in artists.iterdir()) == ["_manifest.json"] + [f"answer-0000{i}.json" for i in range(5)]

    written = []
    real_write_json = store.write_json
    monkeypatch.setattr(store, "write_json", lambda path, obj: written.append(path.name) or 1 / 0)
    with pytest.raises(ZeroDivisionError):  # the rerun dies as it writes the new manifest
        gather(lake, DS1, settings=settings(tiny_standin, sources=("artists",), budgets={"artists": 2}), seed=7,
               clients=clients)
    assert written == ["_manifest.json"]  # after every answer
    assert not (artists / "_manifest.json").exists()  # the old one went first: the partition is not there

    monkeypatch.setattr(store, "write_json", real_write_json)
    gather(lake, DS1, settings=settings(tiny_standin, sources=("artists",), budgets={"artists": 2}), seed=7,
           clients=clients)
    manifest = json.loads((artists / "_manifest.json").read_text())
    assert [a["file"] for a in manifest["answers"]] == ["answer-00000.json", "answer-00001.json"]
    assert sorted(p.name for p in artists.iterdir()) == ["_manifest.json", "answer-00000.json", "answer-00001.json"]


def test_a_week_without_a_library_names_the_dag_to_run(tmp_path, tiny_standin, clients):
    with pytest.raises(LibraryMissing, match="run the spotify_ingest DAG for 2026-11-23"):
        gather(Lake(str(tmp_path / "empty")), DS1, settings=settings(tiny_standin), clients=clients)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_one_log_line_per_source_with_requests_budget_and_counts(lake, tiny_standin, clients, caplog):
    caplog.set_level("INFO", logger="weekly_discovery.discover.gather")
    gather(lake, DS1, settings=settings(tiny_standin, budgets={"artists": 3}), seed=7, clients=clients)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("discover ")]
    assert lines[0].startswith("discover reccobeats: 1/20 requests, 5 songs found, 4 new to the library (")
    # Ada's albums and both her albums' tracks: Bo is left for a week with budget to spare
    assert lines[1].startswith("discover artists: 3/3 requests, 4 songs found, 2 new to the library; stopped: "
                               "artists: the budget of 3 requests this week is used (")
    assert lines[2].startswith("discover playlists: 0/0 requests, 3 songs found, 2 new to the library (")
