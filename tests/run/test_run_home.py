"""The pieces of ``make run`` that need no Airflow: the credential store, the lock, the checks before anything
starts, the password kept across restarts, and ``make status``'s advice on the refresh token's age."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from weekly_discovery.service.home import RunHome, authorized_at, resolve_home, store_connection
from weekly_discovery.core.errors import UserError
from weekly_discovery.service.airflow_services import PASSWORDS_FILE, check_port, kept_password, until_signal
from weekly_discovery.service.run import RunError, RunLock, check_connection, checked_config, config_path
from weekly_discovery.service.status import credential_line

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CONNECTION = {"conn_type": "generic", "login": "app", "password": "secret",
              "extra": json.dumps({"refresh_token": "token", "authorized_at": "2026-07-03T10:00:00+00:00"})}


def test_the_home_is_the_env_override_else_xdg_else_local_share(tmp_path):
    assert resolve_home({"WEEKLY_DISCOVERY_HOME": str(tmp_path / "h")}).root == tmp_path / "h"
    assert resolve_home({"XDG_DATA_HOME": str(tmp_path / "d"), "HOME": "/nowhere"}).root == tmp_path / "d" / "weekly-discovery"
    assert resolve_home({"HOME": str(tmp_path)}).root == tmp_path / ".local" / "share" / "weekly-discovery"


def test_the_store_is_0600_in_a_0700_folder_and_a_new_consent_replaces_the_old(tmp_path):
    path = RunHome(tmp_path).connections_file
    old = os.umask(0)
    try:
        store_connection(path, "spotify_default", CONNECTION)
        store_connection(path, "other", {"conn_type": "generic"})
        store_connection(path, "spotify_default", {**CONNECTION, "password": "new"})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = json.loads(path.read_text())
    assert sorted(stored) == ["other", "spotify_default"] and stored["spotify_default"]["password"] == "new"
    assert [p.name for p in path.parent.iterdir()] == ["connections.json"]  # no partial file left
    assert authorized_at(stored["spotify_default"]) == datetime(2026, 7, 3, 10, tzinfo=UTC)


def test_the_connection_check_names_the_fix(tmp_path):
    home = RunHome(tmp_path)
    with pytest.raises(RunError, match=r"no Spotify connection 'spotify_default' in .*connections.json: run "
                                       r"`make spotify-auth` first"):
        check_connection("spotify_default", home, {})
    store_connection(home.connections_file, "spotify_default", {**CONNECTION, "extra": "{}"})
    with pytest.raises(UserError, match="lacks extra \"refresh_token\""):
        check_connection("spotify_default", home, {})
    store_connection(home.connections_file, "spotify_default", CONNECTION)
    assert check_connection("spotify_default", home, {}) == str(home.connections_file)
    os.chmod(home.connections_file, 0o644)
    with pytest.raises(RunError, match="readable by others: `chmod 600"):
        check_connection("spotify_default", home, {})
    assert check_connection("spotify_default", home, {"AIRFLOW_CONN_SPOTIFY_DEFAULT": "{}"}) == \
        "$AIRFLOW_CONN_SPOTIFY_DEFAULT"


def test_the_config_is_the_argument_else_the_env_else_the_one_in_the_folder(tmp_path):
    (tmp_path / "weekly-discovery.toml").write_text('[sources]\nliked = ["saved_tracks"]\n')
    assert config_path("a.toml", {"WEEKLY_DISCOVERY_CONFIG": "b.toml"}, tmp_path).name == "a.toml"
    assert config_path(None, {"WEEKLY_DISCOVERY_CONFIG": "b.toml"}, tmp_path).name == "b.toml"
    assert config_path(None, {}, tmp_path) == tmp_path / "weekly-discovery.toml"
    with pytest.raises(RunError, match="no config file: pass CONFIG="):
        config_path(None, {}, tmp_path / "elsewhere")


def test_the_lake_is_in_the_home_unless_the_config_or_the_env_names_one(tmp_path):
    home = RunHome(tmp_path / "home")
    bare = tmp_path / "bare.toml"
    bare.write_text('[sources]\nliked = ["saved_tracks"]\n')
    config, default = checked_config(bare, home, {})
    assert default == str(home.lake) and config.lake_root == str(home.lake)
    named = tmp_path / "named.toml"
    named.write_text('[sources]\nliked = ["saved_tracks"]\n[lake]\nroot = "mylake"\n')
    config, default = checked_config(named, home, {})
    assert default is None and config.lake_root == str(tmp_path / "mylake")
    config, default = checked_config(bare, home, {"WEEKLY_DISCOVERY_LAKE": str(tmp_path / "env")})
    assert default is None and config.lake_root == str(tmp_path / "env")


def test_one_holder_of_the_lock_and_what_it_says(tmp_path):
    path = tmp_path / "run.lock"
    first, second = RunLock(path), RunLock(path)
    assert first.holder() is None
    assert first.acquire()
    assert not second.acquire()
    first.write({"pid": 42, "address": "http://127.0.0.1:8080/"})
    assert second.holder() == {"pid": 42, "address": "http://127.0.0.1:8080/"}
    first.release()
    assert second.holder() is None and second.acquire()
    second.release()


def test_the_password_is_kept_across_starts_unless_its_file_is_readable_by_others(tmp_path):
    first = kept_password(tmp_path)
    assert kept_password(tmp_path) == first
    os.chmod(tmp_path / PASSWORDS_FILE, 0o644)
    replaced = kept_password(tmp_path)
    assert replaced != first and stat.S_IMODE((tmp_path / PASSWORDS_FILE).stat().st_mode) == 0o600


@pytest.mark.parametrize("given, expected", [
    (NOW - timedelta(days=3), "given 3 days ago (2026-12-04): valid until about 2027-06-04"),
    (NOW - timedelta(days=160), "given 5 months ago (2026-06-30): renew with `make spotify-auth` within 3 weeks "
                                "(it expires about 2026-12-29)"),
    (NOW - timedelta(days=200), "given 6 months ago (2026-05-21): it expired about 2026-11-19; renew it now"),
])
def test_the_token_age_comes_with_renewal_advice(tmp_path, given, expected):
    home = RunHome(tmp_path)
    extra = json.dumps({"refresh_token": "t", "authorized_at": given.isoformat()})
    store_connection(home.connections_file, "spotify_default", {**CONNECTION, "extra": extra})
    assert expected in credential_line(home, "spotify_default", NOW)


def test_status_without_a_store_says_to_authorize(tmp_path):
    assert "run `make spotify-auth`" in credential_line(RunHome(Path(tmp_path)), "spotify_default", NOW)


def test_the_port_of_a_stopped_server_is_free_at_once_a_listening_one_is_not():
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    with pytest.raises(SystemExit, match=f"port {port} on 127.0.0.1 is in use"):
        check_port("127.0.0.1", port, "RUN_ARGS='--port {port}'")
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server's side closes first, as a stopped api-server does: it waits in TIME_WAIT
    client.close()
    server.close()
    check_port("127.0.0.1", port, "RUN_ARGS='--port {port}'")  # a restart right after a stop binds


def test_a_signal_ends_the_block_quietly_and_a_second_one_cannot_cut_the_clean_up_short(capsys):
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    reached = []
    try:
        with until_signal("stopping Airflow..."):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # interrupted by the signal
            reached.append("after the signal")
        os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C during the clean-up: ignored
        reached.append("clean-up")
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert reached == ["clean-up"]
    assert capsys.readouterr().out == "\nSIGTERM: stopping Airflow...\n"
