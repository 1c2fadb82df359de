"""``read_rows`` and ``dates``: the small tables (picks, removals, the library) read in plain Python (delta-rs).

Replaces the tests of ``partition_rows``, which read a partition folder's Parquet files: a Delta date is read
through the table's log, so files a rerun replaced (still on disk until VACUUM) and the ``_metrics.json``
beside the data never show up as rows.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from weekly_discovery.lake import PICKS, REMOVED_PICKS, Lake, LakeError
from weekly_discovery.lake import delta

DS, LATER, EARLIER = "2026-11-23", "2026-11-30", "2026-11-16"


def write(lake: Lake, ds: str, rows: list[dict]) -> None:
    schema = pa.schema([("track_id", pa.string()), ("rank", pa.int64()), ("reason", pa.string())])
    delta.write_date(lake, PICKS, ds, pa.Table.from_pylist(rows, schema=schema))


def test_the_asked_columns_of_a_date(tmp_path):
    lake = Lake(str(tmp_path))
    write(lake, DS, [{"track_id": "a", "rank": 1, "reason": "x"}, {"track_id": "b", "rank": 2, "reason": "y"}])
    write(lake, LATER, [{"track_id": "c", "rank": 1, "reason": "z"}])
    (lake.partition(PICKS, DS) / "_metrics.json").write_text("{}")  # underscore files are not data
    got = delta.read_rows(lake, PICKS, DS, ["track_id", "rank"])
    assert sorted(got, key=lambda r: r["rank"]) == [{"track_id": "a", "rank": 1}, {"track_id": "b", "rank": 2}]
    assert sorted(delta.read_rows(lake, PICKS, DS), key=lambda r: r["rank"]) == [  # every column but ds
        {"track_id": "a", "rank": 1, "reason": "x"}, {"track_id": "b", "rank": 2, "reason": "y"}]
    assert delta.read_rows(lake, PICKS, DS, ["ds", "track_id"], filters=[("rank", "=", 2)]) == \
        [{"ds": DS, "track_id": "b"}]


def test_every_date_when_no_date_is_asked(tmp_path):
    lake = Lake(str(tmp_path))
    write(lake, LATER, [{"track_id": "c", "rank": 1, "reason": "z"}])
    write(lake, DS, [{"track_id": "a", "rank": 1, "reason": "x"}])
    got = delta.read_rows(lake, PICKS, columns=["ds", "track_id"])
    assert sorted(got, key=lambda r: r["ds"]) == [{"ds": DS, "track_id": "a"}, {"ds": LATER, "track_id": "c"}]


def test_a_rerun_s_rows_replace_the_first_run_s(tmp_path):
    lake = Lake(str(tmp_path))
    write(lake, DS, [{"track_id": "a", "rank": 1, "reason": "x"}, {"track_id": "b", "rank": 2, "reason": "y"}])
    write(lake, DS, [{"track_id": "q", "rank": 1, "reason": "again"}])
    assert delta.read_rows(lake, PICKS, DS) == [{"track_id": "q", "rank": 1, "reason": "again"}]
    assert len(list(lake.partition(PICKS, DS).glob("part-*.parquet"))) == 2  # the first run's file is still there


def test_a_date_without_rows_and_a_table_never_written(tmp_path):
    lake = Lake(str(tmp_path))
    assert delta.read_rows(lake, REMOVED_PICKS, DS) == [] and delta.read(lake, REMOVED_PICKS) is None
    assert delta.dates(lake, REMOVED_PICKS) == [] and not delta.has_date(lake, REMOVED_PICKS, DS)
    write(lake, DS, [{"track_id": "a", "rank": 1, "reason": "x"}])
    assert delta.read_rows(lake, PICKS, LATER, ["track_id"]) == []


def test_dates_are_those_with_rows_oldest_first(tmp_path):
    lake = Lake(str(tmp_path))
    write(lake, LATER, [{"track_id": "c", "rank": 1, "reason": "z"}])
    write(lake, EARLIER, [{"track_id": "a", "rank": 1, "reason": "x"}, {"track_id": "b", "rank": 2, "reason": "y"}])
    write(lake, DS, [{"track_id": "d", "rank": 1, "reason": "w"}])
    assert delta.dates(lake, PICKS) == [EARLIER, DS, LATER]
    write(lake, DS, [])  # a rerun that found nothing to pick
    assert delta.dates(lake, PICKS) == [EARLIER, LATER]
    assert delta.has_date(lake, PICKS, LATER) and not delta.has_date(lake, PICKS, DS)


def test_a_malformed_date_is_refused(tmp_path):
    lake = Lake(str(tmp_path))
    write(lake, DS, [{"track_id": "a", "rank": 1, "reason": "x"}])
    with pytest.raises(LakeError):
        delta.read_rows(lake, PICKS, "2026-13-40", ["track_id"])
    with pytest.raises(LakeError):
        delta.has_date(lake, PICKS, "23/11/2026")
