"""Defect 6: server-side encryption keys are credentials too.

``spark.hadoop.fs.s3a.encryption.key`` (SSE-C / SSE-KMS key) and ``fs.gs.encryption.key`` (GCS CSEK)
were neither masked in the task log nor kept off the command line when set in a task's ``conf``, and
Spark's default ``spark.redaction.regex`` shows them in the Spark UI and event logs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.airflow_layer.test_spark_secrets import capture_submit, masked  # noqa: F401 (a fixture)
from weekly_discovery.airflow import spark_submit
from weekly_discovery.airflow.policy import spark_job
from weekly_discovery.airflow.private_folder import CACHE_ENV

S3_SSE_KEY = "c3NlLWMta2V5LTMyLWJ5dGVzLWxvbmctLS0tLQ=="
GCS_CSEK = "Z2NzLWNzZWsta2V5LTMyLWJ5dGVzLS0tLS0tLQ=="
S3_SETTING = "spark.hadoop.fs.s3a.encryption.key"
GCS_SETTING = "spark.hadoop.fs.gs.encryption.key"


@pytest.fixture
def submitted(monkeypatch, tmp_path, masked):
    """A task with the GCS key in the Spark connection's ``extra.conf`` and the S3 key in its own ``conf``."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "private"))
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({
        "conn_type": "spark", "host": "local[1]",
        "extra": {"conf": {GCS_SETTING: GCS_CSEK, "spark.io.encryption.enabled": "false"}}}))
    monkeypatch.delenv("WEEKLY_DISCOVERY_LAKE_CONN_ID", raising=False)
    task = spark_job("train", Path("/jobs/train.py"), ["--lake", "/srv/lake"])
    task.conf = {**task.conf, S3_SETTING: S3_SSE_KEY}
    task.add_lake_storage()
    return capture_submit(task._get_hook(), monkeypatch)


def test_encryption_keys_are_masked_and_kept_off_the_command_line(submitted, masked):
    assert (S3_SETTING, S3_SSE_KEY) in masked and (GCS_SETTING, GCS_CSEK) in masked
    assert [name for name, _ in masked if name == "spark.io.encryption.enabled"] == []  # "false" stays readable
    command = " ".join(submitted.command)
    assert S3_SSE_KEY not in command and GCS_CSEK not in command
    assert submitted.properties[S3_SETTING] == S3_SSE_KEY and submitted.properties[GCS_SETTING] == GCS_CSEK


@pytest.mark.parametrize("key", ["spark.hadoop.fs.s3a.encryption.key", "fs.gs.encryption.key",
                                 "spark.hadoop.fs.azure.sas.fixed.token.acct", "spark.hadoop.fs.s3a.secret.key",
                                 "spark.ssl.keyStorePassword", "spark.hadoop.fs.azure.account.key.acct",
                                 "AWS_SESSION_TOKEN", "spark.hadoop.google.cloud.auth.service.account.json.keyfile",
                                 "spark.hadoop.fs.s3a.server-side-encryption.key", "url.signature"])
def test_the_credential_rule_and_sparks_redaction_regex_match(submitted, key):
    regex = submitted.properties["spark.redaction.regex"]  # Java's syntax; a plain alternation reads the same
    assert spark_submit.is_credential_key(key)
    assert re.search(regex, key)


@pytest.mark.parametrize("key", ["spark.sql.session.timeZone", "spark.jars.packages", "spark.hadoop.fs.s3a.endpoint",
                                 "spark.ui.showConsoleProgress", "AWS_REGION"])
def test_ordinary_settings_are_not_redacted(submitted, key):
    assert not spark_submit.is_credential_key(key)
    assert not re.search(submitted.properties["spark.redaction.regex"], key)
