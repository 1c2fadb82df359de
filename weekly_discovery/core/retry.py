"""The one HTTP retry policy of the project: Spotify's Web API, its token endpoint and ReccoBeats.

An unattended weekly run must ride out what a remote service does now and then, and must not hammer
it or wait forever. Every HTTP client of the project runs its requests through
:meth:`RetryPolicy.run`, built on ``tenacity`` (installed with Airflow), so the rules live here once:

* **429**: wait what ``Retry-After`` asks (seconds or an HTTP date), up to ``max_retry_after_s``;
  longer than that raises :class:`WaitTooLong` at once, without sleeping (the Airflow task retry,
  minutes later, is the better wait). Without ``Retry-After``: exponential back-off.
* **5xx, a lost connection, a timeout**: exponential back-off with jitter, ``base_delay_s * 2**(n-1)``
  capped at ``max_delay_s`` and multiplied by a random factor in [0.5, 1] (clients out of step).
* **any other 4xx**: never retried here; the client turns it into its own error naming the fix.
* at most ``max_attempts`` attempts; then :class:`GaveUp` (a transient error: Airflow retries the task).
* **a request that is not idempotent** (``idempotent=False``, e.g. ``POST /me/playlists`` creating a
  playlist) is retried only when the failure proves it had no effect (429, a 401 before a token
  refresh, a connection that was never made); after a 5xx or a timeout it may have taken effect, so
  :class:`GaveUp` is raised with ``retried=False`` and the caller checks before trying again.

An attempt is a callable that returns a value or raises :class:`Retryable` (see
:func:`status_failure` and :func:`network_failure` for the usual mappings); any other exception
ends the call at once. Clients pass ``sleep`` so tests run without waiting.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Mapping, TypeVar

from tenacity import Retrying, retry_if_exception, stop_after_attempt

from weekly_discovery.core.errors import TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
"""Methods RFC 9110 calls idempotent: repeating them has the effect of sending them once."""


class Retryable(TransientError):
    """Raised by one attempt: a failure a later attempt may not have (429, 5xx, a lost connection).

    ``retry_after``: seconds the server asked to wait (None: back off). ``may_have_taken_effect``:
    False when the failure proves the server did nothing (429, a refused connection), which makes a
    retry safe even for a request that is not idempotent.
    """

    def __init__(self, problem: str, *, retry_after: float | None = None, may_have_taken_effect: bool = True):
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after
        self.may_have_taken_effect = may_have_taken_effect


class GaveUp(TransientError, RuntimeError):
    """The service kept failing through every allowed attempt (or a retry was not safe: ``retried=False``)."""

    def __init__(self, service: str, problem: str, attempts: int, *, retried: bool = True):
        self.service, self.problem, self.attempts, self.retried = service, problem, attempts, retried
        if retried:
            message = f"{service} kept failing ({problem}) through {attempts} attempts"
        else:
            message = (f"{service} failed ({problem}) on a request that is not safe to repeat (it may have taken "
                       "effect), so it was not retried")
        super().__init__(message)


class WaitTooLong(TransientError, RuntimeError):
    """A 429 asked to wait longer than the policy allows; nothing was slept."""

    def __init__(self, service: str, wait_s: float, limit_s: float):
        self.service, self.wait_s, self.limit_s = service, wait_s, limit_s
        super().__init__(f"{service} asked to wait {wait_s:.0f}s (Retry-After), longer than the {limit_s:.0f}s "
                         "this run allows")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one client tries: attempts, back-off, the longest Retry-After honoured, the request timeout."""

    max_attempts: int = 8
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    max_retry_after_s: float = 300.0
    request_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): exponential, capped, jittered."""
        delay = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return delay * (0.5 + random.random() / 2)

    def run(
        self,
        attempt: Callable[[], T],
        *,
        service: str,
        idempotent: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[Retryable, float], None] | None = None,
    ) -> T:
        """Call ``attempt`` until it returns, raises a non-:class:`Retryable` error, or the policy says stop.

        Raises :class:`GaveUp` or :class:`WaitTooLong` (both transient); ``on_retry(failure, delay)`` is
        called before each wait (for request statistics).
        """

        def may_retry(exc: BaseException) -> bool:
            return isinstance(exc, Retryable) and (idempotent or not exc.may_have_taken_effect)

        def wait(state: Any) -> float:
            failure = state.outcome.exception()
            if failure.retry_after is not None:
                return failure.retry_after
            return self.backoff(state.attempt_number)

        def before_sleep(state: Any) -> None:
            failure, delay = state.outcome.exception(), state.next_action.sleep
            log.warning("%s request failed (%s); retrying in %.1fs (attempt %d/%d)",
                        service, failure.problem, delay, state.attempt_number, self.max_attempts)
            if on_retry is not None:
                on_retry(failure, delay)

        def checked() -> T:
            try:
                return attempt()
            except Retryable as failure:
                if failure.retry_after is not None and failure.retry_after > self.max_retry_after_s:
                    raise WaitTooLong(service, failure.retry_after, self.max_retry_after_s) from None
                raise

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait,
            retry=retry_if_exception(may_retry),
            before_sleep=before_sleep,
            sleep=sleep,
            reraise=True,
        )
        try:
            return retrying(checked)
        except Retryable as failure:
            attempts = retrying.statistics.get("attempt_number", 1)
            raise GaveUp(service, failure.problem, attempts, retried=may_retry(failure)) from None


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def status_failure(status: int | None, headers: Mapping[str, str] | None = None) -> Retryable | None:
    """The :class:`Retryable` for a retryable HTTP status (429, 5xx), None for any other status."""
    if status == 429:
        retry_after = retry_after_seconds((headers or {}).get("Retry-After"))
        return Retryable("HTTP 429", retry_after=retry_after, may_have_taken_effect=False)
    if status is not None and status >= 500:
        return Retryable(f"HTTP {status}")
    return None


def network_failure(exc: BaseException) -> Retryable | None:
    """The :class:`Retryable` for a ``requests`` connection error or timeout, None for anything else.

    A connect timeout or a refused connection never reached the server (safe to repeat any request);
    a read timeout or a dropped connection may have.
    """
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.ConnectTimeout):
        return Retryable(type(exc).__name__, may_have_taken_effect=False)
    if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.Timeout):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return Retryable(type(exc).__name__, may_have_taken_effect=not isinstance(reason, NewConnectionError))
    if isinstance(exc, requests.Timeout):
        return Retryable(type(exc).__name__)
    return None


def send(
    session: Any,
    method: str,
    url: str,
    *,
    policy: RetryPolicy,
    service: str,
    idempotent: bool | None = None,
    sleep: Callable[[float], None] = time.sleep,
    **kwargs: Any,
) -> Any:
    """``session.request(method, url, **kwargs)`` under ``policy``; the first response that is not 429/5xx.

    ``idempotent`` defaults to the method's (:data:`IDEMPOTENT_METHODS`); pass True for a POST that is
    safe to repeat (an OAuth token refresh). The caller reads the status of what is returned (2xx, 4xx).
    """

    def attempt() -> Any:
        try:
            response = session.request(method, url, timeout=policy.request_timeout_s, **kwargs)
        except Exception as exc:
            failure = network_failure(exc)
            if failure is None:
                raise
            raise failure from exc
        failure = status_failure(response.status_code, response.headers)
        if failure is not None:
            raise failure
        return response

    if idempotent is None:
        idempotent = method.upper() in IDEMPOTENT_METHODS
    return policy.run(attempt, service=service, idempotent=idempotent, sleep=sleep)
