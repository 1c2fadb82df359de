"""Learning from Liked Songs alone (issue 27): the background, the reaction to earlier picks, the
positive-unlabeled calibration, and scoring with it.

Expected values are written by hand or computed here from the documented rules (sha256 draw order,
Elkan-Noto), never read back from the code under test.
"""

from __future__ import annotations

import hashlib
import json
import random

import pyarrow as pa
import pytest

from tests.recommend.kit import row, sid, table, write_enriched
from weekly_discovery.lake import AUDIO_FEATURES, RECOMMENDATIONS, REMOVED_PICKS, SCORES, TRACKS_ENRICHED, delta
from weekly_discovery.lake.layout import Lake
from weekly_discovery.recommend.model import families as cand
from weekly_discovery.recommend.model import store
from weekly_discovery.recommend.publish.history import write_picks
from weekly_discovery.recommend.training.dataset import Negatives, labelled_set
from weekly_discovery.recommend.training.feedback import reaction_rows
from weekly_discovery.recommend.training.week import TrainSettings, train_week
from weekly_discovery.spark.delta import read_date

pytestmark = pytest.mark.spark

FEATURES = ("energy", "acousticness", "loudness")
D = "2026-11-30"


def test_without_dislikes_the_background_is_a_seeded_sample_of_the_new_candidates(spark):
    rows = [row(f"L{i}", "liked", artist=f"a{i}", position=i) for i in range(3)]
    rows += [row(f"C{i}", "candidates", artist=f"c{i}", position=i) for i in range(10)]
    rows += [row("L0", "candidates", position=20),                     # already liked: never background
             row("CX", "candidates", position=21, status="missing"),   # no features: never background
             row("R0", "reference", source="candidates2", position=0), row("R0", "candidates", position=22)]  # in the library
    labelled = labelled_set(spark.createDataFrame(table(rows)), FEATURES, Negatives(per_liked=2))

    usable = [sid(f"C{i}") for i in range(10)]
    expected = sorted(usable, key=lambda t: hashlib.sha256(f"42:{t}".encode()).hexdigest())[:6]  # 2 per liked
    got = {r["track_id"]: (r["kind"], r["label"], r["weight"]) for r in labelled.df.collect()}
    assert {t for t, v in got.items() if v[0] == "background"} == set(expected)
    assert all(got[t] == ("background", 0.0, 1.0) for t in expected)
    assert labelled.counts["background"] | {"reason": ""} == {
        "mode": "auto", "used": True, "reason": "", "available": 10, "drawn": 6, "per_liked": 2}
    assert "disliked sources give 0 usable songs, fewer than 50" in labelled.counts["background"]["reason"]
    assert (labelled.positives, labelled.negatives) == (3, 6)
    assert "liked 3 (label 1); disliked playlist 0, removed picks 0, unsaved picks 0 (weight 0.5), " \
           "background 6 (unlabeled, weight 1)" in labelled.summary_lines()[0]
    # the same draw on every run; by default (10 per liked song) every usable candidate; "never" draws none
    again = labelled_set(spark.createDataFrame(table(rows)), FEATURES, Negatives(per_liked=2))
    assert sorted(r["track_id"] for r in again.df.collect()) == sorted(got)
    default = labelled_set(spark.createDataFrame(table(rows)), FEATURES)
    assert {r["track_id"] for r in default.df.collect() if r["kind"] == "background"} == set(usable)
    never = labelled_set(spark.createDataFrame(table(rows)), FEATURES, Negatives(background="never"))
    assert never.counts["by_kind"]["background"] == 0 and never.negatives == 0


def test_a_disliked_playlist_of_50_songs_turns_the_background_off(spark):
    rows = [row(f"L{i}", "liked", artist=f"a{i}", position=i) for i in range(3)]
    rows += [row(f"D{i:02d}", "disliked", artist=f"d{i:02d}", position=i) for i in range(50)]
    rows += [row(f"C{i}", "candidates", artist=f"c{i}", position=i) for i in range(5)]
    labelled = labelled_set(spark.createDataFrame(table(rows)), FEATURES)
    assert labelled.counts["by_kind"] == {"liked": 3, "disliked": 50, "removed": 0, "unsaved": 0, "background": 0}
    assert not labelled.uses_background
    always = labelled_set(spark.createDataFrame(table(rows)), FEATURES, Negatives(background="always"))
    assert always.counts["by_kind"]["background"] == 5  # all 5: fewer than 2 per liked song


def _picks(ds: str, ids: list[str]) -> list[dict]:
    return [{"ds": ds, "rank": i + 1, "track_id": t, "track_uri": f"spotify:track:{t}", "name": f"Pick {t[:3]}",
             "artist_names": ["Picked"], "primary_artist_id": sid("pa"), "primary_artist_name": "Picked",
             "source": "reccobeats", "probability": 0.9, "reason": "", "playlist_id": sid("pl")}
            for i, t in enumerate(ids)]


def test_removed_and_unsaved_picks_become_weighted_negatives(spark, tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    old, recent = "2026-10-26", "2026-11-23"  # 5 weeks and 1 week before D
    write_picks(lake, old, _picks(old, [sid("P1"), sid("P2"), sid("P3"), sid("P4")]))
    write_picks(lake, recent, _picks(recent, [sid("P5")]))
    delta.write_date(lake, REMOVED_PICKS, old,
                     pa.table({"track_id": [sid("P1")], "offered_ds": [old], "detected_ds": [recent]}))
    # the feature cache: one row per (track, fetched_ds); what training of D reads is each track's newest row
    # fetched on or before D (the enrichment of D ran first)
    fetched = [(sid(f"P{i}"), "2026-10-26", "ok", 0.9) for i in range(1, 5)]
    fetched += [(sid("P3"), D, "ok", 0.8),                  # fetched again by D's own enrichment: this one
                (sid("P4"), "2026-12-07", "missing", None)]  # a later week's row: not seen by D
    delta.merge(lake, AUDIO_FEATURES, pa.table({
        "track_id": [f[0] for f in fetched], "fetched_ds": [f[1] for f in fetched], "status": [f[2] for f in fetched],
        "energy": pa.array([f[3] for f in fetched], pa.float64()), "acousticness": [0.1] * len(fetched),
        "loudness": [-4.0] * len(fetched)}), ["track_id", "fetched_ds"])
    # P2 was saved to Liked Songs: a positive, not a negative; P5 is too recent to count as unsaved
    enriched = spark.createDataFrame(table([row("P2", "liked", position=0), row("L1", "liked", position=1)]))

    reaction, counts = reaction_rows(spark, lake, D, enriched, after_weeks=4)
    assert counts == {"removed": 1, "unsaved": 2, "without_features": 0}  # P1 removed; P3, P4 unsaved
    assert sorted((r["track_id"], r["feature_status"], r["energy"]) for r in reaction.collect()) == [
        (sid("P1"), "ok", 0.9), (sid("P3"), "ok", 0.8), (sid("P4"), "ok", 0.9)]
    labelled = labelled_set(enriched.unionByName(reaction, allowMissingColumns=True), FEATURES,
                            Negatives(background="never", unsaved_weight=0.25))
    got = {r["track_id"]: (r["kind"], r["label"], r["weight"]) for r in labelled.df.collect()}
    assert got == {sid("P1"): ("removed", 0.0, 1.0), sid("P3"): ("unsaved", 0.0, 0.25),
                   sid("P4"): ("unsaved", 0.0, 0.25), sid("P2"): ("liked", 1.0, 1.0), sid("L1"): ("liked", 1.0, 1.0)}
    assert reaction_rows(spark, lake, D, enriched, after_weeks=0)[1] == {"removed": 1, "unsaved": 0,
                                                                         "without_features": 0}


def _taste(rng: random.Random, liked: bool, name: str, role: str, artist: str, position: int) -> dict:
    return row(name, role, artist=artist, position=position,
               energy=round(min(1, max(0, rng.gauss(0.3 if liked else 0.8, 0.12))), 4),
               acousticness=round(min(1, max(0, rng.gauss(0.75 if liked else 0.15, 0.12))), 4),
               loudness=round(rng.gauss(-11 if liked else -5, 1.5), 3))


def test_liked_songs_alone_train_a_calibrated_model_that_picks_the_songs_alike(spark, tmp_path):
    """No disliked source: the week's candidates (half like the liked songs, half not) are the background.
    Training stores the Elkan-Noto calibration; scoring with it recommends the candidates alike."""
    from weekly_discovery.recommend.job import score_date
    from weekly_discovery.settings.config import Model

    rng = random.Random(5)
    rows = [_taste(rng, True, f"L{i:02d}", "liked", f"la{i % 12}", i) for i in range(40)]
    loved = [f"G{i:02d}" for i in range(30)]
    rows += [_taste(rng, True, name, "candidates", f"ga{i % 15}", i) for i, name in enumerate(loved)]
    rows += [_taste(rng, False, f"B{i:02d}", "candidates", f"ba{i % 15}", 30 + i) for i in range(50)]
    lake = Lake(str(tmp_path / "lake"))
    write_enriched(lake, D, rows)
    enriched = read_date(spark, lake, TRACKS_ENRICHED, D)
    grid = (cand.baseline(), cand.Candidate("random_forest", {"numTrees": 30, "maxDepth": 4}))

    card = train_week(enriched, lake, D, TrainSettings(features=FEATURES, folds=3, seed=42, grid=grid))

    assert card["training"]["by_kind"] == {"liked": 40, "disliked": 0, "removed": 0, "unsaved": 0,
                                           "background": 80}
    pu = card["pu"]
    assert 0.05 < pu["label_frequency"] < 1.0 and pu["weight_ratio"] > 0
    assert "Elkan & Noto" in pu["method"]
    champion = store.champion_for_scoring(lake, D)
    assert champion.pu == pu
    metrics = score_date(spark, lake, D, champion, Model(features=FEATURES, top_n=10, max_per_artist=1))
    picks = [r["track_id"] for r in delta.read_rows(lake, RECOMMENDATIONS, D, ["track_id"])]
    assert len(picks) == 10 and metrics["max_per_artist"] == 1
    assert sum(p in {sid(n) for n in loved} for p in picks) >= 9  # by hand: the loved half is far apart
    assert metrics["probability"].startswith("P(liked)")

    # another week, then a rerun of D with another top_n: D's rows are replaced, the other week's untouched,
    # one commit per table and run, each with its date
    D2 = "2026-12-07"
    write_enriched(lake, D2, rows)
    score_date(spark, lake, D2, champion, Model(features=FEATURES, top_n=10, max_per_artist=1))
    by_rank = lambda ds: sorted(delta.read_rows(lake, RECOMMENDATIONS, ds), key=lambda r: r["rank"])  # noqa: E731
    later = by_rank(D2)
    score_date(spark, lake, D, champion, Model(features=FEATURES, top_n=4, max_per_artist=1))
    assert [r["rank"] for r in by_rank(D)] == [1, 2, 3, 4] and by_rank(D2) == later
    assert json.loads((lake.partition(RECOMMENDATIONS, D) / "_metrics.json").read_text())["top_n"] == 4
    assert len(delta.read_rows(lake, SCORES, D)) == len(delta.read_rows(lake, SCORES, D2)) == 80
    for table in (SCORES, RECOMMENDATIONS):
        assert [c.get("ds") for c in delta.history(lake, table)] == [D, D2, D]  # newest first

    # a week without candidates: no rows, but the metrics say it was scored (what publish looks for)
    D3 = "2026-12-14"
    write_enriched(lake, D3, rows[:40])  # the liked songs only
    empty = score_date(spark, lake, D3, champion, Model(features=FEATURES, top_n=10, max_per_artist=1))
    assert empty["recommended"] == 0 and delta.read_rows(lake, RECOMMENDATIONS, D3) == []
    assert json.loads((lake.partition(RECOMMENDATIONS, D3) / "_metrics.json").read_text())["recommended"] == 0


def test_more_background_is_asked_only_when_the_background_is_drawn(spark):
    """A catalogue's sample joins the background (one per liked song) only when the background is drawn: with
    50 disliked songs the file is never read."""
    liked = [row(f"L{i}", "liked", artist=f"a{i}", position=i) for i in range(3)]
    extra = [row(f"X{i}", "candidates", artist=f"x{i}", position=i) for i in range(9)]
    asked = []

    def more(size):
        asked.append(size)
        return spark.createDataFrame(table(extra))

    labelled = labelled_set(spark.createDataFrame(table(liked)), FEATURES, more_background=more)
    assert asked == [3] and labelled.counts["background"]["available"] == 9
    disliked = [row(f"D{i:02d}", "disliked", artist=f"d{i:02d}", position=i) for i in range(50)]
    labelled_set(spark.createDataFrame(table([*liked, *disliked])), FEATURES, more_background=more)
    assert asked == [3]  # not asked again
