"""The one job runner: the shared command line (--lake, default $WEEKLY_DISCOVERY_LAKE, and --ds) and
the exit-status contract (0 done, 2 a user error without traceback, 1 anything else with it).

No Spark session here: the job bodies are plain functions.
"""

from __future__ import annotations

import logging

import pytest

from weekly_discovery.core.errors import TransientError, UserError
from weekly_discovery.spark.runner import job_parser, parse_job_args, run_job


def test_lake_comes_from_the_environment_unless_given(monkeypatch):
    monkeypatch.setenv("WEEKLY_DISCOVERY_LAKE", "/srv/lake")
    assert parse_job_args(job_parser("Train.\n\nMore."), ["--ds", "2026-11-23"]).lake == "/srv/lake"
    args = parse_job_args(job_parser(None), ["--ds", "2026-11-23", "--lake", "s3://bucket/lake"])
    assert (args.lake, args.ds) == ("s3://bucket/lake", "2026-11-23")


def test_no_lake_stops_with_the_fix(monkeypatch, capsys):
    monkeypatch.delenv("WEEKLY_DISCOVERY_LAKE", raising=False)
    with pytest.raises(SystemExit) as info:
        parse_job_args(job_parser("Score."), ["--ds", "2026-11-23"])
    assert info.value.code == 2
    assert "no lake root: pass --lake or set WEEKLY_DISCOVERY_LAKE" in capsys.readouterr().err


def test_a_job_adds_its_own_arguments():
    parser = job_parser("Enrich.")
    parser.add_argument("--config")
    args = parse_job_args(parser, ["--lake", "lake", "--ds", "2026-11-23", "--config", "wd.toml"])
    assert args.config == "wd.toml" and parser.description == "Enrich."


def test_enriched_input_names_the_dag_to_run_until_the_date_is_committed(tmp_path):
    import pyarrow as pa

    from weekly_discovery.lake import delta
    from weekly_discovery.lake.layout import TRACKS_ENRICHED, Lake, LakeError
    from weekly_discovery.spark.runner import enriched_input

    lake = Lake(str(tmp_path / "lake"))
    with pytest.raises(LakeError) as info:
        enriched_input(lake, "2026-11-23")
    assert str(info.value).endswith("; run the enrichment (spotify_enrich) for 2026-11-23 first")
    assert "ds=2026-11-23" in str(info.value) and "silver/tracks_enriched" in str(info.value)
    delta.write_date(lake, TRACKS_ENRICHED, "2026-11-16", pa.table({"track_id": ["a" * 22]}))
    with pytest.raises(LakeError):  # another date only
        enriched_input(lake, "2026-11-23")
    delta.write_date(lake, TRACKS_ENRICHED, "2026-11-23", pa.table({"track_id": ["a" * 22]}))
    assert enriched_input(lake, "2026-11-23") == str(tmp_path / "lake" / "silver" / "tracks_enriched")


def parse(argv):
    return parse_job_args(job_parser("A job."), argv)


ARGV = ["--lake", "/srv/lake", "--ds", "2026-11-23"]


def test_a_finished_job_exits_0_and_logs_its_time(caplog):
    seen = []
    with caplog.at_level(logging.INFO):
        assert run_job("train", parse, seen.append, ARGV) == 0
    assert [(a.lake, a.ds) for a in seen] == [("/srv/lake", "2026-11-23")]
    assert any(r.getMessage().startswith("train ds=2026-11-23 done in ") for r in caplog.records)


def test_a_user_error_exits_2_with_its_message_and_no_traceback(caplog):
    def run(args):
        raise UserError("no enriched tracks at /srv/lake/x\nrun the enrichment (spotify_enrich) first")

    with caplog.at_level(logging.INFO):
        assert run_job("train", parse, run, ARGV) == 2
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "train ds=2026-11-23 failed: no enriched tracks at /srv/lake/x",
        "train ds=2026-11-23 failed: run the enrichment (spotify_enrich) first",
    ]
    assert all(r.exc_info is None for r in errors)
    assert "done in" not in caplog.text


def test_a_project_user_error_keeps_its_exit_code(tmp_path):
    from weekly_discovery.lake.layout import Lake
    from weekly_discovery.spark.runner import enriched_input

    assert run_job("score", parse, lambda a: enriched_input(Lake(str(tmp_path)), a.ds), ARGV) == 2


@pytest.mark.parametrize("error", [TransientError("HTTP 503 through every retry"), KeyError("model")])
def test_anything_else_exits_1_with_its_traceback(error, caplog):
    def run(args):
        raise error

    assert run_job("score", parse, run, ARGV) == 1
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage().startswith("score ds=2026-11-23 failed after ")
    assert record.exc_info is not None and record.exc_info[1] is error


def test_a_usage_error_exits_2_before_the_job_runs(monkeypatch):
    monkeypatch.delenv("WEEKLY_DISCOVERY_LAKE", raising=False)
    ran = []
    with pytest.raises(SystemExit) as info:
        run_job("score", parse, ran.append, ["--ds", "2026-11-23"])
    assert info.value.code == 2 and ran == []
