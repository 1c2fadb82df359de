"""The weekly DAG's VACUUM (weekly_discovery/lake/maintenance.py) and its setting ``[lake] keep_versions_days``."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from weekly_discovery.lake import delta, write_json
from weekly_discovery.lake.layout import PICKS, SILVER_TRACKS, Lake
from weekly_discovery.lake.maintenance import vacuum_lake
from weekly_discovery.recommend.tasks import vacuum_task
from weekly_discovery.settings.config import ConfigError, load_config

DS1, DS2 = "2026-11-16", "2026-11-23"


def parquet_files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*.parquet")}


@pytest.fixture
def lake(tmp_path) -> Lake:
    lake = Lake(str(tmp_path / "lake"))
    delta.write_date(lake, SILVER_TRACKS, DS1, pa.table({"track_id": ["a" * 22, "b" * 22]}))
    delta.write_date(lake, SILVER_TRACKS, DS2, pa.table({"track_id": ["c" * 22]}))
    write_json(lake.partition(SILVER_TRACKS, DS1) / "_metrics.json", {"rows": 1})
    delta.write_date(lake, SILVER_TRACKS, DS1, pa.table({"track_id": ["d" * 22]}))  # the rerun: one file unused
    delta.write_date(lake, PICKS, DS2, pa.table({"rank": [1], "track_id": ["e" * 22]}))
    return lake


def test_vacuum_deletes_only_files_unused_for_longer_than_the_setting(lake):
    folder = Path(str(lake.table(SILVER_TRACKS)))
    before = parquet_files(folder)
    assert len(before) == 3  # DS1's first file, DS2's, DS1's rerun
    assert vacuum_lake(lake, keep_days=30)[str(SILVER_TRACKS)] == 0  # removed just now: kept for time travel
    assert parquet_files(folder) == before
    deleted = vacuum_lake(lake, keep_days=0)
    assert deleted[str(SILVER_TRACKS)] == 1 and deleted[str(PICKS)] == 0
    assert len(parquet_files(folder)) == 2
    assert sorted(r["track_id"] for r in delta.read_rows(lake, SILVER_TRACKS)) == ["c" * 22, "d" * 22]
    assert (lake.partition(SILVER_TRACKS, DS1) / "_metrics.json").is_file()  # "_" files are not Delta's


def test_the_task_takes_the_setting_from_the_config(lake, tmp_path):
    config = tmp_path / "wd.toml"
    config.write_text(f'[sources]\nliked = ["saved_tracks"]\n[lake]\nroot = "{lake.root}"\nkeep_versions_days = 0\n')
    deleted = vacuum_task({"config_path": str(config), "lake_root": lake.root})
    assert deleted[str(SILVER_TRACKS)] == 1


def test_keep_versions_days_defaults_to_30_and_refuses_a_negative(tmp_path):
    config = tmp_path / "wd.toml"
    config.write_text('[sources]\nliked = ["saved_tracks"]\n')
    assert load_config(config, env={}).keep_versions_days == 30
    config.write_text('[sources]\nliked = ["saved_tracks"]\n[lake]\nkeep_versions_days = -1\n')
    with pytest.raises(ConfigError, match="keep_versions_days"):
        load_config(config, env={})
