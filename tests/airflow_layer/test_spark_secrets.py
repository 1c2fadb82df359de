"""Issue 12 item 6: no secret on the spark-submit command line.

The Spark connection's ``extra.conf`` (where docs/deploy.md told Azure users to put the account key)
became ``--conf`` flags, readable by every local user in ``ps``, in the Spark UI and in the task log (the
provider masks only keys containing "secret" or "password"); on YARN and Kubernetes the lake's S3 keys
became ``--conf spark.yarn.appMasterEnv.*`` / ``spark.kubernetes.driverEnv.*`` too. They now go in a 0600
``--properties-file`` that exists only during the submit, and credential values are registered with
Airflow's secret masker.

The submit is captured at ``subprocess.Popen`` (the command, its environment and the properties file as
spark-submit would read it); the last test runs a real spark-submit.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.providers.apache.spark.hooks import spark_submit as provider_hook

from weekly_discovery.airflow import spark_submit
from weekly_discovery.airflow.policy import spark_job
from weekly_discovery.airflow.private_folder import CACHE_ENV
from weekly_discovery.airflow.spark_submit import properties_text

AZURE_KEY = "azureKey+Zm9vYmFy/8c1d=="
AZURE_SETTING = "spark.hadoop.fs.azure.account.key.lakeacct.dfs.core.windows.net"
ACCESS_KEY = "AKIASECRETSTEST01"
SECRET_KEY = "s3-secret-5c0ffee7d2"
TOKEN = "session-token-77aa31"
PACKAGES = "org.apache.hadoop:hadoop-azure:3.5.0"
# Spark redacts what matches in its UI and event logs (its default misses encryption and account keys)
REDACTION = "(?i)key|secret|token|password|passwd|credential|encryption|sas|signature"


def read_properties(text: str) -> dict[str, str]:
    """The test's values carry no escapes: ``key=value`` per line."""
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def capture_submit(hook, monkeypatch) -> SimpleNamespace:
    """Run ``hook.submit`` against a stand-in for spark-submit that records what it was given."""
    seen = SimpleNamespace(command=None, env=None, file=None, mode=None, properties=None)

    class FakeSpark:
        def __init__(self, command, **kwargs):
            seen.command, seen.env = command, kwargs.get("env")
            if "--properties-file" in command:
                seen.file = Path(command[command.index("--properties-file") + 1])
                seen.mode = stat.S_IMODE(seen.file.stat().st_mode)
                seen.properties = read_properties(seen.file.read_text())
            self.stdout, self.returncode = iter(["\t Exit code: 0\n"]), 0  # what a finished k8s driver reports

        def wait(self):
            return 0

    monkeypatch.setattr(provider_hook.subprocess, "Popen", FakeSpark)
    hook.submit("/jobs/normalize.py")
    return seen


@pytest.fixture
def masked(monkeypatch):
    values = []
    monkeypatch.setattr(spark_submit, "mask_secret", lambda value, name=None: values.append((name, value)))
    return values


@pytest.fixture
def lake_on_s3(monkeypatch, tmp_path):
    """An S3 lake whose key pair comes from an Airflow connection, and an Azure key in the Spark connection."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "private"))
    monkeypatch.setenv("AIRFLOW_CONN_LAKE_S3", json.dumps({
        "conn_type": "aws", "login": ACCESS_KEY, "password": SECRET_KEY,
        "extra": {"endpoint_url": "http://minio:9000", "aws_session_token": TOKEN}}))
    monkeypatch.setenv("WEEKLY_DISCOVERY_LAKE_CONN_ID", "lake_s3")

    def task_on(master: str, **extra):
        monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({
            "conn_type": "spark", "host": master,
            "extra": {**extra, "conf": {"spark.jars.packages": PACKAGES, AZURE_SETTING: AZURE_KEY,
                                        "spark.sql.session.timeZone": "Europe/Paris"}}}))
        task = spark_job("normalize", Path("/jobs/normalize.py"), ["--lake", "s3://bucket/lake", "--ds", "2026-11-23"])
        task.add_lake_storage()
        return task

    return task_on


def no_secret_in(command: list[str]) -> bool:
    line = " ".join(command)
    return not any(s in line for s in (AZURE_KEY, ACCESS_KEY, SECRET_KEY, TOKEN))


def test_connection_conf_goes_in_a_private_properties_file(lake_on_s3, monkeypatch, tmp_path, masked):
    task = lake_on_s3("local[2]")
    seen = capture_submit(task._get_hook(), monkeypatch)

    assert no_secret_in(seen.command)
    assert AZURE_SETTING not in " ".join(seen.command) and PACKAGES not in " ".join(seen.command)
    assert seen.file.parent == tmp_path / "private" and seen.mode == 0o600
    assert seen.properties == {
        "spark.redaction.regex": REDACTION,
        "spark.jars.packages": PACKAGES,
        AZURE_SETTING: AZURE_KEY,
        "spark.sql.session.timeZone": "Europe/Paris",  # the connection's value wins over the DAG's, as before
        "spark.hadoop.fs.s3a.endpoint": "http://minio:9000",
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
    }
    confs = [seen.command[i + 1] for i, a in enumerate(seen.command) if a == "--conf"]
    assert confs == ["spark.ui.showConsoleProgress=false"]  # the DAG's timezone is overridden by the file
    assert "--load-spark-defaults" in seen.command  # spark-defaults.conf still applies beside the file
    assert not seen.file.exists()  # removed once spark-submit has been started and has finished
    # local mode: the lake's key pair reaches spark-submit through its process environment only
    assert seen.env["AWS_SECRET_ACCESS_KEY"] == SECRET_KEY and seen.env["AWS_SESSION_TOKEN"] == TOKEN


def test_credential_values_are_registered_with_the_masker(lake_on_s3, masked):
    lake_on_s3("local[2]")
    assert sorted(masked) == sorted([(AZURE_SETTING, AZURE_KEY), ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
                                     ("AWS_SECRET_ACCESS_KEY", SECRET_KEY), ("AWS_SESSION_TOKEN", TOKEN)])


def test_on_yarn_the_lake_keys_go_in_the_file_not_appmasterenv_flags(lake_on_s3, monkeypatch, masked):
    task = lake_on_s3("yarn", queue="default")
    seen = capture_submit(task._get_hook(), monkeypatch)

    assert no_secret_in(seen.command)
    assert "appMasterEnv" not in " ".join(seen.command)
    assert seen.mode == 0o600
    assert seen.properties["spark.yarn.appMasterEnv.AWS_ACCESS_KEY_ID"] == ACCESS_KEY
    assert seen.properties["spark.yarn.appMasterEnv.AWS_SECRET_ACCESS_KEY"] == SECRET_KEY
    assert seen.properties["spark.yarn.appMasterEnv.AWS_SESSION_TOKEN"] == TOKEN
    assert seen.properties[AZURE_SETTING] == AZURE_KEY
    # as the provider does on YARN: a client-mode driver runs inside spark-submit and reads its environment
    assert seen.env["AWS_SECRET_ACCESS_KEY"] == SECRET_KEY


def test_on_kubernetes_the_lake_keys_go_in_the_file_not_driverenv_flags(lake_on_s3, monkeypatch, masked):
    # the cncf.kubernetes provider is not installed here; the hook only checks that it is importable
    monkeypatch.setattr(provider_hook, "kube_client", SimpleNamespace(), raising=False)
    task = lake_on_s3("k8s://https://kube:6443", **{"deploy-mode": "cluster", "namespace": "spark"})
    seen = capture_submit(task._get_hook(), monkeypatch)

    assert no_secret_in(seen.command)
    assert "driverEnv" not in " ".join(seen.command)
    assert "spark.kubernetes.namespace=spark" in seen.command  # the provider's own flags stay
    assert seen.properties["spark.kubernetes.driverEnv.AWS_SECRET_ACCESS_KEY"] == SECRET_KEY
    assert seen.properties["spark.kubernetes.driverEnv.AWS_SESSION_TOKEN"] == TOKEN


def test_a_credential_in_the_tasks_own_conf_goes_in_the_file(monkeypatch, tmp_path, masked):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "private"))
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({"conn_type": "spark", "host": "local[1]"}))
    monkeypatch.delenv("WEEKLY_DISCOVERY_LAKE_CONN_ID", raising=False)
    task = spark_job("train", Path("/jobs/train.py"), ["--lake", "/srv/lake"])
    task.conf = {**task.conf, "spark.hadoop.fs.s3a.secret.key": SECRET_KEY}
    task.add_lake_storage()
    seen = capture_submit(task._get_hook(), monkeypatch)
    assert no_secret_in(seen.command)
    assert seen.properties == {"spark.redaction.regex": REDACTION, "spark.hadoop.fs.s3a.secret.key": SECRET_KEY}
    assert masked == [("spark.hadoop.fs.s3a.secret.key", SECRET_KEY)]


def test_without_private_settings_no_file_is_written(monkeypatch, tmp_path, masked):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "private"))
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({"conn_type": "spark", "host": "local[1]"}))
    monkeypatch.delenv("WEEKLY_DISCOVERY_LAKE_CONN_ID", raising=False)
    task = spark_job("train", Path("/jobs/train.py"), ["--lake", "/srv/lake"])
    task.add_lake_storage()
    seen = capture_submit(task._get_hook(), monkeypatch)
    assert seen.file is None and "--load-spark-defaults" not in seen.command
    assert masked == []


def test_the_file_is_removed_when_spark_submit_fails(lake_on_s3, monkeypatch, tmp_path, masked):
    task = lake_on_s3("local[2]")
    files = []

    def broken_spark(command, **kwargs):
        files.append(Path(command[command.index("--properties-file") + 1]))
        raise OSError("spark-submit: not found")

    monkeypatch.setattr(provider_hook.subprocess, "Popen", broken_spark)
    with pytest.raises(OSError):
        task._get_hook().submit("/jobs/normalize.py")
    assert files and not files[0].exists()
    assert [p.name for p in (tmp_path / "private").iterdir()] == []


def test_properties_text_escapes_what_java_would_misread():
    assert properties_text({"a b=c:d": " lead\\back\nnew#1=2"}) == "a\\ b\\=c\\:d=\\ lead\\\\back\\nnew#1=2\n"


@pytest.mark.spark
@pytest.mark.e2e
def test_real_spark_submit_reads_the_file_and_still_the_defaults(monkeypatch, tmp_path):
    """spark-submit 4.2 gets the private settings (with values Java would misread unescaped) and still
    applies ``$SPARK_CONF_DIR/spark-defaults.conf`` (``--load-spark-defaults``), the file winning a clash."""
    tricky = "k3y\\with=equals:colon #hash and  spaces"
    conf_dir = tmp_path / "spark-conf"
    conf_dir.mkdir()
    (conf_dir / "spark-defaults.conf").write_text(
        "spark.weekly.fromdefaults  yes\nspark.weekly.clash  defaults\nspark.ui.enabled false\n")
    app = tmp_path / "show_conf.py"
    out = tmp_path / "conf.json"
    app.write_text(
        "import json, sys\nfrom pyspark import SparkConf, SparkContext\n"
        "sc = SparkContext(conf=SparkConf())\n"
        "json.dump(dict(sc.getConf().getAll()), open(sys.argv[1], 'w'))\nsc.stop()\n")
    monkeypatch.setenv("SPARK_CONF_DIR", str(conf_dir))
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "private"))
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_SECRETS_TEST", json.dumps({
        "conn_type": "spark", "host": "local[1]",
        "extra": {"conf": {"spark.weekly.secret.key": tricky, "spark.weekly.clash": "file"}}}))
    monkeypatch.delenv("WEEKLY_DISCOVERY_LAKE_CONN_ID", raising=False)
    task = spark_submit.PackagedSparkSubmitOperator(
        task_id="show_conf", application=str(app), application_args=[str(out)], conn_id="spark_secrets_test",
        conf={"spark.ui.showConsoleProgress": "false"})
    task.add_lake_storage()
    task._get_hook().submit(str(app))

    seen = json.loads(out.read_text())
    assert seen["spark.weekly.secret.key"] == tricky
    assert seen["spark.weekly.clash"] == "file"
    assert seen["spark.weekly.fromdefaults"] == "yes"
    assert seen["spark.ui.showConsoleProgress"] == "false"
    assert [p.name for p in (tmp_path / "private").iterdir()] == []


def test_an_operator_properties_file_cannot_hide_the_private_settings(lake_on_s3, monkeypatch, masked):
    task = lake_on_s3("local[2]")
    task.properties_file = "/etc/spark/job.properties"
    monkeypatch.setattr(provider_hook.subprocess, "Popen", lambda *a, **k: pytest.fail("spark-submit started"))
    with pytest.raises(ValueError) as refused:
        task._get_hook().submit("/jobs/normalize.py")
    assert str(refused.value).startswith(
        "properties_file='/etc/spark/job.properties' cannot be combined with the connection's extra.conf")
    assert "put those settings in spark-defaults.conf or the task's conf instead" in str(refused.value)


def test_a_properties_file_left_by_a_killed_task_is_deleted_after_a_day(tmp_path):
    private = spark_submit.private_dir(tmp_path / "private")
    left = private / ".spark-submit-killed.properties"
    recent = private / ".spark-submit-running.properties"
    for path, age in ((left, 25 * 3600), (recent, 60)):
        path.write_text(f"spark.hadoop.fs.s3a.secret.key={SECRET_KEY}\n")
        os.utime(path, (path.stat().st_mtime - age,) * 2)
    with spark_submit.properties_file({"k": "v"}, private) as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == "k=v\n"
    assert not left.exists() and recent.exists()
