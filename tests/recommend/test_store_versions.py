"""A model version's files are written in place, ``model_card.json`` last; a version without a card is not a
version (no Spark needed: stand-in models record what the folder held when they were saved)."""

from __future__ import annotations

import json

import pytest

from weekly_discovery.lake.layout import Lake
from weekly_discovery.recommend.model import store

D1 = "2026-11-16"


class FakeModel:
    """Saves like a Spark ML model (``write().overwrite().save(path)``); notes whether the card was there."""

    def __init__(self, seen: list, fail: bool = False):
        self.seen, self.fail = seen, fail

    def write(self):
        return self

    def overwrite(self):
        return self

    def save(self, path: str) -> None:
        from pathlib import Path

        folder = Path(path)
        self.seen.append((folder / ".." / store.CARD).resolve().exists())
        if self.fail:
            raise RuntimeError("the executor died")
        (folder / "metadata").mkdir(parents=True)
        (folder / "metadata" / "part-00000").write_text("{}\n")


def card(auc: float) -> dict:
    return {"version": D1, "features": ["energy"], "champion": {"name": "post_lr", "metrics": {"roc_auc": auc}}}


def test_the_card_is_written_after_the_models_and_a_rerun_drops_the_old_card_first(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    seen: list[bool] = []
    store.write_version(lake, D1, {store.MODEL_DIR: FakeModel(seen), store.BASELINE_DIR: FakeModel(seen)}, card(0.8))
    store.record_decision(lake, D1, promoted=True, incumbent=None, reason="first")
    assert seen == [False, False]
    # the newest week trained again: its old card is gone before any model is saved
    store.write_version(lake, D1, {store.MODEL_DIR: FakeModel(seen)}, card(0.9))
    assert seen == [False, False, False]
    folder = store.version_dir(lake, D1)
    assert sorted(p.name for p in folder.iterdir()) == [store.MODEL_DIR, store.CARD]  # the old baseline is gone
    assert json.loads((folder / store.CARD).read_text())["champion"]["metrics"] == {"roc_auc": 0.9}


def test_files_of_the_old_version_are_not_left_beside_the_new_ones(tmp_path):
    """A scikit-learn model (model.skops) left beside a newly saved Spark ML model would be the one loaded."""
    lake = Lake(str(tmp_path / "lake"))
    store.write_version(lake, D1, {}, card(0.8))
    stale = store.version_dir(lake, D1) / store.MODEL_DIR / "model.skops"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an older run's model")
    store.write_version(lake, D1, {store.MODEL_DIR: FakeModel([])}, card(0.9))
    assert not stale.exists() and (stale.parent / "metadata" / "part-00000").is_file()


def test_a_run_that_dies_while_saving_leaves_no_version(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    store.write_version(lake, D1, {store.MODEL_DIR: FakeModel([])}, card(0.8))
    store.record_decision(lake, D1, promoted=True, incumbent=None, reason="first")
    assert store.champion_for_scoring(lake, D1).version == D1

    with pytest.raises(RuntimeError, match="executor died"):
        store.write_version(lake, D1, {store.MODEL_DIR: FakeModel([], fail=True)}, card(0.9))

    assert store.read_card(lake, D1) is None  # neither the old version nor half of the new one
    with pytest.raises(store.NoChampion, match="run the train step"):
        store.champion_for_scoring(lake, D1)
    store.write_version(lake, D1, {store.MODEL_DIR: FakeModel([])}, card(0.9))  # the retry
    assert store.champion_for_scoring(lake, D1).cv == {"roc_auc": 0.9}
