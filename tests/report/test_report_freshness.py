"""The report DAG skips its Spark analysis while report.json matches its input (report/freshness.py).

report.json is written by the real report job's ``run()`` with Spark and the aggregates replaced by
stand-ins (no JVM here: what is tested is the fingerprint the job records and the decision on it; the
numbers are tests/report/test_report_job.py's). The enriched tracks are a Delta table written with delta-rs;
the expected fingerprints are read from its log with deltalake directly. Whether to compute is written by
hand for each case.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException  # imported first: Airflow sets up logging on import

from tests.objectstore.conftest import bucket, s3, s3_endpoint, s3_env  # noqa: F401 - fixtures
from tests.report.conftest import make_report, write_report
from weekly_discovery.lake import TRACKS_ENRICHED, delta
from weekly_discovery.lake.layout import Lake
from weekly_discovery.report import job as report_job
from weekly_discovery.report import tasks as report_tasks
from weekly_discovery.report.freshness import Decision, decide, input_fingerprint, side_files
from weekly_discovery.settings.config import load_config

DS = "2026-11-23"
REF = "R" * 22
SKIPPED = "the Spark analysis is skipped; render only"


def write_config(path: Path, lake_root: Path, *, report: str = "", references: tuple[str, ...] = (REF,),
                 features: str = '["danceability", "energy", "loudness"]') -> Path:
    refs = ", ".join(f'"{r}"' for r in references)
    path.write_text(f'[sources]\nliked = ["saved_tracks"]\nreference = [{refs}]\n\n[lake]\nroot = "{lake_root}"\n\n'
                    f'[report]\n{report}\n\n[model]\nfeatures = {features}\n')
    return path


def write_enriched(lake: Lake, ds: str = DS, rows: int = 3, metrics: str | None = '{"ds": "2026-11-23"}'):
    """Date ``ds`` of the enriched tracks table (a few rows: nothing here reads them) and its _metrics.json
    (unless ``metrics`` is None), as enrich leaves them; returns the date's folder."""
    import pyarrow as pa

    delta.write_date(lake, TRACKS_ENRICHED, ds, pa.table({"track_id": [f"t{i}" for i in range(rows)],
                                                          "role": ["liked"] * rows}))
    folder = lake.partition(TRACKS_ENRICHED, ds)
    folder.mkdir(parents=True, exist_ok=True)
    if metrics is not None:
        (folder / "_metrics.json").write_bytes(metrics.encode())  # a Path or a bucket's ObjectPath
    return folder


def log_files(lake: Lake, ds: str = DS) -> dict:
    """The data files of ``ds`` in the table's current version, read from its log by deltalake itself."""
    import pyarrow as pa
    from deltalake import DeltaTable

    actions = pa.table(DeltaTable(str(lake.table(TRACKS_ENRICHED))).get_add_actions(flatten=True)).to_pylist()
    return {a["path"]: {"size": a["size_bytes"], "mtime_ns": a["modification_time"] * 1_000_000}
            for a in actions if a["partition.ds"] == ds}


def run_report_job(monkeypatch, lake: Lake, config: Path) -> dict:
    """The report job's ``run()`` with a stand-in session and aggregates; returns report.json as written."""
    frame = SimpleNamespace(select=lambda *columns: "tracks")
    spark = SimpleNamespace()
    monkeypatch.setattr(report_job, "job_session", lambda name, **kw: contextlib.nullcontext(spark))
    monkeypatch.setattr(report_job, "read_date", lambda session, lake_, table, ds: frame)
    monkeypatch.setattr(report_job, "build_report", lambda tracks, ds, settings, **kw: make_report(ds, label="Plain"))
    monkeypatch.setattr(report_job, "summary_lines", lambda report, html_path: [])
    report_job.run(report_job.parse_args(["--lake", lake.root, "--ds", DS, "--config", str(config)]))
    return json.loads((Path(lake.root) / "reports" / "library" / f"ds={DS}" / "report.json").read_text())


@pytest.fixture
def setup(tmp_path, lake, monkeypatch):
    """An enriched partition, a config, and the report job's report.json for them."""
    enriched = write_enriched(lake)
    config = write_config(tmp_path / "wd.toml", Path(lake.root))
    report = run_report_job(monkeypatch, lake, config)
    return SimpleNamespace(lake=lake, enriched=enriched, config=config, report=report, tmp=tmp_path)


def test_the_job_records_the_fingerprint_of_its_input_and_settings(setup):
    fingerprint = setup.report["fingerprint"]
    data = log_files(setup.lake)
    assert len(data) == 1 and next(iter(data)).startswith(f"ds={DS}/part-")
    metrics = (setup.enriched / "_metrics.json").stat()
    assert fingerprint == {
        "version": 2,
        "report_version": 1,
        "input": {"table": f"silver/tracks_enriched/ds={DS}", "files": {
            **data, "_metrics.json": {"size": 20, "mtime_ns": metrics.st_mtime_ns}}},
        "settings": {"bin_width": 0.1, "top_artist_min_tracks": 3, "strong_correlation": 0.5,
                     "correlation_features": ["danceability", "energy", "loudness"],
                     "correlation_roles": ["liked", "disliked"],
                     "ratio_features": ["danceability", "energy", "speechiness", "instrumentalness", "acousticness",
                                        "liveness", "valence"],
                     "reading_share": 0.6, "concentrated_width": 0.3},
        "reference_sources": ["playlist-" + REF],
    }


def test_a_new_report_json_takes_the_old_page_away_until_render_writes_the_new_one(setup, monkeypatch):
    from weekly_discovery.report.paths import list_reports
    from weekly_discovery.report.render import render_report

    folder = Path(setup.lake.root) / "reports" / "library" / f"ds={DS}"
    render_report(setup.lake, DS)
    assert list_reports(setup.lake) == [DS]
    write_enriched(setup.lake)  # enrich again: the job computes again
    run_report_job(monkeypatch, setup.lake, setup.config)
    assert sorted(p.name for p in folder.iterdir()) == ["report.json"]  # no page of the old numbers, no temp file
    assert list_reports(setup.lake) == []
    render_report(setup.lake, DS)
    assert sorted(p.name for p in folder.iterdir()) == ["index.html", "report.json"]
    assert list_reports(setup.lake) == [DS]


def test_unchanged_input_skips_the_analysis_and_says_why(setup):
    decision = decide(setup.lake, DS, load_config(setup.config))
    assert decision.run_analysis is False
    assert decision.reason.startswith(f"report.json of ds={DS} is current (input unchanged since 20")
    assert "computed at 2026-11-23T07:00:00+00:00" in decision.reason
    assert decision.reason.endswith(SKIPPED)


def test_the_recompute_param_runs_it_anyway(setup):
    decision = decide(setup.lake, DS, load_config(setup.config), recompute=True)
    assert decision.run_analysis is True
    assert decision.reason == f"the recompute param is set: the Spark analysis of ds={DS} runs again"


def test_a_rerun_of_enrich_recomputes(setup):
    # a rerun commits new files for the date, even with the same rows (Delta never rewrites a file); the
    # data files alone tell (the metrics file is left as it was here)
    write_enriched(setup.lake, metrics=None)
    decision = decide(setup.lake, DS, load_config(setup.config))
    assert decision.run_analysis is True
    assert f"silver/tracks_enriched/ds={DS} was rewritten since (2 files then, 2 now" in decision.reason
    assert decision.reason.endswith("the Spark analysis runs again")


def test_runs_of_other_dates_and_a_vacuum_leave_the_report_current(setup):
    """Other dates' commits (and the files a rerun of one leaves behind, then deleted by VACUUM) do not
    touch this date's files: the analysis is still skipped."""
    for _ in range(2):  # a date, then its rerun
        write_enriched(setup.lake, "2026-11-30", metrics='{"ds": "2026-11-30"}')
    stale = [p for p in setup.lake.partition(TRACKS_ENRICHED, "2026-11-30").glob("*.parquet")]
    assert len(stale) == 2  # the first run's file is no longer in the table, still on disk
    assert len(delta.vacuum(setup.lake, TRACKS_ENRICHED, keep_days=0)) == 1
    decision = decide(setup.lake, DS, load_config(setup.config))
    assert decision.run_analysis is False, decision.reason
    assert decision.reason.endswith(SKIPPED)


def test_files_no_commit_added_are_not_the_input(setup):
    """A writer that died before its commit leaves files in the date's folder; they are not in the table."""
    (setup.enriched / "part-00000-crashed.snappy.parquet").write_bytes(b"PAR1 half a file")
    decision = decide(setup.lake, DS, load_config(setup.config))
    assert decision.run_analysis is False, decision.reason


@pytest.mark.parametrize("change", ["size", "mtime"])
def test_a_file_rewritten_in_place_recomputes(setup, change):
    part = setup.enriched / "_metrics.json"
    if change == "size":
        part.write_text('{"ds": "2026-11-23", "gates": {}}')
    else:
        stat = part.stat()
        os.utime(part, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert decide(setup.lake, DS, load_config(setup.config)).run_analysis is True


def test_changed_settings_recompute(setup):
    config = write_config(setup.tmp / "other.toml", Path(setup.lake.root), report="bin_width = 0.2")
    decision = decide(setup.lake, DS, load_config(config))
    assert decision.run_analysis is True
    assert "settings changed: bin_width 0.1 -> 0.2" in decision.reason
    config = write_config(setup.tmp / "other.toml", Path(setup.lake.root), features='["danceability", "energy"]')
    decision = decide(setup.lake, DS, load_config(config))
    assert decision.run_analysis is True
    assert ("settings changed: correlation_features ['danceability', 'energy', 'loudness'] -> "
            "['danceability', 'energy']") in decision.reason


def test_changed_reference_playlists_recompute(setup):
    config = write_config(setup.tmp / "other.toml", Path(setup.lake.root), references=(REF, "S" * 22))
    decision = decide(setup.lake, DS, load_config(config))
    assert decision.run_analysis is True
    assert "the reference playlists in the config changed" in decision.reason


def test_a_missing_old_or_broken_report_json_computes(tmp_path, lake):
    write_enriched(lake)
    config = load_config(write_config(tmp_path / "wd.toml", Path(lake.root)))
    decision = decide(lake, DS, config)
    assert decision == Decision(True, f"no report.json for ds={DS} yet: the Spark analysis runs")
    write_report(lake, make_report(DS))  # the shape written before fingerprints: no "fingerprint" key
    decision = decide(lake, DS, config)
    assert decision.run_analysis is True
    assert decision.reason == (f"report.json of ds={DS} records no input fingerprint (written by an older version): "
                               "the Spark analysis runs again")
    (lake.partition("reports", "library", DS) / "report.json").write_text('{"version": 1, "ds"')
    assert decide(lake, DS, config).run_analysis is True


def test_a_report_of_another_fingerprint_version_computes(setup):
    path = setup.lake.partition("reports", "library", DS) / "report.json"
    report = json.loads(path.read_text())
    report["fingerprint"]["report_version"] = 0
    path.write_text(json.dumps(report))
    decision = decide(setup.lake, DS, load_config(setup.config))
    assert decision.run_analysis is True
    assert "written by another version of the report job" in decision.reason


def test_side_files_lists_the_underscore_files_beside_the_data_only(tmp_path):
    folder = tmp_path / "ds=2026-11-23"
    folder.mkdir()
    (folder / "_metrics.json").write_bytes(b"x" * 7)
    (folder / "part-00000.parquet").write_bytes(b"x" * 9)  # data files count as the log lists them, not here
    (folder / ".part-00000.parquet.crc").write_bytes(b"x")
    (folder / "_sub").mkdir()  # nothing writes folders here; one would not be a file of the date
    assert {name: f["size"] for name, f in side_files(folder).items()} == {"_metrics.json": 7}
    assert side_files(tmp_path / "missing") == {}


def test_the_task_logs_the_reason_and_returns_the_decision(setup, caplog):
    run = {"ds": DS, "lake_root": setup.lake.root, "config_path": str(setup.config)}
    with caplog.at_level(logging.INFO):
        assert report_tasks.analysis_needed(run, {"ds": None, "recompute": False}) is False
        assert report_tasks.analysis_needed(run, {"ds": None, "recompute": True}) is True
    lines = [r.getMessage() for r in caplog.records if r.name == "weekly_discovery.report.tasks"]
    assert lines[0].endswith(SKIPPED)
    assert lines[1] == f"the recompute param is set: the Spark analysis of ds={DS} runs again"


def test_the_task_fails_without_retry_on_a_broken_config(setup):
    setup.config.write_text('[sources]\nliked = ["saved_tracks"]\n\n[report]\nbin_width = 0.3\n')
    with pytest.raises(AirflowFailException, match="report.bin_width must divide 1 evenly"):
        report_tasks.analysis_needed({"ds": DS, "lake_root": setup.lake.root, "config_path": str(setup.config)})


def test_fingerprint_on_object_storage(s3_env, bucket):
    """On a bucket the data files come from the Delta log and the metrics file from a listing: no object is read
    but the log."""
    lake = Lake(f"s3://{bucket}/lake")
    config = SimpleNamespace(report=SimpleNamespace(bin_width=0.1, top_artist_min_tracks=3, strong_correlation=0.5),
                             model=SimpleNamespace(features=("energy",)), sources_in=lambda role: ())
    write_enriched(lake, metrics="{}")
    first = input_fingerprint(lake, DS, config)
    files = first["input"]["files"]
    (data,) = [name for name in files if name != "_metrics.json"]
    assert data.startswith(f"ds={DS}/part-") and files.keys() == {data, "_metrics.json"}
    assert files["_metrics.json"]["size"] == 2 and files[data]["size"] > 0
    assert first["input"]["table"] == f"silver/tracks_enriched/ds={DS}"
    assert input_fingerprint(lake, DS, config) == first
    write_enriched(lake, "2026-11-30", metrics="{}")  # another date: this one's fingerprint stays
    assert input_fingerprint(lake, DS, config) == first
    write_enriched(lake, metrics="{}")  # enrich again
    again = input_fingerprint(lake, DS, config)["input"]["files"]
    assert again.keys() - {"_metrics.json"} != {data} and len(again) == 2
