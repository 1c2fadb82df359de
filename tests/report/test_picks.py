"""This week's picks and the hit rate of earlier weeks' picks, read from hand-written lakes (Delta tables
written with delta-rs)."""

from __future__ import annotations

import json

import pytest

from tests.report.conftest import write_library, write_picks
from weekly_discovery.lake import METRICS, SILVER_TRACKS
from weekly_discovery.report.picks import hit_rates, load_picks, saved_track_ids, week_picks

DS = "2026-11-30"
SAVED = "saved_tracks"
LIKED_PLAYLIST = "playlist-" + "L" * 22


def history(lake):
    write_picks(lake, "2026-11-16", [
        (1, "a1", "A one", ["Ann"], "reccobeats", 0.9, "r1"), (2, "a2", "A two", ["Bo"], "reccobeats", 0.8, "r2"),
        (3, "a3", "A three", ["Cy"], "artists", 0.7, "r3"), (4, "a4", "A four", ["Di"], "playlists", 0.6, "r4")])
    write_picks(lake, "2026-11-23", [
        (1, "b1", "B one", ["Ed"], "reccobeats", 0.9, "r"), (2, "b2", "B two", ["Fay"], "catalog", 0.8, "r"),
        (3, "b3", "B three", ["Gus"], "catalog", 0.7, "r")])
    write_picks(lake, DS, [  # this week's: not yet measurable, and written out of rank order
        (2, "c2", "C two", ["Hal", "Ivy"], "artists", 0.85, "new from Hal, 4 songs in your library"),
        (1, "c1", "C one", [], "reccobeats", 0.91, "ReccoBeats, from A one")])
    write_picks(lake, "2026-12-07", [(1, "d1", "D one", ["Jo"], "catalog", 0.9, "r")])  # a later week


def library(lake):
    write_library(lake, DS, [
        ("a1", "liked", SAVED), ("a3", "liked", SAVED), ("b2", "liked", SAVED), ("x", "liked", SAVED),
        ("c1", "liked", SAVED),  # this week's pick, saved already: this week is not measured yet
        ("a2", "disliked", "playlist-" + "D" * 22),  # disliked, not saved
        ("a4", "liked", LIKED_PLAYLIST),  # in a liked playlist, not in Liked Songs
    ])


def test_week_picks_in_rank_order(lake):
    history(lake)
    got = week_picks(lake, DS)
    assert [(p["rank"], p["track_id"], p["name"], p["artists"], p["source"], p["probability"], p["reason"])
            for p in got] == [
        (1, "c1", "C one", [], "reccobeats", 0.91, "ReccoBeats, from A one"),
        (2, "c2", "C two", ["Hal", "Ivy"], "artists", 0.85, "new from Hal, 4 songs in your library")]


def test_no_picks_for_the_week(lake):
    assert week_picks(lake, DS) == []
    assert hit_rates(lake, DS)["weeks"] == []


def test_hit_rates_per_week_and_source(lake):
    history(lake)
    library(lake)
    got = hit_rates(lake, DS)
    assert got["saved_known"] is True
    assert got["sources"] == ["reccobeats", "artists", "catalog", "playlists"]
    assert [(w["ds"], w["offered"], w["saved"]) for w in got["weeks"]] == [("2026-11-16", 4, 2),
                                                                          ("2026-11-23", 3, 1)]
    assert [w["rate"] for w in got["weeks"]] == pytest.approx([0.5, 1 / 3])
    assert got["weeks"][0]["by_source"] == {
        "reccobeats": {"offered": 2, "saved": 1, "rate": 0.5},
        "artists": {"offered": 1, "saved": 1, "rate": 1.0},
        "playlists": {"offered": 1, "saved": 0, "rate": 0.0}}
    assert got["weeks"][1]["by_source"] == {
        "reccobeats": {"offered": 1, "saved": 0, "rate": 0.0},
        "catalog": {"offered": 2, "saved": 1, "rate": 0.5}}
    total = got["total"]
    assert (total["offered"], total["saved"]) == (7, 3)
    assert total["rate"] == pytest.approx(3 / 7)
    assert {s: (v["offered"], v["saved"]) for s, v in total["by_source"].items()} == {
        "reccobeats": (3, 1), "artists": (1, 1), "catalog": (2, 1), "playlists": (1, 0)}


def test_without_the_library_of_the_date_the_saved_counts_are_unknown(lake):
    history(lake)
    got = hit_rates(lake, DS)
    assert got["saved_known"] is False
    assert [(w["ds"], w["offered"], w["saved"], w["rate"]) for w in got["weeks"]] == [
        ("2026-11-16", 4, None, None), ("2026-11-23", 3, None, None)]
    assert got["total"]["saved"] is None


def test_load_picks_bundles_both(lake):
    history(lake)
    library(lake)
    got = load_picks(lake, DS)
    assert got["ds"] == DS
    assert [p["track_id"] for p in got["picks"]] == ["c1", "c2"]
    assert len(got["reaction"]["weeks"]) == 2


def test_a_rerun_of_a_week_replaces_its_picks_and_leaves_the_other_weeks(lake):
    """A week published again: its old rows are no longer read (their files stay on disk until a VACUUM),
    and no other week changes."""
    history(lake)
    library(lake)
    write_picks(lake, "2026-11-23", [(1, "a1", "A one", ["Ann"], "catalog", 0.9, "again")])  # the rerun
    assert [p["track_id"] for p in week_picks(lake, "2026-11-23")] == ["a1"]
    assert [p["track_id"] for p in week_picks(lake, DS)] == ["c1", "c2"]
    got = hit_rates(lake, DS)
    assert [(w["ds"], w["offered"], w["saved"]) for w in got["weeks"]] == [("2026-11-16", 4, 2),
                                                                          ("2026-11-23", 1, 1)]
    assert got["weeks"][1]["by_source"] == {"catalog": {"offered": 1, "saved": 1, "rate": 1.0}}


def test_an_ingest_of_the_date_without_liked_songs_is_known_and_saves_nothing(lake):
    history(lake)
    write_library(lake, "2026-11-23", [("a1", "liked", SAVED)])  # another date's library
    assert saved_track_ids(lake, DS) is None  # the ingest has not run for DS
    assert hit_rates(lake, DS)["saved_known"] is False
    write_library(lake, DS, [("a1", "liked", LIKED_PLAYLIST)])  # it ran: no Liked Songs among its rows
    assert saved_track_ids(lake, DS) == set()
    write_library(lake, DS, [])  # it ran on an empty library: no rows, only the run's metrics
    assert saved_track_ids(lake, DS) is None
    folder = lake.partition(SILVER_TRACKS, DS)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / METRICS).write_text(json.dumps({"ds": DS, "rows": 0}))
    assert saved_track_ids(lake, DS) == set()
    got = hit_rates(lake, DS)
    assert got["saved_known"] is True
    assert [(w["ds"], w["offered"], w["saved"]) for w in got["weeks"]] == [("2026-11-16", 4, 0),
                                                                          ("2026-11-23", 3, 0)]


def test_the_novelty_rules_of_the_week_are_read_from_the_score_steps_metrics_and_stated_on_the_page(lake):
    from tests.report.conftest import make_report
    from weekly_discovery.report.render import render_html

    history(lake)
    assert load_picks(lake, DS)["novelty"] is None  # the score step has not run for the week
    folder = lake.partition("gold", "recommendations", DS)
    folder.mkdir(parents=True)
    (folder / "_metrics.json").write_text(json.dumps({"novelty_weeks": 12, "recently_published_excluded": 7,
                                                      "removed_by_you_excluded": 2}))
    got = load_picks(lake, DS)
    assert got["novelty"] == {"weeks": 12, "recent": 7, "removed": 2}
    page = render_html(make_report(DS), None, got)
    assert ("none was published in the 12 weeks before 2026-11-30 (7 such songs kept out), and none is a song "
            "you removed from the playlist after it was offered (2 kept out for good)") in page
