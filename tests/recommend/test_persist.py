"""A scikit-learn champion is stored without pickle and loaded only if it names allowed types (issue 14).

The lake is data anyone with write access to it can change. Real models of every family are stored
and loaded back; then a stored file is rewritten as an attacker would, to name ``os.system`` (as a
function node, and as an object node), and loading must refuse it before anything runs.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from weekly_discovery.core.errors import UserError
from weekly_discovery.lake.layout import Lake
from weekly_discovery.recommend.model import scikit as sk
from weekly_discovery.recommend.model import skops_file as persist
from weekly_discovery.recommend.model import store
from weekly_discovery.recommend.model.families import Candidate, quick_grid

FEATURES = ("energy", "tempo")
DS = "2026-11-23"


def data():
    rng = np.random.default_rng(4)
    x = np.column_stack([rng.uniform(0, 1, 80), rng.normal(120, 20, 80)])
    y = (x[:, 0] + rng.normal(0, 0.2, 80) > 0.5).astype(float)
    return x, y


def fitted(candidate: Candidate) -> sk.SklearnModel:
    x, y = data()
    return sk.SklearnModel(candidate.name, FEATURES, sk.fit_arrays(candidate, x, y, seed=1))


def rewrite_schema(blob: bytes, change) -> bytes:
    """The skops zip with its schema.json edited by ``change`` (the arrays are kept)."""
    source = zipfile.ZipFile(io.BytesIO(blob))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "schema.json":
                schema = json.loads(content)
                change(schema)
                content = json.dumps(schema).encode()
            target.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize("candidate", [*quick_grid(), Candidate("weighted_lr", {"regParam": 0.1}),
                                       Candidate("forests", {"numTrees": 8, "maxDepth": 4, "extraTrees": 8})],
                         ids=lambda c: c.label())
def test_every_family_round_trips_with_the_same_predictions(candidate, tmp_path):
    model = fitted(candidate)
    persist.save(model, tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["model.skops"]
    loaded = persist.load(tmp_path / "model")
    x, _ = data()
    assert loaded.features == FEATURES and loaded.name == candidate.name
    assert np.array_equal(loaded.probability(x), model.probability(x))


@pytest.mark.parametrize("node", [
    {"__class__": "system", "__module__": "os", "__loader__": "FunctionNode", "content": "os.system"},
    {"__class__": "system", "__module__": "os", "__loader__": "ObjectNode",
     "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {}}},
], ids=["function node", "object node"])
def test_a_file_naming_os_system_is_refused_and_nothing_runs(node, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a) or 0)
    blob = persist.dumps(fitted(Candidate("post_lr", {})))

    def plant(schema):  # the estimator replaced by the attacker's node
        schema["content"]["estimator"] = {**node, "__id__": 1}

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / persist.MODEL_FILE).write_bytes(rewrite_schema(blob, plant))
    with pytest.raises(UserError) as refused:
        persist.load(folder)
    message = str(refused.value)
    assert "os.system" in message and str(folder / persist.MODEL_FILE) in message
    assert "refusing to load" in message and "train step" in message and "allow-list" in message
    assert calls == []


def test_a_function_loader_is_refused_even_under_an_allowed_type_name(tmp_path):
    blob = persist.dumps(fitted(Candidate("post_lr", {})))

    def disguise(schema):
        schema["content"]["estimator"] = {"__class__": "dict", "__module__": "builtins",
                                                     "__loader__": "FunctionNode", "content": "x", "__id__": 1}

    with pytest.raises(UserError, match="FunctionNode nodes"):
        persist.loads(rewrite_schema(blob, disguise), "a test file")


def test_a_file_that_is_not_a_skops_model_is_refused():
    with pytest.raises(UserError, match="not a skops model file"):
        persist.loads(b"\x80\x04 a pickle, say", "a test file")
    with pytest.raises(UserError, match="not a weekly-discovery model"):
        persist.loads(persist.skops_io().dumps(["energy"]), "a test file")  # a valid skops file of something else


def test_the_store_loads_a_stored_scikit_learn_champion_and_refuses_a_tampered_one(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    forest = Candidate("random_forest", {"numTrees": 5, "maxDepth": 3})
    store.write_version(lake, DS, {store.MODEL_DIR: fitted(forest)}, {"champion": forest.to_dict(),
                                                                      "features": list(FEATURES)})
    store.record_decision(lake, DS, promoted=True, incumbent=None, reason="test")
    ref = store.champion_for_scoring(lake, DS)
    model = store.load_model(ref)
    assert isinstance(model, sk.SklearnModel) and model.features == FEATURES

    path = ref.model_path / persist.MODEL_FILE
    path.write_bytes(rewrite_schema(path.read_bytes(), lambda s: s.update({"__module__": "subprocess",
                                                                           "__class__": "Popen"})))
    with pytest.raises(UserError, match="subprocess.Popen"):
        store.load_model(ref)


def test_loading_skops_beside_airflow_raises_no_deprecation_warning_of_airflow():
    # skops looks every scipy ufunc up in every loaded module when it is imported; with Airflow loaded that is
    # ~2,300 DeprecatedImportWarnings. A fresh process, so skops is imported here for the first time.
    script = (
        "import warnings\n"
        "warnings.simplefilter('always')\n"
        "import airflow.utils.timezone, airflow.utils.trigger_rule\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    from weekly_discovery.recommend.model.skops_file import skops_io\n"
        "    skops_io()\n"
        "    warnings.warn('The `airflow.x` attribute is deprecated.', FutureWarning)  # after the import: seen\n"
        "print(sorted({type(w.message).__name__ for w in caught}), len(caught))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "1", done.stdout  # only the one warned after the import
