"""`make spotify-auth`: the Authorization Code flow with a loopback redirect, against the stand-in."""

from __future__ import annotations

import json
import re
import threading

import requests

from devtools.standin import StandIn, generate_demo_library
from weekly_discovery.spotify.authorize import SCOPES, authorize, main


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
