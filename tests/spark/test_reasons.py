"""The liked songs nearest to a pick, in standardized audio features, on a library small enough to do by hand.

Features ``a`` (0..2) and ``b`` (0..20, ten times the scale). The rows the statistics come from (liked and
disliked, status ok, each track once) are L1 (0, 0), L2 (2, 0), L3 (0, 20) and D1 (2, 20):
mean a = 1, sample sd a = sqrt(4/3) = 1.154701; mean b = 10, sd b = sqrt(400/3) = 11.547005.
"""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.spark

SCHEMA = ("track_id string, name string, artist_names array<string>, role string, feature_status string, "
          "a double, b double")
SD_A, SD_B = math.sqrt(4 / 3), math.sqrt(400 / 3)


def library(spark):
    return spark.createDataFrame([
        ("L1", "First", ["Ann"], "liked", "ok", 0.0, 0.0),
        ("L1", "First", ["Ann"], "liked", "ok", 0.0, 0.0),  # the same song from a second liked source
        ("L2", "Second", ["Bo", "Cy"], "liked", "ok", 2.0, 0.0),
        ("L3", "Third", ["Di"], "liked", "ok", 0.0, 20.0),
        ("D1", "Disliked", ["Ed"], "disliked", "ok", 2.0, 20.0),
        ("LX", "No features", ["Fay"], "liked", "missing", 1.0, 5.0),  # would be nearest to Q: not usable
        ("LN", "Null feature", ["Gus"], "liked", "ok", 1.0, None),  # a feature unknown: not usable
        ("R1", "Reference", ["Hal"], "reference", "ok", 100.0, 900.0),  # not in the statistics
        ("C1", "Candidate", ["Ivy"], "candidates", "ok", 1.0, 5.0),  # not a liked song
    ], SCHEMA)


def picks(spark):
    return spark.createDataFrame([("P", 0.5, 0.0), ("Q", 1.0, 5.0), ("Q", 1.0, 5.0), ("N", None, 1.0)],
                                 "track_id string, a double, b double")


def nearest(spark, k):
    from weekly_discovery.recommend.reasons import nearest_liked

    rows = nearest_liked(picks(spark), library(spark), ["a", "b"], k=k).collect()
    return {r["track_id"]: [(c["track_id"], c["name"], list(c["artist_names"]), c["distance"])
                            for c in r["closest"]] for r in rows}


def test_distances_are_euclidean_over_z_scores_nearest_first(spark):
    got = nearest(spark, 3)
    assert set(got) == {"P", "Q", "N"}
    # P (0.5, 0): to L1 da = 0.5/sd_a; to L2 da = 1.5/sd_a; to L3 da = 0.5/sd_a and db = 20/sd_b
    expected_p = [("L1", "First", ["Ann"], 0.5 / SD_A), ("L2", "Second", ["Bo", "Cy"], 1.5 / SD_A),
                  ("L3", "Third", ["Di"], math.sqrt((0.5 / SD_A) ** 2 + (20 / SD_B) ** 2))]
    assert [c[:3] for c in got["P"]] == [c[:3] for c in expected_p]
    assert [c[3] for c in got["P"]] == pytest.approx([0.433013, 1.299038, 1.785357], abs=1e-6)
    assert [c[3] for c in got["P"]] == pytest.approx([c[3] for c in expected_p])


def test_ties_go_by_track_id_and_k_limits_the_list(spark):
    got = nearest(spark, 2)
    # Q (1, 5): L1 and L2 are both sqrt((1/sd_a)^2 + (5/sd_b)^2) = sqrt(0.75 + 0.1875) = 0.968246 away;
    # on raw scales L3 (distance 15.03) would still be last, but LX and C1 (same point) must not count
    assert [(c[0], round(c[3], 6)) for c in got["Q"]] == [("L1", 0.968246), ("L2", 0.968246)]
    assert [c[0] for c in got["P"]] == ["L1", "L2"]


def test_a_pick_with_a_missing_feature_gets_an_empty_list(spark):
    assert nearest(spark, 3)["N"] == []
