"""A stored model at work: the probability it gives each row, and what it learned, in either of its forms.

A champion is a scikit-learn model (:class:`~weekly_discovery.recommend.model.scikit.SklearnModel`, stored as
a skops file) or a Spark ML PipelineModel (the post's model, or a champion stored by an older version).
:func:`predict` adds :data:`~weekly_discovery.recommend.model.columns.SCORE` with either: the Spark model
transforms the rows, the scikit-learn one scores them as a pandas UDF over its bytes broadcast once, so both
scale out on a cluster. :func:`describe` says what a fitted model learned, feature by feature.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from weekly_discovery.recommend.model import skops_file
from weekly_discovery.recommend.model.columns import PROBABILITY, SCORE
from weekly_discovery.recommend.model.families import BASELINE, Candidate
from weekly_discovery.recommend.model.scikit import SklearnModel
from weekly_discovery.recommend.model.scikit import describe as describe_sklearn

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel
    from pyspark.sql import DataFrame

    Model = PipelineModel | SklearnModel

_LOADED: dict[str, SklearnModel] = {}  # per Python worker: sha256 of the model bytes -> the model loaded from them


def predict(model: Model, df: "DataFrame") -> "DataFrame":
    """``df`` with ``score``: the model's probability that the track is liked (class 1)."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    if isinstance(model, SklearnModel):
        return predict_sklearn(model, df, SCORE)
    return model.transform(df).withColumn(SCORE, vector_to_array(F.col(PROBABILITY))[1])


def predict_sklearn(model: SklearnModel, df: "DataFrame", score_col: str) -> "DataFrame":
    """``df`` with ``score_col``: a pandas UDF over the model's stored bytes, broadcast once.

    Each executor's Python worker loads the model once (through the same allow-list as the
    driver, :mod:`weekly_discovery.recommend.model.skops_file`) and scores Arrow batches of the feature
    columns only, so scoring scales out with the cluster like any Spark column expression.
    """
    import pandas as pd
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    blob = skops_file.dumps(model)
    key = hashlib.sha256(blob).hexdigest()
    payload = df.sparkSession.sparkContext.broadcast(blob)
    features = list(model.features)

    def probability(batch, /):
        loaded = _LOADED.get(key)
        if loaded is None:
            loaded = _LOADED[key] = skops_file.loads(payload.value, "the broadcast model")
        return pd.Series(loaded.probability(batch[features].to_numpy(dtype=float)))

    # real classes, not the strings `from __future__ import annotations` would leave for Spark to resolve
    probability.__annotations__ = {"batch": pd.DataFrame, "return": pd.Series}
    probability = pandas_udf(probability, "double")
    inputs = F.struct(*[F.col(f).cast("double").alias(f) for f in features])
    return df.withColumn(score_col, probability(inputs))


def describe(candidate: Candidate, model: Model, features: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """What the fitted model learned, feature by feature: coefficients (+ intercept) or importances.

    The post's model reports raw-scale coefficients; ``weighted_lr`` reports coefficients per
    standard deviation of each feature (its inputs are standardized); trees report importances
    (impurity-based, summing to 1, in Spark ML and scikit-learn alike).
    """
    if isinstance(model, SklearnModel):
        return describe_sklearn(model)
    last = model.stages[-1]
    if candidate.name in (BASELINE, "weighted_lr"):
        coefficients = last.coefficients.toArray().tolist()
        return {
            "coefficients": {name: float(v) for name, v in zip(features, coefficients)},
            "intercept": float(last.intercept),
            "scale": "raw feature units" if candidate.name == BASELINE else "per standard deviation",
        }
    importances = last.featureImportances.toArray().tolist()
    return {"importances": {name: float(v) for name, v in zip(features, importances)}}
