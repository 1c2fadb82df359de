"""End to end: the real ``spark-submit`` of jobs/lookup_features_file.py and jobs/enrich.py on a tiny lake.

The chain is file -> spotify -> reccobeats. The silver tracks, the feature CSV (renamed columns, a
quoted title, a broken row, out-of-range and "not detected" values) and the config are written here;
the fetch step runs in-process against the stand-in (Spotify answers 403). The lake root contains a
space, the jobs run from an unrelated working directory, and they fail if their executors need Python
(:func:`tests.util.spark.without_python_workers`). Outputs are read back with delta-rs (the Delta tables),
pyarrow (the raw look-up partition) and json; expected values are written by hand (feature values a
provider serves come from the stand-in's library object).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.standin import StandIn, generate_demo_library
from tests.enrich.conftest import context, feature_requests
from tests.enrich.lakekit import read_cache, read_date, read_parquet, silver_row, write_config, write_silver
from tests.util.spark import without_python_workers
from weekly_discovery.enrich.fetch import fetch_features, request_counts
from weekly_discovery.lake import QUARANTINE_FEATURES, SILVER_TRACKS, TRACKS_ENRICHED, delta
from weekly_discovery.lake.layout import Lake

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"
D1, D2 = "2026-11-16", "2026-11-23"
HEADER = ("spotify_id,title,dance,energy,speechiness,instrumentalness,acousticness,liveness,valence,loudness,"
          "tempo,key,mode,duration_ms,time_signature")


def run_job(job: str, lake: Lake, ds: str, config: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    return subprocess.run(
        [str(SPARK_SUBMIT), "--master", "local[2]", "--conf", "spark.ui.enabled=false", *without_python_workers(),
         str(REPO / "jobs" / job), "--lake", lake.root, "--ds", ds, "--config", str(config)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=240,
    )


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    demo = generate_demo_library(seed=3, n_tracks=300)
    known = sorted(t for t in demo.tracks if demo.reccobeats_features_for(t) is not None)
    unknown = sorted(t for t in demo.tracks if demo.reccobeats_features_for(t) is None)
    ids = {"R1": known[0], "R2": known[1], "R3": known[2], "R4": known[3],
           "F1": known[4], "F2": known[5], "F3": known[6], "F4": known[7], "M": unknown[0]}
    root = tmp_path_factory.mktemp("enrich") / "my lake"
    lake = Lake(str(root))
    write_silver(lake, D1, [
        silver_row(ids["R1"], "liked", 0), silver_row(ids["R2"], "liked", 1), silver_row(ids["R3"], "liked", 2),
        silver_row(ids["F1"], "liked", 3), silver_row(ids["F3"], "liked", 4),
        silver_row(ids["M"], "disliked", 0), silver_row(ids["F4"], "disliked", 1), silver_row(ids["R4"], "disliked", 2),
        silver_row(ids["F2"], "candidates", 0), silver_row(ids["R1"], "candidates", 1),
    ])
    folder = root.parent
    (folder / "features.csv").write_text("\n".join([
        HEADER,
        f'{ids["F1"]},"Song, ""one""",0.61,0.5,0.04,0.0,0.3,0.12,0.7,-6.0,118.0,5,1,201000,4',
        f'{ids["F2"]},Broken,0.5,very high,0.04,0.0,0.3,0.12,0.7,-6.0,118.0,5,1,201000,4',
        f'{ids["F3"]},Undetected,0.2,0.3,0.04,0.9,0.8,0.1,0.1,-20.5,0.0,-1,0,300000,0',
        f'{ids["F4"]},Too quiet,0.2,0.3,0.04,0.9,0.8,0.1,0.1,-80,90.0,2,0,300000,3',
        f'{"Z" * 22},Not in the library,0.2,0.3,0.04,0.9,0.8,0.1,0.1,-8,90.0,2,0,300000,3',
    ]) + "\n")
    with StandIn(demo, audio_features="forbidden") as server:
        config = write_config(folder, root, f"""providers = ["file", "spotify", "reccobeats"]
reccobeats_url = "{server.reccobeats_url}"
min_coverage = 0.9
[enrichment.file]
path = "features.csv"
[enrichment.file.columns]
id = "spotify_id"
danceability = "dance"
""")
        cwd = tmp_path_factory.mktemp("cwd")
        lookup = run_job("lookup_features_file.py", lake, D1, config.path, cwd)
        assert lookup.returncode == 0, output(lookup)[-3000:]
        summary = fetch_features(lake, D1, config.enrichment, context(server, config.enrichment))
        fetch_requests = feature_requests(server)
        enrich = run_job("enrich.py", lake, D1, config.path, cwd)

        write_silver(lake, D2, read_date(lake, SILVER_TRACKS, D1))
        server.reset_counts()
        second = fetch_features(lake, D2, config.enrichment, context(server, config.enrichment))
        second_requests = feature_requests(server)
    return {"lake": lake, "ids": ids, "demo": demo, "lookup": lookup, "enrich": enrich, "summary": summary,
            "fetch_requests": fetch_requests, "second": second, "second_requests": second_requests}


def test_file_look_up_counts_the_broken_row_and_maps_columns(pipeline):
    lake, ids = pipeline["lake"], pipeline["ids"]
    rows = {r["track_id"]: r for r in read_parquet(lake.raw_features_partition("file", D1))}
    name = {v: k for k, v in ids.items()}
    assert {name[t]: r["status"] for t, r in rows.items()} == {
        "F1": "hit", "F3": "hit", "F4": "hit", "F2": "malformed",
        "R1": "absent", "R2": "absent", "R3": "absent", "R4": "absent", "M": "absent"}
    assert (rows[ids["F1"]]["danceability"], rows[ids["F1"]]["time_signature"]) == (0.61, 4.0)  # dance -> danceability
    assert rows[ids["F2"]]["detail"] == "energy=very high"
    manifest = json.loads((lake.raw_features_partition("file", D1) / "_manifest.json").read_text())
    assert {k: manifest[k] for k in ("looked_up", "hits", "absent", "malformed", "malformed_rows", "requests")} == {
        "looked_up": 9, "hits": 3, "absent": 5, "malformed": 1, "malformed_rows": 1, "requests": 0}
    assert manifest["malformed_sample"] == [{"track_id": ids["F2"], "detail": "energy=very high"}]
    assert "3 of 9 wanted ids found, 5 absent, 1 malformed (1 malformed rows counted, not used)" in output(
        pipeline["lookup"])


def test_fetch_asks_only_what_the_file_lacks(pipeline):
    ids = pipeline["ids"]
    # Spotify: the one 403; ReccoBeats: one batch of the 6 ids the file did not resolve (F2 was malformed)
    assert pipeline["fetch_requests"] == {"spotify": 1, "reccobeats": 1}
    asked = json.loads((pipeline["lake"].raw_features_partition("reccobeats", D1) / "batch-00000.request.json")
                       .read_text())["ids"]
    assert sorted(asked) == sorted(ids[k] for k in ("R1", "R2", "R3", "R4", "F2", "M"))


def test_enrich_merges_its_rows_into_the_cache(pipeline):
    lake, ids, demo = pipeline["lake"], pipeline["ids"], pipeline["demo"]
    name = {v: k for k, v in ids.items()}
    rows = read_cache(lake)
    snapshot = {name[r["track_id"]]: r for r in rows}
    assert len(rows) == len(snapshot)  # one row per track: the first run of the first date
    assert {k: (r["status"], r["source"]) for k, r in snapshot.items()} == {
        "F1": ("ok", "file"), "F3": ("ok", "file"), "F4": ("quarantined", "file"),
        "R1": ("ok", "reccobeats"), "R2": ("ok", "reccobeats"), "R3": ("ok", "reccobeats"),
        "R4": ("ok", "reccobeats"), "F2": ("ok", "reccobeats"), "M": ("missing", None)}
    f1, f3 = snapshot["F1"], snapshot["F3"]
    assert (f1["danceability"], f1["loudness"], f1["key"], f1["time_signature"], f1["duration_ms"]) == (
        0.61, -6.0, 5, 4, 201000)
    assert (f3["tempo"], f3["time_signature"], f3["key"]) == (None, None, -1)  # unknowns kept as null; -1 is valid
    assert snapshot["F4"]["detail"] == "loudness=-80.0 (expected -70..10)"
    served = demo.reccobeats_features_for(ids["R2"])
    assert {k: snapshot["R2"][k] for k in served} == served
    assert snapshot["R2"]["time_signature"] is None
    assert {r["fetched_ds"] for r in snapshot.values()} == {D1}
    assert {r["providers_asked"] for r in snapshot.values()} == {"file,spotify,reccobeats"}


def test_enrich_writes_tracks_enriched_and_quarantine(pipeline):
    lake, ids = pipeline["lake"], pipeline["ids"]
    name = {v: k for k, v in ids.items()}
    enriched = read_date(lake, TRACKS_ENRICHED, D1, order=("source_key", "position"))
    assert [(r["role"], name[r["track_id"]], r["feature_status"], r["feature_source"]) for r in enriched] == [
        ("candidates", "F2", "ok", "reccobeats"), ("candidates", "R1", "ok", "reccobeats"),
        ("disliked", "M", "missing", None), ("disliked", "F4", "quarantined", None),
        ("disliked", "R4", "ok", "reccobeats"),
        ("liked", "R1", "ok", "reccobeats"), ("liked", "R2", "ok", "reccobeats"), ("liked", "R3", "ok", "reccobeats"),
        ("liked", "F1", "ok", "file"), ("liked", "F3", "ok", "file"),
    ]
    quarantined = next(r for r in enriched if r["feature_status"] == "quarantined")
    assert quarantined["loudness"] is None and quarantined["duration_ms"] == 200000  # the track's own duration
    quarantine = read_date(lake, QUARANTINE_FEATURES, D1)
    assert [(name[r["track_id"]], r["failed_fields"], r["loudness"]) for r in quarantine] == [
        ("F4", ["loudness"], "-80.0")]


def test_enrich_metrics_and_log(pipeline):
    lake, result = pipeline["lake"], pipeline["enrich"]
    metrics = json.loads((lake.partition(TRACKS_ENRICHED, D1) / "_metrics.json").read_text())
    assert metrics["roles"] == {
        "liked": {"tracks": 5, "with_features": 5, "coverage": 1.0, "by_source": {"file": 2, "reccobeats": 3},
                  "by_status": {"ok": 5}},
        "disliked": {"tracks": 3, "with_features": 1, "coverage": 0.3333, "by_source": {"reccobeats": 1},
                     "by_status": {"missing": 1, "ok": 1, "quarantined": 1}},
        "candidates": {"tracks": 2, "with_features": 2, "coverage": 1.0, "by_source": {"reccobeats": 2},
                       "by_status": {"ok": 2}},
    }
    assert metrics["library"]["tracks"] == 9 and metrics["library"]["with_features"] == 7
    assert metrics["gates"] == {"checked": 8, "passed": 7, "quarantined": 1, "quarantined_by_field": {"loudness": 1},
                                "unknown_kept": {"tempo": 1, "time_signature": 1}}
    assert metrics["providers"]["spotify"]["status"] == "off" and metrics["providers"]["spotify"]["requests"] == 1
    assert {k: metrics["providers"]["reccobeats"][k] for k in ("status", "requests", "asked", "answered")} == {
        "status": "ok", "requests": 1, "asked": 6, "answered": 5}
    assert metrics["providers"]["file"]["malformed"] == 1
    log = output(result)
    assert (f"enrich ds={D1} coverage disliked: 1 of 3 tracks have features (33.3%); by source: reccobeats 1; "
            "without: missing 1, quarantined 1") in log
    assert f"enrich ds={D1} coverage liked: 5 of 5 tracks have features (100.0%); by source: file 2, reccobeats 3" in log


def test_low_coverage_fails_the_job_after_writing(pipeline):
    result = pipeline["enrich"]
    assert result.returncode == 2, output(result)[-3000:]  # a user error: the task is not retried
    assert ("audio-feature coverage of role 'disliked' is 33.3% (1 of 3 tracks; 1 missing, 1 quarantined), "
            "below enrichment.min_coverage 90.0% (provider spotify was off)") in output(result)
    assert "role 'liked'" not in output(result).split("failed the coverage check")[-1]
    lake = pipeline["lake"]
    assert delta.has_date(lake, TRACKS_ENRICHED, D1)  # written before failing, with its metrics
    assert (lake.partition(TRACKS_ENRICHED, D1) / "_metrics.json").is_file()


def test_a_second_run_makes_zero_feature_requests(pipeline):
    assert pipeline["second_requests"] == {"spotify": 0, "reccobeats": 0}
    assert pipeline["second"].wanted["wanted"] == 0 and pipeline["second"].wanted["known"] == 7
    assert request_counts(pipeline["lake"], D2) == {"spotify": 0, "reccobeats": 0}


def test_both_jobs_ran_with_the_small_input_settings(pipeline):
    # a few KB of CSV and lake: one shuffle partition, no AQE, no codegen (the mechanism: tests/report/test_report_job.py)
    for job, name in ((pipeline["lookup"], "lookup-features-file"), (pipeline["enrich"], "enrich")):
        assert re.search(rf"weekly-discovery-{name}-{D1}: small input \(0\.0 MB, under 32 MB\): "
                         r"[^\n]*spark\.sql\.adaptive\.enabled=false", output(job)), output(job)[-3000:]
