"""What the DAGs' spark-submit commands carry for a lake on object storage (no S3 reached: the command only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.airflow_layer.test_spark_secrets import capture_submit
from weekly_discovery.airflow.private_folder import CACHE_ENV
from weekly_discovery.airflow.spark_submit import PackagedSparkSubmitOperator

REPO = Path(__file__).resolve().parents[2]
SECRET = "lake-secret-9d1e77b04c"
PACKAGES = "org.apache.hadoop:hadoop-aws:3.5.0"


@pytest.fixture(scope="module")
def spark_tasks():
    from airflow.models import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    tasks = [t for dag in bag.dags.values() for t in dag.tasks if isinstance(t, PackagedSparkSubmitOperator)]
    # the weekly DAG trains then scores in one spark-submit (jobs/weekly.py)
    assert {t.task_id for t in tasks} >= {"normalize", "enrich", "report", "train_and_score"}
    return tasks


def _rendered(task, lake_root: str):
    """The task as it is after templating: the xcom placeholders replaced by a run's values."""
    copy = task.prepare_for_execution()
    copy.application_args = [lake_root if a.startswith("{{") and prev == "--lake" else a
                              for prev, a in zip(["", *task.application_args], task.application_args)]
    return copy


def _command(task) -> list[str]:
    return task._get_hook()._build_spark_submit_command(task.application)


def test_every_spark_task_hands_the_lake_uri_over_unchanged(spark_tasks):
    for task in spark_tasks:
        args = list(task.application_args)
        assert "--lake" in args, task.task_id
        copy = _rendered(task, "s3a://bucket/lake")
        assert copy.application_args[copy.application_args.index("--lake") + 1] == "s3a://bucket/lake"


def test_s3_lake_command_carries_the_connector_and_connection_settings(spark_tasks, monkeypatch, tmp_path):
    """The settings reach spark-submit: the DAG's own as ``--conf``, the connection's and the lake's in the
    private properties file (issue 12 item 6: nothing from a connection on the command line)."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "private"))
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({
        "conn_type": "spark", "host": "local[2]",
        "extra": {"conf": {"spark.jars.packages": PACKAGES,
                           "spark.hadoop.fs.s3a.aws.credentials.provider":
                               "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"}}}))
    monkeypatch.setenv("AIRFLOW_CONN_LAKE_S3", json.dumps({
        "conn_type": "aws", "login": "AKIALAKEEXAMPLE", "password": SECRET,
        "extra": {"endpoint_url": "http://minio:9000", "region_name": "eu-west-1"}}))
    monkeypatch.setenv("WEEKLY_DISCOVERY_LAKE_CONN_ID", "lake_s3")
    task = _rendered(next(t for t in spark_tasks if t.task_id == "normalize"), "s3://bucket/lake")
    task.add_lake_storage()

    seen = capture_submit(task._get_hook(), monkeypatch)
    command = seen.command
    confs = {command[i + 1] for i, a in enumerate(command) if a == "--conf"}
    settings = confs | {f"{k}={v}" for k, v in seen.properties.items()}
    assert {
        f"spark.jars.packages={PACKAGES}",
        "spark.hadoop.fs.s3a.aws.credentials.provider="
        "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider",
        "spark.hadoop.fs.s3a.endpoint=http://minio:9000",
        "spark.hadoop.fs.s3a.path.style.access=true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled=false",
        "spark.hadoop.fs.s3a.endpoint.region=eu-west-1",
        "spark.sql.session.timeZone=UTC",  # the DAG's own settings stay
    } <= settings
    assert "spark.sql.session.timeZone=UTC" in confs and seen.mode == 0o600
    assert not any(c.startswith(("spark.jars.packages", "spark.hadoop.")) for c in confs)
    assert SECRET not in " ".join(command) and "AKIALAKEEXAMPLE" not in " ".join(command)
    # the key pair reaches spark-submit through its process environment only (local/standalone client mode)
    hook = task._get_hook()
    assert hook._env_vars == {"WEEKLY_DISCOVERY_LAKE_CONN_ID": "", "AWS_ACCESS_KEY_ID": "AKIALAKEEXAMPLE",
                              "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_ENDPOINT_URL": "http://minio:9000",
                              "AWS_REGION": "eu-west-1"}
    assert "fs.s3a.secret.key" not in " ".join(command)


def test_local_lake_command_is_unchanged(spark_tasks, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({"conn_type": "spark", "host": "local[2]"}))
    monkeypatch.delenv("WEEKLY_DISCOVERY_LAKE_CONN_ID", raising=False)
    task = _rendered(next(t for t in spark_tasks if t.task_id == "normalize"), "/srv/lake")
    before = _command(task)
    task.add_lake_storage()
    assert _command(task) == before and not task.env_vars
