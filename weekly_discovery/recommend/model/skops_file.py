"""Store and load a scikit-learn champion without pickle: skops files checked against an allow-list.

A pickle runs whatever code its bytes name when it is loaded, and the lake is data anyone with write
access to it can change, so a tampered model file would run code of the attacker's choosing as the
scoring job. The skops format (``skops.io``) is a zip of a JSON schema and ``.npy`` arrays (read
with ``allow_pickle=False``): loading it constructs only the types its schema names. Before anything
is constructed, every node of the schema is checked here against :data:`ALLOWED_TYPES` (the
estimators, trees and value types :mod:`weekly_discovery.recommend.model.scikit` fits, written out by hand)
and :data:`ALLOWED_LOADERS` (skops' node kinds for those; functions, methods and operators are not
among them); anything else is refused with :class:`~weekly_discovery.recommend.model.guard.UntrustedModel`
naming it, and skops is then called with the same list as its ``trusted`` types, so it would refuse
too. Change the allow-list together with the families in ``scikit.estimator``.

Types are not contents: scikit-learn's tree code walks a tree's node arrays in C without bounds checks,
so a tree naming a feature or a child node outside its arrays would read (or write) outside memory and
crash the scorer. So, once skops has built the estimator and before anything predicts with it,
:func:`check_contents` checks every fitted part against what scikit-learn's fitting produces.

The file holds ``{"format": 1, "name": family, "features": [...], "estimator": fitted}``.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from types import ModuleType
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from weekly_discovery.recommend.model.guard import UntrustedModel
from weekly_discovery.recommend.model.scikit import SklearnModel

if TYPE_CHECKING:
    from pathlib import Path

    from weekly_discovery.lake.storage import ObjectPath

MODEL_FILE = "model.skops"
FORMAT = 1

ALLOWED_TYPES = frozenset({
    "builtins.dict", "builtins.list", "builtins.str", "builtins.tuple",
    "numpy.ndarray", "numpy.float64", "numpy.int64", "numpy.random.mtrand.RandomState",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.ensemble._voting.VotingClassifier",
    "sklearn.tree._classes.ExtraTreeClassifier",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.utils._bunch.Bunch",
    "sklearn.ensemble._gb.GradientBoostingClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._tree.Tree",
    "sklearn.dummy.DummyClassifier",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
})
"""Every type a stored model of the grid's families contains (module.qualified name)."""

ALLOWED_LOADERS = frozenset({"DictNode", "ListNode", "JsonNode", "TypeNode", "TupleNode", "NdArrayNode",
                             "RandomStateNode", "LossNode", "ObjectNode", "TreeNode"})


def skops_io() -> ModuleType:
    """``skops.io``, imported without Airflow's deprecation warnings.

    On import, skops finds the module of every scipy ufunc by looking it up in every loaded module; in a
    process that has imported Airflow that touches each of Airflow's deprecated module aliases, and each
    raises a ``DeprecatedImportWarning`` (about 2,300) that says nothing about this project. Those (Airflow's,
    raised from skops' lookup), and only those, are silenced for the import.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"The `airflow\.", category=FutureWarning, module=r"skops\.io\.")
        import skops.io

    return skops.io


def dumps(model: SklearnModel) -> bytes:
    return skops_io().dumps({"format": FORMAT, "name": model.name, "features": list(model.features),
                      "estimator": model.estimator})


def save(model: SklearnModel, folder: "Path | ObjectPath") -> None:
    """Write ``folder/model.skops`` (the folder is a version's ``model`` or ``baseline``)."""
    from pathlib import Path

    from weekly_discovery.lake.storage import write_atomic

    if isinstance(folder, Path):
        folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / MODEL_FILE, dumps(model))


def is_stored(folder: "Path | ObjectPath") -> bool:
    return (folder / MODEL_FILE).is_file()


def load(folder: "Path | ObjectPath") -> SklearnModel:
    """The model stored in ``folder`` by :func:`save`, after the allow-list check (module docstring)."""
    path = folder / MODEL_FILE
    return loads(path.read_bytes(), str(path))


def _refuse(where: str, problem: str) -> UntrustedModel:
    return UntrustedModel(
        f"refusing to load the model at {where}: {problem}. The lake's model file was changed by something "
        "other than this project; retrain that version (rerun the train step, jobs/train.py, for its date) "
        "and check who can write to the lake"
    )


def check(data: bytes, where: str) -> None:
    """Raise :class:`UntrustedModel` unless ``data`` is a skops file naming only allowed types and loaders."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise _refuse(where, f"it is not a skops model file ({exc})") from None
    found: set[tuple[str, str]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "__loader__" in node or "__class__" in node:
                found.add((f"{node.get('__module__')}.{node.get('__class__')}", str(node.get("__loader__"))))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    bad_types = sorted({t for t, _ in found if t not in ALLOWED_TYPES})
    bad_loaders = sorted({loader for _, loader in found if loader not in ALLOWED_LOADERS})
    if bad_types or bad_loaders:
        named = ", ".join([*bad_types, *(f"{loader} nodes" for loader in bad_loaders)])
        raise _refuse(where, f"it names {named}, not in the allow-list of what this project stores "
                             "(weekly_discovery/recommend/model/skops_file.py)")


def loads(data: bytes, where: str) -> SklearnModel:
    check(data, where)
    try:
        stored = skops_io().loads(data, trusted=sorted(ALLOWED_TYPES))
    except Exception as exc:  # noqa: BLE001 - skops' own refusal or a damaged file: either way not loaded
        raise _refuse(where, f"skops could not load it ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(stored, dict) or stored.get("format") != FORMAT or "estimator" not in stored:
        raise _refuse(where, f"it is not a weekly-discovery model (format {FORMAT} expected)")
    model = SklearnModel(str(stored["name"]), tuple(str(f) for f in stored["features"]), stored["estimator"])
    check_contents(model, where)
    return model


def check_contents(model: SklearnModel, where: str) -> None:
    """Raise :class:`UntrustedModel` unless every fitted part reads exactly the model's features and
    every tree is one scikit-learn grows: each node a leaf (both children -1, feature -2) or a split of
    a feature in ``[0, n_features)`` into two nodes after it (so every walk ends inside the arrays), and
    a boosting model has one regression tree per stage (its trees add into one output column)."""
    width = len(model.features)
    try:
        for label, part in _parts(model.estimator, "the estimator"):
            problem = _problem(part, width)
            if problem:
                raise _refuse(where, f"{label} {problem}")
    except UntrustedModel:
        raise
    except Exception as exc:  # noqa: BLE001 - attributes of an unexpected kind: not what sklearn fits
        raise _refuse(where, f"its estimator is not shaped as scikit-learn fits one ({exc.__class__.__name__}: "
                             f"{exc})") from None


def _parts(estimator: Any, label: str) -> Iterator[tuple[str, Any]]:
    """``estimator`` and every estimator inside it (pipeline steps, ensemble members), each with its path."""
    yield label, estimator
    for name, step in getattr(estimator, "steps", None) or []:
        yield from _parts(step, f"{label}'s step {name!r}")
    members = getattr(estimator, "estimators_", None)
    if members is not None:
        if isinstance(members, np.ndarray) and members.ndim == 2:  # boosting: (stages, trees per stage)
            for (i, k), member in np.ndenumerate(members):
                yield from _parts(member, f"{label}.estimators_[{i}, {k}]")
        else:
            for i, member in enumerate(members):
                yield from _parts(member, f"{label}.estimators_[{i}]")


def _problem(part: Any, width: int) -> str | None:
    """What is wrong with one fitted part, read by a model of ``width`` features (None: nothing)."""
    n_in = getattr(part, "n_features_in_", width)
    if n_in != width:
        return f"reads {n_in} features, the file lists {width}"
    members = getattr(part, "estimators_", None)
    if type(part).__name__ == "GradientBoostingClassifier" and not (
            isinstance(members, np.ndarray) and members.ndim == 2 and members.shape[1] == 1):
        return f"has estimators_ of shape {getattr(members, 'shape', None)}, not one tree per stage (n, 1)"
    tree = getattr(part, "tree_", None)
    return None if tree is None else _tree_problem(tree, width)


def _tree_problem(tree: Any, width: int) -> str | None:
    n = tree.node_count
    if not 0 < n <= tree.capacity or tree.n_features != width:
        return f"has a tree of {n} nodes (room for {tree.capacity}) over {tree.n_features} features, not {width}"
    left, right, feature = (np.asarray(a) for a in (tree.children_left, tree.children_right, tree.feature))
    if not len(left) == len(right) == len(feature) == tree.value.shape[0] == n:
        return f"has a tree whose arrays do not all have its {n} nodes"
    node = np.arange(n)
    leaf = (left == -1) & (right == -1) & (feature == -2)
    split = (left > node) & (left < n) & (right > node) & (right < n) & (feature >= 0) & (feature < width)
    bad = np.flatnonzero(~(leaf | split))
    if len(bad):
        i = int(bad[0])
        return (f"has a tree whose node {i} (children {left[i]} and {right[i]}, feature {feature[i]}) is neither "
                f"a leaf (children -1, feature -2) nor a split of one of the {width} features into two later "
                f"nodes of the {n}")
    return None
