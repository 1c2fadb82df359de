"""The picks and hit rates read from a lake in a bucket (moto's S3 server): Delta tables written with delta-rs."""

from __future__ import annotations

import pyarrow as pa

from tests.objectstore.conftest import bucket, keys, s3, s3_endpoint, s3_env  # noqa: F401 - fixtures
from weekly_discovery.lake import PICKS, SILVER_TRACKS, Lake, delta
from weekly_discovery.report.picks import hit_rates, week_picks


def _picks(ids: list[str], sources: list[str]) -> pa.Table:
    return pa.table({"rank": pa.array(range(1, len(ids) + 1), pa.int32()), "track_id": ids, "name": ids,
                     "artist_names": [["x"]] * len(ids), "source": sources, "probability": [0.5] * len(ids),
                     "reason": ["r"] * len(ids)})


def test_picks_and_hit_rates_from_a_bucket(s3_env, bucket, s3):
    lake = Lake(f"s3://{bucket}/lake")
    delta.write_date(lake, PICKS, "2026-11-23", _picks(["old"], ["artists"]))  # replaced by the rerun below
    for ds, ids, sources in (("2026-11-23", ["a", "b"], ["reccobeats", "catalog"]), ("2026-11-30", ["c"], ["artists"])):
        delta.write_date(lake, PICKS, ds, _picks(ids, sources))
    delta.write_date(lake, SILVER_TRACKS, "2026-11-30", pa.table({
        "track_id": ["b", "z"], "role": ["liked", "liked"], "source_key": ["saved_tracks", "saved_tracks"]}))
    assert any(k.startswith("lake/gold/picks/_delta_log/") for k in keys(s3, bucket))  # a Delta table in the bucket

    assert [p["track_id"] for p in week_picks(lake, "2026-11-30")] == ["c"]
    assert sorted(p["track_id"] for p in week_picks(lake, "2026-11-23")) == ["a", "b"]
    got = hit_rates(lake, "2026-11-30")
    assert [(w["ds"], w["offered"], w["saved"]) for w in got["weeks"]] == [("2026-11-23", 2, 1)]
    assert got["weeks"][0]["by_source"] == {"reccobeats": {"offered": 1, "saved": 0, "rate": 0.0},
                                            "catalog": {"offered": 1, "saved": 1, "rate": 1.0}}
