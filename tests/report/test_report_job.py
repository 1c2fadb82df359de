"""End to end: the real ``spark-submit jobs/report.py`` on a tiny tracks_enriched date written here.

The date (of the Delta table, written with delta-rs) has every column enrichment writes (silver tracks +
features + feature_source/status),
the lake root contains a space, and the job runs from an unrelated working directory. report.json is
read back with the json module; expected values are counted by hand or computed with numpy.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from weekly_discovery.lake import TRACKS_ENRICHED, delta
from weekly_discovery.lake.layout import Lake
from weekly_discovery.report import job as report_job

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
JOB = REPO / "jobs" / "report.py"
SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"
DS = "2026-11-23"
REF = "playlist-" + "R" * 22
DIS = "playlist-" + "D" * 22
FEATURES = ["danceability", "energy", "speechiness", "instrumentalness", "acousticness", "liveness", "valence",
            "loudness", "tempo"]
INT_FEATURES = ["key", "mode", "time_signature"]


def tid(n: int) -> str:
    return f"t{n:021d}"


def track(n, role, source, source_name, artist, status="ok", **f):
    base = {"danceability": 0.5, "energy": 0.5, "speechiness": 0.05, "instrumentalness": 0.0, "acousticness": 0.3,
            "liveness": 0.1, "valence": 0.5, "loudness": -7.0, "tempo": 120.0, "key": 5, "mode": 1,
            "time_signature": 4, **f}
    ok = status == "ok"
    return {
        "track_id": tid(n), "track_uri": f"spotify:track:{tid(n)}", "name": f"Song {n}",
        "artist_ids": [artist[0]], "artist_names": [artist[1]], "primary_artist_id": artist[0],
        "primary_artist_name": artist[1], "album_id": "A" * 22, "album_name": "Album", "album_release_date": "2020",
        "duration_ms": 200_000, "explicit": False, "added_at": dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc),
        "role": role, "source_key": source, "source_id": None if source == "saved_tracks" else source[9:],
        "source_name": source_name, "snapshot_id": None, "position": n,
        **{k: (base[k] if ok else None) for k in FEATURES + INT_FEATURES},
        "feature_source": "reccobeats" if ok else None, "feature_status": status,
    }


ARTIST_A = ("a" * 22, "<img src=x onerror=alert(1)>")
ARTIST_B = ("b" * 22, "Björk")


def build_rows() -> tuple[list[dict], np.ndarray]:
    rows = []
    # liked: danceability by hand -> bins 0 (0.0), 1 (0.1, an edge), 3 (0.3, an edge), 9 (0.95, 1.0)
    liked_dance = [0.0, 0.1, 0.3, 0.95, 1.0]
    energies = [0.9, 0.2, 0.5, 0.7, 0.4]
    loud = [-4.0, -14.0, -9.0, -6.0, -11.0]
    for i, (d, e, l) in enumerate(zip(liked_dance, energies, loud)):
        rows.append(track(i, "liked", "saved_tracks", "Liked Songs", ARTIST_A if i < 4 else ARTIST_B,
                          danceability=d, energy=e, loudness=l, tempo=100.0 + 7 * i, key=i, mode=i % 2))
    rows.append({**rows[0], "source_key": "playlist-" + "L" * 22, "source_name": "Also liked"})  # same track again
    rows.append(track(10, "liked", "saved_tracks", "Liked Songs", ARTIST_B, status="missing"))
    rows.append(track(11, "disliked", DIS, "Nope", ARTIST_A, danceability=0.2, energy=0.1, loudness=-20.0,
                      tempo=90.0, key=7, mode=0))
    for j, d in enumerate([0.61, 0.65, 0.7, 0.72]):
        rows.append(track(20 + j, "reference", REF, "Top <Hits>", ARTIST_B, danceability=d))
    rows.append(track(30, "candidates", "playlist-" + "C" * 22, "Cands", ARTIST_B, status="pending"))
    # the correlation input, by hand: distinct liked + disliked tracks with features, in the job's order
    corr_features = ["danceability", "energy", "loudness", "tempo", "key", "mode"]
    used = [r for r in rows if r["role"] in ("liked", "disliked") and r["feature_status"] == "ok"]
    seen, data = set(), []
    for r in used:
        if r["track_id"] not in seen:
            seen.add(r["track_id"])
            data.append([float(r[f]) for f in corr_features])
    return rows, np.array(data)


def write_partition(lake: Lake, rows: list[dict], ds: str = DS) -> None:
    """Date ``ds`` of the enriched tracks table, and its _metrics.json."""
    fields = [("track_id", pa.string()), ("track_uri", pa.string()), ("name", pa.string()),
              ("artist_ids", pa.list_(pa.string())), ("artist_names", pa.list_(pa.string())),
              ("primary_artist_id", pa.string()), ("primary_artist_name", pa.string()), ("album_id", pa.string()),
              ("album_name", pa.string()), ("album_release_date", pa.string()), ("duration_ms", pa.int64()),
              ("explicit", pa.bool_()), ("added_at", pa.timestamp("us", tz="UTC")), ("role", pa.string()),
              ("source_key", pa.string()), ("source_id", pa.string()), ("source_name", pa.string()),
              ("snapshot_id", pa.string()), ("position", pa.int32()),
              *[(f, pa.float64()) for f in FEATURES], *[(f, pa.int32()) for f in INT_FEATURES],
              ("feature_source", pa.string()), ("feature_status", pa.string())]
    schema = pa.schema(fields)
    delta.write_date(lake, TRACKS_ENRICHED, ds, pa.Table.from_pylist(rows, schema=schema))
    folder = lake.partition(TRACKS_ENRICHED, ds)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_metrics.json").write_text(json.dumps({
        "ds": ds, "providers_in_order": ["reccobeats"], "min_coverage": 0.0,
        "gates": {"checked": 12, "passed": 11, "quarantined": 1, "quarantined_by_field": {"tempo": 1},
                  "unknown_kept": {}},
        "providers": {"reccobeats": {"ran": True, "status": "ok", "requests": 1, "asked": 12, "answered": 12}}}))


def run_job(lake_root: Path, ds: str, cwd: Path, *extra: str, env: dict[str, str] | None = None,
            events: Path | None = None) -> subprocess.CompletedProcess:
    """spark-submit of the job; ``events``: a folder for Spark's event log (the session's settings)."""
    logged = ["--conf", "spark.eventLog.enabled=true", "--conf", f"spark.eventLog.dir={events}",
              "--conf", "spark.eventLog.compress=false", "--conf", "spark.eventLog.rolling.enabled=false",
              ] if events else []
    return subprocess.run(
        [str(SPARK_SUBMIT), "--master", "local[2]", "--conf", "spark.ui.enabled=false", *logged, str(JOB),
         "--lake", str(lake_root), "--ds", ds, *extra],
        cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=240,
    )


def session_settings(events: Path) -> dict[str, str]:
    """The Spark properties the job's session ran with, from its event log."""
    (log,) = [p for p in events.rglob("*") if p.is_file()]
    for line in log.read_text().splitlines():
        event = json.loads(line)
        if event["Event"] == "SparkListenerEnvironmentUpdate":
            return dict(event["Spark Properties"])
    raise AssertionError(f"no environment in {log}")


@pytest.fixture(scope="module")
def job_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("job") / "my lake"
    lake = Lake(str(root))
    rows, corr_data = build_rows()
    # another date, then a rerun of DS that replaces a first run's other rows: the job reads DS as it is now
    write_partition(lake, [track(90, "liked", "saved_tracks", "Liked Songs", ARTIST_A, danceability=0.5)], "2026-11-16")
    write_partition(lake, [track(91, "disliked", DIS, "Nope", ARTIST_B, danceability=0.99)])
    write_partition(lake, rows)
    config = tmp_path_factory.mktemp("config") / "weekly-discovery.toml"  # the job's settings, as in Airflow
    config.write_text('[sources]\nliked = ["saved_tracks"]\n\n[report]\ntop_artist_min_tracks = 1\n'
                      'strong_correlation = 0.8\n\n[model]\n'
                      'features = ["danceability", "energy", "loudness", "tempo", "key", "mode"]\n')
    events = tmp_path_factory.mktemp("events")
    result = run_job(root, DS, tmp_path_factory.mktemp("cwd"), "--config", str(config), events=events)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    report = json.loads((Path(lake.root) / "reports" / "library" / f"ds={DS}" / "report.json").read_text())
    return lake, report, result.stdout + result.stderr, corr_data, config, session_settings(events)


def test_feature_ranges(job_run):
    _, report, *_ = job_run
    d = report["distributions"]
    assert [(g["key"], g["label"], g["tracks"], g["with_features"]) for g in d["groups"]] == [
        ("liked", "Your liked songs", 6, 5), (REF, "Top <Hits>", 4, 4)]
    assert d["by_feature"]["danceability"]["liked"]["counts"] == [1, 1, 0, 1, 0, 0, 0, 0, 0, 2]
    # 0.61, 0.65 in 0.6-0.7; 0.7 sits on an edge: in 0.7-0.8 with 0.72
    assert d["by_feature"]["danceability"][REF]["counts"] == [0, 0, 0, 0, 0, 0, 2, 2, 0, 0]
    for feature in d["features"]:
        for group in ("liked", REF):
            assert sum(d["by_feature"][feature][group]["shares"]) == pytest.approx(1.0)
    assert d["readings"]["danceability"]["line"].endswith("\u201cTop <Hits>\u201d is concentrated in 0.6-0.8 (100%).")


def test_top_artists_and_correlation(job_run):
    _, report, _, corr_data, *_ = job_run
    assert report["top_artists"]["artists"] == [
        {"artist_id": "a" * 22, "name": "<img src=x onerror=alert(1)>", "tracks": 4},
        {"artist_id": "b" * 22, "name": "Björk", "tracks": 2},  # liked tracks 4 and 10 (10 has no features)
    ]
    corr = report["correlation"]
    assert corr["rows"] == 6 and corr["features"] == ["danceability", "energy", "loudness", "tempo", "key", "mode"]
    assert np.allclose(np.array(corr["matrix"]), np.corrcoef(corr_data, rowvar=False), atol=1e-9)
    expected = np.corrcoef(corr_data, rowvar=False)
    strong = {(corr["features"][i], corr["features"][j]) for i in range(6) for j in range(i + 1, 6)
              if abs(expected[i, j]) >= 0.8}
    assert ("energy", "loudness") in strong
    assert {(p["a"], p["b"]) for p in corr["strong_pairs"]} == strong
    assert [abs(p["r"]) for p in corr["strong_pairs"]] == sorted((abs(p["r"]) for p in corr["strong_pairs"]),
                                                                 reverse=True)


def test_coverage_and_log(job_run):
    lake, report, log, *_ = job_run
    roles = report["coverage"]["roles"]
    assert roles["liked"]["by_status"] == {"missing": 1, "ok": 5}
    assert roles["candidates"]["by_status"] == {"pending": 1}
    assert report["coverage"]["enrichment"]["gates"]["quarantined_by_field"] == {"tempo": 1}
    assert report["input"] == {"table": f"silver/tracks_enriched/ds={DS}", "rows": 13}
    assert f"library report ds={DS}: 12 distinct tracks" in log
    assert "strongest correlations over 6 tracks: energy and loudness: 0.9" in log
    folder = Path(lake.root) / "reports" / "library" / f"ds={DS}"
    assert f"wrote {folder / 'report.json'}" in log
    assert sorted(p.name for p in folder.iterdir()) == ["report.json"]  # render writes index.html; no temp file
    assert not Path(lake.root, "_staging").exists()


def test_a_small_input_runs_with_the_small_input_settings_and_the_same_report_as_with_sparks(job_run, tmp_path):
    lake, report, log, _, config, settings = job_run
    small = {"spark.sql.shuffle.partitions": "1", "spark.databricks.delta.snapshotPartitions": "1",
             "spark.sql.adaptive.enabled": "false", "spark.sql.codegen.wholeStage": "false",
             "spark.sql.codegen.factoryMode": "NO_CODEGEN"}
    assert {key: settings.get(key) for key in small} == small  # what the session really ran with
    assert re.search(r"small input \(0\.0 MB, under 32 MB\): spark\.databricks\.delta\.snapshotPartitions=1, "
                     r"spark\.sql\.adaptive\.enabled=false, spark\.sql\.codegen\.factoryMode=NO_CODEGEN, "
                     r"spark\.sql\.codegen\.wholeStage=false, "
                     r"spark\.sql\.shuffle\.partitions=1", log)

    # the same input with the rule off (threshold 0): Spark's own settings, the same report
    other = Lake(str(tmp_path / "lake"))
    shutil.copytree(lake.table(TRACKS_ENRICHED), other.table(TRACKS_ENRICHED))  # the table, its log and its dates
    events = tmp_path / "events"
    events.mkdir()
    result = run_job(Path(other.root), DS, tmp_path, "--config", str(config), events=events,
                     env={"WEEKLY_DISCOVERY_SMALL_INPUT_MB": "0"})
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "small input" not in result.stdout + result.stderr
    default = session_settings(events)
    assert default.get("spark.sql.shuffle.partitions") == "8"  # the project's default, not the small input's 1
    assert "spark.sql.adaptive.enabled" not in default and "spark.sql.codegen.wholeStage" not in default
    assert "spark.sql.codegen.factoryMode" not in default
    again = json.loads((Path(other.root) / "reports" / "library" / f"ds={DS}" / "report.json").read_text())
    # the sums run in another order: floats may differ in their last digit, nothing else may
    assert rounded({**again, "generated_at": None}) == rounded({**report, "generated_at": None})


def rounded(value):
    """``value`` (report JSON) with every float to 12 significant digits."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


def test_missing_input_fails_before_spark_starts(tmp_path, caplog):
    config = tmp_path / "weekly-discovery.toml"
    config.write_text('[sources]\nliked = ["saved_tracks"]\n')
    assert report_job.main(["--lake", str(tmp_path), "--ds", DS, "--config", str(config)]) == 2
    assert "run the enrich step (the spotify_enrich DAG) for 2026-11-23 first" in caplog.text
    caplog.clear()
    rows, _ = build_rows()
    write_partition(Lake(str(tmp_path)), rows, "2026-11-16")  # the table has another date only
    assert report_job.main(["--lake", str(tmp_path), "--ds", DS, "--config", str(config)]) == 2
    assert "run the enrich step (the spotify_enrich DAG) for 2026-11-23 first" in caplog.text
    with pytest.raises(SystemExit):  # no config: a usage error
        report_job.parse_args(["--lake", str(tmp_path), "--ds", DS, "--config", ""])
    # a bad setting is the config's to refuse, before Spark, naming the key: a user error
    config.write_text('[sources]\nliked = ["saved_tracks"]\n\n[report]\nbin_width = 0.3\n')
    assert report_job.main(["--lake", str(tmp_path), "--ds", DS, "--config", str(config)]) == 2
    assert "report.bin_width must divide 1 evenly" in caplog.text
