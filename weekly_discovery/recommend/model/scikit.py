"""The model families as single-node scikit-learn estimators: built, fitted, described.

A library's labelled set is small (one person's likes and dislikes: thousands of rows), so each fit
is a second or less on one core, while Spark ML pays a Spark job per optimizer iteration or tree
level. The cross-validation runs these fits as Spark tasks
(:mod:`weekly_discovery.recommend.training.cross_validation`); the champion scores as a pandas UDF
(:mod:`weekly_discovery.recommend.model.predict`).

The families, as scikit-learn estimators (parameters keep Spark ML's names, so a champion stored
by an older version of the project is re-evaluated with the same configuration):

- ``post_lr``: ``LogisticRegression(C=inf, solver="newton-cholesky")`` on the raw features: the
  unpenalized maximum-likelihood fit, mathematically the post's Spark ``LogisticRegression(
  elasticNetParam=1, regParam=0)`` (with ``regParam`` 0 the elastic-net mix has no effect). The
  stored baseline and its coefficient table are still fitted by Spark ML (recommend/model/families.py).
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

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from weekly_discovery.recommend.model.columns import LABEL, TRACK_ID, WEIGHT

if TYPE_CHECKING:
    import pandas as pd

    from weekly_discovery.recommend.model.families import Candidate

FEATURE_SUBSETS = {"auto": "sqrt", "sqrt": "sqrt", "log2": "log2", "all": None, "onethird": 1.0 / 3.0}


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
    if 1.0 not in classes:  # fitted on one class only (see fit_arrays)
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


def fit_arrays(candidate: "Candidate", x: np.ndarray, y: np.ndarray, seed: int, threads: int = 1,
               weights: np.ndarray | None = None) -> Any:
    """``candidate``'s estimator fitted on ``x``, ``y`` (balanced ``weights`` where the family weighs rows)."""
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
    return SklearnModel(candidate.name, tuple(features), fit_arrays(candidate, x, y, seed, weights=row_weights(frame)))


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
