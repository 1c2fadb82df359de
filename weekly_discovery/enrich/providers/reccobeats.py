"""ReccoBeats (free, no auth): ``GET {url}/v1/audio-features?ids=`` with 1..40 Spotify ids per call.

The answer is ``{"content": [...]}`` keyed by ReccoBeats' own ids; each row carries the Spotify link in
``href`` (``https://open.spotify.com/track/<spotify id>``), which maps it back. Ids it does not know are
silently omitted. It sends no ``time_signature`` and no ``duration_ms`` (both stay null). Rate limits
are unpublished; requests go through the project's HTTP retry policy (:mod:`weekly_discovery.core.retry`:
a 429 after ``Retry-After`` seconds, capped; a 5xx or a network error with exponential back-off; a
bounded number of times), and a 200 whose body is not the documented shape is retried the same way.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable, Sequence

from weekly_discovery.core.retry import GaveUp, Retryable, RetryPolicy, WaitTooLong, network_failure, status_failure
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
        self.policy = RetryPolicy(max_attempts=max_attempts, base_delay_s=base_delay_s, max_delay_s=max_delay_s,
                                  max_retry_after_s=max_retry_after_s, request_timeout_s=timeout_s)
        self._sleep = sleep

    def fetch(self, ids: Sequence[str]) -> BatchResult:
        if not 0 < len(ids) <= BATCH_SIZE:
            raise ValueError(f"ReccoBeats takes 1..{BATCH_SIZE} ids per call, got {len(ids)}")
        url = f"{self.url}?ids={','.join(ids)}"  # Spotify ids are base62: nothing to escape
        attempts = 0

        def attempt() -> BatchResult:
            nonlocal attempts
            attempts += 1
            try:
                response = self.session.get(url, timeout=self.policy.request_timeout_s,
                                            headers={"Accept": "application/json"})
            except Exception as exc:
                failure = network_failure(exc)
                if failure is None:
                    raise
                raise failure from exc
            status = response.status_code
            failure = status_failure(status, response.headers)
            if failure is not None:
                raise failure
            if status == 200:
                try:
                    rows = parse_body(response.content, ids)
                except (ValueError, ProviderError) as exc:  # not JSON, or not the documented shape
                    raise Retryable(f"unreadable body ({exc})") from exc
                return BatchResult(body=response.content, rows=rows, requests=attempts, url=self.url)
            if status in (401, 403, 404, 410):
                raise ProviderOff(
                    f"ReccoBeats answers {status} at {self.url}: check enrichment.reccobeats_url "
                    "(the service may have moved or now require a key)",
                    requests=attempts,
                )
            raise ProviderError(f"ReccoBeats answered {status} for {self.url}: {response.text[:200]}")

        try:
            return self.policy.run(attempt, service="ReccoBeats", sleep=self._sleep)
        except WaitTooLong as exc:
            raise ProviderUnavailable(f"{exc}; the task will be retried later.") from None
        except GaveUp as exc:
            raise ProviderUnavailable(f"{exc}; the task will be retried, and batches already answered are kept.") from None


def build(context: ProviderContext) -> ReccoBeatsFeatures:
    return ReccoBeatsFeatures(context.enrichment.reccobeats_url, session=context.http_session, sleep=context.sleep)
