"""The picks and hit rates read from a lake in a bucket (moto's S3 server), committed partitions only."""

from __future__ import annotations

import io

from tests.objectstore.conftest import bucket, s3, s3_endpoint, s3_env  # noqa: F401 - fixtures
from weekly_discovery.lake import PICKS, SILVER_TRACKS, Lake, PartitionWriter
from weekly_discovery.report.picks import hit_rates, week_picks


def _parquet(columns: dict) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


def test_picks_and_hit_rates_from_a_bucket(s3_env, bucket):
    lake = Lake(f"s3://{bucket}/lake")
    for ds, ids, sources in (("2026-11-23", ["a", "b"], ["reccobeats", "catalog"]), ("2026-11-30", ["c"], ["artists"])):
        with PartitionWriter(lake, lake.partition(PICKS, ds)) as writer:
            writer.write_bytes("part-00000.parquet", _parquet({
                "rank": list(range(1, len(ids) + 1)), "track_id": ids, "name": ids, "artist_names": [["x"]] * len(ids),
                "source": sources, "probability": [0.5] * len(ids), "reason": ["r"] * len(ids)}))
    with PartitionWriter(lake, lake.partition(SILVER_TRACKS, "2026-11-30")) as writer:
        writer.write_bytes("part-00000.parquet", _parquet({"track_id": ["b", "z"], "role": ["liked", "liked"],
                                                           "source_key": ["saved_tracks", "saved_tracks"]}))

    assert [p["track_id"] for p in week_picks(lake, "2026-11-30")] == ["c"]
    got = hit_rates(lake, "2026-11-30")
    assert [(w["ds"], w["offered"], w["saved"]) for w in got["weeks"]] == [("2026-11-23", 2, 1)]
    assert got["weeks"][0]["by_source"] == {"reccobeats": {"offered": 1, "saved": 0, "rate": 0.0},
                                            "catalog": {"offered": 1, "saved": 1, "rate": 1.0}}
