"""The reasons a catalogue row is quarantined: its line, its ids, then each feature of the contract."""

from __future__ import annotations

from weekly_discovery.core.vocabulary import FEATURE_COLUMNS
from weekly_discovery.recommend.scoring.catalog import REASONS


def test_the_reasons_a_row_is_quarantined():
    assert REASONS[:4] == ("line", "id", "artists", "artist_ids")
    assert len(REASONS) == 4 + 13
    assert set(REASONS[4:]) == set(FEATURE_COLUMNS)
