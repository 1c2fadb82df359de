"""The normalize job's driver-side check of the raw input when the lake is a bucket.

The check runs before Spark starts (a missing page fails fast, with its name). It used
``os.path.isfile`` on each page's ``s3a://`` URI, which is false for every object, so a complete
raw partition in a bucket was reported as all pages missing. The Spark part itself needs the
hadoop-aws jars, which the test environment does not have; this runs the job's own check on a
lake extracted into moto's S3 server, and checks that a rerun of the extraction, which rewrites
a date's raw partition in place, leaves the bucket holding exactly the pages its manifest lists.
"""

from __future__ import annotations

import pytest

from devtools.standin import write_demo_config
from tests.ingest.conftest import DS1, DS2, make_api
from tests.objectstore.conftest import get_json, keys
from weekly_discovery.ingest import job as normalize_job
from weekly_discovery.ingest.extract import extract_library
from weekly_discovery.ingest.normalize import RawInputError
from weekly_discovery.settings.config import load_config

SAVED = "raw/spotify/source=saved_tracks"


@pytest.fixture
def extracted(s3_env, bucket, standin, library, tmp_path):
    path = write_demo_config(standin.library, tmp_path / "lake.toml")
    config = load_config(path, env={"WEEKLY_DISCOVERY_LAKE": f"s3://{bucket}/lake"})
    extract_library(make_api(standin), config.lake, config, DS1)
    return config.lake


def test_normalize_finds_the_pages_extracted_into_the_bucket(extracted, s3, bucket, library):
    raw = normalize_job.load_raw_input(extracted, DS1)
    saved_pages = len(library.saved) // 50 + (1 if len(library.saved) % 50 else 0)
    listed = [p for p in raw.paths if f"/{SAVED}/" in p]
    assert listed == [f"s3a://{bucket}/lake/{SAVED}/ds={DS1}/page-{i:05d}.json" for i in range(saved_pages)]
    page_keys = [k for k in (o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="lake/raw/")["Contents"])
                 if k.rsplit("/", 1)[-1].startswith("page-")]
    assert sorted(raw.paths) == sorted(f"s3a://{bucket}/{k}" for k in page_keys)  # every page, each once


def test_a_page_missing_from_the_bucket_is_named(extracted, s3, bucket):
    s3.delete_object(Bucket=bucket, Key=f"lake/{SAVED}/ds={DS1}/page-00000.json")  # e.g. a lifecycle rule
    with pytest.raises(RawInputError) as refused:
        normalize_job.load_raw_input(extracted, DS1)
    assert str(refused.value).startswith(
        f"1 page file(s) listed in the manifests do not exist: s3a://{bucket}/lake/{SAVED}/ds={DS1}/page-00000.json;")


def test_a_rerun_rewrites_the_date_in_place_with_no_stale_page(s3_env, s3, bucket, standin, library, tmp_path):
    """DS2 is first incremental (one new page, then DS1's pages copied server-side), then rerun as
    unchanged (DS1's pages only, one fewer): the rerun deletes the old manifest and every object of the
    earlier run before writing, so the DS2 prefix holds its new manifest and the pages it lists, DS1 is
    untouched, and the normalize job's check lists each page once."""
    path = write_demo_config(standin.library, tmp_path / "lake.toml")
    config = load_config(path, env={"WEEKLY_DISCOVERY_LAKE": f"s3://{bucket}/lake"})
    lake, api = config.lake, make_api(standin)
    extract_library(api, lake, config, DS1)
    unsaved = next(t for t in library.tracks if t not in {tid for _, tid in library.saved})
    library.save_track(unsaved, added_at="2026-11-20T10:00:00Z")
    extract_library(api, lake, config, DS2)
    first = get_json(s3, bucket, f"lake/{SAVED}/ds={DS2}/_manifest.json")
    assert first["mode"] == "incremental"
    ds1 = {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys(s3, bucket, f"lake/{SAVED}/ds={DS1}/")}

    library.saved[:] = [(added, tid) for added, tid in library.saved if tid != unsaved]
    extract_library(api, lake, config, DS2)

    rerun = get_json(s3, bucket, f"lake/{SAVED}/ds={DS2}/_manifest.json")
    assert rerun["mode"] == "unchanged" and len(rerun["pages"]) == len(first["pages"]) - 1
    prefix = f"lake/{SAVED}/ds={DS2}/"
    assert keys(s3, bucket, prefix) == sorted([prefix + "_manifest.json", *(f"lake/{p}" for p in rerun["pages"])])
    assert [get_json(s3, bucket, f"lake/{p}") for p in rerun["pages"]] == [
        get_json(s3, bucket, f"lake/{p}") for p in rerun["copied_from"].values()]
    assert {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read()
            for k in keys(s3, bucket, f"lake/{SAVED}/ds={DS1}/")} == ds1
    raw = normalize_job.load_raw_input(lake, DS2)
    assert [p for p in raw.paths if f"/{SAVED}/" in p] == [f"s3a://{bucket}/lake/{p}" for p in rerun["pages"]]
