"""The champion pointer and its history, with hand-written cards (no Spark needed)."""

from __future__ import annotations

import json

import pytest

from weekly_discovery.lake.layout import Lake, read_json
from weekly_discovery.recommend.model import store

D1, D2, D3 = "2026-11-09", "2026-11-16", "2026-11-23"


@pytest.fixture
def lake(tmp_path):
    return Lake(str(tmp_path / "lake"))


def card(lake, ds, name="random_forest", auc=0.8):
    folder = store.version_dir(lake, ds)
    (folder / "model").mkdir(parents=True)
    body = {"version": ds, "features": ["energy", "tempo"],
            "champion": {"name": name, "params": {"numTrees": 10}, "metrics": {"roc_auc": auc}}}
    (folder / "model_card.json").write_text(json.dumps(body))


def test_layout(lake):
    assert store.version_dir(lake, D1) == lake.table("models", "like_model") / f"version={D1}"
    assert store.pointer_path(lake) == lake.table("models", "like_model") / "champion.json"


def test_no_pointer_means_no_champion_and_scoring_says_what_to_run(lake):
    assert store.incumbent_for(lake, D1) is None
    with pytest.raises(store.NoChampion, match="run the train step"):
        store.champion_for_scoring(lake, D1)


def test_history_decides_the_incumbent_and_the_scoring_champion(lake):
    card(lake, D1, auc=0.80)
    store.record_decision(lake, D1, promoted=True, incumbent=None, reason="first")
    card(lake, D2, name="gbt", auc=0.78)
    store.record_decision(lake, D2, promoted=False, incumbent=D1, reason="kept")
    card(lake, D3, name="gbt", auc=0.83)
    pointer = store.record_decision(lake, D3, promoted=True, incumbent=D1, reason="better")

    assert pointer["version"] == D3 and pointer["name"] == "gbt" and pointer["metrics"] == {"roc_auc": 0.83}
    assert pointer["model_path"] == f"models/like_model/version={D3}/model"
    assert [(e["ds"], e["champion"]) for e in pointer["history"]] == [(D1, D1), (D2, D1), (D3, D3)]
    assert read_json(store.pointer_path(lake)) == pointer

    # a rerun of a date competes against the champion in force before it, never against itself
    assert store.incumbent_for(lake, D3).version == D1
    assert store.incumbent_for(lake, D2).version == D1
    assert store.incumbent_for(lake, D1) is None
    # scoring a date uses the champion in force after that date's training
    assert [store.champion_for_scoring(lake, d).version for d in (D1, D2, D3, "2026-11-30")] == [D1, D1, D3, D3]
    ref = store.champion_for_scoring(lake, D2)
    assert ref.candidate.name == "random_forest" and ref.features == ("energy", "tempo")


def test_rerunning_an_old_date_never_moves_the_current_champion_back(lake):
    for ds in (D1, D2):
        card(lake, ds)
        store.record_decision(lake, ds, promoted=True, incumbent=None if ds == D1 else D1, reason="x")
    pointer = store.record_decision(lake, D1, promoted=True, incumbent=None, reason="rerun")
    assert pointer["version"] == D2
    assert [e["ds"] for e in pointer["history"]] == [D1, D2]


def test_a_champion_whose_card_is_gone_is_no_champion(lake):
    card(lake, D1)
    store.record_decision(lake, D1, promoted=True, incumbent=None, reason="first")
    (store.version_dir(lake, D1) / "model_card.json").unlink()
    assert store.incumbent_for(lake, D2) is None
    with pytest.raises(store.NoChampion):
        store.champion_for_scoring(lake, D2)
