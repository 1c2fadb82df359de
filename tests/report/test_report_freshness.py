"""The report DAG skips its Spark analysis while report.json matches its input (report/freshness.py).

report.json is written by the real ``jobs/report.py`` ``run()`` with Spark and the aggregates replaced by
stand-ins (no JVM here: what is tested is the fingerprint the job records and the decision on it; the
numbers are tests/jobs/test_report_job.py's). Whether to compute is written by hand for each case.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException  # imported first: Airflow sets up logging on import

from tests.objectstore.conftest import bucket, s3, s3_endpoint, s3_env  # noqa: F401 - fixtures
from tests.report.conftest import make_report, write_report
from weekly_discovery.core.config import load_config
from weekly_discovery.lake.layout import Lake
from weekly_discovery.report import tasks as report_tasks
from weekly_discovery.report.freshness import Decision, decide, input_fingerprint, partition_files

REPO = Path(__file__).resolve().parents[2]
DS = "2026-11-23"
REF = "R" * 22
SKIPPED = "the Spark analysis is skipped; render only"


def write_config(path: Path, lake_root: Path, *, report: str = "", references: tuple[str, ...] = (REF,),
                 features: str = '["danceability", "energy", "loudness"]') -> Path:
    refs = ", ".join(f'"{r}"' for r in references)
    path.write_text(f'[sources]\nliked = ["saved_tracks"]\nreference = [{refs}]\n\n[lake]\nroot = "{lake_root}"\n\n'
                    f'[report]\n{report}\n\n[model]\nfeatures = {features}\n')
    return path


def write_enriched(lake: Lake, part: str = "part-00000-1111.snappy.parquet", data: bytes = b"PAR1 rows PAR1") -> Path:
    """An enriched partition as Spark leaves it (bytes only: nothing here opens a Parquet file)."""
    folder = lake.partition("silver", "tracks_enriched", DS)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / part).write_bytes(data)
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / "_metrics.json").write_text('{"ds": "2026-11-23"}')
    return folder


def load_job():
    spec = importlib.util.spec_from_file_location("report_job_freshness", REPO / "jobs" / "report.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_report_job(monkeypatch, lake: Lake, config: Path) -> dict:
    """``jobs/report.py``'s ``run()`` with a stand-in session and aggregates; returns report.json as written."""
    job = load_job()
    frame = SimpleNamespace(select=lambda *columns: "tracks")
    spark = SimpleNamespace(read=SimpleNamespace(parquet=lambda path: frame))
    monkeypatch.setattr(job, "job_session", lambda name, **kw: contextlib.nullcontext(spark))
    monkeypatch.setattr(job, "build_report", lambda tracks, ds, settings, **kw: {
        "version": 1, "ds": ds, "generated_at": "2026-11-23T07:00:00+00:00", "settings": settings.to_json()})
    monkeypatch.setattr(job, "summary_lines", lambda report, html_path: [])
    job.run(job.parse_args(["--lake", lake.root, "--ds", DS, "--config", str(config)]))
    return json.loads((lake.partition("reports", "library", DS) / "report.json").read_text())


@pytest.fixture
def setup(tmp_path, lake, monkeypatch):
    """An enriched partition, a config, and the report job's report.json for them."""
    enriched = write_enriched(lake)
    config = write_config(tmp_path / "wd.toml", Path(lake.root))
    report = run_report_job(monkeypatch, lake, config)
    return SimpleNamespace(lake=lake, enriched=enriched, config=config, report=report, tmp=tmp_path)


def test_the_job_records_the_fingerprint_of_its_input_and_settings(setup):
    fingerprint = setup.report["fingerprint"]
    files = {p.name: p.stat() for p in setup.enriched.iterdir()}
    part = "part-00000-1111.snappy.parquet"
    assert fingerprint == {
        "version": 1,
        "report_version": 1,
        "input": {"table": f"silver/tracks_enriched/ds={DS}", "files": {
            "_SUCCESS": {"size": 0, "mtime_ns": files["_SUCCESS"].st_mtime_ns},
            "_metrics.json": {"size": 20, "mtime_ns": files["_metrics.json"].st_mtime_ns},
            part: {"size": 14, "mtime_ns": files[part].st_mtime_ns},
        }},
        "settings": {"bin_width": 0.1, "top_artist_min_tracks": 3, "strong_correlation": 0.5,
                     "correlation_features": ["danceability", "energy", "loudness"],
                     "correlation_roles": ["liked", "disliked"],
                     "ratio_features": ["danceability", "energy", "speechiness", "instrumentalness", "acousticness",
                                        "liveness", "valence"],
                     "reading_share": 0.6, "concentrated_width": 0.3},
        "reference_sources": ["playlist-" + REF],
    }


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
    # Spark names its part files anew on every write: the same rows come back under another name
    shutil.rmtree(setup.enriched)
    write_enriched(setup.lake, part="part-00000-2222.snappy.parquet")
    decision = decide(setup.lake, DS, load_config(setup.config))
    assert decision.run_analysis is True
    assert f"silver/tracks_enriched/ds={DS} was rewritten since (3 files then, 3 now" in decision.reason
    assert decision.reason.endswith("the Spark analysis runs again")


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


def test_partition_files_lists_names_and_sizes_only(tmp_path):
    folder = tmp_path / "ds=2026-11-23"
    folder.mkdir()
    (folder / "a.parquet").write_bytes(b"x" * 7)
    (folder / "sub").mkdir()  # Spark writes no folders here; one would not be a file of the partition
    assert {name: f["size"] for name, f in partition_files(folder).items()} == {"a.parquet": 7}
    assert partition_files(tmp_path / "missing") == {}


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
    """On a bucket the listing comes from the store (sizes, times, the commit marker), no object is read."""
    from weekly_discovery.lake import PartitionWriter

    lake = Lake(f"s3://{bucket}/lake")
    config = SimpleNamespace(report=SimpleNamespace(bin_width=0.1, top_artist_min_tracks=3, strong_correlation=0.5),
                             model=SimpleNamespace(features=("energy",)), sources_in=lambda role: ())
    with PartitionWriter(lake, lake.partition("silver", "tracks_enriched", DS)) as writer:
        writer.write_bytes("part-00000-1111.parquet", b"12345")
        writer.write_bytes("_metrics.json", b"{}")
    first = input_fingerprint(lake, DS, config)
    files = first["input"]["files"]
    assert files.keys() == {"part-00000-1111.parquet", "_metrics.json", "_COMMITTED.json"}
    assert (files["part-00000-1111.parquet"]["size"], files["_metrics.json"]["size"]) == (5, 2)
    assert first["input"]["table"] == f"silver/tracks_enriched/ds={DS}"
    assert input_fingerprint(lake, DS, config) == first
    with PartitionWriter(lake, lake.partition("silver", "tracks_enriched", DS)) as writer:  # enrich again
        writer.write_bytes("part-00000-2222.parquet", b"12345")
        writer.write_bytes("_metrics.json", b"{}")
    assert input_fingerprint(lake, DS, config)["input"]["files"].keys() == {
        "part-00000-2222.parquet", "_metrics.json", "_COMMITTED.json"}

