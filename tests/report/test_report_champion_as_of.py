"""Issue 12: an old week's report shows the model that week used, not the current champion.

Two weeks, each promoted, so their champions differ: week 1's champion is week 1's version, week 2's
is week 2's. The pointer is written by the store's own record_decision, as the train step writes it.
"""

from __future__ import annotations

from tests.report.conftest import make_report, write_model_outputs, write_report
from weekly_discovery.lake import read_json
from weekly_discovery.recommend.model import store
from weekly_discovery.report.model_outputs import champion_as_of, load_model_outputs
from weekly_discovery.report.render import render_report

W1, W2 = "2026-11-23", "2026-11-30"


def two_weeks(lake):
    for ds in (W1, W2):
        write_report(lake, make_report(ds))
        write_model_outputs(lake, ds, label="Plain name")  # its card (and a stand-in pointer, replaced below)
    store.pointer_path(lake).unlink()
    store.record_decision(lake, W1, promoted=True, incumbent=None, reason="first model")
    store.record_decision(lake, W2, promoted=True, incumbent=W1, reason="better")
    assert read_json(store.pointer_path(lake))["version"] == W2  # the current champion


def test_an_old_report_names_the_champion_of_its_week(lake):
    two_weeks(lake)
    assert load_model_outputs(lake, W1)["champion_version"] == W1
    assert load_model_outputs(lake, W2)["champion_version"] == W2
    lead = render_report(lake, W1).read_text().split('<section id="model">')[1].split("</p>")[0]
    assert f"the champion in force is version {W1};" in lead and W2 not in lead


def test_champion_as_of_follows_the_history_entries():
    pointer = {"version": W2, "history": [
        {"ds": "2026-11-16", "champion": "2026-11-16", "promoted": True},
        {"ds": W1, "champion": "2026-11-16", "promoted": False},  # week 1 kept the older champion
        {"ds": W2, "champion": W2, "promoted": True}]}
    assert champion_as_of(pointer, W1) == {"version": "2026-11-16"}
    assert champion_as_of(pointer, "2026-11-26") == {"version": "2026-11-16"}
    assert champion_as_of(pointer, W2) == {"version": W2}
    assert champion_as_of(pointer, "2026-11-09") is None  # before any training
    assert champion_as_of({"version": W2}, W1) is None  # no history: the current champion is not W1's
    assert champion_as_of(None, W1) is None
