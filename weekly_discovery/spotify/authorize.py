"""One-time authorization: the Authorization Code flow that gets a refresh token for your Spotify account.

Runs the flow with a loopback redirect, ``http://127.0.0.1:PORT/callback`` (Spotify refuses ``localhost``
redirect URIs since 2025: register exactly this URI in your app's settings) and asks only for the scopes the
pipeline uses. ``make spotify-auth`` (:mod:`weekly_discovery.service.spotify_auth`) runs it and stores the
connection.

The loopback server answers every request until the one to ``/callback`` carrying this run's
``state`` arrives (or the wait ends): a favicon fetch, a scanner or an old tab's answer must neither
end the flow nor be taken for Spotify's answer. What it echoes from a request is stripped of control
characters first (:func:`printable`).
"""

from __future__ import annotations

import http.server
import secrets
import time
import unicodedata
import urllib.parse
import webbrowser
from dataclasses import dataclass
from datetime import timedelta

import spotipy
from spotipy.cache_handler import MemoryCacheHandler

from weekly_discovery.core.errors import UserError
from weekly_discovery.spotify.credentials import (
    DEFAULT_API_BASE_URL,
    DEFAULT_AUTHORIZE_URL,
    DEFAULT_TOKEN_URL,
    SpotifyCredentials,
)

#: Read Liked Songs; read your own and collaborative playlists; write the private "Weekly Discovery" playlist.
SCOPES = ("user-library-read", "playlist-read-private", "playlist-read-collaborative", "playlist-modify-private")
DEFAULT_PORT = 8888
DEFAULT_CONNECTION_ID = "spotify_default"
#: Spotify's refresh tokens expire six months after consent (docs/run.md); counted as 182 days.
TOKEN_LIFETIME = timedelta(days=182)
WAIT_SECONDS = 300
REQUEST_SECONDS = 10  # one connection to the callback port may hold the loop this long, no more


class AuthorizationFailed(UserError, RuntimeError):
    pass


@dataclass
class _Callback:
    """What the loopback server has seen: the answer to this request (its ``state``), and what it ignored."""

    expected_state: str
    answered: bool = False
    code: str | None = None
    error: str | None = None
    other_state: int = 0  # /callback answers carrying another state (another tab, or forged)


def printable(text: str, limit: int = 200) -> str:
    """``text`` without control or format characters (terminal escapes, bidi overrides), at most ``limit`` long.

    The callback's query is chosen by whoever sends the request: it is shown to the user only through this.
    """
    clean = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return clean if len(clean) <= limit else clean[:limit] + "..."


def redirect_uri(port: int) -> str:
    return f"http://127.0.0.1:{port}/callback"


def authorize(
    client_id: str,
    client_secret: str,
    *,
    port: int = DEFAULT_PORT,
    authorize_url: str = DEFAULT_AUTHORIZE_URL,
    token_url: str = DEFAULT_TOKEN_URL,
    api_base_url: str = DEFAULT_API_BASE_URL,
    open_browser: bool = True,
    announce=print,
    wait_seconds: float = WAIT_SECONDS,
) -> SpotifyCredentials:
    """Walk the user through consent and return the credentials with the new refresh token."""
    state = secrets.token_urlsafe(16)
    callback = _Callback(expected_state=state)
    server = _callback_server(port, callback)
    uri = redirect_uri(server.server_address[1])
    oauth = spotipy.SpotifyOAuth(
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=uri,
        scope=" ".join(SCOPES),
        state=state,
        cache_handler=MemoryCacheHandler(),
        open_browser=False,
    )
    oauth.OAUTH_AUTHORIZE_URL = authorize_url
    oauth.OAUTH_TOKEN_URL = token_url
    url = oauth.get_authorize_url()
    announce(f"Open this address in a browser signed in to Spotify and allow access:\n\n  {url}\n")
    announce(f"(Your app's settings on developer.spotify.com must list the redirect URI {uri})")
    if open_browser:
        webbrowser.open(url)
    _serve_until_answered(server, callback, wait_seconds)
    if not callback.answered:
        ignored = (f"; {callback.other_state} answer{'s' if callback.other_state > 1 else ''} with another state "
                   f"{'were' if callback.other_state > 1 else 'was'} ignored (possible CSRF)"
                   if callback.other_state else "")
        raise AuthorizationFailed(
            f"no answer from Spotify within {wait_seconds:g} s at {uri}{ignored}; run the command again and "
            "open the new address (check that the redirect URI above is registered for your app)")
    if callback.error or not callback.code:
        raise AuthorizationFailed(f"Spotify did not authorize the app: {printable(callback.error or 'no code')}")
    token = oauth.get_access_token(callback.code, as_dict=True, check_cache=False)
    granted = set((token.get("scope") or "").split())
    missing = set(SCOPES) - granted
    if missing:
        raise AuthorizationFailed(f"Spotify granted fewer scopes than needed; missing: {', '.join(sorted(missing))}")
    return SpotifyCredentials(
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=token["refresh_token"],
        api_base_url=api_base_url,
        token_url=token_url,
    )


def _serve_until_answered(server: http.server.HTTPServer, callback: _Callback, wait_seconds: float) -> None:
    """Serve requests one by one until the answer carrying this request's state arrives, or time is up.

    Anything else reaching the port (a favicon, a scanner, an old tab's answer, a forged one) is
    answered and ignored: it must neither end the flow nor be taken for Spotify's answer.
    """
    deadline = time.monotonic() + wait_seconds
    try:
        while not callback.answered:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            server.timeout = remaining
            server.handle_request()
    finally:
        server.server_close()


def _callback_server(port: int, callback: _Callback) -> http.server.HTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = REQUEST_SECONDS  # a client that connects and sends nothing cannot stall the flow

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = urllib.parse.urlsplit(self.path)
            if parts.path != "/callback":
                self.send_error(404)
                return
            query = urllib.parse.parse_qs(parts.query)
            if (query.get("state") or [None])[0] != callback.expected_state:
                callback.other_state += 1
                self._reply(400, b"This answer does not belong to the authorization in progress; it was ignored.")
                return
            callback.code = (query.get("code") or [None])[0]
            callback.error = (query.get("error") or [None])[0]
            callback.answered = True
            self._reply(200, b"Weekly Discovery is authorized. You can close this tab." if callback.code
                        and not callback.error else b"Authorization failed; see the terminal.")

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # keep the code out of the terminal
            pass

    return http.server.HTTPServer(("127.0.0.1", port), Handler)
