"""The declared gate table and its documentation; coverage metrics and the coverage-check message.

Metrics are built from hand-written aggregates (what the Spark job collects) and compared with
hand-written expected dicts.
"""

from __future__ import annotations

from pathlib import Path

from weekly_discovery.core.vocabulary import FEATURE_COLUMNS
from weekly_discovery.enrich.coverage import build_metrics, coverage_failures, coverage_lines
from weekly_discovery.enrich.quality import RULES, markdown_table

REPO = Path(__file__).resolve().parents[2]


def test_one_rule_per_feature_in_order():
    assert tuple(r.field for r in RULES) == FEATURE_COLUMNS
    by_field = {r.field: r for r in RULES}
    assert (by_field["time_signature"].low, by_field["time_signature"].high, by_field["time_signature"].unknown) == (
        3, 7, (0.0, 1.0))
    assert (by_field["loudness"].low, by_field["loudness"].high) == (-70.0, 10.0)
    assert (by_field["key"].low, by_field["key"].high, by_field["key"].unknown) == (-1, 11, ())
    assert by_field["tempo"].unknown == (0.0,)


def test_docs_show_the_current_rule_table():
    doc = (REPO / "docs" / "enrichment.md").read_text()
    assert markdown_table() in doc, "docs/enrichment.md is out of date: paste quality.markdown_table() into it"
    assert "| `time_signature` | int | 3..7 | 0, 1 |" in doc
    assert "| `loudness` | double | -70..10 | - |" in doc


COVERAGE_ROWS = [  # (role, feature_status, feature_source, distinct tracks)
    ("liked", "ok", "reccobeats", 90), ("liked", "ok", "file", 5), ("liked", "missing", None, 4),
    ("liked", "quarantined", None, 1),
    ("disliked", "ok", "reccobeats", 20),
    ("candidates", "pending", None, 10), ("candidates", "ok", "file", 30),
    ("*", "ok", "reccobeats", 105), ("*", "ok", "file", 35), ("*", "missing", None, 4),
    ("*", "quarantined", None, 1), ("*", "pending", None, 10),
]
GATE_ROWS = [("checked", "*", 141), ("quarantined", "*", 1), ("quarantined", "loudness", 1),
             ("quarantined", "danceability", 1), ("unknown_kept", "time_signature", 3), ("unknown_kept", "tempo", 2)]
MANIFESTS = {
    "spotify": {"status": "off", "note": "Spotify's /audio-features answers 403: ...", "requests": 1, "asked": 0,
                "answered": 0, "new_batches": 0, "reused_batches": 0, "batches": []},
    "reccobeats": {"status": "ok", "note": "", "requests": 4, "asked": 130, "answered": 105, "new_batches": 4,
                   "reused_batches": 0, "batches": [{}] * 4},
    "file": {"looked_up": 150, "hits": 35, "absent": 113, "malformed": 2, "path": "/data/tracks_features.csv",
             "file_modified_at": "2026-01-01T00:00:00Z", "requests": 0},
}


def metrics(min_coverage=0.9, chain=("file", "spotify", "reccobeats")):
    return build_metrics("2026-11-23", chain, COVERAGE_ROWS, GATE_ROWS, {"ok": 140, "missing": 6, "quarantined": 1},
                         {"ok": 140, "missing": 4, "quarantined": 1}, MANIFESTS, previous_ds="2026-11-16",
                         min_coverage=min_coverage, outputs={"tracks_enriched": "silver/tracks_enriched/ds=2026-11-23"})


def test_metrics_shape():
    m = metrics()
    assert m["roles"] == {
        "liked": {"tracks": 100, "with_features": 95, "coverage": 0.95, "by_source": {"file": 5, "reccobeats": 90},
                  "by_status": {"missing": 4, "ok": 95, "quarantined": 1}},
        "disliked": {"tracks": 20, "with_features": 20, "coverage": 1.0, "by_source": {"reccobeats": 20},
                     "by_status": {"ok": 20}},
        "candidates": {"tracks": 40, "with_features": 30, "coverage": 0.75, "by_source": {"file": 30},
                       "by_status": {"ok": 30, "pending": 10}},
    }
    assert list(m["roles"]) == ["liked", "disliked", "candidates"]
    assert m["library"]["tracks"] == 155 and m["library"]["coverage"] == 0.9032
    assert m["gates"] == {"checked": 141, "passed": 140, "quarantined": 1,
                          "quarantined_by_field": {"danceability": 1, "loudness": 1},
                          "unknown_kept": {"tempo": 2, "time_signature": 3}}
    assert m["cache"] == {"previous_snapshot": "2026-11-16", "rows": 147,
                          "by_status": {"missing": 6, "ok": 140, "quarantined": 1},
                          "new_rows": {"missing": 4, "ok": 140, "quarantined": 1}}
    assert m["providers"]["spotify"] == {"ran": True, "status": "off", "note": "Spotify's /audio-features answers 403: ...",
                                         "requests": 1, "asked": 0, "answered": 0, "new_batches": 0,
                                         "reused_batches": 0}
    assert m["providers"]["file"]["malformed"] == 2 and m["providers"]["file"]["requests"] == 0


def test_coverage_lines_one_per_role():
    lines = coverage_lines(metrics())
    assert lines[0] == ("coverage liked: 95 of 100 tracks have features (95.0%); by source: file 5, reccobeats 90; "
                        "without: missing 4, quarantined 1")
    assert lines[2] == ("coverage candidates: 30 of 40 tracks have features (75.0%); by source: file 30; "
                        "without: pending 10")
    assert lines[3].startswith("coverage library: 140 of 155 tracks")
    assert lines[4] == ("quality gates: 141 new answers checked, 1 quarantined (danceability 1, loudness 1), "
                        "unknown kept as null (tempo 2, time_signature 3)")


def test_coverage_failure_names_the_role_its_coverage_and_what_to_add():
    chain = ("spotify",)
    assert coverage_failures(metrics(0.9, chain), 0.9, chain) == [
        "audio-feature coverage of role 'candidates' is 75.0% (30 of 40 tracks; 10 pending), below "
        "enrichment.min_coverage 90.0% (provider spotify was off): add \"reccobeats\" to enrichment.providers, or "
        "a \"file\" snapshot such as Kaggle's 'Spotify 1.2M+ songs' tracks_features.csv."
    ]
    failures = coverage_failures(metrics(0.96), 0.96, ("spotify", "reccobeats"))
    assert [f.split(" is ")[0] for f in failures] == ["audio-feature coverage of role 'liked'",
                                                      "audio-feature coverage of role 'candidates'"]
    assert failures[0].endswith("add a \"file\" snapshot such as Kaggle's 'Spotify 1.2M+ songs' tracks_features.csv "
                                "to enrichment.providers.")
    assert "every provider is configured already" in coverage_failures(metrics(), 0.9, ("file", "reccobeats"))[0]
    assert coverage_failures(metrics(0.75), 0.75, chain) == []  # at the threshold passes
    assert coverage_failures(metrics(0.0), 0.0, chain) == []
