"""jobs/normalize.py's driver-side check of the raw input when the lake is a bucket.

The check runs before Spark starts (a missing page fails fast, with its name). It used
``os.path.isfile`` on each page's ``s3a://`` URI, which is false for every object, so a complete
raw partition in a bucket was reported as all pages missing. The Spark part itself needs the
hadoop-aws jars, which the test environment does not have; this runs the job's own check on a
lake extracted into moto's S3 server.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from devtools.standin import write_demo_config
from tests.ingest.conftest import DS1, make_api
from weekly_discovery.core.config import load_config
from weekly_discovery.ingest.extract import extract_library

JOB = Path(__file__).resolve().parents[2] / "jobs" / "normalize.py"
SAVED = "raw/spotify/source=saved_tracks"


def load_job_module():
    """jobs/normalize.py by path (``jobs`` is not a package)."""
    spec = importlib.util.spec_from_file_location("normalize_job_s3", JOB)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def extracted(s3_env, bucket, standin, library, tmp_path):
    path = write_demo_config(standin.library, tmp_path / "lake.toml")
    config = load_config(path, env={"WEEKLY_DISCOVERY_LAKE": f"s3://{bucket}/lake"})
    extract_library(make_api(standin), config.lake, config, DS1)
    return config.lake


def test_normalize_finds_the_pages_extracted_into_the_bucket(extracted, s3, bucket, library):
    job = load_job_module()
    raw = job.load_raw_input(extracted, DS1)
    saved_pages = len(library.saved) // 50 + (1 if len(library.saved) % 50 else 0)
    listed = [p for p in raw.paths if f"/{SAVED}/" in p]
    assert listed == [f"s3a://{bucket}/lake/{SAVED}/ds={DS1}/page-{i:05d}.json" for i in range(saved_pages)]
    page_keys = [k for k in (o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="lake/raw/")["Contents"])
                 if k.rsplit("/", 1)[-1].startswith("page-")]
    assert sorted(raw.paths) == sorted(f"s3a://{bucket}/{k}" for k in page_keys)  # every page, each once


def test_a_page_missing_from_the_bucket_is_named(extracted, s3, bucket):
    job = load_job_module()
    s3.delete_object(Bucket=bucket, Key=f"lake/{SAVED}/ds={DS1}/page-00000.json")  # e.g. a lifecycle rule
    with pytest.raises(job.nz.RawInputError) as refused:
        job.load_raw_input(extracted, DS1)
    assert str(refused.value).startswith(
        f"1 page file(s) listed in the manifests do not exist: s3a://{bucket}/lake/{SAVED}/ds={DS1}/page-00000.json;")
