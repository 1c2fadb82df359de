"""The ``catalog`` source in the discover task: it records the file (no row through Python), or names the fix."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

from tests.discover.kit import metrics_of, read_candidates, write_silver_tracks
from tests.objectstore.conftest import bucket, s3, s3_endpoint, s3_env  # noqa: F401 - fixtures
from weekly_discovery.core.errors import UserError
from weekly_discovery.discover.gather import gather
from weekly_discovery.discover.store import raw_partition
from weekly_discovery.lake import CANDIDATES, METRICS, Lake, delta
from weekly_discovery.settings.config import Discover

DS = "2026-11-23"
MTIME = dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.timezone.utc)


@pytest.fixture
def lake(tmp_path, tiny):
    lake = Lake(str(tmp_path / "lake"))
    write_silver_tracks(lake, DS, tiny)
    return lake


@pytest.fixture
def catalogue(tmp_path):
    path = tmp_path / "tracks_features.csv"
    path.write_text("id,name\nC1aaaaaaaaaaaaaaaaaaaa,Song\n", encoding="utf-8")  # 8 + 28 = 36 bytes
    os.utime(path, (MTIME.timestamp(), MTIME.timestamp()))
    return path


def test_the_source_records_the_file_and_offers_no_row(lake, catalogue):
    result = gather(lake, DS, settings=Discover(sources=("catalog",), catalog=str(catalogue)))
    metrics = metrics_of(lake, DS)
    assert metrics["sources"]["catalog"] == {
        "requests": 0, "budget": 0, "found": 0, "new": 0, "status": "done",
        "note": f"catalogue {catalogue} (36 bytes, modified 2026-11-20T08:30:00+00:00): its songs are read and "
                "scored by Spark in the score job"}
    assert metrics["settings"]["catalog"] == str(catalogue)
    assert result.candidates == 0 and read_candidates(lake, DS) == []  # the week has no rows, its run a record
    raw = raw_partition(lake, "catalog", DS)
    manifest = json.loads((raw / "_manifest.json").read_text())
    assert manifest["answers"] == [{"file": "answer-00000.json", "endpoint": "file", "params": {"path": str(catalogue)},
                                    "status": 200}]
    assert json.loads((raw / "answer-00000.json").read_text()) == {
        "path": str(catalogue), "size": 36, "modified": "2026-11-20T08:30:00+00:00"}


@pytest.mark.parametrize("make, why", [
    (lambda tmp: tmp / "nowhere.csv", "no such file"),
    (lambda tmp: tmp, "a folder, not a file"),
])
def test_a_missing_catalogue_stops_the_task_with_the_key_to_fix(lake, tmp_path, make, why):
    path = make(tmp_path)
    with pytest.raises(UserError) as caught:
        gather(lake, DS, settings=Discover(sources=("catalog",), catalog=str(path)))
    assert str(caught.value).startswith(f"[discover] catalog = {str(path)!r}: {why}. Download the catalogue")
    # nothing half-written: no commit, no record of a run
    assert delta.history(lake, CANDIDATES) == [] and not (lake.partition(CANDIDATES, DS) / METRICS).exists()


def test_a_catalogue_in_a_bucket_is_recorded_too(s3_env, s3, bucket):  # noqa: F811
    from weekly_discovery.discover.sources.catalog import describe_file

    s3.put_object(Bucket=bucket, Key="data/tracks_features.csv", Body=b"id,name\n")
    found = describe_file(f"s3://{bucket}/data/tracks_features.csv")
    assert (found.path, found.size) == (f"s3a://{bucket}/data/tracks_features.csv", 8)
    assert found.modified.endswith("+00:00")
    with pytest.raises(UserError, match="no such file in the bucket"):
        describe_file(f"s3a://{bucket}/data/other.csv")
