"""The init step refuses placeholder and weak secrets (issue 12, item 10).

Compose's ``${VAR:?}`` only rejects empty values: with ``.env.example`` copied unchanged, the JWT
secret would be ``change-me-jwt-secret`` and anyone reaching the API could mint admin tokens. The
``airflow-init`` service (which every other Airflow service waits for) runs docker/check-secrets.py
first; here it runs with exactly the environment Compose resolves for that service, from the example
file (refused) and from freshly generated values (accepted).
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.test_compose import COMPOSE_FILE, ENV_EXAMPLE, REPO, SECRETS, compose, compose_bin  # noqa: F401

CHECK = REPO / "docker" / "check-secrets.py"
INIT = REPO / "docker" / "airflow-init.sh"


def generated_env() -> dict[str, str]:
    """What a user following .env.example's instructions puts in .env."""
    return {
        "AIRFLOW_UID": "1000",
        "SPOTIFY_CLIENT_ID": secrets.token_hex(16),
        "SPOTIFY_CLIENT_SECRET": secrets.token_hex(16),
        "SPOTIFY_REFRESH_TOKEN": secrets.token_urlsafe(96),
        "AIRFLOW_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "AIRFLOW_JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW_API_SECRET_KEY": secrets.token_hex(32),
        "AIRFLOW_FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }


def write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path


def init_environment(compose_bin: Path, env_file: Path) -> dict[str, str]:
    """The environment Compose gives the airflow-init container for this env file."""
    import json

    result = compose(compose_bin, env_file, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return {k: str(v) for k, v in json.loads(result.stdout)["services"]["airflow-init"]["environment"].items()}


def run_check(environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECK)], env={"PATH": "/usr/bin:/bin", **environment},
                          capture_output=True, text=True, timeout=30)


def test_the_example_values_are_refused_naming_every_key(compose_bin, tmp_path):
    env_file = tmp_path / ".env"
    shutil.copy(ENV_EXAMPLE, env_file)
    result = run_check(init_environment(compose_bin, env_file))
    assert result.returncode != 0
    for key in SECRETS:
        assert f"{key} in .env" in result.stderr, f"{key} not named: {result.stderr}"
    assert "change-me" not in result.stderr.replace('"change-me"', "")  # values are never echoed
    assert "python3 -c 'import secrets; print(secrets.token_hex(32))'" in result.stderr  # the fix


def test_generated_values_are_accepted(compose_bin, tmp_path):
    result = run_check(init_environment(compose_bin, write_env(tmp_path / ".env", generated_env())))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize("key, value, expected", [
    ("AIRFLOW_JWT_SECRET", "a1" * 15 + "b", "AIRFLOW_JWT_SECRET in .env is too short (31 characters; at least 32)"),
    ("AIRFLOW_API_SECRET_KEY", "x" * 20, "AIRFLOW_API_SECRET_KEY in .env is too short (20 characters; at least 32)"),
    ("AIRFLOW_FERNET_KEY", "a" * 44, "AIRFLOW_FERNET_KEY in .env is not a Fernet key"),
    ("AIRFLOW_FERNET_KEY", base64.urlsafe_b64encode(b"k" * 16).decode(), "AIRFLOW_FERNET_KEY in .env is not a Fernet key"),
    ("AIRFLOW_ADMIN_PASSWORD", "hunter2hunt", "AIRFLOW_ADMIN_PASSWORD in .env is too short (11 characters; at least 12)"),
    ("POSTGRES_PASSWORD", "abc123abc123abc", "POSTGRES_PASSWORD in .env is too short (15 characters; at least 16)"),
    ("POSTGRES_PASSWORD", "abc123abc123abc1%", "POSTGRES_PASSWORD in .env must be letters and digits only"),
    ("SPOTIFY_CLIENT_SECRET", "CHANGE-ME-please", "SPOTIFY_CLIENT_SECRET in .env is still a placeholder"),
    ("AIRFLOW_JWT_SECRET", "change-me-" + "0" * 40, "AIRFLOW_JWT_SECRET in .env is still a placeholder"),
])
def test_one_weak_value_is_refused_naming_its_key_and_rule(compose_bin, tmp_path, key, value, expected):
    values = {**generated_env(), key: value}
    result = run_check(init_environment(compose_bin, write_env(tmp_path / ".env", values)))
    assert result.returncode != 0
    assert expected in result.stderr
    assert value not in result.stderr
    assert result.stderr.count(" in .env ") == 1  # only the weak one


def test_the_minimum_lengths_are_inclusive(compose_bin, tmp_path):
    values = {**generated_env(), "AIRFLOW_JWT_SECRET": "k" * 32, "AIRFLOW_API_SECRET_KEY": "s" * 32,
              "AIRFLOW_ADMIN_PASSWORD": "p" * 12, "POSTGRES_PASSWORD": "d" * 16}
    result = run_check(init_environment(compose_bin, write_env(tmp_path / ".env", values)))
    assert result.returncode == 0, result.stderr


def test_the_init_service_runs_the_check_before_anything_else():
    script = INIT.read_text()
    body = [line for line in script.splitlines() if line and not line.startswith("#")]
    assert body[0] == "set -euo pipefail"
    assert body[1] == "python /opt/weekly-discovery/check-secrets.py"  # errexit: a refusal stops the init
    dockerfile = (REPO / "docker" / "airflow.Dockerfile").read_text()
    assert "COPY docker/airflow-init.sh docker/check-secrets.py /opt/weekly-discovery/" in dockerfile
    ignore = (REPO / "docker" / "airflow.Dockerfile.dockerignore").read_text().split()
    assert "!docker/check-secrets.py" in ignore


@pytest.mark.parametrize("key", [
    base64.urlsafe_b64encode(b"k" * 32).decode(), "a" * 43 + "=", "a" * 44, "!" * 44,
    base64.urlsafe_b64encode(b"k" * 31).decode(), base64.urlsafe_b64encode(b"k" * 33).decode(), "é" * 44,
])
def test_the_fernet_rule_agrees_with_cryptography(key):
    """The script checks keys with the standard library (root's Python): it must judge as Fernet does."""
    from cryptography.fernet import Fernet

    try:
        Fernet(key.encode("utf-8"))
        accepted = True
    except ValueError:
        accepted = False
    result = run_check({"AIRFLOW__CORE__FERNET_KEY": key})  # the other values unset: each is named on its own line
    assert result.returncode == 1 and "AIRFLOW_ADMIN_PASSWORD in .env is not set" in result.stderr
    assert ("AIRFLOW_FERNET_KEY in .env is not a Fernet key" not in result.stderr) == accepted
