"""The whole chain with the lake in a bucket: ingest -> discover -> enrich -> report -> weekly (publish, vacuum),
through real Airflow (`airflow dags test`) and real spark-submit jobs that write Delta tables over S3A, against
moto's S3 server on 127.0.0.1.

Set up as docs/deploy.md tells a user: the lake is ``s3://<bucket>/lake`` in the config; the key pair and the
endpoint are in the environment (``AWS_*``), where pyarrow, delta-rs and S3A's default credential chain find them;
the Spark connection's ``extra.conf`` puts the S3A connector on the classpath (here the jars ``make test`` fetched
once into its cache, weekly_discovery/spark/jars.py: no download at run time). Nothing secret on a command line:
the test reads the commands the task logs show.

The bucket is then looked at with independent readers: boto3 for the keys, delta-rs for every table.
"""

from __future__ import annotations

import json

import pytest

from devtools.standin import StandIn, generate_demo_library
from tests.e2e.conftest import dags_test, pipeline_env
from tests.objectstore.conftest import ACCESS_KEY, REGION, SECRET_KEY, keys, s3_endpoint  # noqa: F401 - fixture
from weekly_discovery.lake import delta
from weekly_discovery.lake.layout import (
    DELTA_TABLES, PICKS, PUBLISHED, RECOMMENDATIONS, SILVER_TRACKS, TRACKS_ENRICHED, UNDATED_TABLES, Lake,
)
from weekly_discovery.spark.jars import fetch

pytestmark = [pytest.mark.e2e, pytest.mark.spark]
DS = "2026-11-23"
TOP_N = 6
CHAIN = ("spotify_ingest", "spotify_discover", "spotify_enrich", "library_report", "weekly_recommendations")


@pytest.fixture(scope="module")
def bucket_chain(airflow_db, s3_endpoint, tmp_path_factory):  # noqa: F811 - the fixture imported above
    import boto3

    tmp = tmp_path_factory.mktemp("bucket-chain")
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION,
                      aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    bucket = "wd-bucket-chain"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    library = generate_demo_library(seed=11, n_tracks=300)
    classpath = ":".join(str(p) for p in fetch("s3"))  # the cache make test filled
    with StandIn(library, audio_features="forbidden") as standin:
        config = tmp / "weekly-discovery.toml"
        sources = "".join(f"{role} = {json.dumps(list(library.role_sources(role)))}\n"
                          for role in ("liked", "reference"))
        config.write_text(
            f"[sources]\n{sources}\n[lake]\nroot = \"s3://{bucket}/lake\"\n"
            f"[enrichment]\nproviders = [\"reccobeats\"]\nreccobeats_url = \"{standin.reccobeats_url}\"\n"
            f"[model]\ngrid = \"quick\"\ntop_n = {TOP_N}\n"
            f"[discover]\nsources = [\"reccobeats\"]\nreccobeats_url = \"{standin.reccobeats_url}\"\n",
            encoding="utf-8")
        env = pipeline_env(airflow_db, standin, config)
        env.update(
            AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_ENDPOINT_URL=s3_endpoint,
            AWS_REGION=REGION, AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=str(tmp / "no-aws-config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp / "no-aws-credentials"),
            AIRFLOW_CONN_SPARK_DEFAULT=json.dumps({"conn_type": "spark", "host": "local[2]", "extra": {"conf": {
                "spark.driver.extraClassPath": classpath, "spark.executor.extraClassPath": classpath}}}),
        )
        env.pop("WEEKLY_DISCOVERY_LAKE_CONN_ID", None)
        outputs = {}
        for dag_id in CHAIN:
            result = dags_test(env, dag_id, DS)
            outputs[dag_id] = result.output
            assert result.returncode == 0, f"{dag_id} failed on the bucket:\n{result.output[-6000:]}"
        with pytest.MonkeyPatch.context() as patch:  # delta-rs and pyarrow in this process read them too
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION"):
                patch.setenv(name, env[name])
            yield {"s3": s3, "bucket": bucket, "outputs": outputs, "library": library,
                   "playlists": standin.library.playlists, "lake": Lake(f"s3://{bucket}/lake")}


def lake_of(chain) -> Lake:
    return chain["lake"]


def test_every_table_in_the_bucket_is_a_delta_table_delta_rs_reads(bucket_chain):
    lake = lake_of(bucket_chain)
    found = keys(bucket_chain["s3"], bucket_chain["bucket"], "lake/")
    logs = {key.split("/_delta_log/")[0][len("lake/"):] for key in found if "/_delta_log/" in key}
    written = {str(t) for t in DELTA_TABLES} - {"gold/removed_picks", "quarantine/items", "quarantine/features",
                                                "silver/album_tracks"}  # no removals, no bad rows, no artists source
    assert written <= logs  # every table the first week writes (no removals, no quarantined rows here)
    for table in DELTA_TABLES:
        if str(table) not in logs:
            continue
        data = delta.read(lake, table)
        assert data is not None, table
        if table not in UNDATED_TABLES:
            assert set(data.column("ds").to_pylist()) <= {DS}, table
    assert not [k for k in found if "_staging" in k or k.endswith("_COMMITTED.json")]  # the old protocol is gone
    assert any(k.startswith(f"lake/reports/library/ds={DS}/") and k.endswith("index.html") for k in found)


def test_the_week_lands_in_the_bucket_and_the_playlist_holds_it(bucket_chain):
    lake = lake_of(bucket_chain)
    library = bucket_chain["library"]
    tracks = delta.read_rows(lake, SILVER_TRACKS, DS, columns=["track_id", "source_key"])
    assert len({r["track_id"] for r in tracks if r["source_key"] == "saved_tracks"}) == len(
        {t for _, t in library.saved})  # from the library, not from the pipeline
    enriched = delta.read_rows(lake, TRACKS_ENRICHED, DS)
    assert {r["feature_source"] for r in enriched if r["feature_status"] == "ok"} == {"reccobeats"}
    recommended = sorted(delta.read_rows(lake, RECOMMENDATIONS, DS), key=lambda r: r["rank"])
    assert len(recommended) == TOP_N
    (record,) = delta.read_rows(lake, PUBLISHED, DS)
    playlist = json.loads(record["record"])["playlist_id"]
    assert bucket_chain["playlists"][playlist].track_ids() == [r["track_id"] for r in recommended]
    assert sorted(r["track_id"] for r in delta.read_rows(lake, PICKS, DS)) == sorted(
        r["track_id"] for r in recommended)


def test_each_spark_commit_names_its_airflow_run(bucket_chain):
    lake = lake_of(bucket_chain)
    for table, dag in ((SILVER_TRACKS, "spotify_ingest"), (TRACKS_ENRICHED, "spotify_enrich"),
                       (RECOMMENDATIONS, "weekly_recommendations")):
        (commit,) = delta.history(lake, table)  # one run of the date: one commit
        assert commit["ds"] == DS and commit["dag_id"] == dag, commit
        assert commit["run_id"].startswith("manual__") or DS in commit["run_id"], commit


def test_no_credential_on_a_command_line_or_in_a_log(bucket_chain):
    for dag_id, text in bucket_chain["outputs"].items():
        assert SECRET_KEY not in text, dag_id
        assert "spark.hadoop.fs.s3a.secret" not in text, dag_id
