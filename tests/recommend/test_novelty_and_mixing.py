"""Novelty (library roles, recent picks) and the round-robin mix of sources, on hand-written rows."""

from __future__ import annotations

import pytest

from tests.recommend.kit import SOURCES, row, sid, table
from tests.recommend.test_score import SCORES_DDL
from weekly_discovery.recommend.scoring import score as sc

pytestmark = pytest.mark.spark

PLAYLIST_KEY, PLAYLIST_NAME = SOURCES["candidates"]


def scored(track, artist, probability, source_key, position=0):
    return (sid(track), f"spotify:track:{sid(track)}", f"Song {track}", [f"Artist {artist}"], sid(artist),
            f"Artist {artist}", source_key, None, "name", position, "ok", "scored", probability, probability >= 0.5)


@pytest.fixture(scope="module")
def mixed(spark):
    return spark.createDataFrame([
        scored("r1", "ar1", 0.99, "discover-reccobeats", 0),
        scored("r2", "ar2", 0.98, "discover-reccobeats", 1),
        scored("r3", "ar3", 0.97, "discover-reccobeats", 2),
        scored("r4", "ar4", 0.96, "discover-reccobeats", 3),
        scored("a1", "ar5", 0.80, "discover-artists", 0),
        scored("a2", "ar6", 0.70, "discover-artists", 1),
        scored("a3", "ar7", 0.40, "discover-artists", 2),  # below the threshold: does not qualify
        scored("p1", "ar8", 0.60, PLAYLIST_KEY, 0),
    ], SCORES_DDL)


def picks(frame):
    return [(r["rank"], r["track_id"][:2], r["source"]) for r in frame.collect()]


def nothing_known(spark):
    return spark.createDataFrame([], "track_id string")


def test_no_single_source_fills_the_playlist_while_others_qualify(spark, mixed):
    # by probability alone the five would be r1-r4 and a1; round-robin: each round takes every source's
    # next best, the round's songs by probability
    assert picks(sc.recommend(mixed, nothing_known(spark), top_n=5, max_per_artist=2)) == [
        (1, "r1", "reccobeats"), (2, "a1", "artists"), (3, "p1", "playlists"),
        (4, "r2", "reccobeats"), (5, "a2", "artists"),
    ]


def test_a_source_that_runs_out_leaves_the_rest_to_the_others(spark, mixed):
    assert picks(sc.recommend(mixed, nothing_known(spark), top_n=10, max_per_artist=2)) == [
        (1, "r1", "reccobeats"), (2, "a1", "artists"), (3, "p1", "playlists"),
        (4, "r2", "reccobeats"), (5, "a2", "artists"), (6, "r3", "reccobeats"), (7, "r4", "reccobeats"),
    ]


def test_the_artist_cap_applies_before_the_mix(spark):
    frame = spark.createDataFrame([
        scored("r1", "same", 0.99, "discover-reccobeats"), scored("r2", "same", 0.98, "discover-reccobeats"),
        scored("a1", "same", 0.97, "discover-artists"), scored("a2", "other", 0.60, "discover-artists"),
    ], SCORES_DDL)
    assert picks(sc.recommend(frame, nothing_known(spark), top_n=10, max_per_artist=1)) == [
        (1, "r1", "reccobeats"), (2, "a2", "artists")]


def test_source_of_a_row(spark):
    frame = spark.createDataFrame([("discover-reccobeats",), ("discover-artists",), ("discover-catalog",),
                                   (PLAYLIST_KEY,)], "source_key string")
    assert [r[0] for r in frame.select(sc.source_of(frame["source_key"])).collect()] == [
        "reccobeats", "artists", "catalog", "playlists"]


def test_novelty_keeps_out_every_library_role_and_the_recent_picks(spark):
    enriched = spark.createDataFrame(table([
        row("lk", "liked", artist="x1"), row("dk", "disliked", artist="x2", status="missing"),
        row("rf", "reference", artist="x3", source="liked2"), row("nw", "candidates", artist="x4"),
    ]))
    recent = spark.createDataFrame([(sid("hs"),)], "track_id string")  # published within novelty_weeks
    excluded = sorted(r["track_id"] for r in sc.excluded_track_ids(enriched, recent).collect())
    assert excluded == sorted([sid("lk"), sid("dk"), sid("rf"), sid("hs")])

    candidates = spark.createDataFrame([
        scored(name, f"ar{i}", 0.9, "discover-reccobeats", i) for i, name in enumerate(("lk", "dk", "rf", "hs", "nw"))
    ], SCORES_DDL)
    got = picks(sc.recommend(candidates, sc.excluded_track_ids(enriched, recent), top_n=5, max_per_artist=2))
    assert got == [(1, "nw", "reccobeats")]
    # outside the window (no recent picks), the song published long ago may come back
    older = picks(sc.recommend(candidates, sc.excluded_track_ids(enriched, nothing_known(spark)), 5, 2))
    assert older == [(1, "hs", "reccobeats"), (2, "nw", "reccobeats")]
