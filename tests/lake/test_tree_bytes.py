"""``tree_bytes``: what a job reads, in bytes, to size its Spark session (the S3 case: tests/objectstore)."""

from __future__ import annotations

from weekly_discovery.lake import Lake, tree_bytes


def test_a_folder_counts_every_file_below_it(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    partition = lake.partition("silver", "tracks", "2026-11-23")
    (partition / "sub").mkdir(parents=True)
    (partition / "part-00000.parquet").write_bytes(b"x" * 1500)
    (partition / "_metrics.json").write_bytes(b"{}")
    (partition / "sub" / "deep.bin").write_bytes(b"y" * 300)
    other = lake.partition("silver", "tracks", "2026-11-30")
    other.mkdir(parents=True)
    (other / "part-00000.parquet").write_bytes(b"z" * 999)
    assert tree_bytes(partition) == 1500 + 2 + 300
    assert tree_bytes(partition / "part-00000.parquet") == 1500
    assert tree_bytes(lake.partition("silver", "tracks", "2026-12-07")) == 0  # absent: nothing to read
