"""ReccoBeats (free, no auth): ``GET {url}/v1/audio-features?ids=`` with 1..40 Spotify ids per call.

The answer is ``{"content": [...]}`` keyed by ReccoBeats' own ids; each row carries the Spotify link in
``href`` (``https://open.spotify.com/track/<spotify id>``), which maps it back. Ids it does not know are
silently omitted. It sends no ``time_signature`` and no ``duration_ms`` (both stay null). Rate limits
are unpublished: a 429 is retried after ``Retry-After`` seconds (capped), a 5xx or a network error with
exponential back-off, a bounded number of times.
"""

from __future__ import annotations

import json
import logging
import random
import time
from typing import Any, Callable, Sequence

from weekly_discovery.core.vocabulary import FEATURE_COLUMNS
from weekly_discovery.enrich.providers.base import (
    SPOTIFY_TRACK_HREF_PATTERN,
    BatchResult,
    BodySpec,
    ProviderContext,
    ProviderError,
    ProviderOff,
    ProviderUnavailable,
    spotify_id_from_href,
)

log = logging.getLogger(__name__)

NAME = "reccobeats"
BATCH_SIZE = 40  # ReccoBeats: 1..40 ids per call
BODY = BodySpec(
    array_field="content", id_field="href", id_pattern=SPOTIFY_TRACK_HREF_PATTERN,
    absent=("time_signature", "duration_ms"),
)


def parse_body(body: bytes, requested: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Rows of a stored body, keyed by the Spotify id in each row's ``href``; only ids that were asked."""
    data = json.loads(body)
    content = data.get("content") if isinstance(data, dict) else None
    if not isinstance(content, list):
        raise ProviderError("ReccoBeats body has no 'content' list")
    wanted = set(requested)
    rows: dict[str, dict[str, Any]] = {}
    for entry in content:
        track_id = spotify_id_from_href(entry.get("href")) if isinstance(entry, dict) else None
        if track_id in wanted and track_id not in rows:
            rows[track_id] = {name: (None if name in BODY.absent else entry.get(name)) for name in FEATURE_COLUMNS}
    return rows


class ReccoBeatsFeatures:
    """Audio features from ReccoBeats over plain ``requests``, with bounded retries."""

    name = NAME
    batch_size = BATCH_SIZE

    def __init__(
        self,
        base_url: str,
        *,
        session: Any = None,
        timeout_s: float = 30.0,
        max_attempts: int = 6,
        base_delay_s: float = 1.0,
        max_delay_s: float = 60.0,
        max_retry_after_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        import requests

        self.url = base_url.rstrip("/") + "/v1/audio-features"
        self.identity = self.url
        self.session = session or requests.Session()
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.max_retry_after_s = max_retry_after_s
        self._sleep = sleep

    def fetch(self, ids: Sequence[str]) -> BatchResult:
        import requests

        if not 0 < len(ids) <= BATCH_SIZE:
            raise ValueError(f"ReccoBeats takes 1..{BATCH_SIZE} ids per call, got {len(ids)}")
        url = f"{self.url}?ids={','.join(ids)}"  # Spotify ids are base62: nothing to escape
        problem = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.session.get(url, timeout=self.timeout_s, headers={"Accept": "application/json"})
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = type(exc).__name__
                self._wait(self._backoff(attempt), problem, attempt)
                continue
            status = response.status_code
            if status == 200:
                try:
                    rows = parse_body(response.content, ids)
                except (ValueError, ProviderError) as exc:  # not JSON, or not the documented shape
                    problem = f"unreadable body ({exc})"
                    self._wait(self._backoff(attempt), problem, attempt)
                    continue
                return BatchResult(body=response.content, rows=rows, requests=attempt, url=self.url)
            if status == 429:
                wait = _retry_after(response.headers.get("Retry-After"))
                if wait > self.max_retry_after_s:
                    raise ProviderUnavailable(
                        f"ReccoBeats asked to wait {wait:.0f}s (Retry-After), longer than the "
                        f"{self.max_retry_after_s:.0f}s this run allows; the task will be retried later."
                    )
                problem = "HTTP 429"
                self._wait(wait, problem, attempt)
                continue
            if status >= 500:
                problem = f"HTTP {status}"
                self._wait(self._backoff(attempt), problem, attempt)
                continue
            if status in (401, 403, 404, 410):
                raise ProviderOff(
                    f"ReccoBeats answers {status} at {self.url}: check enrichment.reccobeats_url "
                    "(the service may have moved or now require a key)",
                    requests=attempt,
                )
            raise ProviderError(f"ReccoBeats answered {status} for {self.url}: {response.text[:200]}")
        raise ProviderUnavailable(
            f"ReccoBeats kept failing ({problem}) through {self.max_attempts} attempts; "
            "the task will be retried, and batches already answered are kept."
        )

    def _wait(self, seconds: float, problem: str, attempt: int) -> None:
        if attempt >= self.max_attempts:
            return  # no retry follows: do not sleep for nothing
        log.warning("ReccoBeats request failed (%s); retrying in %.1fs (attempt %d/%d)",
                    problem, seconds, attempt, self.max_attempts)
        self._sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        delay = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return delay * (0.5 + random.random() / 2)


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value if value is not None else 1))
    except ValueError:
        return 1.0


def build(context: ProviderContext) -> ReccoBeatsFeatures:
    return ReccoBeatsFeatures(context.enrichment.reccobeats_url, session=context.http_session, sleep=context.sleep)
