"""The scoring transforms on hand-made rows, with hand-written expected rows.

Recommendation rules under test: known tracks (liked or disliked anywhere) excluded, one row per
track, at most K per primary artist, probability >= threshold, order by probability then track id.
"""

from __future__ import annotations

import pytest

from tests.recommend.kit import SOURCES, row, sid, table, taste_rows
from weekly_discovery.recommend.model import families as cand
from weekly_discovery.recommend.scoring import score as sc

pytestmark = pytest.mark.spark

A_KEY, A_NAME = SOURCES["candidates"]
B_KEY, B_NAME = SOURCES["candidates2"]
SCORES_DDL = ("track_id string, track_uri string, name string, artist_names array<string>, primary_artist_id string, "
              "primary_artist_name string, source_key string, source_id string, source_name string, position int, "
              "feature_status string, score_status string, probability double, recommended boolean")


def scored(track, artist, probability, source="candidates", position=0, threshold=0.5):
    key, name = SOURCES[source]
    status = "scored" if probability is not None else "features_missing"
    return (sid(track), f"spotify:track:{sid(track)}", f"Song {track}", [f"Artist {artist}"], sid(artist),
            f"Artist {artist}", key, key[9:], name, position, "ok" if probability is not None else "missing",
            status, probability, probability is not None and probability >= threshold)


@pytest.fixture(scope="module")
def scores(spark):
    rows = [
        scored("s1", "ar1", 0.95, position=0),
        scored("s2", "ar1", 0.90, position=1),
        scored("s3", "ar1", 0.85, position=2),                      # ar1's third: over the cap of 2
        scored("s4", "ar2", 0.90, source="candidates2", position=5),  # in both playlists:
        scored("s4", "ar2", 0.90, position=3),                       # ...kept once, from A (first key)
        scored("s5", "ar3", 0.99, position=4),                       # already liked
        scored("s6", "ar4", 0.40, position=6),                       # below the threshold
        scored("s7", "ar5", 0.90, source="candidates2", position=0),  # ties s2 and s4 at 0.90
        scored("s8", "ar6", 0.60, source="candidates2", position=1),
        scored("s9", "ar7", None, source="candidates2", position=2),  # no usable features
        scored("sA", "ar8", 0.70, position=7),                       # already disliked
    ]
    return spark.createDataFrame(rows, SCORES_DDL)


@pytest.fixture(scope="module")
def known(spark):
    enriched = spark.createDataFrame(table([
        row("s5", "liked", artist="ar3"), row("sA", "disliked", artist="ar8", status="missing"),
        row("zz", "liked", artist="ar9"), row("s1", "candidates", artist="ar1"),  # a candidate is not "known"
    ]))
    return sc.known_track_ids(enriched)


def rec(rank, track, artist, probability, key=A_KEY, name=B_NAME):
    return {"rank": rank, "track_id": sid(track), "uri": f"spotify:track:{sid(track)}", "name": f"Song {track}",
            "artists": [f"Artist {artist}"], "primary_artist_id": sid(artist), "primary_artist_name": f"Artist {artist}",
            "probability": probability, "source_key": key, "source_name": name, "source": "playlists"}


def test_recommend_excludes_known_deduplicates_caps_artists_and_breaks_ties_by_id(scores, known):
    got = [r.asDict(recursive=True) for r in sc.recommend(scores, known, top_n=10, max_per_artist=2).collect()]
    assert got == [
        rec(1, "s1", "ar1", 0.95, A_KEY, A_NAME),
        rec(2, "s2", "ar1", 0.90, A_KEY, A_NAME),
        rec(3, "s4", "ar2", 0.90, A_KEY, A_NAME),
        rec(4, "s7", "ar5", 0.90, B_KEY, B_NAME),
        rec(5, "s8", "ar6", 0.60, B_KEY, B_NAME),
    ]
    assert list(sc.recommend(scores, known, 1, 2).columns) == list(sc.RECOMMENDATION_COLUMNS)


def test_recommend_honours_top_n_and_a_cap_of_one(scores, known):
    got = [(r["rank"], r["track_id"]) for r in sc.recommend(scores, known, top_n=3, max_per_artist=1).collect()]
    assert got == [(1, sid("s1")), (2, sid("s4")), (3, sid("s7"))]


def test_playlist_summary_is_the_posts_n_of_m(scores):
    got = [r.asDict() for r in sc.playlist_summary(scores).collect()]
    assert got == [
        {"source_key": A_KEY, "name": A_NAME, "recommended": 6, "total": 7, "scored": 7},
        {"source_key": B_KEY, "name": B_NAME, "recommended": 3, "total": 4, "scored": 3},
    ]
    lines = sc.summary_lines(got, [rec(1, "s1", "ar1", 0.95, A_KEY, A_NAME)], 0.5)
    assert lines[0] == f"{A_NAME}: 6 of 7 songs recommended (probability >= 0.5)"
    assert lines[1] == f"{B_NAME}: 3 of 4 songs recommended (probability >= 0.5; 1 without usable features)"
    assert lines[-1] == f"  1. Song s1 - Artist ar1 (0.950, {A_NAME})"


def test_score_candidates_scores_usable_rows_and_explains_the_others(spark):
    features = ("energy", "acousticness", "loudness")
    training = spark.createDataFrame(table(taste_rows())).where("role in ('liked', 'disliked')")
    training = training.selectExpr("*", "cast(role = 'liked' as double) as label")
    model = cand.fit(cand.baseline(), training, features, 42)
    enriched = spark.createDataFrame(table([
        row("c1", "candidates", position=0, energy=0.2, acousticness=0.9, loudness=-12.0),  # sounds liked
        row("c2", "candidates", position=1, energy=0.95, acousticness=0.05, loudness=-3.0),  # sounds disliked
        row("c3", "candidates", position=2, status="missing"),
        row("c4", "candidates", position=3, loudness=None),
        row("c5", "candidates", position=4, tempo=None),  # tempo is not one of the model's features
        row("l1", "liked", position=0),
    ]))
    got = {r["track_id"]: r for r in sc.score_candidates(model, enriched, features, 0.5).collect()}

    assert set(got) == {sid(t) for t in ("c1", "c2", "c3", "c4", "c5")}
    assert got[sid("c1")]["probability"] > 0.5 > got[sid("c2")]["probability"]
    assert (got[sid("c1")]["recommended"], got[sid("c2")]["recommended"]) == (True, False)
    assert (got[sid("c3")]["score_status"], got[sid("c3")]["probability"], got[sid("c3")]["recommended"]) == (
        "features_missing", None, False)
    assert (got[sid("c4")]["score_status"], got[sid("c4")]["probability"]) == ("null_feature", None)
    assert got[sid("c5")]["score_status"] == "scored" and got[sid("c5")]["probability"] is not None
    scored = sc.score_candidates(model, enriched, features, 0.5)
    assert list(scored.columns) == list(sc.SCORE_COLUMNS)
    # long whatever the sources (the library's int, the catalogue's long): gold/scores' column never changes type
    assert dict(scored.dtypes)["position"] == "bigint" and dict(enriched.dtypes)["position"] == "int"
