"""The spark-submit operator reads the job's exit status: a user error (2) fails the task without retry.

The hook is replaced by a stand-in that fails the way the provider's hook does (AirflowException, the
process's return code kept on ``_submit_sp``); tests/e2e/test_job_user_error.py shows it with real
spark-submit under ``airflow dags test``.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from weekly_discovery.airflow import spark_submit
from weekly_discovery.airflow.policy import spark_job


def failing_submit(returncode, k8s_exit_code=None):
    def execute(self, context):
        self._hook = SimpleNamespace(_submit_sp=SimpleNamespace(returncode=returncode),
                                     _is_kubernetes=k8s_exit_code is not None, _spark_exit_code=k8s_exit_code)
        raise AirflowException(f"Cannot execute: spark-submit ... Error code is: {returncode}.")
    return execute


@pytest.fixture
def operator(tmp_path, monkeypatch):
    monkeypatch.setattr(spark_submit, "package_zip", lambda: tmp_path / "weekly_discovery-0.zip")
    (tmp_path / "weekly_discovery-0.zip").write_bytes(b"")
    monkeypatch.setattr(spark_submit.PackagedSparkSubmitOperator, "add_lake_storage", lambda self: None)
    return spark_job("train", tmp_path / "train.py", ["--lake", str(tmp_path), "--ds", "2026-11-23"])


def test_exit_status_2_fails_without_retry_and_says_why(operator, monkeypatch):
    monkeypatch.setattr(SparkSubmitOperator, "execute", failing_submit(2))
    with pytest.raises(AirflowFailException) as raised:
        operator.execute({})
    message = str(raised.value)
    assert message.startswith("train: the Spark job stopped on a user error (exit status 2); retrying won't help.")
    assert "Read the job's log above" in message


@pytest.mark.parametrize("returncode", [1, 137])
def test_other_failures_keep_the_retryable_exception(operator, monkeypatch, returncode):
    monkeypatch.setattr(SparkSubmitOperator, "execute", failing_submit(returncode))
    with pytest.raises(AirflowException) as raised:
        operator.execute({})
    assert not isinstance(raised.value, AirflowFailException)
    assert f"Error code is: {returncode}." in str(raised.value)


def test_kubernetes_cluster_mode_reads_the_driver_exit_code(operator, monkeypatch):
    monkeypatch.setattr(SparkSubmitOperator, "execute", failing_submit(1, k8s_exit_code=2))
    with pytest.raises(AirflowFailException):
        operator.execute({})


def test_no_known_exit_status_is_retried():
    assert spark_submit.job_exit_code(None) is None
    assert spark_submit.job_exit_code(SimpleNamespace()) is None
