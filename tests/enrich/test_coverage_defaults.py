"""Issue 12 item 2: the default coverage floor gates the labelled roles (liked, disliked), not 0.

With ``enrichment.min_coverage`` unset, liked and disliked tracks need 50% coverage and candidates
and reference playlists are not gated (see enrich/coverage.py's DEFAULT_MIN_COVERAGE for why);
a value that is set applies to every role, as before. Metrics are built by hand (no Spark).
"""

from __future__ import annotations

import pytest

from weekly_discovery.enrich import job as enrich_job
from weekly_discovery.enrich.coverage import build_metrics, coverage_failures, floors_text
from weekly_discovery.settings.config import Enrichment

CHAIN = ("spotify", "reccobeats")
MANIFESTS = {"spotify": {"status": "off", "note": "403", "requests": 1, "asked": 0, "answered": 0},
             "reccobeats": {"status": "ok", "note": "", "requests": 2, "asked": 60, "answered": 20}}


def metrics(liked_ok: int, liked_missing: int, *, candidates_ok: int = 0, candidates_missing: int = 20,
            min_coverage: float | None = None) -> dict:
    rows = [("liked", "ok", "reccobeats", liked_ok), ("liked", "missing", None, liked_missing),
            ("disliked", "ok", "reccobeats", 10),
            ("candidates", "ok", "reccobeats", candidates_ok), ("candidates", "missing", None, candidates_missing)]
    return build_metrics("2026-11-23", CHAIN, rows, [], {}, {}, MANIFESTS, previous_ds=None,
                         min_coverage=min_coverage, outputs={})


def test_the_default_fails_liked_tracks_without_features():
    default = Enrichment().min_coverage
    assert coverage_failures(metrics(0, 40), default, CHAIN) == [
        "audio-feature coverage of role 'liked' is 0.0% (0 of 40 tracks; 40 missing), below the default floor "
        "50.0% for liked tracks (enrichment.min_coverage is not set) (provider spotify was off): add a \"file\" "
        "snapshot such as Kaggle's 'Spotify 1.2M+ songs' tracks_features.csv to enrichment.providers."]
    assert [f.split(" is ")[0] for f in coverage_failures(metrics(19, 21), default, CHAIN)] == [
        "audio-feature coverage of role 'liked'"]  # 47.5%


def test_the_default_passes_half_the_labelled_tracks_and_does_not_gate_candidates():
    default = Enrichment().min_coverage
    assert coverage_failures(metrics(20, 20), default, CHAIN) == []  # 50% liked, 0% candidates
    m = metrics(20, 20)
    assert (m["min_coverage"], m["min_coverage_by_role"]) == (
        None, {"liked": 0.5, "disliked": 0.5, "reference": 0.0, "candidates": 0.0})


def test_a_set_floor_applies_to_every_role():
    failures = coverage_failures(metrics(40, 0, candidates_ok=10, candidates_missing=10), 0.6, CHAIN)
    assert [f.split(" is ")[0] for f in failures] == ["audio-feature coverage of role 'candidates'"]
    assert "below enrichment.min_coverage 60.0% (provider spotify was off)" in failures[0]
    assert coverage_failures(metrics(0, 40), 0.0, CHAIN) == []  # 0 set explicitly: no floor, as before
    assert metrics(0, 40, min_coverage=0.6)["min_coverage_by_role"] == {
        "liked": 0.6, "disliked": 0.6, "reference": 0.6, "candidates": 0.6}


def test_floors_text_for_the_logs():
    assert floors_text(None) == ("liked 50%, disliked 50%, reference 0%, candidates 0% (the default; "
                                 "enrichment.min_coverage sets one floor for every role)")
    assert floors_text(0.9) == "90% for every role (enrichment.min_coverage)"


def test_the_enrich_job_check_fails_a_default_run_with_no_liked_features():
    with pytest.raises(enrich_job.CoverageTooLow, match="role 'liked' is 0.0%"):
        enrich_job.check_coverage(metrics(0, 40), Enrichment(providers=CHAIN))
