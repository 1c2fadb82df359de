"""The feature file on object storage: the look-up job checks it through the lake's storage
layer (issue 12: ``s3://`` paths, which the config accepts, were refused as "does not exist")."""

from __future__ import annotations

import datetime as dt

import pytest

from weekly_discovery.enrich import lookup_job
from weekly_discovery.enrich.cache import FeatureInputError


def test_an_s3_feature_file_is_found_and_given_to_spark_as_s3a(s3_env, s3, bucket):
    s3.put_object(Bucket=bucket, Key="snapshots/features.csv", Body=b"id,danceability\n")
    spark_path, where = lookup_job.feature_file_source(f"s3://{bucket}/snapshots/features.csv")
    assert spark_path == f"s3a://{bucket}/snapshots/features.csv"  # what Spark's Hadoop connector reads
    assert where.is_file()
    modified = lookup_job.file_modified_at(f"s3://{bucket}/snapshots/features.csv")
    stamp = dt.datetime.fromisoformat(modified.replace("Z", "+00:00"))
    assert abs(dt.datetime.now(dt.timezone.utc) - stamp) < dt.timedelta(minutes=10)


def test_an_s3_parquet_folder_takes_its_newest_object_time(s3_env, s3, bucket):
    for name in ("part-0.parquet", "part-1.parquet"):
        s3.put_object(Bucket=bucket, Key=f"features.parquet/{name}", Body=b"x")
    _, where = lookup_job.feature_file_source(f"s3a://{bucket}/features.parquet")
    assert where.is_dir()
    assert lookup_job.file_modified_at(f"s3a://{bucket}/features.parquet").endswith("Z")


def test_a_missing_s3_feature_file_names_the_key(s3_env, bucket):
    with pytest.raises(FeatureInputError, match=rf"enrichment.file.path s3://{bucket}/none.csv does not exist"):
        lookup_job.check_feature_file(f"s3://{bucket}/none.csv")
