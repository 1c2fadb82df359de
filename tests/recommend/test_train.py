"""The model package on the shared SparkSession: folds, metrics, labelled set, baseline, champion.

Expected values come from the rules written out by hand, from scikit-learn (independent fits and
metrics) or from plain-Python re-implementations, never from the code under test.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.recommend.kit import row, sid, table, taste_rows
from weekly_discovery.lake.layout import Lake, read_json
from weekly_discovery.recommend.model import families as cand
from weekly_discovery.recommend.model.predict import describe, predict
from weekly_discovery.recommend.model import skops_file as persist
from weekly_discovery.recommend.model import scikit as sk
from weekly_discovery.recommend.model import store
from weekly_discovery.recommend.training.dataset import DatasetError, Negatives, labelled_set
from weekly_discovery.recommend.training.folds import assign_folds, python_folds
from weekly_discovery.recommend.training.metrics import fold_metrics
from weekly_discovery.recommend.training.selection import (
    check_trainable,
    cross_validate,
    fit_threads,
    prepare,
    prepare_local,
    refit,
    TrainingError,
)
from weekly_discovery.recommend.training.week import TrainSettings, train_week

pytestmark = pytest.mark.spark

D1, D2 = "2026-11-16", "2026-11-23"
GOOD = ("energy", "acousticness", "loudness")


# ---- folds ------------------------------------------------------------------------------------


def test_grouped_folds_never_split_an_artist_and_follow_the_python_rule(spark):
    rng = random.Random(5)
    artists = [f"artist-{i}" for i in range(23)]
    rows = [(f"t{i}", rng.choice(artists)) for i in range(120)]  # uneven: some artists have many songs
    df = spark.createDataFrame(rows, "track_id string, artist string")
    folds = {(r["track_id"], r["artist"]): r["fold"] for r in assign_folds(df, 4, 7, "artist").collect()}

    assert len(folds) == 120  # every row kept once
    per_artist: dict[str, set[int]] = {}
    for (_, artist), fold in folds.items():
        per_artist.setdefault(artist, set()).add(fold)
    assert all(len(f) == 1 for f in per_artist.values()), "an artist's songs ended up in two folds"
    expected = python_folds({a for _, a in rows}, 4, 7)
    assert {a: f.pop() for a, f in per_artist.items()} == expected
    artists_per_fold = [sum(1 for f in expected.values() if f == k) for k in range(4)]
    assert max(artists_per_fold) - min(artists_per_fold) <= 1


# ---- metrics ----------------------------------------------------------------------------------


def test_fold_metrics_equal_scikit_learn_with_ties_and_a_single_class_fold(spark):
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(11)
    rows = []
    for fold, n in ((0, 40), (1, 35), (2, 50)):
        labels = rng.integers(0, 2, n)
        scores = np.round(np.clip(labels * 0.25 + rng.uniform(0, 0.75, n), 0, 1), 1)  # rounding makes ties
        rows += [(fold, float(y), float(s)) for y, s in zip(labels, scores)]
    rows += [(3, 1.0, 0.7), (3, 1.0, 0.4)]  # a held-out fold with liked songs only
    df = spark.createDataFrame(rows, "fold int, label double, score double")

    got = {m["fold"]: m for m in fold_metrics(df, threshold=0.5)}
    for fold in (0, 1, 2):
        y = np.array([r[1] for r in rows if r[0] == fold])
        s = np.array([r[2] for r in rows if r[0] == fold])
        assert got[fold]["roc_auc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert got[fold]["pr_auc"] == pytest.approx(average_precision_score(y, s), abs=1e-12)
        predicted = s >= 0.5
        assert (got[fold]["tn"], got[fold]["fp"], got[fold]["fn"], got[fold]["tp"]) == (
            int(((y == 0) & ~predicted).sum()), int(((y == 0) & predicted).sum()),
            int(((y == 1) & ~predicted).sum()), int(((y == 1) & predicted).sum()))
    assert got[3]["roc_auc"] is None and got[3]["pr_auc"] == pytest.approx(1.0)
    assert (got[3]["tp"], got[3]["fn"]) == (1, 1)  # 0.7 >= 0.5, 0.4 < 0.5


# ---- labelled set -----------------------------------------------------------------------------


def test_labelled_set_drops_conflicts_unusable_and_null_features_and_merges_duplicates(spark):
    rows = [
        row("A", "liked", source="liked", position=0), row("A", "liked", source="liked2", position=3),
        row("B", "liked", position=1), row("B", "disliked", position=0),           # conflict
        row("C", "disliked", position=1, status="missing"),
        row("D", "liked", position=2, tempo=None),                                  # tempo not detected
        row("E", "disliked", position=2),
        row("F", "candidates", position=0),                                          # not labelled
        row("G", "liked", position=4, status="pending"),
        row("H", "liked", position=5, time_signature=None),                          # not a model feature here
        row("I", "disliked", position=3, status="quarantined"),
    ]
    labelled = labelled_set(spark.createDataFrame(table(rows)), ("energy", "tempo", "loudness"),
                            Negatives(background="never"))

    got = {r["track_id"]: r["label"] for r in labelled.df.collect()}
    assert got == {sid("A"): 1.0, sid("E"): 0.0, sid("H"): 1.0}
    counts = dict(labelled.counts)
    assert counts.pop("by_kind") == {"liked": 2, "disliked": 1, "removed": 0, "unsaved": 0, "background": 0}
    assert counts.pop("background")["used"] is False
    counts.pop("weights")
    assert counts == {
        "input_rows": 10, "distinct_tracks": 8, "duplicate_rows": 2, "rows": 3, "positives": 2, "negatives": 1,
        "dropped": {"conflict": 1, "features_missing": 1, "features_pending": 1, "features_quarantined": 1,
                    "null_feature": 1, "null_feature_by_column": {"energy": 0, "tempo": 1, "loudness": 0}},
    }
    assert any("1 with a null model feature" in line for line in labelled.summary_lines())


def test_labelled_set_names_a_missing_feature_column(spark):
    df = spark.createDataFrame(table([row("A", "liked")])).drop("tempo")
    with pytest.raises(DatasetError, match="tempo"):
        labelled_set(df, ("energy", "tempo"))


# ---- the post's model -------------------------------------------------------------------------


def test_baseline_coefficients_equal_an_independent_unregularized_fit(spark):
    """Spark's LR with regParam 0 (elasticNetParam 1 then has no effect) is the maximum-likelihood fit."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2016)
    n = 300
    x = np.column_stack([rng.uniform(0, 1, n), rng.normal(-8, 3, n), rng.normal(120, 25, n)])  # raw scales
    logit = -1.0 + 2.0 * x[:, 0] + 0.3 * (x[:, 1] + 8) - 0.02 * (x[:, 2] - 120)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(float)
    features = ("energy", "loudness", "tempo")
    df = spark.createDataFrame([(float(a), float(b), float(c), float(l)) for (a, b, c), l in zip(x, y)],
                               "energy double, loudness double, tempo double, label double")

    described = describe(cand.baseline(), cand.fit(cand.baseline(), df, features, 1), features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # penalty=None is being renamed to C=inf
        reference = LogisticRegression(penalty=None, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(x, y)
    assert [described["coefficients"][f] for f in features] == pytest.approx(list(reference.coef_[0]), abs=1e-3)
    assert described["intercept"] == pytest.approx(reference.intercept_[0], abs=1e-3)

    # the cross-validation fits the post's model with scikit-learn: the same optimum (issue 14)
    import pandas as pd

    local = sk.describe(sk.fit(cand.baseline(), pd.DataFrame(x, columns=list(features)).assign(label=y), features, 1))
    assert [local["coefficients"][f] for f in features] == pytest.approx(list(reference.coef_[0]), abs=1e-3)
    assert local["intercept"] == pytest.approx(reference.intercept_[0], abs=1e-3)
    assert local["scale"] == described["scale"] == "raw feature units"


def test_weighted_lr_in_scikit_learn_is_spark_mls_objective(spark):
    """regParam r with balanced weights: Spark averages the weighted loss, so C = 1 / (r n) is the same fit."""
    import pandas as pd

    rng = np.random.default_rng(7)
    n = 200
    x = np.column_stack([rng.uniform(0, 1, n), rng.normal(-8, 3, n)])
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(3 * x[:, 0] - 1.0 + 0.2 * (x[:, 1] + 8))))).astype(float)
    y[:150] = np.where(rng.uniform(size=150) < 0.8, 1.0, y[:150])  # imbalanced: the weights matter
    features = ("energy", "loudness")
    df = spark.createDataFrame([(float(a), float(b), float(c)) for (a, b), c in zip(x, y)],
                               "energy double, loudness double, label double")
    weighted = cand.Candidate("weighted_lr", {"regParam": 0.05})
    spark_fit = describe(weighted, cand.fit(weighted, df, features, 1), features)
    local = sk.describe(sk.fit(weighted, pd.DataFrame(x, columns=list(features)).assign(label=y), features, 1))
    # StandardScaler divides by the population sd, Spark's by the sample sd: coefficients per sd differ by sqrt(n/(n-1))
    ratio = np.sqrt(n / (n - 1))
    assert [local["coefficients"][f] for f in features] == pytest.approx(
        [spark_fit["coefficients"][f] * ratio for f in features], rel=2e-2)


# ---- reproducibility --------------------------------------------------------------------------


def test_seeded_training_is_reproducible(spark, monkeypatch):
    """Two runs from scratch (labelled set, folds, fits: Spark tasks of scikit-learn fits, the refit
    scoring through the pandas UDF) give identical CV figures and scores, whether each forest is
    grown on one thread or three."""
    def run():
        labelled = labelled_set(spark.createDataFrame(table(taste_rows())), GOOD)
        data = prepare(labelled.df, 2, 42)
        forest = cand.Candidate("random_forest", {"numTrees": 8, "maxDepth": 4, "featureSubsetStrategy": "sqrt"})
        boosted = cand.Candidate("gbt", {"maxIter": 3, "maxDepth": 2, "stepSize": 0.3})
        cv = cross_validate(forest, data, GOOD, 2, 42)
        scores = {name: [r["score"] for r in predict(refit(c, data, GOOD, 42), data).orderBy("track_id").collect()]
                  for name, c in (("forest", forest), ("boosted", boosted))}
        data.unpersist()
        return cv, scores

    monkeypatch.setenv("WEEKLY_DISCOVERY_FIT_THREADS", "1")
    first = run()
    monkeypatch.setenv("WEEKLY_DISCOVERY_FIT_THREADS", "3")
    second = run()
    assert first == second
    assert len(set(first[1]["forest"])) > 2 and len(set(first[1]["boosted"])) > 2  # real scores, not constants


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_fit_thread_count_is_refused_with_the_variable_name(monkeypatch, value):
    monkeypatch.setenv("WEEKLY_DISCOVERY_FIT_THREADS", value)
    with pytest.raises(ValueError, match="WEEKLY_DISCOVERY_FIT_THREADS must be a positive integer"):
        fit_threads()


def test_too_small_a_set_fails_with_the_fix(spark):
    labelled = labelled_set(spark.createDataFrame(table(taste_rows(n_liked=6, n_disliked=1, n_artists=3))), GOOD)
    data = prepare(labelled.df, 3, 42)
    with pytest.raises(TrainingError, match="6 liked and 1 other"):
        check_trainable(data, 3)
    with pytest.raises(TrainingError, match="6 liked and 1 other"):  # what the weekly job checks: the collected rows
        check_trainable(prepare_local(labelled.df, 3, 42), 3)


# ---- a week's training and the champion -------------------------------------------------------


def test_train_week_stores_versions_and_keeps_the_better_champion(spark, tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    enriched = spark.createDataFrame(table(taste_rows()))
    post_only = (cand.baseline(),)

    # week 1: the first model is champion
    card1 = train_week(enriched, lake, D1, TrainSettings(features=GOOD, folds=2, seed=42, grid=post_only))
    version1 = store.version_dir(lake, D1)
    assert (version1 / "model" / "metadata").is_dir() and (version1 / "baseline" / "metadata").is_dir()
    assert read_json(version1 / "model_card.json") == card1
    assert card1["promotion"]["promoted"] is True and card1["promotion"]["incumbent"] is None
    assert set(card1["baseline"]["coefficients"]) == set(GOOD)
    assert card1["training"]["rows"] == 40 and card1["training"]["positives"] == 24
    assert card1["candidates"][0]["cv"]["roc_auc"] > 0.8
    assert [tn + fp + fn + tp for (tn, fp), (fn, tp) in [card1["champion"]["metrics"]["confusion"]]] == [40]
    assert read_json(store.pointer_path(lake))["version"] == D1

    # week 2 with an uninformative feature set: the week-1 configuration, re-evaluated on week 2's
    # folds, is better, so the champion stays and the card says why
    card2 = train_week(enriched, lake, D2, TrainSettings(features=("key",), folds=2, seed=42, grid=post_only))
    assert card2["promotion"]["promoted"] is False
    assert "champion stays" in card2["promotion"]["reason"]
    assert card2["promotion"]["incumbent"]["version"] == D1
    assert card2["promotion"]["incumbent"]["cv"]["roc_auc"] > card2["champion"]["metrics"]["roc_auc"]
    pointer = read_json(store.pointer_path(lake))
    assert pointer["version"] == D1 and store.version_dir(lake, D2).is_dir()
    assert [(e["ds"], e["champion"], e["promoted"]) for e in pointer["history"]] == [(D1, D1, True), (D2, D1, False)]
    assert store.champion_for_scoring(lake, D2).version == D1

    # a rerun of week 2 with the good features faces the same incumbent (week 1, not itself): a tie
    # on identical folds promotes the fresher model
    card2b = train_week(enriched, lake, D2, TrainSettings(features=GOOD, folds=2, seed=42, grid=post_only))
    assert card2b["promotion"]["promoted"] is True and card2b["promotion"]["incumbent"]["version"] == D1
    pointer = read_json(store.pointer_path(lake))
    assert pointer["version"] == D2 and [e["champion"] for e in pointer["history"]] == [D1, D2]
    assert store.champion_for_scoring(lake, D1).version == D1


def test_the_grid_runs_as_spark_tasks_equal_to_plain_scikit_learn_on_the_same_folds(spark):
    """One Spark job of (configuration x fold) tasks gives what a loop of the same fits gives."""
    from sklearn.metrics import roc_auc_score

    labelled = labelled_set(spark.createDataFrame(table(taste_rows(n_liked=60, n_disliked=40, n_artists=20))), GOOD)
    frame = prepare_local(labelled.df, 3, 42)
    assert list(frame["fold"]) == [python_folds(frame["group_id"], 3, 42)[g] for g in frame["group_id"]]
    forest = cand.Candidate("random_forest", {"numTrees": 12, "maxDepth": 4})
    got = cross_validate(forest, frame, GOOD, 3, 42)
    expected = []
    for fold in range(3):
        train, test = frame[frame.fold != fold], frame[frame.fold == fold]
        model = sk.fit(forest, train, GOOD, 42)
        expected.append(roc_auc_score(test["label"], model.probability(test[list(GOOD)].to_numpy())))
    assert [f["roc_auc"] for f in got["folds"]] == pytest.approx(expected, abs=1e-6)
    assert got["roc_auc"] == pytest.approx(float(np.mean(expected)))
    assert sum(sum(row) for row in got["confusion"]) == len(frame)


def test_a_challenger_champion_is_stored_without_pickle_and_the_incumbent_is_re_evaluated(spark, tmp_path, caplog):
    import logging

    lake = Lake(str(tmp_path / "lake"))
    rng = random.Random(9)
    rows = []
    for i in range(80):  # liked = the very calm or the very energetic songs: a forest sees it, a line cannot
        energy = round(rng.uniform(0, 1), 4)
        role = "liked" if abs(energy - 0.5) > 0.25 else "disliked"
        rows.append(row(f"t{i:03d}", role, artist=f"ar{i % 16:02d}", position=i, energy=energy))
    enriched = spark.createDataFrame(table(rows))
    forest = cand.Candidate("random_forest", {"numTrees": 15, "maxDepth": 4})
    card1 = train_week(enriched, lake, D1, TrainSettings(features=("energy",), folds=2, seed=42,
                                                         grid=(cand.baseline(), forest)))
    assert card1["champion"]["name"] == "random_forest" and set(card1["champion"]["importances"]) == set(
        card1["features"])
    version1 = store.version_dir(lake, D1)
    assert sorted(p.name for p in (version1 / "model").iterdir()) == [persist.MODEL_FILE]
    assert (version1 / "baseline" / "metadata").is_dir()  # the post's model stays a Spark ML PipelineModel
    assert isinstance(store.load_model(store.champion_for_scoring(lake, D1)), sk.SklearnModel)

    # week 2 with the post's model only: the week-1 forest is re-evaluated in the same Spark job
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="weekly_discovery"):
        card2 = train_week(enriched, lake, D2, TrainSettings(features=("key",), folds=2, seed=42,
                                                             grid=(cand.baseline(),)))
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("cross-validation of 2 configuration(s) x 2 folds") for m in messages)
    assert card2["promotion"]["incumbent"]["version"] == D1 and card2["promotion"]["promoted"] is False
    assert card2["promotion"]["incumbent"]["cv"]["roc_auc"] == pytest.approx(card1["champion"]["metrics"]["roc_auc"])


def test_the_posts_refit_runs_in_its_own_fair_scheduler_pool(spark, tmp_path, monkeypatch):
    """Training sessions schedule fairly and the post's Spark ML refit puts its jobs in a pool of their own,
    so its one-task jobs take turns with the grid's tasks (FIFO made them wait for every grid task), while
    the grid stays in the default pool. What the refit gets (its rows, cached before the grid) is unchanged."""
    from weekly_discovery.recommend.training import week

    conf = week.train_conf()
    assert conf["spark.scheduler.mode"] == "FAIR"
    # the refit's pool is declared (no "pool post_refit has not been configured" WARN in the task log)
    pools = Path(conf["spark.scheduler.allocation.file"]).read_text()
    assert '<pool name="post_refit">' in pools and pools.startswith('<?xml version="1.0"?>')
    assert week.train_conf() == conf  # the same file, rewritten only if changed
    context = spark.sparkContext
    seen = []

    def recording_refit(candidate, data, features, seed):
        seen.append((candidate.name, context.getLocalProperty("spark.scheduler.pool"), data.is_cached,
                     data.count()))
        return refit(candidate, data, features, seed)

    monkeypatch.setattr(week, "refit", recording_refit)
    enriched = spark.createDataFrame(table(taste_rows()))
    card = train_week(enriched, Lake(str(tmp_path / "lake")), D1,
                      TrainSettings(features=GOOD, folds=2, seed=42, grid=(cand.baseline(),)))
    assert seen == [("post_lr", "post_refit", True, 40)]
    assert context.getLocalProperty("spark.scheduler.pool") is None  # this (the grid's) thread: the default pool
    assert set(card["baseline"]["coefficients"]) == set(GOOD)
