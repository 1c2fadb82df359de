"""Scoring with a scikit-learn champion (issue 14): a pandas UDF over the broadcast model, same results.

``models.predict`` must keep returning the DataFrame with ``score`` whatever the champion's kind, so
recommend/scoring/score.py and jobs/score.py do not change; the expected probabilities come from the
estimator itself on the same rows, in plain numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.recommend.kit import row, sid, table
from weekly_discovery.recommend.model import families as cand
from weekly_discovery.recommend.model.columns import SCORE
from weekly_discovery.recommend.model.predict import predict
from weekly_discovery.recommend.scoring import score as sc
from weekly_discovery.recommend.model import scikit as sk

pytestmark = pytest.mark.spark

FEATURES = ("energy", "acousticness")


def training_frame(n=200, seed=3):
    rng = np.random.default_rng(seed)
    energy, acoustic = rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    label = ((acoustic - energy + rng.normal(0, 0.2, n)) > 0).astype(float)
    return pd.DataFrame({"energy": energy, "acousticness": acoustic, "label": label})


@pytest.mark.parametrize("candidate", [cand.Candidate("random_forest", {"numTrees": 10, "maxDepth": 4}),
                                       cand.Candidate("gbt", {"maxIter": 10}),
                                       cand.Candidate("weighted_lr", {"regParam": 0.0})], ids=lambda c: c.name)
def test_predict_scores_every_row_like_the_estimator_and_keeps_the_columns(spark, candidate):
    model = sk.fit(candidate, training_frame(), FEATURES, 42)
    rng = np.random.default_rng(8)
    rows = [(f"t{i}", float(e), float(a), "x") for i, (e, a) in enumerate(rng.uniform(0, 1, (300, 2)))]
    df = spark.createDataFrame(rows, "track_id string, energy double, acousticness double, other string")
    df = df.repartition(3)  # several partitions, several Arrow batches

    scored = predict(model, df)
    assert scored.columns == [*df.columns, SCORE]
    got = {r["track_id"]: r[SCORE] for r in scored.collect()}
    expected = model.estimator.predict_proba(np.array([[e, a] for _, e, a, _ in rows]))[:, 1]
    assert [got[t] for t, *_ in rows] == pytest.approx(list(expected), abs=1e-12)


def test_score_candidates_with_a_scikit_learn_champion(spark):
    model = sk.fit(cand.Candidate("random_forest", {"numTrees": 20, "maxDepth": 4}), training_frame(), FEATURES, 42)
    enriched = spark.createDataFrame(table([
        row("c1", "candidates", position=0, energy=0.1, acousticness=0.95),  # sounds liked
        row("c2", "candidates", position=1, energy=0.95, acousticness=0.05),  # sounds disliked
        row("c3", "candidates", position=2, status="missing"),
        row("l1", "liked", position=0),
    ]))
    got = {r["track_id"]: r for r in sc.score_candidates(model, enriched, FEATURES, 0.5).collect()}
    assert got[sid("c1")]["probability"] > 0.5 > got[sid("c2")]["probability"]
    assert (got[sid("c1")]["recommended"], got[sid("c2")]["recommended"]) == (True, False)
    assert (got[sid("c3")]["score_status"], got[sid("c3")]["probability"]) == ("features_missing", None)
