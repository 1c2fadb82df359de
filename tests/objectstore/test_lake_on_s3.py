"""The Python side of the lake on a real S3-protocol server: extraction, incremental reads, Delta tables, readers."""

from __future__ import annotations

import json
import logging

import pytest

from devtools.standin import write_demo_config
from tests.ingest.conftest import DS1, DS2, make_api
from tests.objectstore.conftest import SECRET_KEY, get_json, keys
from weekly_discovery.ingest.extract import extract_library
from weekly_discovery.lake import delta, write_atomic, write_json
from weekly_discovery.lake.layout import PICKS, Lake
from weekly_discovery.lake.storage import ObjectPath, tree_bytes
from weekly_discovery.settings.config import load_config

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
    assert saved_keys == sorted([prefix + "_manifest.json"] + [f"{prefix}page-{i:05d}.json" for i in range(pages)])
    manifest = get_json(s3, bucket, prefix + "_manifest.json")
    assert manifest["mode"] == "full" and manifest["item_total"] == len(library.saved)
    assert manifest["pages"] == [f"{SAVED}/ds={DS1}/page-{i:05d}.json" for i in range(pages)]
    first = get_json(s3, bucket, prefix + "page-00000.json")
    assert [i["track"]["id"] for i in first["items"]] == [t for _, t in library.saved[:50]]
    # every source landed, and nothing else was written (no staging area, no commit marker)
    sources = {k.split("/")[3] for k in keys(s3, bucket, "lake/raw/spotify/")}
    assert sources == {f"source={s.key}" for s in config.sources}
    assert [k for k in keys(s3, bucket) if not k.startswith("lake/raw/spotify/")] == []
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
    # the DS2 partition stands alone: it holds its manifest and every page, and deleting DS1 changes nothing
    assert keys(s3, bucket, f"lake/{SAVED}/ds={DS2}/") == sorted(
        [f"lake/{SAVED}/ds={DS2}/_manifest.json"] + [f"lake/{p}" for p in m["pages"]])
    ds2 = {p: get_json(s3, bucket, f"lake/{p}") for p in m["pages"]}
    for key in keys(s3, bucket, f"lake/{SAVED}/ds={DS1}/"):
        s3.delete_object(Bucket=bucket, Key=key)
    assert {p: get_json(s3, bucket, f"lake/{p}") for p in m["pages"]} == ds2
    assert config.lake.missing_files(m["pages"]) == []
    # unchanged playlists were not read again
    assert standin.count("GET /v1/playlists") == len([s for s in config.sources if s.kind == "playlist"])


def _picks(ds: str, ids: list[str]):
    import pyarrow as pa

    return pa.table({"rank": pa.array(range(1, len(ids) + 1), pa.int32()), "track_id": ids})


def test_a_delta_table_in_the_bucket_replaces_one_date_per_run(s3_env, s3, bucket):
    """delta-rs on the bucket: a rerun of a date replaces that date only, one commit per write, nothing
    else written beside the table (no staging, no marker); boto3 looks at the objects."""
    lake = Lake(f"s3://{bucket}/lake")
    delta.write_date(lake, PICKS, DS1, _picks(DS1, ["a" * 22, "b" * 22]), run="r1")
    delta.write_date(lake, PICKS, DS2, _picks(DS2, ["c" * 22]), run="r2")
    delta.write_date(lake, PICKS, DS1, _picks(DS1, ["d" * 22]), run="r3")  # the rerun
    assert delta.read_rows(lake, PICKS, DS1, columns=["track_id"]) == [{"track_id": "d" * 22}]
    assert delta.read_rows(lake, PICKS, DS2, columns=["track_id"]) == [{"track_id": "c" * 22}]
    assert delta.dates(lake, PICKS) == [DS1, DS2]
    assert [(c["run_id"], c["ds"]) for c in delta.history(lake, PICKS)] == [("r3", DS1), ("r2", DS2), ("r1", DS1)]
    found = keys(s3, bucket)
    assert sorted(k for k in found if "/_delta_log/" in k and k.endswith(".json")) == [
        f"lake/gold/picks/_delta_log/{v:020d}.json" for v in range(3)]
    assert all(k.startswith("lake/gold/picks/") for k in found)
    assert not [k for k in found if "_staging" in k or "_COMMITTED" in k]


def test_a_failed_write_leaves_the_table_at_its_last_commit(s3_env, s3, bucket):
    import pyarrow as pa

    lake = Lake(f"s3://{bucket}/lake")
    delta.write_date(lake, PICKS, DS1, _picks(DS1, ["a" * 22]))
    before = keys(s3, bucket, "lake/gold/picks/_delta_log/")
    with pytest.raises(Exception):  # another schema: refused before any commit
        delta.write_date(lake, PICKS, DS1, pa.table({"rank": ["one"], "track_id": [1]}))
    assert keys(s3, bucket, "lake/gold/picks/_delta_log/") == before
    assert delta.read_rows(lake, PICKS, DS1, columns=["track_id"]) == [{"track_id": "a" * 22}]


def test_model_card_champion_and_report_readers(s3_env, s3, bucket):
    import pyarrow as pa

    from weekly_discovery.lake.layout import RECOMMENDATIONS
    from weekly_discovery.recommend.model import store
    from weekly_discovery.report.model_outputs import load_model_outputs
    from weekly_discovery.report.paths import list_reports, read_latest, report_file, update_latest

    lake = Lake(f"s3://{bucket}/lake")
    card = {"version": DS1, "ds": DS1, "features": ["danceability", "energy"],
            "champion": {"name": "logistic_regression", "params": {"regParam": 0.1}, "label": "lr",
                         "metrics": {"roc_auc": 0.8}}, "promotion": {"promoted": True, "reason": "first"}}
    write_json(store.version_dir(lake, DS1) / store.CARD, card)
    pointer = store.record_decision(lake, DS1, promoted=True, incumbent=None, reason="first")
    assert get_json(s3, bucket, "lake/models/like_model/champion.json") == pointer
    assert pointer["version"] == DS1 and pointer["model_path"] == f"models/like_model/version={DS1}/model"
    assert store.read_card(lake, DS1) == card
    assert store.champion_version(lake, DS2, strictly_before=True) == DS1

    delta.write_date(lake, RECOMMENDATIONS, DS1, pa.table({"rank": [2, 1], "track_id": ["b" * 22, "a" * 22]}))
    outputs = load_model_outputs(lake, DS1)
    assert outputs is not None

    write_atomic(lake.path("reports", "library", f"ds={DS1}", "index.html"), b"<html>report</html>")
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
    delta.write_date(lake, PICKS, DS1, _picks(DS1, ["a" * 22]))  # delta-rs gets the connection's settings too
    write_json(lake.path("reports", "library", "latest.json"), {"ds": DS1})  # and pyarrow
    assert delta.read_rows(lake, PICKS, DS1, columns=["track_id"]) == [{"track_id": "a" * 22}]
    assert "lake/reports/library/latest.json" in keys(s3, bucket)
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
    from weekly_discovery.settings.config import ConfigError

    path = write_demo_config(standin.library, tmp_path / "lake.toml")
    assert load_config(path, env={"WEEKLY_DISCOVERY_LAKE": "s3://bucket/lake/"}).lake_root == "s3a://bucket/lake"
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"WEEKLY_DISCOVERY_LAKE": "s3://AKIAXX:topsecret99@bucket/lake"})
    assert "lake.root" in str(info.value) and "topsecret99" not in str(info.value)


def test_the_size_of_a_folder_in_a_bucket_is_its_objects_bytes(s3_env, s3, bucket):
    lake = Lake(f"s3://{bucket}/lake")
    folder = lake.path("reports", "library", f"ds={DS1}")
    write_atomic(folder / "a.json", b"1" * 1000)
    write_atomic(folder / "b.json", b"2" * 234)
    write_atomic(lake.path("reports", "library", f"ds={DS2}", "a.json"), b"other date" * 100)
    objects = {k: s3.head_object(Bucket=bucket, Key=k)["ContentLength"]
               for k in keys(s3, bucket, f"lake/reports/library/ds={DS1}/")}
    assert tree_bytes(folder) == sum(objects.values()) == 1234
    assert tree_bytes(folder / "a.json") == 1000
    assert tree_bytes(lake.path("reports", "library", "ds=2026-01-05")) == 0
