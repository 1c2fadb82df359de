"""Champion or challenger: hand-made metric cases."""

from __future__ import annotations

from weekly_discovery.recommend.model.families import Candidate, baseline
from weekly_discovery.recommend.training.selection import CandidateResult, best_of, decide

OLD = {"version": "2026-11-16", "name": "random_forest", "params": {"numTrees": 10}}


def test_no_champion_yet_promotes_the_new_model():
    decision = decide({"roc_auc": 0.61}, None)
    assert decision.promote and "first champion" in decision.reason and decision.incumbent is None


def test_better_new_model_is_promoted():
    decision = decide({"roc_auc": 0.85}, {"roc_auc": 0.80}, incumbent=OLD)
    assert decision.promote
    assert decision.reason.startswith("new model ROC AUC 0.8500 >= current champion (2026-11-16) 0.8000")
    assert decision.incumbent == {**OLD, "cv": {"roc_auc": 0.80}}


def test_a_tie_goes_to_the_new_model():
    assert decide({"roc_auc": 0.8}, {"roc_auc": 0.8}, incumbent=OLD).promote


def test_better_old_champion_stays_and_the_reason_says_so():
    decision = decide({"roc_auc": 0.79}, {"roc_auc": 0.8}, incumbent=OLD)
    assert not decision.promote
    assert decision.reason == ("current champion (2026-11-16) ROC AUC 0.8000 > new model 0.7900 on the same folds "
                               "of this week's data: the champion stays")


def test_missing_figures():
    assert not decide({"roc_auc": None}, {"roc_auc": 0.7}, incumbent=OLD).promote
    assert decide({"roc_auc": 0.6}, {"roc_auc": None}, incumbent=OLD).promote
    unusable = decide({"roc_auc": 0.6}, None, incumbent=OLD, note="it uses a feature this week lacks")
    assert unusable.promote and unusable.reason == "it uses a feature this week lacks"


def test_best_of_prefers_the_higher_auc_and_the_earlier_candidate_on_a_tie():
    rf = Candidate("random_forest", {"numTrees": 10})
    gbt = Candidate("gbt", {"maxIter": 5})
    results = [CandidateResult(baseline(), {"roc_auc": 0.7}, 1.0), CandidateResult(rf, {"roc_auc": 0.8}, 1.0),
               CandidateResult(gbt, {"roc_auc": 0.8}, 1.0), CandidateResult(gbt, {"roc_auc": None}, 1.0)]
    assert best_of(results).candidate == rf
