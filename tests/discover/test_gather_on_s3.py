"""gather on a lake in a bucket (moto's S3 server): the same rows as on a folder, the album cache read back."""

from __future__ import annotations

from tests.discover.kit import read_album_cache, read_candidates, write_silver_tracks
from tests.discover.test_gather import DS1, DS2, EXPECTED_ARTISTS, EXPECTED_PLAYLISTS, TRACKS_ROUTE, settings
from tests.objectstore.conftest import bucket, keys, s3, s3_endpoint, s3_env  # noqa: F401 - fixtures
from weekly_discovery.discover.gather import gather
from weekly_discovery.lake import Lake


def test_gather_writes_delta_tables_and_raw_answers_to_the_bucket(s3_env, s3, bucket, tiny, tiny_standin, clients):
    lake = Lake(f"s3://{bucket}/lake")
    write_silver_tracks(lake, DS1, tiny)
    write_silver_tracks(lake, DS2, tiny)

    gather(lake, DS1, settings=settings(tiny_standin, sources=("artists", "playlists")), seed=7, clients=clients)

    assert read_candidates(lake, DS1) == sorted(EXPECTED_ARTISTS + EXPECTED_PLAYLISTS,
                                                key=lambda r: (r["source"], r["rank"]))
    assert len(read_album_cache(lake)) == 6
    written = keys(s3, bucket, "lake/")
    for table in ("lake/silver/candidates/", "lake/silver/album_tracks/"):
        assert any(k.startswith(f"{table}_delta_log/") for k in written), table
    assert f"lake/silver/candidates/ds={DS1}/_metrics.json" in written
    assert f"lake/raw/discover/source=artists/ds={DS1}/_manifest.json" in written
    assert not [k for k in written if k.startswith("lake/_staging/") or k.endswith("_COMMITTED.json")]

    tiny_standin.reset_counts()
    gather(lake, DS2, settings=settings(tiny_standin, sources=("artists",)), seed=7, clients=clients)
    assert tiny_standin.count(TRACKS_ROUTE) == 0  # the album track lists came back from the bucket
