"""``partition_rows``: the small tables (picks, removals, the library) read in plain Python."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from weekly_discovery.lake import PICKS, Lake, LakeError, PartitionWriter, partition_rows

DS = "2026-11-23"


def write(lake: Lake, ds: str, rows: list[dict]) -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    with PartitionWriter(lake, lake.partition(PICKS, ds)) as writer:
        writer.write_bytes("part-00000.parquet", buffer.getvalue())
        writer.write_bytes("_metrics.json", b"{}")  # underscore files are not data


def test_the_asked_columns_of_a_committed_partition(tmp_path):
    lake = Lake(str(tmp_path))
    write(lake, DS, [{"track_id": "a", "rank": 1, "reason": "x"}, {"track_id": "b", "rank": 2, "reason": "y"}])
    assert partition_rows(lake, PICKS, DS, ["track_id", "rank"]) == [{"track_id": "a", "rank": 1},
                                                                    {"track_id": "b", "rank": 2}]


def test_a_missing_partition_has_no_rows(tmp_path):
    lake = Lake(str(tmp_path))
    write(lake, DS, [{"track_id": "a"}])
    assert partition_rows(lake, PICKS, "2026-11-30", ["track_id"]) == []


def test_a_malformed_date_is_refused(tmp_path):
    with pytest.raises(LakeError):
        partition_rows(Lake(str(tmp_path)), PICKS, "2026-13-40", ["track_id"])
