"""The scikit-learn side of training (issue 14): per-fold metrics, the families, a CV task, reproducibility.

Expected values are worked out by hand from the definitions (metrics.py) or come from independent
scikit-learn fits; the Spark-distributed grid and the Spark/scikit-learn equivalence of the post's
model are checked in tests/spark/test_train.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from weekly_discovery.recommend import sk
from weekly_discovery.recommend.metrics import local_fold_metrics
from weekly_discovery.recommend.models import Candidate, baseline, default_grid, quick_grid


def test_local_fold_metrics_follow_the_definitions_with_ties():
    # pairs (liked, disliked): (0.9, 0.9) ties = 1/2, (0.9, 0.1) = 1, (0.4, 0.9) = 0, (0.4, 0.1) = 1 -> 2.5 / 4
    # average precision: at 0.9 one of two is liked (P 1/2, recall 1/2), at 0.4 two of three (P 2/3, recall 1)
    got = local_fold_metrics([1, 0, 1, 0], [0.9, 0.9, 0.4, 0.1], threshold=0.5)
    assert got["roc_auc"] == pytest.approx(0.625)
    assert got["pr_auc"] == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 3)
    assert (got["rows"], got["positives"], got["negatives"]) == (4, 2, 2)
    assert (got["tn"], got["fp"], got["fn"], got["tp"]) == (1, 1, 1, 1)
    assert local_fold_metrics([1, 0], [0.5, 0.49], 0.5)["tp"] == 1  # liked at probability >= threshold


def test_a_single_class_fold_has_no_roc_auc():
    liked_only = local_fold_metrics([1, 1], [0.7, 0.4], 0.5)
    assert liked_only["roc_auc"] is None and liked_only["pr_auc"] == pytest.approx(1.0)
    assert (liked_only["tp"], liked_only["fn"]) == (1, 1)
    disliked_only = local_fold_metrics([0, 0], [0.7, 0.4], 0.5)
    assert disliked_only["roc_auc"] is None and disliked_only["pr_auc"] is None
    assert (disliked_only["tn"], disliked_only["fp"]) == (1, 1)


def test_every_family_of_both_grids_has_a_scikit_learn_estimator():
    for candidate in [*default_grid(), *quick_grid()]:
        est = sk.estimator(candidate, seed=3, n_rows=100)
        assert hasattr(est, "predict_proba"), candidate.label()
    forest = sk.estimator(Candidate("random_forest", {"numTrees": 7, "maxDepth": 4, "subsamplingRate": 0.5}), 3, 100)
    assert (forest.n_estimators, forest.max_depth, forest.max_samples, forest.max_features) == (7, 4, 0.5, "sqrt")
    assert forest.class_weight == "balanced" and forest.random_state == 3
    post = sk.estimator(baseline(), 3, 100)
    assert post.C == np.inf and post.max_iter == 500  # unpenalized: the post's regParam 0
    weighted = sk.estimator(Candidate("weighted_lr", {"regParam": 0.1}), 3, 200)
    assert weighted.steps[-1][1].C == pytest.approx(1 / (0.1 * 200))  # Spark's regParam r -> C = 1 / (r n)


def frame(n=120, seed=5):
    rng = np.random.default_rng(seed)
    energy = rng.uniform(0, 1, n)
    label = (energy + rng.normal(0, 0.25, n) < 0.5).astype(float)
    tempo = rng.normal(120, 20, n)
    tempo[:10] = np.nan  # rows another model's feature is missing on
    return pd.DataFrame({"track_id": [f"t{i:03d}" for i in range(n)], "label": label, "energy": energy,
                         "tempo": tempo, "fold": np.arange(n) % 3})


def test_a_task_fits_on_the_other_folds_and_scores_its_own():
    data = frame()
    forest = Candidate("random_forest", {"numTrees": 10, "maxDepth": 3})
    got = sk.run_task(data, sk.Evaluation(forest, ("energy",)), 1, 42, 0.5)
    assert got["rows"] == 40 and got["fold"] == 1 and got["roc_auc"] > 0.7
    train, test = data[data.fold != 1], data[data.fold == 1]
    reference = sk._fit(forest, train[["energy"]].to_numpy(), train["label"].to_numpy(), 42)
    expected = local_fold_metrics(test["label"], reference.predict_proba(test[["energy"]].to_numpy())[:, 1])
    assert {k: got[k] for k in expected} == expected
    subset = sk.run_task(data, sk.Evaluation(forest, ("energy",), ("tempo",)), 0, 42, 0.5)
    assert subset["rows"] == 40 - len([i for i in range(10) if i % 3 == 0])  # rows without tempo left out


def test_scikit_learn_fits_are_reproducible_and_thread_count_free():
    data = frame()
    for candidate in quick_grid()[2:]:
        one = sk.fit(candidate, data, ("energy",), 42).probability(data[["energy"]].to_numpy())
        again = sk.fit(candidate, data.sample(frac=1.0, random_state=1), ("energy",), 42)
        assert np.array_equal(one, again.probability(data[["energy"]].to_numpy())), candidate.label()
        x, y = data[["energy"]].to_numpy(), data["label"].to_numpy()
        threaded = sk._fit(candidate, x, y, 42, threads=3)
        assert np.array_equal(one, sk.positive_probability(threaded, x)), candidate.label()
        assert len(set(one)) > 2  # real scores, not constants


def test_describe_gives_coefficients_or_importances():
    data = frame()
    post = sk.describe(sk.fit(baseline(), data, ("energy",), 1))
    assert set(post) == {"coefficients", "intercept", "scale"} and post["scale"] == "raw feature units"
    assert post["coefficients"]["energy"] < 0  # liked songs are the quiet ones here
    forest = sk.describe(sk.fit(Candidate("gbt", {"maxIter": 5}), data.dropna(), ("energy", "tempo"), 1))
    assert sum(forest["importances"].values()) == pytest.approx(1.0)
    assert forest["importances"]["energy"] > forest["importances"]["tempo"]
