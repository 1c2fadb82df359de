"""Issue 12 item 5 on the shared SparkSession: rerunning an old week never replaces the model later weeks use.

Week 1 trains the champion; week 2 keeps it (its record says "week 1 stays"). A rerun of week 1,
even with other settings, must leave week 1's model, card and the pointer exactly as they were.
"""

from __future__ import annotations

import logging

import pytest

from tests.recommend.kit import table, taste_rows
from weekly_discovery.lake.layout import Lake, read_json
from weekly_discovery.recommend.model import families as cand
from weekly_discovery.recommend.model import store
from weekly_discovery.recommend.training.week import TrainSettings, train_week

pytestmark = pytest.mark.spark

D1, D2 = "2026-11-16", "2026-11-23"
GOOD = ("energy", "acousticness", "loudness")


def files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rerunning_an_old_week_reuses_its_version(spark, tmp_path, caplog):
    lake = Lake(str(tmp_path / "lake"))
    enriched = spark.createDataFrame(table(taste_rows()))
    post_only = (cand.baseline(),)
    card1 = train_week(enriched, lake, D1, TrainSettings(features=GOOD, folds=2, seed=42, grid=post_only))
    card2 = train_week(enriched, lake, D2, TrainSettings(features=("key",), folds=2, seed=42, grid=post_only))
    assert card2["promotion"]["promoted"] is False and card2["promotion"]["incumbent"]["version"] == D1
    version1 = files(store.version_dir(lake, D1))
    pointer = read_json(store.pointer_path(lake))

    # the week-1 run is cleared and rerun after the [model] features were changed
    caplog.clear()  # only the rerun's records (another test may have left the loggers at INFO)
    with caplog.at_level(logging.INFO, logger="weekly_discovery"):
        again = train_week(enriched, lake, D1, TrainSettings(features=("key",), folds=2, seed=42, grid=post_only))

    assert again == card1 and again["configured_features"] == list(GOOD)
    assert files(store.version_dir(lake, D1)) == version1  # the model files, byte for byte
    assert read_json(store.pointer_path(lake)) == pointer
    assert store.champion_for_scoring(lake, D2).version == D1 and store.champion_for_scoring(lake, D2).features == GOOD
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith(f"model version {D1} exists and week(s) {D2} were trained after it") for m in messages)
    assert (f"the [model] settings changed since version {D1} was trained (features {GOOD} -> ('key',)); "
            "they apply from the next week on") in messages
    assert not any(m.startswith("cross-validation:") for m in messages)  # nothing was trained
