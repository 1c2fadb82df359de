"""The demo's warm Airflow process (devtools.warm_airflow): commands run in forks of it, each with the
caller's stdio, environment and exit status, so the demo's logs and timings stay what they were."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from devtools import warm_airflow

SOCKET = warm_airflow.SOCKET_ENV


def test_command_is_plain_airflow_without_a_server():
    assert warm_airflow.command(["dags", "test", "x"], {}) == ["airflow", "dags", "test", "x"]
    assert warm_airflow.command(["dags", "test", "x"], {SOCKET: "off"}) == ["airflow", "dags", "test", "x"]


def test_command_goes_through_the_server_named_in_the_environment():
    assert warm_airflow.command(["db", "migrate"], {SOCKET: "/run/s.sock"}) == [
        sys.executable, "-m", "devtools.warm_airflow", "run", "/run/s.sock", "--", "db", "migrate"]


def test_off_runs_plain_airflow(tmp_path):
    with warm_airflow.warm_server({"A": "1", SOCKET: "off"}, tmp_path / "warm.log") as env:
        assert env == {"A": "1"}
    assert not (tmp_path / "warm.log").exists()


def test_usage_error():
    assert warm_airflow.main(["serve"]) == 2


@pytest.fixture(scope="module")
def warm_env(tmp_path_factory):
    home = tmp_path_factory.mktemp("warm")
    env = {**os.environ, "AIRFLOW_HOME": str(home / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    env.pop(SOCKET, None)
    with warm_airflow.warm_server(env, home / "warm.log") as warm:
        assert SOCKET in warm, (home / "warm.log").read_text()
        yield warm


def _run(args, env, tmp_path, name):
    out = tmp_path / f"{name}.log"
    with out.open("w") as fh:
        code = subprocess.run(warm_airflow.command(args, env), check=False, env=env, stdout=fh, stderr=subprocess.STDOUT).returncode
    return code, out.read_text()


def test_a_command_runs_in_the_server_with_the_callers_environment_and_output(warm_env, tmp_path):
    env = {**warm_env, "AIRFLOW__CORE__DAGS_FOLDER": "/nowhere/special-dags"}
    code, output = _run(["config", "get-value", "core", "dags_folder"], env, tmp_path, "config")
    assert code == 0
    assert output.strip().splitlines()[-1] == "/nowhere/special-dags"


def test_two_commands_in_a_row_each_get_their_own_output_and_status(warm_env, tmp_path):
    first = _run(["config", "get-value", "core", "load_examples"], warm_env, tmp_path, "first")
    second = _run(["no-such-command"], warm_env, tmp_path, "second")
    assert first[0] == 0 and first[1].strip().splitlines()[-1] == "False"
    assert second[0] == 2  # argparse's usage error, as the airflow script exits
    assert "invalid choice" in second[1] and "False" not in second[1].splitlines()[-1]


def test_the_demo_starts_its_airflow_commands_through_the_warm_server(tmp_path, monkeypatch):
    from devtools import demo

    started = []

    class FakePopen:
        def __init__(self, command, **kwargs):
            started.append(command)

    monkeypatch.setattr(demo.subprocess, "Popen", FakePopen)
    demo.start_airflow(["db", "migrate"], {SOCKET: "/run/w.sock"}, "db-migrate", tmp_path)
    demo.start_airflow(["db", "migrate"], {}, "db-migrate", tmp_path)
    assert started == [[sys.executable, "-m", "devtools.warm_airflow", "run", "/run/w.sock", "--", "db", "migrate"],
                       ["airflow", "db", "migrate"]]
    assert (tmp_path / "logs" / "db-migrate.log").exists()
