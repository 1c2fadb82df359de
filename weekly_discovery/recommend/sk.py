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
- ``weighted_lr``: ``StandardScaler`` then ``LogisticRegression`` with balanced sample weights;
  Spark's ``regParam`` r becomes ``C = 1 / (r * n)`` (the same objective: Spark averages the
  weighted loss, and the balanced weights sum to n).
- ``random_forest``: ``RandomForestClassifier`` with balanced sample weights, each tree on a bootstrap
  sample of ``subsamplingRate`` x n rows (``max_samples``; Spark's parameter of the same name).
- ``forests``: a soft ``VotingClassifier`` of that random forest and an ``ExtraTreesClassifier`` of
  ``extraTrees`` unlimited-depth trees, both with balanced sample weights: their probabilities averaged.
- ``gbt``: ``GradientBoostingClassifier`` with balanced sample weights and ``subsample`` 0.8
  (Spark's ``subsamplingRate`` default): exact greedy trees like Spark's GBT, and it reports
  feature importances for the card. ``HistGradientBoostingClassifier`` was measured too: its
  OpenMP threads made it 10-30x slower in CPU time on the shared two cores for the same ROC AUC.

Balanced class weights are ``n / (2 * n_class)`` of the rows a model is fitted on, as before, times each
row's own ``weight`` (an unsaved pick or a background song may weigh less than a disliked one:
:func:`balanced_weights`), so both classes carry the same total weight. The post's model stays unweighted.

Positive-unlabeled learning (docs/model.md): when the negatives are background songs, a model learns
P(labelled | x), not P(liked | x). Each fold's task also returns the mean probability its model gives the
held-out liked songs, with the class weights undone (:func:`unweighted`): Elkan and Noto's (2008) estimate
of the label frequency c, by which :func:`pu_probability` divides a score.
Every estimator is seeded (``random_state``) and fitted on rows sorted by track id, so a run is
reproducible whatever the partitioning or the task order.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from weekly_discovery.recommend.dataset import LABEL, TRACK_ID, WEIGHT
from weekly_discovery.recommend.folds import FOLD
from weekly_discovery.recommend.metrics import local_fold_metrics

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

    from weekly_discovery.recommend.models import Candidate

FEATURE_SUBSETS = {"auto": "sqrt", "sqrt": "sqrt", "log2": "log2", "all": None, "onethird": 1.0 / 3.0}
#: An optional column of the CV frame: the label a held-out row is judged by, when it is not the label it is
#: trained with (the benchmark hides the Kaggle dislikes from training and scores against them).
TRUTH = "truth"


def balanced_weights(y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Each row's ``weight`` (1 when None) times ``W / (2 * W_class)``: both classes weigh W / 2."""
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    total, ones = w.sum(), w[y == 1].sum()
    zeros = total - ones
    if ones <= 0 or zeros <= 0:
        return w
    return np.where(y == 1, w * total / (2 * ones), w * total / (2 * zeros))


def labelled_share(y: np.ndarray, weights: np.ndarray | None = None) -> float:
    """``W_1 / W_0``: the weight of label 1 against label 0 before balancing (the odds the balance changed)."""
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    ones = float(w[y == 1].sum())
    zeros = float(w.sum()) - ones
    return ones / zeros if zeros > 0 else 1.0


def unweighted(probability: np.ndarray, ratio: float) -> np.ndarray:
    """A balanced model's probability with the balancing undone: odds times ``ratio`` (= W_1 / W_0)."""
    p = np.clip(np.asarray(probability, dtype=float), 0.0, 1.0)
    return ratio * p / (ratio * p + (1.0 - p)) if ratio != 1.0 else p


def pu_probability(probability: np.ndarray, ratio: float, label_frequency: float) -> np.ndarray:
    """P(liked | x) from a positive-unlabeled model's score: Elkan and Noto's P(labelled | x) / c, at most 1."""
    return np.minimum(1.0, unweighted(probability, ratio) / label_frequency)


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
    if candidate.name == "forests":
        from sklearn.ensemble import ExtraTreesClassifier, VotingClassifier

        forest = estimator(type(candidate)("random_forest", candidate.params), seed, n_rows, threads)
        extra = ExtraTreesClassifier(n_estimators=int(p.get("extraTrees", 150)), max_features="sqrt",
                                     random_state=seed, n_jobs=threads)
        return VotingClassifier([("forest", forest), ("extra", extra)], voting="soft")
    if candidate.name == "post_lr":
        return LogisticRegression(C=np.inf, solver="newton-cholesky", max_iter=int(p.get("maxIter", 500)))
    if candidate.name == "weighted_lr":
        reg = float(p.get("regParam", 0.0))
        ratio = float(p.get("elasticNetParam", 0.0))
        c = np.inf if reg == 0 else 1.0 / (reg * max(n_rows, 1))
        solver = "lbfgs" if reg == 0 or ratio == 0 else "saga"
        model = LogisticRegression(C=c, l1_ratio=ratio, solver=solver, max_iter=int(p.get("maxIter", 200)))
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
            max_samples=None if rate >= 1.0 else rate, random_state=seed, n_jobs=threads)
    return GradientBoostingClassifier(
        n_estimators=int(p.get("maxIter", 50)), max_depth=int(p.get("maxDepth", 3)),
        learning_rate=float(p.get("stepSize", 0.1)), subsample=float(p.get("subsamplingRate", 0.8)),
        random_state=seed)


def weighs_rows(candidate: "Candidate") -> bool:
    """Whether ``candidate`` is fitted with balanced row weights (every family but the post's model)."""
    return candidate.name != "post_lr"


def _fit(candidate: "Candidate", x: np.ndarray, y: np.ndarray, seed: int, threads: int = 1,
         weights: np.ndarray | None = None) -> Any:
    from sklearn.dummy import DummyClassifier

    if len(np.unique(y)) < 2:  # a training split with one class: it can only say that class
        return DummyClassifier(strategy="prior").fit(x, y)
    model = estimator(candidate, seed, len(y), threads)
    kwargs = {}
    if weighs_rows(candidate):
        key = "lr__sample_weight" if candidate.name == "weighted_lr" else "sample_weight"
        kwargs[key] = balanced_weights(y, weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on separable folds: the metrics say enough
        model.fit(x, y, **kwargs)
    for part in [model, *(model.estimators_ if candidate.name == "forests" else [])]:
        if "n_jobs" in part.get_params(deep=False):
            # threads grow the seeded trees identically; summing the trees' votes on several threads would add
            # them in a varying order (last-bit differences), so predictions use one
            part.set_params(n_jobs=1)
    return model


def fit(candidate: "Candidate", frame: "pd.DataFrame", features: tuple[str, ...] | list[str],
        seed: int) -> SklearnModel:
    """``candidate`` fitted on every row of ``frame`` (label and feature columns), on the driver."""
    frame = frame.sort_values(TRACK_ID, kind="stable") if TRACK_ID in frame.columns else frame
    x = frame[list(features)].to_numpy(dtype=float)
    y = frame[LABEL].to_numpy(dtype=float)
    return SklearnModel(candidate.name, tuple(features), _fit(candidate, x, y, seed, weights=row_weights(frame)))


def row_weights(frame: "pd.DataFrame") -> np.ndarray | None:
    """The frame's ``weight`` column (None without one: every row weighs 1)."""
    return frame[WEIGHT].to_numpy(dtype=float) if WEIGHT in frame.columns else None


def describe(model: SklearnModel) -> dict[str, Any]:
    """Coefficients (+ intercept) of a logistic regression, or the importances of a tree ensemble."""
    est = model.estimator
    last = est.steps[-1][1] if hasattr(est, "steps") else est
    if hasattr(last, "coef_"):
        return {"coefficients": {n: float(v) for n, v in zip(model.features, last.coef_[0])},
                "intercept": float(last.intercept_[0]),
                "scale": "per standard deviation" if hasattr(est, "steps") else "raw feature units"}
    parts = getattr(last, "estimators_", None)
    if parts is not None and not hasattr(last, "feature_importances_"):  # averaged forests: their mean
        importances = np.mean([getattr(p, "feature_importances_", np.zeros(len(model.features))) for p in parts],
                              axis=0)
    else:
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
               "pr_auc double, tn long, fp long, fn long, tp long, pu_positives long, pu_sum double, seconds double")


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
    weights = row_weights(rows)
    train_weights = None if weights is None else weights[~test]
    model = _fit(evaluation.candidate, x[~test], y[~test], seed, threads, train_weights)
    scores = positive_probability(model, x[test])
    truth = rows[TRUTH].to_numpy(dtype=float)[test] if TRUTH in rows.columns else y[test]
    metrics = local_fold_metrics(truth, scores, threshold)
    # Elkan-Noto: the held-out labelled positives' mean P(labelled | x), the class weights undone
    ratio = labelled_share(y[~test], train_weights) if weighs_rows(evaluation.candidate) else 1.0
    held = y[test] == 1
    pu_sum = float(unweighted(scores[held], ratio).sum())
    return {**metrics, "pu_positives": int(held.sum()), "pu_sum": pu_sum, "fold": fold,
            "seconds": time.process_time() - started}


def _cost(evaluation: Evaluation) -> float:
    """A rough relative cost, so the largest fits start first and the last wave is short."""
    p, name = evaluation.candidate.params, evaluation.candidate.name
    if name == "random_forest":
        return float(p.get("numTrees", 100)) * float(p.get("maxDepth") or 16)
    if name == "forests":
        return float(p.get("numTrees", 100)) * float(p.get("maxDepth") or 16) + float(p.get("extraTrees", 150)) * 16
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
    columns = sorted({LABEL, FOLD, *(c for e in evaluations for c in (*e.features, *e.complete_for)),
                      *(c for c in (WEIGHT, TRUTH) if c in frame.columns)})
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
