"""The liked songs nearest to a pick, in standardized audio features, on a library small enough to do by hand.

Features ``a`` (0..2) and ``b`` (0..20, ten times the scale). The rows the statistics come from (liked and
disliked, status ok, each track once) are L1 (0, 0), L2 (2, 0), L3 (0, 20) and D1 (2, 20):
mean a = 1, sample sd a = sqrt(4/3) = 1.154701; mean b = 10, sd b = sqrt(400/3) = 11.547005.
"""

from __future__ import annotations

import math

import pytest

from weekly_discovery.recommend.scoring.reasons import nearest_liked

COLUMNS = ("track_id", "name", "artist_names", "role", "feature_status", "a", "b")
SD_A, SD_B = math.sqrt(4 / 3), math.sqrt(400 / 3)


def library():
    return [dict(zip(COLUMNS, row)) for row in [
        ("L1", "First", ["Ann"], "liked", "ok", 0.0, 0.0),
        ("L1", "First", ["Ann"], "liked", "ok", 0.0, 0.0),  # the same song from a second liked source
        ("L2", "Second", ["Bo", "Cy"], "liked", "ok", 2.0, 0.0),
        ("L3", "Third", ["Di"], "liked", "ok", 0.0, 20.0),
        ("D1", "Disliked", ["Ed"], "disliked", "ok", 2.0, 20.0),
        ("LX", "No features", ["Fay"], "liked", "missing", 1.0, 5.0),  # would be nearest to Q: not usable
        ("LN", "Null feature", ["Gus"], "liked", "ok", 1.0, None),  # a feature unknown: not usable
        ("R1", "Reference", ["Hal"], "reference", "ok", 100.0, 900.0),  # not in the statistics
        ("C1", "Candidate", ["Ivy"], "candidates", "ok", 1.0, 5.0),  # not a liked song
        ("DN", "NaN feature", ["Jo"], "disliked", "ok", float("nan"), 1.0),  # not in the statistics either
    ]]


def picks():
    return [dict(zip(("track_id", "a", "b"), row))
            for row in [("P", 0.5, 0.0), ("Q", 1.0, 5.0), ("Q", 1.0, 5.0), ("N", None, 1.0)]]


def nearest(k):
    got = nearest_liked(picks(), library(), ["a", "b"], k=k)
    return {track: [(c["track_id"], c["name"], list(c["artist_names"]), c["distance"]) for c in closest]
            for track, closest in got.items()}


def test_distances_are_euclidean_over_z_scores_nearest_first():
    got = nearest(3)
    assert set(got) == {"P", "Q", "N"}
    # P (0.5, 0): to L1 da = 0.5/sd_a; to L2 da = 1.5/sd_a; to L3 da = 0.5/sd_a and db = 20/sd_b
    expected_p = [("L1", "First", ["Ann"], 0.5 / SD_A), ("L2", "Second", ["Bo", "Cy"], 1.5 / SD_A),
                  ("L3", "Third", ["Di"], math.sqrt((0.5 / SD_A) ** 2 + (20 / SD_B) ** 2))]
    assert [c[:3] for c in got["P"]] == [c[:3] for c in expected_p]
    assert [c[3] for c in got["P"]] == pytest.approx([0.433013, 1.299038, 1.785357], abs=1e-6)
    assert [c[3] for c in got["P"]] == pytest.approx([c[3] for c in expected_p])


def test_ties_go_by_track_id_and_k_limits_the_list():
    got = nearest(2)
    # Q (1, 5): L1 and L2 are both sqrt((1/sd_a)^2 + (5/sd_b)^2) = sqrt(0.75 + 0.1875) = 0.968246 away;
    # on raw scales L3 (distance 15.03) would still be last, but LX and C1 (same point) must not count
    assert [(c[0], round(c[3], 6)) for c in got["Q"]] == [("L1", 0.968246), ("L2", 0.968246)]
    assert [c[0] for c in got["P"]] == ["L1", "L2"]


def test_a_pick_with_a_missing_feature_gets_an_empty_list():
    assert nearest(3)["N"] == []


def test_a_feature_without_spread_is_left_out_and_a_pick_is_never_its_own_neighbour():
    rows = [dict(zip(COLUMNS, row)) for row in [
        ("L1", "One", ["Ann"], "liked", "ok", 0.0, 7.0),
        ("L2", "Two", ["Bo"], "liked", "ok", 3.0, 7.0),
        ("D1", "Three", ["Cy"], "disliked", "ok", 6.0, 7.0),
    ]]
    # b is 7 everywhere (sd 0): only a counts, sd a = 3; L2 is a liked song picked again (a new source)
    got = nearest_liked([{"track_id": "L2", "a": 1.0, "b": 100.0}], rows, ["a", "b"], k=3)
    assert [(c["track_id"], round(c["distance"], 6)) for c in got["L2"]] == [("L1", round(1 / 3, 6))]


def test_without_liked_songs_or_with_a_bad_k_or_no_feature():
    disliked_only = [r for r in library() if r["role"] != "liked"]
    assert nearest_liked(picks(), disliked_only, ["a", "b"]) == {"P": [], "Q": [], "N": []}
    with pytest.raises(ValueError, match="k must be at least 1"):
        nearest_liked(picks(), library(), ["a"], k=0)
    with pytest.raises(ValueError, match="at least one feature"):
        nearest_liked(picks(), library(), [])
