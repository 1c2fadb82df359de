"""Summarising per-fold metrics (the per-fold values are checked against scikit-learn in tests/recommend/test_train.py)."""

from __future__ import annotations

import pytest

from weekly_discovery.recommend.training.metrics import summarize


def fold(i, roc, pr, tn, fp, fn, tp):
    return {"fold": i, "rows": tn + fp + fn + tp, "positives": fn + tp, "negatives": tn + fp,
            "roc_auc": roc, "pr_auc": pr, "tn": tn, "fp": fp, "fn": fn, "tp": tp}


def test_mean_and_population_sd_over_folds_and_pooled_confusion():
    got = summarize([fold(0, 0.8, 0.9, 5, 1, 2, 7), fold(1, 0.6, 0.7, 3, 3, 1, 8)])
    assert got["roc_auc"] == pytest.approx(0.7) and got["roc_auc_sd"] == pytest.approx(0.1)
    assert got["pr_auc"] == pytest.approx(0.8) and got["pr_auc_sd"] == pytest.approx(0.1)
    assert got["confusion"] == [[8, 4], [3, 15]]
    assert got["accuracy"] == pytest.approx(23 / 30)
    assert [f["rows"] for f in got["folds"]] == [15, 15]


def test_a_fold_without_auc_is_left_out_of_the_mean():
    got = summarize([fold(0, 0.9, 0.95, 2, 0, 0, 2), fold(1, None, 1.0, 0, 0, 1, 1)])
    assert got["roc_auc"] == pytest.approx(0.9) and got["roc_auc_sd"] == 0.0
    assert got["pr_auc"] == pytest.approx(0.975)
    assert got["folds"][1]["roc_auc"] is None
