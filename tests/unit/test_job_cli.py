"""The Spark jobs' shared command line: --lake (default $WEEKLY_DISCOVERY_LAKE) and --ds."""

from __future__ import annotations

import pytest

from weekly_discovery.spark.cli import job_parser, parse_job_args


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


def test_enriched_input_names_the_dag_to_run_until_the_partition_is_committed(tmp_path):
    from weekly_discovery.lake.layout import Lake, LakeError
    from weekly_discovery.spark.cli import enriched_input

    lake = Lake(str(tmp_path / "lake"))
    with pytest.raises(LakeError) as info:
        enriched_input(lake, "2026-11-23")
    assert str(info.value).endswith("; run the enrichment (spotify_enrich) for 2026-11-23 first")
    assert "silver/tracks_enriched/ds=2026-11-23" in str(info.value)
    folder = tmp_path / "lake" / "silver" / "tracks_enriched" / "ds=2026-11-23"
    folder.mkdir(parents=True)
    assert str(enriched_input(lake, "2026-11-23")) == str(folder)
