"""The Python side of the lake on a real S3-protocol server: extraction, incremental reads, commits, readers."""

from __future__ import annotations

import json
import logging

import pytest

from devtools.standin import write_demo_config
from tests.ingest.conftest import DS1, DS2, make_api
from tests.objectstore.conftest import SECRET_KEY, get_json, keys
from weekly_discovery.core.config import load_config
from weekly_discovery.ingest.extract import extract_library
from weekly_discovery.lake.layout import Lake, PartitionWriter, list_partitions
from weekly_discovery.lake.storage import COMMIT_MARKER, ObjectPath, tree_bytes

SAVED = "raw/spotify/source=saved_tracks"


def s3_config(standin, tmp_path, bucket):
    path = write_demo_config(standin.library, tmp_path / "lake.toml")
    return load_config(path, env={"WEEKLY_DISCOVERY_LAKE": f"s3://{bucket}/lake"})


def test_root_is_the_uri_spark_expects(s3_env, bucket):
    lake = Lake(f"s3://{bucket}/lake/")
    assert lake.root == f"s3a://{bucket}/lake"
    assert str(lake.partition("silver", "tracks", DS1)) == f"s3a://{bucket}/lake/silver/tracks/ds={DS1}"
    assert lake.relative(lake.raw_partition("saved_tracks", DS1) / "page-00000.json") == \
        f"{SAVED}/ds={DS1}/page-00000.json"
    assert Lake(f"s3a://{bucket}/lake") == lake


def test_extraction_writes_pages_and_manifest_to_the_bucket(s3_env, s3, bucket, standin, library, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="weekly_discovery")
    config = s3_config(standin, tmp_path, bucket)
    extract_library(make_api(standin), config.lake, config, DS1)

    prefix = f"lake/{SAVED}/ds={DS1}/"
    saved_keys = keys(s3, bucket, prefix)
    pages = len(library.saved) // 50 + (1 if len(library.saved) % 50 else 0)
    assert saved_keys == sorted([prefix + "_manifest.json", prefix + COMMIT_MARKER]
                                + [f"{prefix}page-{i:05d}.json" for i in range(pages)])
    manifest = get_json(s3, bucket, prefix + "_manifest.json")
    assert manifest["mode"] == "full" and manifest["item_total"] == len(library.saved)
    assert manifest["pages"] == [f"{SAVED}/ds={DS1}/page-{i:05d}.json" for i in range(pages)]
    first = get_json(s3, bucket, prefix + "page-00000.json")
    assert [i["track"]["id"] for i in first["items"]] == [t for _, t in library.saved[:50]]
    marker = get_json(s3, bucket, prefix + COMMIT_MARKER)
    assert sorted(marker["files"]) == sorted(k[len(prefix):] for k in saved_keys if not k.endswith(COMMIT_MARKER))
    # every source landed, nothing is left in the staging area
    sources = {k.split("/")[3] for k in keys(s3, bucket, "lake/raw/spotify/")}
    assert sources == {f"source={s.key}" for s in config.sources}
    assert keys(s3, bucket, "lake/_staging/") == []
    assert [p.parent.parent.name for p in config.lake.raw_manifests(DS1)] == sorted(
        f"source={s.key}" for s in config.sources)
    # the secret never reaches a log line or the bucket
    assert SECRET_KEY not in caplog.text
    assert not any(SECRET_KEY.encode() in s3.get_object(Bucket=bucket, Key=k)["Body"].read()
                   for k in keys(s3, bucket))


def test_incremental_run_reads_the_previous_partition_from_the_bucket(s3_env, s3, bucket, standin, library,
                                                                      tmp_path):
    config = s3_config(standin, tmp_path, bucket)
    api = make_api(standin)
    extract_library(api, config.lake, config, DS1)
    unsaved = [t for t in library.tracks if t not in {tid for _, tid in library.saved}][:3]
    for i, track_id in enumerate(unsaved):
        library.save_track(track_id, added_at=f"2026-11-2{i}T10:00:00Z")
    standin.reset_counts()
    extract_library(api, config.lake, config, DS2)

    m = get_json(s3, bucket, f"lake/{SAVED}/ds={DS2}/_manifest.json")
    assert m["mode"] == "incremental" and m["item_total"] == len(library.saved)
    assert standin.count("GET /v1/me/tracks") == 1  # one new page; the rest are copied from DS1's partition
    first_run = get_json(s3, bucket, f"lake/{SAVED}/ds={DS1}/_manifest.json")["pages"]
    assert m["pages"] == [f"{SAVED}/ds={DS2}/page-{i:05d}.json" for i in range(1 + len(first_run))]
    assert m["copied_from"] == dict(zip(m["pages"][1:], first_run))
    assert [get_json(s3, bucket, f"lake/{p}") for p in m["pages"][1:]] == [get_json(s3, bucket, f"lake/{p}")
                                                                          for p in first_run]
    newest = get_json(s3, bucket, f"lake/{m['pages'][0]}")["items"][:3]
    assert [i["track"]["id"] for i in newest] == unsaved[::-1]
    # the DS2 partition stands alone: its commit marker lists every page, and deleting DS1 changes nothing
    marker = get_json(s3, bucket, f"lake/{SAVED}/ds={DS2}/{COMMIT_MARKER}")
    assert sorted(marker["files"]) == sorted(["_manifest.json"] + [p.rsplit("/", 1)[1] for p in m["pages"]])
    ds2 = {p: get_json(s3, bucket, f"lake/{p}") for p in m["pages"]}
    for key in keys(s3, bucket, f"lake/{SAVED}/ds={DS1}/"):
        s3.delete_object(Bucket=bucket, Key=key)
    assert {p: get_json(s3, bucket, f"lake/{p}") for p in m["pages"]} == ds2
    assert config.lake.missing_files(m["pages"]) == []
    # unchanged playlists were not read again
    assert standin.count("GET /v1/playlists") == len([s for s in config.sources if s.kind == "playlist"])


class CrashOnCopy:
    """The real S3 filesystem, except that the copy after the first ``after`` ones fails (a crash)."""

    def __init__(self, fs, after: int):
        self.fs, self.left = fs, after

    def copy_file(self, src: str, dest: str) -> None:
        if self.left == 0:
            raise OSError("simulated crash during the commit")
        self.left -= 1
        self.fs.copy_file(src, dest)

    def __getattr__(self, name: str):
        return getattr(self.fs, name)


def _commit(lake, ds, files):
    with PartitionWriter(lake, lake.partition("gold", "published", ds)) as writer:
        for name, body in files.items():
            writer.write_bytes(name, body)


def test_failed_write_leaves_no_partition_and_no_staging(s3_env, s3, bucket):
    lake = Lake(f"s3://{bucket}/lake")
    with pytest.raises(RuntimeError):
        with PartitionWriter(lake, lake.partition("gold", "published", DS1)) as writer:
            writer.write_bytes("part-0.json", b"{}")
            raise RuntimeError("crash mid-write")
    assert keys(s3, bucket) == []
    assert not lake.exists(lake.partition("gold", "published", DS1))


def test_rerun_replaces_only_its_own_partition(s3_env, s3, bucket):
    lake = Lake(f"s3://{bucket}/lake")
    _commit(lake, DS1, {"a.json": b"1", "b.json": b"2", "_metrics.json": b"{}"})
    _commit(lake, DS2, {"a.json": b"other date"})
    other = {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys(s3, bucket, f"lake/gold/published/ds={DS2}/")}

    _commit(lake, DS1, {"c.json": b"3"})  # the rerun writes different files

    assert keys(s3, bucket, f"lake/gold/published/ds={DS1}/") == [
        f"lake/gold/published/ds={DS1}/{COMMIT_MARKER}", f"lake/gold/published/ds={DS1}/c.json"]
    assert s3.get_object(Bucket=bucket, Key=f"lake/gold/published/ds={DS1}/c.json")["Body"].read() == b"3"
    assert {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read()
            for k in keys(s3, bucket, f"lake/gold/published/ds={DS2}/")} == other
    assert list_partitions(lake.table("gold", "published")) == [DS1, DS2]


def test_crash_during_the_commit_leaves_the_partition_absent_then_a_rerun_commits(s3_env, s3, bucket, standin,
                                                                                  library, tmp_path):
    """The commit dies after copying two objects: readers see no partition, never part of one."""
    config = s3_config(standin, tmp_path, bucket)
    lake = config.lake
    extract_library(make_api(standin), lake, config, DS1)
    final = lake.raw_partition("saved_tracks", DS1)
    prefix = f"lake/{SAVED}/ds={DS1}/"
    complete = keys(s3, bucket, prefix)

    store = lake.path().store
    real = store.fs
    object.__setattr__(store, "fs", CrashOnCopy(real, after=2))
    try:
        with pytest.raises(OSError, match="crash"):
            with PartitionWriter(lake, final) as writer:
                for i in range(4):
                    writer.write_bytes(f"page-{i:05d}.json", b'{"items": []}')
                writer.write_json("_manifest.json", {"pages": []})
    finally:
        object.__setattr__(store, "fs", real)

    # the old partition was withdrawn, the new one is not published: what was copied is invisible
    assert keys(s3, bucket, prefix) == [prefix + "page-00000.json", prefix + "page-00001.json"]
    assert not lake.exists(final)
    assert lake.previous_manifest("saved_tracks", DS2) is None
    assert "source=saved_tracks" not in {p.parent.parent.name for p in lake.raw_manifests(DS1)}

    extract_library(make_api(standin), lake, config, DS1)  # the retry
    assert keys(s3, bucket, prefix) == complete and lake.exists(final)
    assert get_json(s3, bucket, prefix + "_manifest.json")["item_total"] == len(library.saved)


def test_a_partition_without_its_marker_does_not_exist_for_readers(s3_env, s3, bucket):
    """What a crash mid-commit leaves (objects but no marker) is invisible to every lake reader."""
    lake = Lake(f"s3://{bucket}/lake")
    _commit(lake, DS1, {"part-0.parquet": b"x"})
    s3.put_object(Bucket=bucket, Key=f"lake/gold/published/ds={DS2}/part-0.parquet", Body=b"half")
    assert lake.exists(lake.partition("gold", "published", DS1))
    assert not lake.exists(lake.partition("gold", "published", DS2))
    assert list_partitions(lake.table("gold", "published")) == [DS1]


def test_model_card_champion_and_report_readers(s3_env, s3, bucket):
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from weekly_discovery.recommend import store
    from weekly_discovery.report.model_outputs import load_model_outputs
    from weekly_discovery.report.paths import list_reports, read_latest, report_file, update_latest

    lake = Lake(f"s3://{bucket}/lake")
    card = {"version": DS1, "ds": DS1, "features": ["danceability", "energy"],
            "champion": {"name": "logistic_regression", "params": {"regParam": 0.1}, "label": "lr",
                         "metrics": {"roc_auc": 0.8}}, "promotion": {"promoted": True, "reason": "first"}}
    with PartitionWriter(lake, store.version_dir(lake, DS1)) as writer:
        writer.write_json(store.CARD, card)
    pointer = store.record_decision(lake, DS1, promoted=True, incumbent=None, reason="first")
    assert get_json(s3, bucket, "lake/models/like_model/champion.json") == pointer
    assert pointer["version"] == DS1 and pointer["model_path"] == f"models/like_model/version={DS1}/model"
    assert store.read_card(lake, DS1) == card
    assert store.champion_version(lake, DS2, strictly_before=True) == DS1

    buf = io.BytesIO()
    pq.write_table(pa.table({"rank": [2, 1], "track_id": ["b" * 22, "a" * 22]}), buf)
    s3.put_object(Bucket=bucket, Key=f"lake/gold/recommendations/ds={DS1}/part-00000.parquet", Body=buf.getvalue())
    outputs = load_model_outputs(lake, DS1)
    assert outputs is not None

    with PartitionWriter(lake, lake.partition("reports", "library", DS1)) as writer:
        writer.write_bytes("index.html", b"<html>report</html>")
    assert list_reports(lake) == [DS1] and update_latest(lake) == DS1
    assert get_json(s3, bucket, "lake/reports/library/latest.json") == {"ds": DS1}
    assert read_latest(lake) == DS1
    page = report_file(lake, DS1)
    assert isinstance(page, ObjectPath) and page.read_bytes() == b"<html>report</html>"
    assert json.loads(lake.path("reports", "library", "latest.json").read_text()) == {"ds": DS1}


def test_credentials_and_endpoint_from_an_airflow_connection(s3_endpoint, s3, bucket, monkeypatch, tmp_path, caplog):
    """aws_default style: nothing in the environment but the connection (the endpoint only comes from it)."""
    from tests.objectstore.conftest import ACCESS_KEY, REGION
    from weekly_discovery.lake import storage as lake_storage

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                 "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AIRFLOW_CONN_LAKE_S3", json.dumps({
        "conn_type": "aws", "login": ACCESS_KEY, "password": SECRET_KEY,
        "extra": {"endpoint_url": s3_endpoint, "region_name": REGION}}))
    monkeypatch.setenv("WEEKLY_DISCOVERY_LAKE_CONN_ID", "lake_s3")
    caplog.set_level(logging.DEBUG)

    lake = Lake(f"s3://{bucket}/lake")
    _commit(lake, DS1, {"a.json": b"{}"})
    assert keys(s3, bucket) == [f"lake/gold/published/ds={DS1}/{COMMIT_MARKER}", f"lake/gold/published/ds={DS1}/a.json"]
    settings = lake_storage.s3_settings()
    assert (settings.access_key, settings.secret_key, settings.endpoint) == (ACCESS_KEY, SECRET_KEY, s3_endpoint)
    assert SECRET_KEY not in repr(settings) and SECRET_KEY not in repr(lake) and SECRET_KEY not in caplog.text


@pytest.mark.parametrize("given,spark_uri", [
    ("s3://b/lake/", "s3a://b/lake"), ("s3a://b/lake", "s3a://b/lake"), ("S3://b//x/./y", "s3a://b/x/y"),
    ("gs://b/lake", "gs://b/lake"), ("gcs://b/lake", "gs://b/lake"),
    ("abfss://c@acct.dfs.core.windows.net/lake", "abfss://c@acct.dfs.core.windows.net/lake"),
])
def test_uris_take_the_form_hadoop_expects(given, spark_uri):
    from weekly_discovery.lake.storage import normalize_uri

    assert normalize_uri(given) == spark_uri


@pytest.mark.parametrize("bad", ["s3://AKIA:secret@b/lake", "s3://b:9000/lake", "ftp://b/lake", "s3:///lake",
                                 "s3://b/../x", "s3://b/lake?versionId=1"])
def test_unusable_uris_are_refused_with_the_reason(bad):
    from weekly_discovery.lake.layout import LakeError

    with pytest.raises(LakeError) as info:
        Lake(bad)
    assert "lake root" in str(info.value) and "secret" not in str(info.value)  # says why, never echoes a key


def test_config_takes_a_bucket_root_and_refuses_one_with_a_key_in_it(tmp_path, standin):
    from weekly_discovery.core.config import ConfigError

    path = write_demo_config(standin.library, tmp_path / "lake.toml")
    assert load_config(path, env={"WEEKLY_DISCOVERY_LAKE": "s3://bucket/lake/"}).lake_root == "s3a://bucket/lake"
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"WEEKLY_DISCOVERY_LAKE": "s3://AKIAXX:topsecret99@bucket/lake"})
    assert "lake.root" in str(info.value) and "topsecret99" not in str(info.value)


def test_the_size_of_a_partition_in_a_bucket_is_its_objects_bytes(s3_env, s3, bucket):
    lake = Lake(f"s3://{bucket}/lake")
    _commit(lake, DS1, {"a.json": b"1" * 1000, "b.json": b"2" * 234})
    _commit(lake, DS2, {"a.json": b"other date" * 100})
    partition = lake.partition("gold", "published", DS1)
    objects = {k: s3.head_object(Bucket=bucket, Key=k)["ContentLength"]
               for k in keys(s3, bucket, f"lake/gold/published/ds={DS1}/")}
    assert set(objects) >= {f"lake/gold/published/ds={DS1}/a.json", f"lake/gold/published/ds={DS1}/b.json"}
    assert tree_bytes(partition) == sum(objects.values())  # the commit marker counts too
    assert tree_bytes(partition / "a.json") == 1000
    assert tree_bytes(lake.partition("gold", "published", "2026-01-05")) == 0
