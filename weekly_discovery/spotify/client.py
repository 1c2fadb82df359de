"""spotipy with the retry policy an unattended weekly job needs.

spotipy's built-in retries (urllib3) retry every 429 the same way and honour any Retry-After
without a cap; when they run out, the error no longer says what the server answered. Here spotipy
gets a plain ``requests.Session`` (no adapter retries) and :meth:`SpotifyAPI.call` runs each call
under the project's HTTP retry policy (:mod:`weekly_discovery.core.retry`), adding Spotify's rules:

* 429 with ``reason: QUOTA_EXCEEDED``: raise :class:`QuotaExceeded` at once (waiting won't help);
* 429: wait ``Retry-After`` seconds (up to ``max_retry_after_s``), then retry; longer: :class:`RateLimited`;
* 5xx and network errors: exponential back-off with jitter; :class:`SpotifyUnavailable` when they persist;
* 401: refresh the access token once, then retry;
* 403 / 404: raise :class:`Forbidden` / :class:`NotFound` for the caller to decide.

``api.call(fn, ..., idempotent=False)`` marks a call that must not be repeated blindly (creating a
playlist): it is retried only after a failure that proves it had no effect (429, 401, no connection).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any, Callable, TypeVar

import requests
import spotipy

from weekly_discovery.core.retry import GaveUp, Retryable, RetryPolicy, WaitTooLong, network_failure, status_failure
from weekly_discovery.spotify.auth import RefreshTokenAuth
from weekly_discovery.spotify.credentials import SpotifyCredentials
from weekly_discovery.spotify.errors import (
    REAUTHORIZE_HINT,
    Forbidden,
    NotFound,
    QuotaExceeded,
    RateLimited,
    ReauthorizationRequired,
    SpotifyAccessError,
    SpotifyUnavailable,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# spotipy logs request headers (the bearer token) at DEBUG and every HTTP error at ERROR; our retry
# layer logs each failure with its context, so keep spotipy's own logger quiet.
logging.getLogger("spotipy").setLevel(logging.CRITICAL)


class SpotifyAPI:
    """A spotipy client plus the retry policy; ``api.call(api.sp.playlist, id)``."""

    def __init__(
        self,
        credentials: SpotifyCredentials,
        *,
        policy: RetryPolicy = RetryPolicy(),
        on_secret: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.credentials = credentials
        self.policy = policy
        self._sleep = sleep
        self.auth = RefreshTokenAuth(credentials, on_secret=on_secret, sleep=sleep)
        self.sp = spotipy.Spotify(
            auth_manager=self.auth,
            requests_session=requests.Session(),
            requests_timeout=policy.request_timeout_s,
        )
        self.sp.prefix = credentials.api_base_url
        self.stats: Counter[str] = Counter()

    @property
    def requests_made(self) -> int:
        return self.stats["requests"]

    # ---- catalogue reads (the discovery stage); each is ONE request under the retry policy ----------
    # One page per call, so a caller with a request budget decides before every page whether to go on.

    def artist_albums_page(self, artist_id: str, *, include_groups: str = "album,single", limit: int = 10,
                           offset: int = 0) -> dict[str, Any]:
        """One page of ``GET /artists/{id}/albums``. Development-mode apps get 400 for ``limit`` above 10."""
        return self.call(self.sp.artist_albums, artist_id, include_groups=include_groups, limit=limit, offset=offset)

    def album_tracks_page(self, album_id: str, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """One page of ``GET /albums/{id}/tracks`` (at most 50 a page)."""
        return self.call(self.sp.album_tracks, album_id, limit=limit, offset=offset)

    def next_page(self, page: dict[str, Any]) -> dict[str, Any] | None:
        """The page a paging object's ``next`` link points at (None on the last page)."""
        return self.call(self.sp.next, page) if page.get("next") else None

    def call(self, fn: Callable[..., T], *args: Any, idempotent: bool = True, **kwargs: Any) -> T:
        """Call a spotipy method under the retry policy.

        ``idempotent=False`` for a call whose repetition would change more than the first one did
        (``current_user_playlist_create``): after a 5xx or a timeout it is not retried, and
        :class:`SpotifyUnavailable` says so.
        """
        refreshed = False

        def attempt() -> T:
            nonlocal refreshed
            self.stats["requests"] += 1
            try:
                return fn(*args, **kwargs)
            except spotipy.SpotifyException as exc:
                status, reason = exc.http_status, (exc.reason or "")
                self.stats[f"http_{status}"] += 1
                if status == 401 and not refreshed:
                    log.info("access token rejected (401); refreshing it once")
                    self.auth.invalidate()
                    refreshed = True
                    # Spotify refused the token before doing anything: safe to repeat any request
                    raise Retryable("HTTP 401, token refreshed", retry_after=0.0, may_have_taken_effect=False) from None
                if status == 429 and reason == "QUOTA_EXCEEDED":
                    raise QuotaExceeded(
                        "Spotify answered 429 QUOTA_EXCEEDED: this app's request quota is used up, so retrying "
                        "now would only make it worse. Wait for the quota window to reset and rerun the task, "
                        "or ask for a quota extension on developer.spotify.com."
                    ) from None
                failure = status_failure(status, exc.headers)
                if failure is not None:
                    raise failure from None
                if status == 403:
                    raise Forbidden(_message(exc)) from None
                if status == 404:
                    raise NotFound(_message(exc)) from None
                if status == 401:
                    raise ReauthorizationRequired(
                        f"Spotify rejected a freshly refreshed access token (401). {REAUTHORIZE_HINT}"
                    ) from None
                raise SpotifyAccessError(f"Spotify answered {status}: {_message(exc)}") from None
            except Exception as exc:
                failure = network_failure(exc)
                if failure is None:
                    raise
                self.stats["network_errors"] += 1
                raise failure from exc

        def count_retry(failure: Retryable, delay: float) -> None:
            self.stats["retries"] += 1

        try:
            return self.policy.run(attempt, service="Spotify", idempotent=idempotent, sleep=self._sleep,
                                   on_retry=count_retry)
        except WaitTooLong as exc:
            raise RateLimited(f"{exc}; rerun the task later.") from None
        except GaveUp as exc:
            if not exc.retried:
                raise SpotifyUnavailable(
                    f"{exc}. Check the Spotify account before the task is retried."
                ) from None
            raise SpotifyUnavailable(
                f"{exc}; the task will be retried by Airflow. If it persists, check https://status.spotify.dev."
            ) from None


def _message(exc: spotipy.SpotifyException) -> str:
    return (exc.msg or "").split("\n")[-1].strip() or f"HTTP {exc.http_status}"
