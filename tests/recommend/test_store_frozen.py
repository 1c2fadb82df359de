"""Issue 12 item 5: a model version later weeks were decided against is never replaced (no Spark needed).

Cards are written by hand, as in test_store.py; ``write_version`` with no models writes only the card.
"""

from __future__ import annotations

import json

import pytest

from weekly_discovery.core.errors import UserError
from weekly_discovery.lake.layout import Lake, read_json
from weekly_discovery.recommend.model import store

D1, D2, D3 = "2026-11-09", "2026-11-16", "2026-11-23"


@pytest.fixture
def lake(tmp_path):
    return Lake(str(tmp_path / "lake"))


def trained(lake, ds, *, promoted, incumbent, auc):
    store.write_version(lake, ds, {}, {"version": ds, "features": ["energy"],
                                       "champion": {"name": "logistic_regression", "metrics": {"roc_auc": auc}}})
    store.record_decision(lake, ds, promoted=promoted, incumbent=incumbent, reason="by hand")


def test_a_version_later_weeks_were_decided_against_is_not_replaced(lake):
    trained(lake, D1, promoted=True, incumbent=None, auc=0.8)
    trained(lake, D2, promoted=False, incumbent=D1, auc=0.7)  # D2's record: "D1 stays champion"
    before = (store.version_dir(lake, D1) / "model_card.json").read_bytes()

    assert store.later_weeks(lake, D1) == [D2]
    assert store.frozen_card(lake, D1) == json.loads(before)
    with pytest.raises(store.VersionFrozen) as refused:
        store.write_version(lake, D1, {}, {"version": D1, "features": ["key"], "champion": {"name": "gbt"}})
    assert isinstance(refused.value, UserError)  # a rerun cannot change this: not retried
    assert str(refused.value) == (
        f"model version {D1} under {store.table(lake)} is not replaced: week(s) {D2} were trained after it and "
        f"their champion decisions rest on it; a rerun of {D1} reuses the stored version")
    assert (store.version_dir(lake, D1) / "model_card.json").read_bytes() == before
    assert [e["champion"] for e in read_json(store.pointer_path(lake))["history"]] == [D1, D1]


def test_the_newest_week_and_a_week_never_recorded_stay_trainable(lake):
    trained(lake, D2, promoted=True, incumbent=None, auc=0.8)
    # the newest week: a rerun may train it again (seeded, so reproducibly)
    assert store.later_weeks(lake, D2) == [] and store.frozen_card(lake, D2) is None
    trained(lake, D2, promoted=True, incumbent=None, auc=0.9)
    assert read_json(store.version_dir(lake, D2) / "model_card.json")["champion"]["metrics"] == {"roc_auc": 0.9}
    # a week older than D2 never trained (a backfill) was nobody's incumbent: it may be written
    assert store.frozen_card(lake, D1) is None
    trained(lake, D1, promoted=True, incumbent=None, auc=0.7)
    assert store.frozen_card(lake, D1) is not None  # from now on it is part of D2's past
    assert store.frozen_card(lake, D3) is None
