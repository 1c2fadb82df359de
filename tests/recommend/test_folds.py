"""The fold rule in plain Python (the Spark version is checked against it in tests/recommend/test_train.py)."""

from __future__ import annotations

import hashlib

import pytest

from weekly_discovery.recommend.training.folds import group_hash, python_folds


def test_hash_is_sha256_of_seed_and_group():
    assert group_hash("Artist ä", 42) == hashlib.sha256("42:Artist ä".encode()).hexdigest()


def test_artists_are_dealt_round_robin_in_hash_order():
    groups = [f"artist-{i}" for i in range(10)]
    ordered = sorted(groups, key=lambda g: hashlib.sha256(f"7:{g}".encode()).hexdigest())
    assert python_folds(groups, 3, 7) == {g: i % 3 for i, g in enumerate(ordered)}


def test_same_seed_same_folds_whatever_the_order_and_duplicates():
    groups = [f"a{i}" for i in range(50)]
    assert python_folds(groups, 5, 1) == python_folds(list(reversed(groups)) + groups[:7], 5, 1)
    assert python_folds(groups, 5, 1) != python_folds(groups, 5, 2)


def test_folds_hold_as_many_artists_as_possible():
    folds = python_folds([f"a{i}" for i in range(23)], 5, 9)
    sizes = sorted(list(folds.values()).count(k) for k in range(5))
    assert sizes == [4, 4, 5, 5, 5]


@pytest.mark.parametrize("k", [0, 1, 2.5])
def test_fewer_than_two_folds_is_refused(k):
    with pytest.raises(ValueError, match="folds"):
        python_folds(["a", "b"], k, 1)
