"""The report's arithmetic on hand-made numbers: bins and their edges, shares, the reading rule, pairs."""

from __future__ import annotations

import math

import pytest

from weekly_discovery.report import analysis as an


@pytest.mark.parametrize("value, expected", [
    (0.0, 0),     # the lowest edge
    (0.05, 0),
    (0.1, 1),     # exactly on an edge: the range that starts there
    (0.3, 3),     # 0.3 * 10 is 2.9999999999999996 in binary floating point; a person counts it in 0.3-0.4
    (0.7, 7),     # 0.7 * 10 is 7.000000000000001
    (0.6999, 6),
    (0.95, 9),
    (1.0, 9),     # 1.0 starts no range of its own: the last range is 0.9-1.0, closed
])
def test_bin_of_tenths(value, expected):
    assert an.bin_of(value, 0.1) == expected


def test_bin_of_other_widths():
    assert [an.bin_of(v, 0.25) for v in (0.0, 0.24, 0.25, 0.5, 0.75, 1.0)] == [0, 0, 1, 2, 3, 3]
    assert [an.bin_of(v, 0.05) for v in (0.15, 0.35, 0.95, 1.0)] == [3, 7, 19, 19]


def test_bin_edges_and_count():
    assert an.bin_edges(0.25) == [[0.0, 0.25], [0.25, 0.5], [0.5, 0.75], [0.75, 1.0]]
    assert an.bin_edges(0.1)[3] == [0.3, 0.4]
    assert an.bin_count(0.05) == 20
    with pytest.raises(ValueError, match="divide 1 evenly"):
        an.bin_count(0.3)


def test_shares_sum_to_one_and_match_hand_counts():
    shares = an.shares_from_counts([1, 0, 3, 4])
    assert shares == [0.125, 0.0, 0.375, 0.5]
    assert math.isclose(sum(shares), 1.0)
    assert an.shares_from_counts([0, 0]) == [0.0, 0.0]


def test_distribution_table_fills_missing_pairs_with_zeros():
    rows = [("liked", "energy", 0, 2), ("liked", "energy", 3, 6), ("ref", "valence", 1, 5)]
    table = an.distribution_table(rows, ["liked", "ref"], ["energy", "valence"], 4)
    assert table["energy"]["liked"] == {"n": 8, "counts": [2, 0, 0, 6], "shares": [0.25, 0, 0, 0.75]}
    assert table["energy"]["ref"] == {"n": 0, "counts": [0, 0, 0, 0], "shares": [0, 0, 0, 0]}
    assert table["valence"]["ref"]["shares"] == [0, 1.0, 0, 0]


TENTHS = 0.1


def test_reading_window_concentrated():
    shares = [0, 0, 0, 0, 0.05, 0.1, 0.35, 0.3, 0.15, 0.05]  # 0.6-0.8 holds 65%
    assert an.reading_window(shares, TENTHS) == {"low": 0.6, "high": 0.8, "share": 0.65, "concentrated": True}


def test_reading_window_spread():
    shares = [0.05, 0.05, 0.15, 0.1, 0.1, 0.1, 0.1, 0.15, 0.15, 0.05]
    # no run of 1..4 ranges holds 60% (the best four: 0.5-0.9 with 50%); of the five-range runs only
    # 0.4-0.9 does (0.1 + 0.1 + 0.1 + 0.15 + 0.15): 0.5 wide, so "spread"
    window = an.reading_window(shares, TENTHS)
    assert window == {"low": 0.4, "high": 0.9, "share": 0.6, "concentrated": False}


def test_reading_window_prefers_the_fuller_run_of_the_same_length():
    shares = [0.3, 0.31, 0, 0, 0, 0, 0, 0, 0.3, 0.09]
    assert an.reading_window(shares, TENTHS)["low"] == 0.0  # 0.0-0.2 holds 61%, 0.8-1.0 only 39%
    shares = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.35, 0.65]
    assert an.reading_window(shares, TENTHS) == {"low": 0.9, "high": 1.0, "share": 0.65, "concentrated": True}


def test_reading_window_empty_group():
    assert an.reading_window([0.0] * 10, TENTHS) is None


def test_reading_line_names_each_group():
    groups = [
        {"key": "liked", "label": "Your liked songs",
         "window": {"low": 0.2, "high": 0.9, "share": 0.62, "concentrated": False}},
        {"key": "playlist-x", "label": "Today's Top Hits",
         "window": {"low": 0.6, "high": 0.8, "share": 0.64, "concentrated": True}},
        {"key": "playlist-y", "label": "Empty", "window": None},
    ]
    assert an.reading_line("danceability", groups, TENTHS) == (
        "danceability: your liked songs are spread over 0.2-0.9 (62%); \u201cToday's Top Hits\u201d is "
        "concentrated in 0.6-0.8 (64%); \u201cEmpty\u201d is no tracks with features.")


def test_edges_print_with_the_bin_widths_precision():
    assert an.format_edge(0.25, 0.05) == "0.25"
    assert an.format_edge(0.6, 0.1) == "0.6"
    assert an.format_edge(0.5, 0.25) == "0.50"


def test_strong_pairs_sorted_by_strength_with_their_text():
    features = ["energy", "loudness", "acousticness", "valence"]
    matrix = [[1.0, 0.65, -0.72, 0.3], [0.65, 1.0, -0.5, 0.1], [-0.72, -0.5, 1.0, None], [0.3, 0.1, None, 1.0]]
    pairs = an.strong_pairs(features, matrix, 0.5)
    assert [an.pair_text(p) for p in pairs] == [
        "energy and acousticness: -0.72", "energy and loudness: 0.65", "loudness and acousticness: -0.50"]
    assert [an.pair_text(p) for p in an.ranked_pairs(features, matrix, 1)] == ["energy and acousticness: -0.72"]


def test_clean_number_drops_nan():
    assert an.clean_number(float("nan")) is None
    assert an.clean_number(0.5) == 0.5
