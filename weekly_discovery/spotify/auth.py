"""Access tokens from a refresh token, for unattended runs.

spotipy's own SpotifyOAuth is built for interactive use (a cache file, a browser prompt when the
refresh fails). A scheduled task needs something stricter: the token request has a timeout and
retries server errors, an ``invalid_grant`` (revoked, or older than Spotify's six-month limit)
fails at once with the re-authorization instructions, and no token ever reaches a log line.
This class implements the small auth-manager protocol spotipy calls
(``get_access_token(as_dict=False)``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Callable

import requests

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
        last_problem = ""
        for attempt in range(1, TOKEN_ATTEMPTS + 1):
            try:
                response = self._session.post(
                    self._credentials.token_url, data=data, auth=auth, timeout=TOKEN_TIMEOUT_S
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_problem = f"{type(exc).__name__}"
            else:
                if response.status_code == 200:
                    self._accept(response.json())
                    return
                self._raise_if_final(response)
                last_problem = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After")
                if response.status_code == 429 and retry_after and retry_after.isdigit():
                    log.warning("token endpoint rate-limited; waiting %ss (attempt %d)", retry_after, attempt)
                    self._sleep(float(retry_after))
                    continue
            delay = min(30.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
            log.warning("token refresh failed (%s), retrying in %.1fs (attempt %d/%d)",
                        last_problem, delay, attempt, TOKEN_ATTEMPTS)
            self._sleep(delay)
        raise SpotifyUnavailable(
            f"Could not refresh the Spotify access token after {TOKEN_ATTEMPTS} attempts ({last_problem}) "
            f"at {self._credentials.token_url}."
        )

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

    @staticmethod
    def _raise_if_final(response: requests.Response) -> None:
        if response.status_code not in (400, 401):
            return
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
