"""spotipy with the retry policy an unattended weekly job needs.

spotipy's built-in retries (urllib3) retry every 429 the same way and honour any Retry-After
without a cap; when they run out, the error no longer says what the server answered. Here spotipy
gets a plain ``requests.Session`` (no adapter retries) and :meth:`SpotifyAPI.call` decides:

* 429 with ``reason: QUOTA_EXCEEDED``: raise :class:`QuotaExceeded` at once (waiting won't help);
* 429: wait ``Retry-After`` seconds (up to ``max_retry_after``), then retry;
* 5xx and network errors: exponential back-off with jitter;
* 401: refresh the access token once, then retry;
* 403 / 404: raise :class:`Forbidden` / :class:`NotFound` for the caller to decide.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import requests
import spotipy

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


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    max_retry_after_s: float = 300.0
    request_timeout_s: float = 30.0


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

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a spotipy method under the retry policy."""
        refreshed = False
        last_problem = ""
        for attempt in range(1, self.policy.max_attempts + 1):
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
                    continue
                if status == 429 and reason == "QUOTA_EXCEEDED":
                    raise QuotaExceeded(
                        "Spotify answered 429 QUOTA_EXCEEDED: this app's request quota is used up, so retrying "
                        "now would only make it worse. Wait for the quota window to reset and rerun the task, "
                        "or ask for a quota extension on developer.spotify.com."
                    ) from None
                if status == 429:
                    wait = _retry_after(exc.headers)
                    if wait > self.policy.max_retry_after_s:
                        raise RateLimited(
                            f"Spotify asked to wait {wait:.0f}s (Retry-After), longer than the "
                            f"{self.policy.max_retry_after_s:.0f}s this run allows; rerun the task later."
                        ) from None
                    log.warning("rate-limited (429); waiting %.0fs as Retry-After asks (attempt %d/%d)",
                                wait, attempt, self.policy.max_attempts)
                    self.stats["retries"] += 1
                    self._sleep(wait)
                    continue
                if status is not None and status >= 500:
                    last_problem = f"HTTP {status}"
                elif status == 403:
                    raise Forbidden(_message(exc)) from None
                elif status == 404:
                    raise NotFound(_message(exc)) from None
                elif status == 401:
                    raise ReauthorizationRequired(
                        f"Spotify rejected a freshly refreshed access token (401). {REAUTHORIZE_HINT}"
                    ) from None
                else:
                    raise SpotifyAccessError(f"Spotify answered {status}: {_message(exc)}") from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_problem = type(exc).__name__
                self.stats["network_errors"] += 1
            delay = self._backoff(attempt)
            log.warning("Spotify request failed (%s); retrying in %.1fs (attempt %d/%d)",
                        last_problem, delay, attempt, self.policy.max_attempts)
            self.stats["retries"] += 1
            self._sleep(delay)
        raise SpotifyUnavailable(
            f"Spotify kept failing ({last_problem}) through {self.policy.max_attempts} attempts; "
            "the task will be retried by Airflow. If it persists, check https://status.spotify.dev."
        )

    def _backoff(self, attempt: int) -> float:
        delay = min(self.policy.max_delay_s, self.policy.base_delay_s * 2 ** (attempt - 1))
        return delay * (0.5 + random.random() / 2)


def _retry_after(headers: Any) -> float:
    try:
        return max(0.0, float((headers or {}).get("Retry-After", 1)))
    except (TypeError, ValueError):
        return 1.0


def _message(exc: spotipy.SpotifyException) -> str:
    return (exc.msg or "").split("\n")[-1].strip() or f"HTTP {exc.http_status}"
