"""A stored scikit-learn model whose trees could crash the scorer is refused when loaded (defect 4).

The allow-list of :mod:`weekly_discovery.recommend.model.skops_file` covers types, not contents: scikit-learn's
tree code walks a tree's node arrays in C without bounds checks, so a file whose tree names a feature
or a child node outside its arrays passes the type check and then reads (or writes) outside memory
when it predicts. Here a real model of each tree family is fitted, one of its trees is changed in
memory as an attacker would change the file, and the model is stored with ``persist.dumps``: loading
it must fail with a UserError naming the file, and a scorer process must exit with that error, not die.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.recommend.test_persist import FEATURES, data
from weekly_discovery.core.errors import UserError
from weekly_discovery.recommend.model import skops_file as persist
from weekly_discovery.recommend.model import scikit as sk
from weekly_discovery.recommend.model.families import Candidate

FAMILIES = {
    "random_forest": Candidate("random_forest", {"numTrees": 4, "maxDepth": 4}),
    "forests": Candidate("forests", {"numTrees": 4, "maxDepth": 4, "extraTrees": 4}),
    "gbt": Candidate("gbt", {"maxIter": 4, "maxDepth": 3}),
}


def a_tree(family: str, estimator):
    """The estimator holding one tree of a fitted model of ``family`` (the one the attacker edits)."""
    if family == "random_forest":
        return estimator.estimators_[1]
    if family == "forests":
        return estimator.estimators_[1].estimators_[2]  # a tree of the extra-trees forest
    return estimator.estimators_[2, 0]  # a regression tree of a boosting stage


@pytest.fixture(scope="module")
def models():
    x, y = data()
    return {name: sk.SklearnModel(name, FEATURES, sk.fit_arrays(candidate, x, y, seed=1))
            for name, candidate in FAMILIES.items()}


def first_split(tree) -> int:
    return int(np.flatnonzero(tree.children_left != -1)[0])


def first_leaf(tree) -> int:
    return int(np.flatnonzero(tree.children_left == -1)[0])


def later_split(tree) -> int:
    return int(np.flatnonzero(tree.children_left != -1)[1])


# name -> (change of the tree, the node the refusal names)
CORRUPTIONS = {
    "feature out of range": (lambda t: t.feature.__setitem__(first_split(t), 10**9), first_split),
    "negative feature at a split": (lambda t: t.feature.__setitem__(first_split(t), -7), first_split),
    "child out of range": (lambda t: t.children_left.__setitem__(first_split(t), 10**9), first_split),
    "child pointing to itself": (lambda t: t.children_right.__setitem__(first_split(t), first_split(t)),
                                 first_split),
    "child pointing back": (lambda t: t.children_left.__setitem__(later_split(t), 0), later_split),
    "split with one child": (lambda t: t.children_right.__setitem__(first_split(t), -1), first_split),
    "leaf with one child": (lambda t: t.children_left.__setitem__(first_leaf(t), 10**9), first_leaf),
}


def crafted(model: sk.SklearnModel, family: str, corruption: str) -> tuple[bytes, int]:
    """The stored bytes of ``model`` with one tree changed, and the index of the node changed."""
    estimator = copy.deepcopy(model.estimator)
    tree = a_tree(family, estimator).tree_
    change, node = CORRUPTIONS[corruption]
    at = node(tree)
    change(tree)  # the node arrays are views of the tree's own buffer: what skops stores
    return persist.dumps(sk.SklearnModel(model.name, model.features, estimator)), at


@pytest.mark.parametrize("family", FAMILIES)
def test_every_tree_family_as_fitted_passes_the_check(models, family, tmp_path):
    persist.save(models[family], tmp_path / "model")
    loaded = persist.load(tmp_path / "model")
    x, _ = data()
    assert np.array_equal(loaded.probability(x), models[family].probability(x))


@pytest.mark.parametrize("corruption", CORRUPTIONS)
@pytest.mark.parametrize("family", FAMILIES)
def test_a_tree_with_nodes_outside_its_arrays_is_refused(models, family, corruption, tmp_path):
    blob, node = crafted(models[family], family, corruption)
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / persist.MODEL_FILE).write_bytes(blob)
    with pytest.raises(UserError) as refused:
        persist.load(folder)
    message = str(refused.value)
    assert str(folder / persist.MODEL_FILE) in message and "refusing to load" in message
    assert f"node {node} " in message and "train step" in message


def test_a_model_reading_more_features_than_it_lists_is_refused(models, tmp_path):
    model = models["random_forest"]
    blob = persist.dumps(sk.SklearnModel(model.name, (*FEATURES, "danceability"), model.estimator))
    with pytest.raises(UserError, match="reads 2 features, the file lists 3"):
        persist.loads(blob, "a test file")


def test_boosting_stages_with_more_trees_than_a_binary_model_has_are_refused(models):
    estimator = copy.deepcopy(models["gbt"].estimator)
    estimator.estimators_ = np.concatenate([estimator.estimators_] * 40, axis=1)  # writes past its output
    blob = persist.dumps(sk.SklearnModel("gbt", FEATURES, estimator))
    with pytest.raises(UserError, match=r"estimators_ of shape \(4, 40\)"):
        persist.loads(blob, "a test file")


SCORER = textwrap.dedent("""
    import sys
    from pathlib import Path

    import numpy as np

    from weekly_discovery.core.errors import UserError
    from weekly_discovery.recommend.model import skops_file as persist

    try:
        model = persist.load(Path(sys.argv[1]))
    except UserError as exc:
        print(exc)
        sys.exit(3)
    model.probability(np.random.default_rng(0).uniform(0, 1, (2000, len(model.features))))
    print("scored")
""")


@pytest.mark.parametrize("family", FAMILIES)
def test_the_scorer_stops_with_the_error_instead_of_crashing(models, family, tmp_path):
    """A process that loads then scores, as the scoring job does: a crash would end it by a signal."""
    blob, _ = crafted(models[family], family, "feature out of range")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / persist.MODEL_FILE).write_bytes(blob)
    done = subprocess.run([sys.executable, "-c", SCORER, str(folder)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, f"exit {done.returncode} (negative: killed by that signal)\n{done.stderr[-2000:]}"
    assert "refusing to load" in done.stdout and "scored" not in done.stdout
