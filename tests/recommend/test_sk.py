"""The scikit-learn side of training (issue 14): per-fold metrics, the families, a CV task, reproducibility.

Expected values are worked out by hand from the definitions (metrics.py) or come from independent
scikit-learn fits; the Spark-distributed grid and the Spark/scikit-learn equivalence of the post's
model are checked in tests/recommend/test_train.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from weekly_discovery.recommend.model import scikit as sk

from weekly_discovery.recommend.training import cross_validation
from weekly_discovery.recommend.training.metrics import local_fold_metrics
from weekly_discovery.recommend.model.families import Candidate, baseline, default_grid, quick_grid


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
    assert forest.class_weight is None and forest.random_state == 3  # balanced by sample weights (_fit)
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
    got = cross_validation.run_task(data, cross_validation.Evaluation(forest, ("energy",)), 1, 42, 0.5)
    assert got["rows"] == 40 and got["fold"] == 1 and got["roc_auc"] > 0.7
    train, test = data[data.fold != 1], data[data.fold == 1]
    reference = sk.fit_arrays(forest, train[["energy"]].to_numpy(), train["label"].to_numpy(), 42)
    expected = local_fold_metrics(test["label"], reference.predict_proba(test[["energy"]].to_numpy())[:, 1])
    assert {k: got[k] for k in expected} == expected
    subset = cross_validation.run_task(data, cross_validation.Evaluation(forest, ("energy",), ("tempo",)), 0, 42, 0.5)
    assert subset["rows"] == 40 - len([i for i in range(10) if i % 3 == 0])  # rows without tempo left out


def test_scikit_learn_fits_are_reproducible_and_thread_count_free():
    data = frame()
    for candidate in quick_grid()[2:]:
        one = sk.fit(candidate, data, ("energy",), 42).probability(data[["energy"]].to_numpy())
        again = sk.fit(candidate, data.sample(frac=1.0, random_state=1), ("energy",), 42)
        assert np.array_equal(one, again.probability(data[["energy"]].to_numpy())), candidate.label()
        x, y = data[["energy"]].to_numpy(), data["label"].to_numpy()
        threaded = sk.fit_arrays(candidate, x, y, 42, threads=3)
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


def test_balanced_row_weights_fit_the_forest_scikit_learn_balances_itself():
    """With every row weighing 1, the sample weights _fit passes make the same forest as
    scikit-learn's own class_weight="balanced" (what the project used before rows had weights)."""
    from sklearn.ensemble import RandomForestClassifier

    data = frame()
    x, y = data[["energy"]].to_numpy(), data["label"].to_numpy()
    forest = Candidate("random_forest", {"numTrees": 15, "maxDepth": 4, "subsamplingRate": 0.5})
    ours = sk.fit_arrays(forest, x, y, seed=3)
    theirs = RandomForestClassifier(n_estimators=15, max_depth=4, max_samples=0.5, max_features="sqrt",
                                    class_weight="balanced", random_state=3).fit(x, y)
    assert np.array_equal(ours.predict_proba(x), theirs.predict_proba(x))


def test_balanced_weights_give_each_class_half_of_the_total_weight():
    y = np.array([1, 1, 0, 0, 0, 0])
    w = np.array([1.0, 1.0, 1.0, 0.5, 0.5, 0.5])  # a disliked song and three weak negatives
    got = sk.balanced_weights(y, w)
    # total 4.5: label 1 weighs 2 -> x 4.5 / 4; label 0 weighs 2.5 -> x 4.5 / 5
    assert got.tolist() == pytest.approx([1.125, 1.125, 0.9, 0.45, 0.45, 0.45])
    assert sk.labelled_share(y, w) == pytest.approx(2 / 2.5)


def test_the_positive_unlabeled_probability_undoes_the_balance_then_divides_by_c():
    # W1 / W0 = 0.25: a balanced score 0.5 (odds 1) is odds 0.25, P(labelled) 0.2; c = 0.4 -> P(liked) 0.5
    assert sk.unweighted(np.array([0.5]), 0.25)[0] == pytest.approx(0.2)
    assert sk.pu_probability(np.array([0.5, 0.0, 1.0]), 0.25, 0.4).tolist() == pytest.approx([0.5, 0.0, 1.0])
    assert sk.pu_probability(np.array([0.9]), 1.0, 0.5)[0] == 1.0  # never above 1


def test_a_task_returns_the_held_out_liked_songs_scores_for_the_label_frequency():
    data = frame()
    data["weight"] = np.where(data["label"] == 1, 1.0, 0.5)
    out = cross_validation.run_task(data, cross_validation.Evaluation(Candidate("weighted_lr", {}), ("energy",)), 1, seed=3, threshold=0.5)
    held = (data["fold"] == 1) & (data["label"] == 1)
    assert out["pu_positives"] == int(held.sum())
    assert 0 < out["pu_sum"] / out["pu_positives"] < 1


def test_the_averaged_forests_are_the_mean_of_a_forest_and_extra_trees_fitted_alone():
    """Written from scikit-learn's own estimators, not from sk.estimator: the family's probability is the
    mean of the two forests' probabilities, each fitted with the balanced weights."""
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

    data = frame()
    x, y = data[["energy", "tempo"]].fillna(120).to_numpy(), data["label"].to_numpy()
    blend = sk.fit_arrays(Candidate("forests", {"numTrees": 12, "maxDepth": 4, "subsamplingRate": 0.5,
                                          "extraTrees": 9}), x, y, seed=3)
    w = sk.balanced_weights(y)
    forest = RandomForestClassifier(n_estimators=12, max_depth=4, max_samples=0.5, max_features="sqrt",
                                    random_state=3).fit(x, y, sample_weight=w)
    extra = ExtraTreesClassifier(n_estimators=9, max_features="sqrt", random_state=3).fit(x, y, sample_weight=w)
    expected = (forest.predict_proba(x)[:, 1] + extra.predict_proba(x)[:, 1]) / 2
    assert np.allclose(sk.positive_probability(blend, x), expected)
    assert sum(sk.describe(sk.SklearnModel("forests", ("energy", "tempo"), blend))["importances"].values()) \
        == pytest.approx(1.0)
