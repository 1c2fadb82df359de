"""The candidate grid and its serialisation (what the card and champion.json store)."""

from __future__ import annotations

import pytest

from weekly_discovery.recommend.model.families import BASELINE, Candidate, baseline, default_grid


def test_the_grid_starts_with_the_posts_model_and_holds_every_family_once_or_more():
    grid = default_grid()
    assert grid[0] == baseline() == Candidate(BASELINE, {"elasticNetParam": 1.0, "regParam": 0.0, "maxIter": 500})
    assert {c.name for c in grid} == {"post_lr", "weighted_lr", "forests", "gbt"}
    assert len(grid) <= 8  # it runs weekly on two cores: every entry is fitted once per fold
    assert len({c.key() for c in grid}) == len(grid)


def test_round_trip_and_label():
    rf = Candidate("random_forest", {"numTrees": 150, "maxDepth": 16})
    assert Candidate.from_dict(rf.to_dict()) == rf
    assert rf.label() == "random_forest(maxDepth=16, numTrees=150)"
    assert rf.weighted and not baseline().weighted


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="unknown model family"):
        Candidate("svm", {})
