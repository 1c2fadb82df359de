"""gather on a lake in a bucket (moto's S3 server): the same rows as on a folder, the album cache read back."""

from __future__ import annotations

from tests.discover.kit import write_silver_tracks
from tests.discover.test_gather import DS1, DS2, EXPECTED_ARTISTS, EXPECTED_PLAYLISTS, TRACKS_ROUTE, settings
from tests.objectstore.conftest import bucket, keys, s3, s3_endpoint, s3_env  # noqa: F401 - fixtures
from weekly_discovery.discover.gather import gather
from weekly_discovery.discover.store import read_parquet_rows
from weekly_discovery.lake import Lake
from weekly_discovery.lake.layout import CANDIDATES


def test_gather_writes_committed_partitions_to_the_bucket(s3_env, s3, bucket, tiny, tiny_standin, clients):
    lake = Lake(f"s3://{bucket}/lake")
    write_silver_tracks(lake, DS1, tiny)
    write_silver_tracks(lake, DS2, tiny)

    gather(lake, DS1, settings=settings(tiny_standin, sources=("artists", "playlists")), seed=7, clients=clients)

    rows = read_parquet_rows(lake.partition(CANDIDATES, DS1))
    assert rows == EXPECTED_ARTISTS + EXPECTED_PLAYLISTS
    written = keys(s3, bucket, "lake/")
    for partition in (f"lake/silver/candidates/ds={DS1}/", f"lake/silver/album_tracks/ds={DS1}/",
                      f"lake/raw/discover/source=artists/ds={DS1}/"):
        assert f"{partition}_COMMITTED.json" in written
    assert not [k for k in written if k.startswith("lake/_staging/") and not k.endswith("/")]

    tiny_standin.reset_counts()
    gather(lake, DS2, settings=settings(tiny_standin, sources=("artists",)), seed=7, clients=clients)
    assert tiny_standin.count(TRACKS_ROUTE) == 0  # the album track lists came back from the bucket
