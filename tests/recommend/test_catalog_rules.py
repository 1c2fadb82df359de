"""The catalogue's value checks are the enrichment's quality gates (restated: a stage imports no other stage)."""

from __future__ import annotations

from weekly_discovery.enrich.quality import RULES
from weekly_discovery.recommend.catalog import CHECKS, REASONS


def test_every_feature_is_checked_with_the_quality_gates_range_type_and_unknown_values():
    assert [(c.field, c.type, c.low, c.high, c.unknown) for c in CHECKS] == \
        [(r.field, r.type, r.low, r.high, r.unknown) for r in RULES]


def test_the_reasons_a_row_is_quarantined():
    assert REASONS[:4] == ("line", "id", "artists", "artist_ids")
    assert len(REASONS) == 4 + 13
