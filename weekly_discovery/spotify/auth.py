"""Access tokens from a refresh token, for unattended runs.

spotipy's own SpotifyOAuth is built for interactive use (a cache file, a browser prompt when the
refresh fails). A scheduled task needs something stricter: the token request has a timeout and
retries 429, server errors and lost connections under the project's HTTP retry policy
(:mod:`weekly_discovery.core.retry`), any other 4xx fails at once, an ``invalid_grant`` (revoked, or older than Spotify's six-month limit)
fails at once with the re-authorization instructions, and no token ever reaches a log line.
This class implements the small auth-manager protocol spotipy calls
(``get_access_token(as_dict=False)``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import requests

from weekly_discovery.core.retry import GaveUp, RetryPolicy, WaitTooLong, send
from weekly_discovery.spotify.credentials import SpotifyCredentials
from weekly_discovery.spotify.errors import (
    REAUTHORIZE_HINT,
    InvalidClient,
    ReauthorizationRequired,
    SpotifyUnavailable,
)

log = logging.getLogger(__name__)

#: Refresh this many seconds before Spotify's ``expires_in`` runs out.
EXPIRY_MARGIN_S = 60
TOKEN_ATTEMPTS = 6
TOKEN_TIMEOUT_S = 15
TOKEN_POLICY = RetryPolicy(max_attempts=TOKEN_ATTEMPTS, base_delay_s=0.5, max_delay_s=30.0,
                           request_timeout_s=TOKEN_TIMEOUT_S)


class RefreshTokenAuth:
    """Hands spotipy a valid access token, refreshing it with the stored refresh token."""

    def __init__(
        self,
        credentials: SpotifyCredentials,
        *,
        on_secret: Callable[[str], None] | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._credentials = credentials
        self._refresh_token = credentials.refresh_token
        self._on_secret = on_secret or (lambda secret: None)
        self._session = session or requests.Session()
        self._sleep = sleep
        self._lock = threading.Lock()
        self._access_token: str | None = None
        self._expires_at = 0.0
        self.scopes: frozenset[str] = frozenset()
        self.refreshes = 0
        self._on_secret(credentials.client_secret)
        self._on_secret(credentials.refresh_token)

    def get_access_token(self, as_dict: bool = False) -> str:
        with self._lock:
            if self._access_token is None or time.time() >= self._expires_at - EXPIRY_MARGIN_S:
                self._refresh()
            assert self._access_token is not None
            return self._access_token

    def invalidate(self) -> None:
        """Forget the access token (after a 401), so the next call refreshes it."""
        with self._lock:
            self._access_token = None

    def _refresh(self) -> None:
        data = {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
        auth = (self._credentials.client_id, self._credentials.client_secret)
        try:
            # a refresh grant only mints a token: safe to repeat although it is a POST
            response = send(self._session, "POST", self._credentials.token_url, data=data, auth=auth,
                            policy=TOKEN_POLICY, service="Spotify's token endpoint", idempotent=True,
                            sleep=self._sleep)
        except (GaveUp, WaitTooLong) as exc:
            raise SpotifyUnavailable(
                f"Could not refresh the Spotify access token at {self._credentials.token_url}: {exc}."
            ) from None
        if response.status_code != 200:
            self._raise_if_final(response)
        self._accept(response.json())

    def _accept(self, body: dict) -> None:
        token = body["access_token"]
        self._on_secret(token)
        if body.get("refresh_token"):  # Spotify may rotate it; the new one is valid until the same deadline
            self._refresh_token = body["refresh_token"]
            self._on_secret(self._refresh_token)
        self._access_token = token
        self._expires_at = time.time() + int(body.get("expires_in", 3600))
        self.scopes = frozenset((body.get("scope") or "").split())
        self.refreshes += 1
        log.info("Spotify access token refreshed (valid %ss)", body.get("expires_in", 3600))

    def _raise_if_final(self, response: requests.Response) -> None:
        """Turn a 4xx of the token endpoint into the error that names the fix (429 and 5xx never get here)."""
        if response.status_code not in (400, 401):
            raise InvalidClient(
                f"Spotify's token endpoint {self._credentials.token_url} answered {response.status_code}: check "
                "the token_url in the Spotify connection's extra (or remove it to use Spotify's own)."
            )
        try:
            error = response.json().get("error", "")
        except ValueError:
            error = ""
        if error == "invalid_grant":
            raise ReauthorizationRequired(
                "Spotify refused the refresh token (invalid_grant): it was revoked or is older than six "
                f"months. {REAUTHORIZE_HINT}"
            )
        if error == "invalid_client" or response.status_code == 401:
            raise InvalidClient(
                "Spotify refused the client id / secret (invalid_client). Check login (client id) and password "
                "(client secret) of the Spotify connection against your app's page on developer.spotify.com."
            )
        raise ReauthorizationRequired(f"Spotify's token endpoint answered {response.status_code} ({error}). "
                                      f"{REAUTHORIZE_HINT}")
