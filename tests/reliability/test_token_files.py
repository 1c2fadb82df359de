"""Token files: the project writes none, so there is none to leave world-readable.

spotipy's default cache handler writes the access and refresh tokens to ``.cache`` in the working
directory (mode 0644 under a usual umask). ``make spotify-auth`` (it prints the connection to store
instead) and the pipeline's client use memory-only caches: after a consent flow and API calls that
refresh an expired token, no file has appeared in the working directory or the home directory.
Should a token file ever be introduced, this test shows it (path and mode) and it must be 0600.
"""

from __future__ import annotations

import re
import stat
import threading
import time
from pathlib import Path

import requests

from devtools.standin import FaultConfig, StandIn, generate_demo_library
from tests.reliability.conftest import make_api
from weekly_discovery.spotify.authorize import authorize


def snapshot(*folders: Path) -> dict[str, str]:
    """Every file under ``folders`` with its permission bits."""
    return {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for folder in folders for p in folder.rglob("*")
            if p.is_file()}


def test_authorization_and_token_refreshes_write_no_token_file(tmp_path, monkeypatch):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    library = generate_demo_library(seed=1, n_tracks=200)
    with StandIn(library, faults=FaultConfig(token_ttl=1)) as standin:
        said: list[str] = []
        result: dict = {}

        def consent_flow():
            result["credentials"] = authorize(
                standin.client_id, standin.client_secret, port=0, authorize_url=standin.authorize_url,
                token_url=standin.token_url, api_base_url=standin.api_base_url, open_browser=False,
                announce=said.append, wait_seconds=20)

        thread = threading.Thread(target=consent_flow)
        thread.start()
        while not said and thread.is_alive():
            thread.join(0.05)
        url = re.search(r"(http://\S+)", said[0]).group(1)
        assert requests.get(url, timeout=10).status_code == 200  # the stand-in consents, redirects back
        thread.join(20)
        assert "credentials" in result
        refresh_token = result["credentials"].refresh_token

        api = make_api(standin)
        assert api.call(api.sp.me)["id"] == library.user_id
        issued = standin.count("POST /api/token", status=200)
        while standin.count("POST /api/token", status=200) == issued:  # until the 1 s token expired
            time.sleep(0.1)
            assert api.call(api.sp.me)["id"] == library.user_id
        assert refresh_token

    assert snapshot(home, work) == {}  # no .cache, no token file of any kind
