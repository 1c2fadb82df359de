"""The per-artist cap "auto": from how concentrated the liked songs are on a few artists."""

from __future__ import annotations

import pytest

from weekly_discovery.recommend.scoring.cap import auto_cap, concentration, resolve


def test_concentration_is_the_chance_two_liked_songs_share_their_artist():
    assert concentration([1, 1, 1, 1]) == pytest.approx(0.25)
    assert concentration([6, 2, 2]) == pytest.approx(0.36 + 0.04 + 0.04)
    assert concentration([]) == 0.0


def test_a_varied_library_keeps_two_per_artist_a_concentrated_one_gets_more():
    assert auto_cap([1] * 500, 30) == 2            # 30 / 500 = 0.06 -> at least 2
    assert auto_cap([10] * 10, 30) == 3            # ten artists: 30 x 0.1 = 3
    assert auto_cap([60, 20, 10, 10], 30) == 13    # 30 x (0.36 + 0.04 + 0.01 + 0.01) = 12.6 -> 13
    assert auto_cap([50], 30) == 30                # one artist: never above top_n


def test_a_configured_number_is_kept():
    assert resolve(4, 30, [50]) == 4
    assert resolve("auto", 30, [10] * 10) == 3


def test_a_short_week_names_where_the_pool_ran_out():
    from weekly_discovery.recommend.scoring.score import short_week_reason

    counts = {"passed": 20, "new": 14, "capped": 11}
    reason = short_week_reason(counts, 11, 30, 0.5, 2)
    assert reason.startswith("11 of 30 songs: 20 candidates scored at or above the threshold 0.5, 6 of them "
                             "already in your library")
    assert "and 3 more over the limit of 2 per artist" in reason
    assert short_week_reason(counts, 30, 30, 0.5, 2) == ""
