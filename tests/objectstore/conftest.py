"""A real S3-protocol server on 127.0.0.1 (moto's standalone server) and a bucket for the lake.

The lake code reaches it with pyarrow's S3 client, credentials from the environment exactly as a user
sets them (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_ENDPOINT_URL``). The tests look at the
bucket with an independent client (boto3), never through the code under test.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from tests.ingest.conftest import library, standin  # noqa: F401 - fixtures: the stand-in Spotify
from tests.util.processes import free_port, start, wait_until

ACCESS_KEY = "wd-test-access-key-id"
SECRET_KEY = "wd-test-secret-5f2c9a7e"  # long enough for the secrets masker, unique enough to grep for
REGION = "eu-west-1"


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    service = start("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                    env={"PATH": "/usr/bin:/bin", "HOME": str(log.parent)}, log=log)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        wait_until(lambda: urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).status == 200,
                   timeout=30, what="moto's S3 server", interval=0.2, alive=[service])
        yield endpoint
    finally:
        service.stop(grace=5)


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch, tmp_path):
    """The environment a user sets for an S3-compatible store (MinIO-style endpoint)."""
    values = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_REGION": REGION,
        # nothing from the machine: no config files, no instance metadata look-ups
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("WEEKLY_DISCOVERY_LAKE_CONN_ID", raising=False)
    return values


@pytest.fixture
def s3(s3_endpoint):
    """An independent S3 client (boto3) to look into the bucket."""
    import boto3

    return boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


@pytest.fixture
def bucket(s3):
    name = f"wd-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


def keys(s3, bucket: str, prefix: str = "") -> list[str]:
    """The objects under ``prefix``, sorted.

    pyarrow's S3 client keeps a "directory" alive by leaving an empty placeholder (a key ending in
    ``/``) when it deletes the last object under a prefix; those hold no data and are left out here
    (after checking that they are empty).
    """
    out: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/"):
                assert obj["Size"] == 0, obj
                continue
            out.append(obj["Key"])
    return sorted(out)


def get_json(s3, bucket: str, key: str):
    import json

    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


__all__ = ["ACCESS_KEY", "REGION", "SECRET_KEY", "get_json", "keys", "Path"]
