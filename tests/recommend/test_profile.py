"""The artist profile: each feature's average over the artist's distinct, usable tracks.

Expected averages are worked out by hand from the rows below.
"""

from __future__ import annotations

import pytest

from tests.recommend.kit import row, sid, table
from weekly_discovery.recommend.model import families as cand
from weekly_discovery.recommend.model.columns import PROBABILITY
from weekly_discovery.recommend.scoring import score as sc
from weekly_discovery.recommend.profile import model_features, with_artist_profile
from weekly_discovery.recommend.training.selection import candidate_features

pytestmark = pytest.mark.spark


def library_rows() -> list[dict]:
    return [
        row("a1", "liked", artist="arA", energy=0.2, tempo=100.0),
        row("a2", "disliked", artist="arA", energy=0.4, tempo=140.0),
        row("a2", "candidates", artist="arA", energy=0.4, tempo=140.0),  # the same track again: counted once
        row("a3", "candidates", artist="arA", energy=0.9, tempo=90.0),
        row("a4", "candidates", artist="arA", status="missing"),  # no features: not in the average
        row("b1", "liked", artist="arB", energy=0.7, tempo=None),  # tempo not detected: ignored by the mean
        row("b2", "candidates", artist="arB", energy=0.5, tempo=120.0),
    ]


def profile_of(spark, rows: list[dict]) -> dict[str, tuple]:
    enriched = spark.createDataFrame(table(rows))
    out = with_artist_profile(enriched.select("track_id", "primary_artist_id", "energy", "tempo"), enriched,
                              ["energy", "tempo"])
    return {r["track_id"]: (r["artist_avg_energy"], r["artist_avg_tempo"]) for r in out.collect()}


def test_averages_count_each_usable_track_of_the_artist_once(spark):
    got = profile_of(spark, library_rows())
    # arA: a1 0.2, a2 0.4, a3 0.9 -> energy 0.5; tempo (100 + 140 + 90) / 3 = 110
    for track in ("a1", "a2", "a3", "a4"):
        assert got[sid(track)] == pytest.approx((0.5, 110.0))
    # arB: energy (0.7 + 0.5) / 2 = 0.6; tempo only b2's 120
    assert got[sid("b1")] == pytest.approx((0.6, 120.0))
    assert got[sid("b2")] == pytest.approx((0.6, 120.0))


def test_a_track_without_artist_or_usable_artist_tracks_keeps_its_own_values(spark):
    lone = row("z1", "candidates", artist="arZ", energy=0.33, tempo=101.0)
    lone["primary_artist_id"] = None
    rows = [lone, row("y1", "candidates", artist="arY", status="missing")]
    got = profile_of(spark, rows)
    assert got[sid("z1")] == pytest.approx((0.33, 101.0))
    assert got[sid("y1")] == (None, None)


def test_the_posts_model_never_sees_the_profile_the_challengers_do():
    features = ("energy", "tempo")
    assert model_features(features, False) == features
    assert model_features(features, True) == ("energy", "tempo", "artist_avg_energy", "artist_avg_tempo")
    assert candidate_features(cand.baseline(), features, True) == features
    assert candidate_features(cand.Candidate("random_forest", {}), features, True)[2:] == (
        "artist_avg_energy", "artist_avg_tempo")


def test_scoring_computes_the_profile_from_the_whole_table_as_training_does(spark):
    """A model over a profile column scores candidates with their artist's average, liked tracks included."""
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import VectorAssembler
    from pyspark.ml.regression import LinearRegression

    # a "model" whose probability column is a fixed function of artist_avg_energy: a linear
    # regression fitted exactly (y = artist_avg_energy) turned into a two-element vector
    train = spark.createDataFrame([(x / 10.0, x / 10.0) for x in range(11)], ["artist_avg_energy", "label"])
    fitted = Pipeline(stages=[VectorAssembler(inputCols=["artist_avg_energy"], outputCol="features"),
                              LinearRegression(regParam=0.0, predictionCol="_p")]).fit(train)

    class AsProbability:
        """Adapts the regression to the classifier contract ``predict`` relies on (``probability``)."""

        def transform(self, df):
            from pyspark.ml.functions import array_to_vector
            from pyspark.sql import functions as F

            scored = fitted.transform(df)
            return scored.withColumn(PROBABILITY, array_to_vector(F.array(1.0 - F.col("_p"), F.col("_p"))))

    enriched = spark.createDataFrame(table(library_rows()))
    scores = {r["track_id"]: r for r in sc.score_candidates(AsProbability(), enriched,
                                                             ("energy", "artist_avg_energy"), 0.55).collect()}
    assert scores[sid("a3")]["probability"] == pytest.approx(0.5)  # arA's average, not a3's own 0.9
    assert scores[sid("b2")]["probability"] == pytest.approx(0.6)  # with b1, a liked track
    assert scores[sid("a4")]["probability"] is None and scores[sid("a4")]["score_status"] == "features_missing"
    assert scores[sid("b2")]["recommended"] and not scores[sid("a3")]["recommended"]
