"""The challengers and the cross-validation as single-node scikit-learn fits, distributed by Spark.

A library's labelled set is small (one person's likes and dislikes: thousands of rows), so each fit
is a second or less on one core, while Spark ML pays a Spark job per optimizer iteration or tree
level (minutes for the weekly grid). Here the (configuration x fold) grid is a list of tasks; Spark
runs them as ``mapInPandas`` tasks (one partition each, as many at once as the cluster has cores)
over the labelled rows shipped once as a broadcast, each task fitting one scikit-learn estimator on
k-1 folds and scoring the held-out fold. Only per-fold metrics come back to the driver.

The families, as scikit-learn estimators (parameters keep Spark ML's names, so a champion stored
by an older version of the project is re-evaluated with the same configuration):

- ``post_lr``: ``LogisticRegression(C=inf, solver="newton-cholesky")`` on the raw features: the
  unpenalized maximum-likelihood fit, mathematically the post's Spark ``LogisticRegression(
  elasticNetParam=1, regParam=0)`` (with ``regParam`` 0 the elastic-net mix has no effect). The
  stored baseline and its coefficient table are still fitted by Spark ML (recommend/models.py).
- ``weighted_lr``: ``StandardScaler`` then ``LogisticRegression(class_weight="balanced")``;
  Spark's ``regParam`` r becomes ``C = 1 / (r * n)`` (the same objective: Spark averages the
  weighted loss, and the balanced weights sum to n).
- ``random_forest``: ``RandomForestClassifier(class_weight="balanced")``, each tree on a bootstrap
  sample of ``subsamplingRate`` x n rows (``max_samples``; Spark's parameter of the same name).
- ``gbt``: ``GradientBoostingClassifier`` with balanced sample weights and ``subsample`` 0.8
  (Spark's ``subsamplingRate`` default): exact greedy trees like Spark's GBT, and it reports
  feature importances for the card. ``HistGradientBoostingClassifier`` was measured too: its
  OpenMP threads made it 10-30x slower in CPU time on the shared two cores for the same ROC AUC.

Balanced class weights are ``n / (2 * n_class)`` of the rows a model is fitted on, as before.
Every estimator is seeded (``random_state``) and fitted on rows sorted by track id, so a run is
reproducible whatever the partitioning or the task order.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from weekly_discovery.recommend.dataset import LABEL, TRACK_ID
from weekly_discovery.recommend.folds import FOLD
from weekly_discovery.recommend.metrics import local_fold_metrics

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

    from weekly_discovery.recommend.models import Candidate

FEATURE_SUBSETS = {"auto": "sqrt", "sqrt": "sqrt", "log2": "log2", "all": None, "onethird": 1.0 / 3.0}


@dataclass(frozen=True)
class SklearnModel:
    """A fitted scikit-learn champion and the columns it reads, in order (what is stored)."""

    name: str
    features: tuple[str, ...]
    estimator: Any

    def probability(self, x: np.ndarray) -> np.ndarray:
        """The probability of "liked" (class 1) for each row of ``x`` (columns in :attr:`features` order)."""
        if len(x) == 0:
            return np.zeros(0)
        return positive_probability(self.estimator, x)


def positive_probability(estimator: Any, x: np.ndarray) -> np.ndarray:
    proba = estimator.predict_proba(x)
    classes = list(estimator.classes_)
    if 1.0 not in classes:  # fitted on one class only (see _fit)
        return np.zeros(len(x))
    return proba[:, classes.index(1.0)]


def estimator(candidate: "Candidate", seed: int, n_rows: int, threads: int = 1) -> Any:
    """The unfitted scikit-learn estimator of ``candidate`` (see the module docstring)."""
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    p = candidate.params
    if candidate.name == "post_lr":
        return LogisticRegression(C=np.inf, solver="newton-cholesky", max_iter=int(p.get("maxIter", 500)))
    if candidate.name == "weighted_lr":
        reg = float(p.get("regParam", 0.0))
        ratio = float(p.get("elasticNetParam", 0.0))
        c = np.inf if reg == 0 else 1.0 / (reg * max(n_rows, 1))
        solver = "lbfgs" if reg == 0 or ratio == 0 else "saga"
        model = LogisticRegression(C=c, l1_ratio=ratio, solver=solver, class_weight="balanced",
                                   max_iter=int(p.get("maxIter", 200)))
        return Pipeline([("scale", StandardScaler()), ("lr", model)])
    if candidate.name == "random_forest":
        subset = str(p.get("featureSubsetStrategy", "sqrt"))
        try:
            max_features = FEATURE_SUBSETS[subset] if subset in FEATURE_SUBSETS else float(subset)
        except ValueError:
            raise ValueError(f"random_forest featureSubsetStrategy {subset!r}: use one of "
                             f"{', '.join(FEATURE_SUBSETS)} or a fraction") from None
        depth = p.get("maxDepth", 8)
        rate = float(p.get("subsamplingRate", 1.0))
        return RandomForestClassifier(
            n_estimators=int(p.get("numTrees", 100)), max_depth=None if depth is None else int(depth),
            max_features=max_features, min_samples_leaf=int(p.get("minInstancesPerNode", 1)),
            max_samples=None if rate >= 1.0 else rate,
            class_weight="balanced", random_state=seed, n_jobs=threads)
    return GradientBoostingClassifier(
        n_estimators=int(p.get("maxIter", 50)), max_depth=int(p.get("maxDepth", 3)),
        learning_rate=float(p.get("stepSize", 0.1)), subsample=float(p.get("subsamplingRate", 0.8)),
        random_state=seed)


def _fit(candidate: "Candidate", x: np.ndarray, y: np.ndarray, seed: int, threads: int = 1) -> Any:
    from sklearn.dummy import DummyClassifier
    from sklearn.utils.class_weight import compute_sample_weight

    if len(np.unique(y)) < 2:  # a training split with one class: it can only say that class
        return DummyClassifier(strategy="prior").fit(x, y)
    model = estimator(candidate, seed, len(y), threads)
    kwargs = {}
    if candidate.name == "gbt":
        kwargs["sample_weight"] = compute_sample_weight("balanced", y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on separable folds: the metrics say enough
        model.fit(x, y, **kwargs)
    if "n_jobs" in model.get_params():
        # threads grow the seeded trees identically; summing the trees' votes on several threads would add
        # them in a varying order (last-bit differences), so predictions use one
        model.set_params(n_jobs=1)
    return model


def fit(candidate: "Candidate", frame: "pd.DataFrame", features: tuple[str, ...] | list[str],
        seed: int) -> SklearnModel:
    """``candidate`` fitted on every row of ``frame`` (label and feature columns), on the driver."""
    frame = frame.sort_values(TRACK_ID, kind="stable") if TRACK_ID in frame.columns else frame
    x = frame[list(features)].to_numpy(dtype=float)
    y = frame[LABEL].to_numpy(dtype=float)
    return SklearnModel(candidate.name, tuple(features), _fit(candidate, x, y, seed))


def describe(model: SklearnModel) -> dict[str, Any]:
    """Coefficients (+ intercept) of a logistic regression, or the importances of a tree ensemble."""
    est = model.estimator
    last = est.steps[-1][1] if hasattr(est, "steps") else est
    if hasattr(last, "coef_"):
        return {"coefficients": {n: float(v) for n, v in zip(model.features, last.coef_[0])},
                "intercept": float(last.intercept_[0]),
                "scale": "per standard deviation" if hasattr(est, "steps") else "raw feature units"}
    importances = getattr(last, "feature_importances_", np.zeros(len(model.features)))
    return {"importances": {n: float(v) for n, v in zip(model.features, importances)}}


# ---- the cross-validation grid as Spark tasks ----------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """One configuration to cross-validate: its features, and the columns a row must have non-null
    to take part (the incumbent champion is compared on the rows that have all its features)."""

    candidate: "Candidate"
    features: tuple[str, ...]
    complete_for: tuple[str, ...] = ()


TASK_SCHEMA = ("evaluation int, fold int, rows long, positives long, negatives long, roc_auc double, "
               "pr_auc double, tn long, fp long, fn long, tp long, seconds double")


def run_task(frame: "pd.DataFrame", evaluation: Evaluation, fold: int, seed: int,
             threshold: float, threads: int = 1) -> dict[str, Any] | None:
    """Fit on every fold but ``fold``, score ``fold``; its metrics (None if it holds no row)."""
    started = time.process_time()
    rows = frame
    if evaluation.complete_for:
        rows = rows[rows[list(evaluation.complete_for)].notna().all(axis=1)]
    test = rows[FOLD].to_numpy() == fold
    if not test.any():
        return None
    x = rows[list(evaluation.features)].to_numpy(dtype=float)
    y = rows[LABEL].to_numpy(dtype=float)
    model = _fit(evaluation.candidate, x[~test], y[~test], seed, threads)
    metrics = local_fold_metrics(y[test], positive_probability(model, x[test]), threshold)
    return {**metrics, "fold": fold, "seconds": time.process_time() - started}


def _cost(evaluation: Evaluation) -> float:
    """A rough relative cost, so the largest fits start first and the last wave is short."""
    p, name = evaluation.candidate.params, evaluation.candidate.name
    if name == "random_forest":
        return float(p.get("numTrees", 100)) * float(p.get("maxDepth") or 16)
    if name == "gbt":
        return 4.0 * float(p.get("maxIter", 50)) * float(p.get("maxDepth", 3))
    return 1.0


def cross_validate_grid(spark: "SparkSession", frame: "pd.DataFrame", evaluations: list[Evaluation], k: int,
                        seed: int, threshold: float, threads: int = 1) -> list[tuple[list[dict[str, Any]], float]]:
    """Per evaluation, (its per-fold metrics in fold order, the seconds its fits took in all).

    ``frame`` holds the labelled rows (``fold``, ``label`` and every feature column any evaluation
    reads), sorted by track id. One Spark job: a task per (evaluation, fold), largest first.
    """
    import pandas as pd

    if not evaluations:
        return []
    frame = frame.sort_values(TRACK_ID, kind="stable").reset_index(drop=True) if TRACK_ID in frame.columns \
        else frame
    columns = sorted({LABEL, FOLD, *(c for e in evaluations for c in (*e.features, *e.complete_for))})
    shared = spark.sparkContext.broadcast((frame[columns], list(evaluations)))
    tasks = sorted(((i, fold) for i in range(len(evaluations)) for fold in range(k)),
                   key=lambda t: (-_cost(evaluations[t[0]]), t))

    def run(batches):
        data, evals = shared.value
        for batch in batches:
            out = [run_task(data, evals[int(i)], int(fold), seed, threshold, threads)
                   for i, fold in zip(batch["evaluation"], batch["fold"])]
            out = [{**o, "evaluation": int(i)} for o, i in zip(out, batch["evaluation"]) if o is not None]
            yield pd.DataFrame(out, columns=[c.split()[0] for c in TASK_SCHEMA.split(", ")])

    collected = _one_task_per_partition(spark, tasks).mapInPandas(run, TASK_SCHEMA).collect()
    shared.unpersist()
    out: list[tuple[list[dict[str, Any]], float]] = [([], 0.0) for _ in evaluations]
    for r in sorted(collected, key=lambda r: (r["evaluation"], r["fold"])):
        folds, seconds = out[r["evaluation"]]
        entry = r.asDict()
        seconds += entry.pop("seconds")
        entry.pop("evaluation")
        folds.append(entry)
        out[r["evaluation"]] = (folds, seconds)
    return out


def _one_task_per_partition(spark: "SparkSession", tasks: list[tuple[int, int]]) -> "DataFrame":
    """The task list as a DataFrame with one task per partition, in the given order."""
    rdd = spark.sparkContext.parallelize(tasks, numSlices=len(tasks))
    return spark.createDataFrame(rdd, "evaluation int, fold int")


# ---- scoring ------------------------------------------------------------------------------------

_LOADED: dict[str, SklearnModel] = {}  # per Python worker: sha256 of the model bytes -> the model loaded from them


def predict(model: SklearnModel, df: "DataFrame", score_col: str) -> "DataFrame":
    """``df`` with ``score_col``: a pandas UDF over the model's stored bytes, broadcast once.

    Each executor's Python worker loads the model once (through the same allow-list as the
    driver, :mod:`weekly_discovery.recommend.persist`) and scores Arrow batches of the feature
    columns only, so scoring scales out with the cluster like any Spark column expression.
    """
    import pandas as pd
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    from weekly_discovery.recommend import persist

    import hashlib

    blob = persist.dumps(model)
    key = hashlib.sha256(blob).hexdigest()
    payload = df.sparkSession.sparkContext.broadcast(blob)
    features = list(model.features)

    def probability(batch, /):
        loaded = _LOADED.get(key)
        if loaded is None:
            loaded = _LOADED[key] = persist.loads(payload.value, "the broadcast model")
        return pd.Series(loaded.probability(batch[features].to_numpy(dtype=float)))

    # real classes, not the strings `from __future__ import annotations` would leave for Spark to resolve
    probability.__annotations__ = {"batch": pd.DataFrame, "return": pd.Series}
    probability = pandas_udf(probability, "double")
    inputs = F.struct(*[F.col(f).cast("double").alias(f) for f in features])
    return df.withColumn(score_col, probability(inputs))
