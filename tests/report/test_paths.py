"""Report paths a URL can reach, and which lake the web plugin reads."""

from __future__ import annotations

import os

import pytest

from weekly_discovery.lake.layout import LakeError
from weekly_discovery.report.paths import list_reports, read_latest, report_file, resolve_lake, ui_route
from weekly_discovery.settings.config import ConfigError


@pytest.mark.parametrize("ds", [
    "..", "../..", "2026-11-23/../../..", "..%2F..%2Fetc", "2026-11-23/..", "ds=2026-11-23", "2026-13-45",
    "2026-11-23\x00", "/etc/passwd", "", "latest",
])
def test_escapes_and_non_dates_are_refused(lake, ds):
    with pytest.raises(LakeError):
        report_file(lake, ds)


def test_only_the_report_files_are_served(lake):
    assert report_file(lake, "2026-11-23").name == "index.html"
    assert report_file(lake, "2026-11-23", "report.json").name == "report.json"
    for name in ("../../../raw/x", "_metrics.json", "index.html/.."):
        with pytest.raises(LakeError):
            report_file(lake, "2026-11-23", name)


def test_a_symlinked_partition_pointing_outside_is_refused(lake, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "index.html").write_text("secret")
    table = lake.table("reports", "library")
    table.mkdir(parents=True)
    os.symlink(outside, table / "ds=2026-11-23")
    with pytest.raises(LakeError, match="outside"):
        report_file(lake, "2026-11-23")


def test_list_reports_without_any_report(lake):
    assert list_reports(lake) == [] and read_latest(lake) is None


def test_list_and_latest_only_count_rendered_reports(lake):
    table = lake.table("reports", "library")
    for ds, rendered in (("2026-11-16", True), ("2026-11-23", True), ("2026-11-30", False)):
        (table / f"ds={ds}").mkdir(parents=True)
        if rendered:
            (table / f"ds={ds}" / "index.html").write_text("x")
    for other in ("ds=2026-13-45", "ds=latest", "2026-11-09"):  # not a date folder of the reports: ignored
        (table / other).mkdir()
        (table / other / "index.html").write_text("x")
    assert list_reports(lake) == ["2026-11-23", "2026-11-16"]
    assert read_latest(lake) is None
    (table / "latest.json").write_text('{"ds": "2026-11-30"}')  # not rendered: no pointer
    assert read_latest(lake) is None
    (table / "latest.json").write_text('{"ds": "2026-11-23"}')
    assert read_latest(lake) == "2026-11-23"


def test_resolve_lake_like_the_pipeline(tmp_path):
    config = tmp_path / "wd.toml"
    config.write_text('[sources]\nliked = ["saved_tracks"]\n[lake]\nroot = "my-lake"\n')
    assert resolve_lake({"WEEKLY_DISCOVERY_LAKE": str(tmp_path / "env-lake"),
                         "WEEKLY_DISCOVERY_CONFIG": str(config)}).root == str(tmp_path / "env-lake")
    assert resolve_lake({"WEEKLY_DISCOVERY_CONFIG": str(config)}).root == str(tmp_path / "my-lake")
    assert resolve_lake({}, variable_getter=lambda key: str(config)).root == str(tmp_path / "my-lake")
    with pytest.raises(ConfigError, match="WEEKLY_DISCOVERY_LAKE or WEEKLY_DISCOVERY_CONFIG"):
        resolve_lake({})


def test_ui_route():
    assert ui_route("2026-11-23") == "/weekly-discovery/reports/2026-11-23/"
    with pytest.raises(LakeError):
        ui_route("../x")

