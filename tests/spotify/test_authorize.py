"""`make spotify-auth`: the Authorization Code flow with a loopback redirect, and the stored connection, against the
stand-in."""

from __future__ import annotations

import json
import os
import re
import threading
from urllib.parse import parse_qs, urlsplit

import requests

from devtools.standin import StandIn, generate_demo_library
from weekly_discovery.service.spotify_auth import main
from weekly_discovery.spotify.authorize import SCOPES, authorize


def run_flow(standin: StandIn, **kwargs):
    said: list[str] = []
    result: dict = {}

    def target():
        try:
            result["credentials"] = authorize(
                standin.client_id, standin.client_secret, port=0, authorize_url=standin.authorize_url,
                token_url=standin.token_url, api_base_url=standin.api_base_url, open_browser=False,
                announce=said.append, wait_seconds=20, **kwargs,
            )
        except Exception as exc:  # surfaced by the assertions below
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    while not said:
        thread.join(0.05)
    url = re.search(r"(http://\S+)", said[0]).group(1)
    browser = requests.get(url, timeout=10)  # the stand-in consents and redirects to our callback
    thread.join(20)
    return url, browser, said, result


def test_flow_asks_only_needed_scopes_uses_loopback_ip_and_yields_a_working_refresh_token():
    with StandIn(generate_demo_library(seed=1, n_tracks=200)) as standin:
        url, browser, said, result = run_flow(standin)
        assert "error" not in result, result
        assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in url and "localhost" not in url
        assert sorted(standin.last_authorize_scopes) == sorted(SCOPES)
        assert browser.status_code == 200 and "authorized" in browser.text
        credentials = result["credentials"]
        assert credentials.refresh_token and credentials.refresh_token != standin.refresh_token
        # the new refresh token really works with the pipeline's client
        from weekly_discovery.spotify.client import SpotifyAPI

        api = SpotifyAPI(credentials)
        assert api.call(api.sp.me)["id"] == standin.library.user_id
        conn = json.loads(credentials.connection_uri_json())
        assert conn["extra"]["refresh_token"] == credentials.refresh_token
        assert conn["login"] == standin.client_id and conn["password"] == standin.client_secret


def test_cli_without_client_id_names_the_fix(capsys, monkeypatch):
    monkeypatch.delenv("SPOTIFY_CLIENT_ID", raising=False)
    try:
        main([])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "pass --client-id or set SPOTIFY_CLIENT_ID" in capsys.readouterr().err


# ---- the loopback callback serves until the answer to this request arrives (issue 12, item 12) ----

def start_flow(standin: StandIn, wait_seconds: float = 20):
    """Start :func:`authorize` in a thread; return (thread, result, callback address, state)."""
    said: list[str] = []
    result: dict = {}

    def target():
        try:
            result["credentials"] = authorize(
                standin.client_id, standin.client_secret, port=0, authorize_url=standin.authorize_url,
                token_url=standin.token_url, api_base_url=standin.api_base_url, open_browser=False,
                announce=said.append, wait_seconds=wait_seconds,
            )
        except Exception as exc:  # surfaced by the assertions
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    while not said:
        thread.join(0.05)
    url = re.search(r"(http://\S+)", said[0]).group(1)
    query = parse_qs(urlsplit(url).query)
    return thread, result, url, query["redirect_uri"][0], query["state"][0]


def test_other_requests_to_the_port_do_not_end_the_flow():
    with StandIn(generate_demo_library(seed=1, n_tracks=200)) as standin:
        thread, result, url, callback, state = start_flow(standin)
        base = callback.rsplit("/", 1)[0]
        assert requests.get(f"{base}/favicon.ico", timeout=10).status_code == 404
        assert requests.get(f"{base}/callbackx?code=c&state={state}", timeout=10).status_code == 404
        wrong = requests.get(f"{callback}?code=forged&state=not-{state}", timeout=10)
        assert wrong.status_code == 400 and "ignored" in wrong.text
        browser = requests.get(url, timeout=10)  # the real answer, after all that
        thread.join(20)
        assert "error" not in result, result
        assert browser.status_code == 200 and "authorized" in browser.text
        assert result["credentials"].refresh_token


def test_an_error_answer_is_reported_without_control_characters():
    with StandIn(generate_demo_library(seed=1, n_tracks=200)) as standin:
        thread, result, _, callback, state = start_flow(standin)
        evil = "access_denied\x1b]0;pwned\x07\x1b[2J\u202e\r\n"
        answer = requests.get(callback, params={"error": evil, "state": state}, timeout=10)
        thread.join(20)
        assert answer.status_code == 200 and "failed" in answer.text
        message = str(result["error"])
        assert message.startswith("Spotify did not authorize the app: access_denied")
        assert not any(ord(ch) < 32 or 0x7f <= ord(ch) < 0xa0 or ch == "\u202e" for ch in message), repr(message)


def test_an_answer_with_another_state_is_ignored_and_the_timeout_says_so():
    with StandIn(generate_demo_library(seed=1, n_tracks=200)) as standin:
        thread, result, _, callback, state = start_flow(standin, wait_seconds=2)
        requests.get(callback, params={"error": "access_denied\x1b[31m", "state": "forged"}, timeout=10)
        requests.get(callback.rsplit("/", 1)[0] + "/", timeout=10)
        thread.join(20)
        message = str(result["error"])
        assert "no answer from Spotify within 2 s" in message
        assert "1 answer with another state was ignored (possible CSRF)" in message
        assert "access_denied" not in message and "\x1b" not in message


def test_cli_stores_the_connection_in_the_run_home_replaces_it_and_prints_no_secret(tmp_path, monkeypatch, capsys):
    from weekly_discovery.spotify import authorize as module

    home = tmp_path / "home"
    monkeypatch.setenv("WEEKLY_DISCOVERY_HOME", str(home))
    with StandIn(generate_demo_library(seed=1, n_tracks=200), client_secret="s3cr3t-" + "x" * 12) as standin:
        monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", standin.client_secret)
        # the "browser": opens the consent address the command opens, the stand-in consents
        monkeypatch.setattr(module.webbrowser, "open", lambda url: threading.Thread(
            target=requests.get, args=(url,), kwargs={"timeout": 10}).start())
        args = ["--client-id", standin.client_id, "--port", "0", "--authorize-url", standin.authorize_url,
                "--token-url", standin.token_url, "--api-base-url", standin.api_base_url]
        store = home / "secrets" / "connections.json"
        tokens = []
        for _ in range(2):
            assert main(args) == 0
            stored = json.loads(store.read_text())
            assert list(stored) == ["spotify_default"]  # replaced, not added
            tokens.append(json.loads(stored["spotify_default"]["extra"])["refresh_token"])
        said = capsys.readouterr()
        assert os.stat(store).st_mode & 0o777 == 0o600
        assert tokens[0] != tokens[1] and stored["spotify_default"]["password"] == standin.client_secret
        assert f"Stored the connection spotify_default in {store}" in said.out
        assert [t for t in (standin.client_secret, *tokens) if t in said.out + said.err] == []

        assert main([*args, "--print-export"]) == 0  # for environment variables: printed, not stored
        exported = capsys.readouterr().out
        line = re.search(r"^export AIRFLOW_CONN_SPOTIFY_DEFAULT='(.+)'$", exported, re.M).group(1)
        assert json.loads(line)["password"] == standin.client_secret
        assert json.loads(line)["extra"]["refresh_token"] not in tokens
        assert json.loads(json.loads(store.read_text())["spotify_default"]["extra"])["refresh_token"] == tokens[1]
