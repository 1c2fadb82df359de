"""The shared HTTP retry policy (weekly_discovery.core.retry), over real HTTP against a scripted local server."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import threading
from collections import deque

import pytest
import requests

from weekly_discovery.core.errors import TransientError
from weekly_discovery.core.retry import (
    GaveUp,
    Retryable,
    RetryPolicy,
    WaitTooLong,
    retry_after_seconds,
    send,
)

FAST = RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=8.0, max_retry_after_s=60.0, request_timeout_s=5.0)


class Scripted:
    """A local HTTP server answering each request with the next scripted (status, headers); then 200."""

    def __init__(self, *answers: tuple[int, dict[str, str]]):
        self.answers = deque(answers)
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                outer.requests.append(self.command)
                status, headers = outer.answers.popleft() if outer.answers else (200, {})
                body = b'{"ok": true}'
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/thing"

    def __enter__(self) -> "Scripted":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_429_is_retried_after_the_retry_after_the_server_asked_for():
    sleeps: list[float] = []
    with Scripted((429, {"Retry-After": "7"}), (429, {"Retry-After": "3"})) as server:
        response = send(requests.Session(), "GET", server.url, policy=FAST, service="Thing", sleep=sleeps.append)
    assert response.status_code == 200 and server.requests == ["GET", "GET", "GET"]
    assert sleeps == [7.0, 3.0]


def test_a_retry_after_longer_than_the_cap_is_not_waited_for():
    with Scripted((429, {"Retry-After": "3600"})) as server:
        with pytest.raises(WaitTooLong, match="Thing asked to wait 3600s \\(Retry-After\\), longer than the 60s") as info:
            send(requests.Session(), "GET", server.url, policy=FAST, service="Thing",
                 sleep=lambda s: pytest.fail("slept"))
    assert server.requests == ["GET"] and isinstance(info.value, TransientError)


def test_5xx_backs_off_exponentially_with_jitter_then_succeeds():
    sleeps: list[float] = []
    with Scripted((503, {}), (500, {}), (502, {})) as server:
        response = send(requests.Session(), "GET", server.url, policy=FAST, service="Thing", sleep=sleeps.append)
    assert response.status_code == 200 and len(server.requests) == 4
    # 1 s, 2 s, 4 s, each times a factor in [0.5, 1]
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0 and 2.0 <= sleeps[2] <= 4.0


def test_attempts_are_bounded_and_the_error_says_what_kept_failing():
    sleeps: list[float] = []
    with Scripted(*[(503, {})] * 10) as server:
        with pytest.raises(GaveUp, match="Thing kept failing \\(HTTP 503\\) through 4 attempts") as info:
            send(requests.Session(), "GET", server.url, policy=FAST, service="Thing", sleep=sleeps.append)
    assert len(server.requests) == 4 and len(sleeps) == 3  # no sleep after the last attempt
    assert isinstance(info.value, TransientError)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_a_4xx_user_error_is_returned_at_once_not_retried(status):
    with Scripted((status, {})) as server:
        response = send(requests.Session(), "GET", server.url, policy=FAST, service="Thing",
                        sleep=lambda s: pytest.fail("slept"))
    assert response.status_code == status and server.requests == ["GET"]


def test_a_post_is_not_retried_after_a_5xx_it_may_have_taken_effect():
    with Scripted((503, {})) as server:
        with pytest.raises(GaveUp, match="not safe to repeat") as info:
            send(requests.Session(), "POST", server.url, policy=FAST, service="Thing", json={"name": "x"},
                 sleep=lambda s: pytest.fail("slept"))
    assert server.requests == ["POST"] and info.value.retried is False


def test_a_post_is_retried_after_a_429_which_proves_nothing_was_done():
    with Scripted((429, {"Retry-After": "0"})) as server:
        response = send(requests.Session(), "POST", server.url, policy=FAST, service="Thing", sleep=lambda s: None)
    assert response.status_code == 200 and server.requests == ["POST", "POST"]


def test_a_post_marked_idempotent_is_retried_after_a_5xx():
    with Scripted((503, {})) as server:
        response = send(requests.Session(), "POST", server.url, policy=FAST, service="Thing", idempotent=True,
                        sleep=lambda s: None)
    assert response.status_code == 200 and server.requests == ["POST", "POST"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_refused_connection_is_retried_even_for_a_post_and_then_gives_up():
    sleeps: list[float] = []
    url = f"http://127.0.0.1:{_closed_port()}/thing"
    with pytest.raises(GaveUp, match="Thing kept failing \\(ConnectionError\\) through 4 attempts"):
        send(requests.Session(), "POST", url, policy=FAST, service="Thing", sleep=sleeps.append)
    assert len(sleeps) == 3


def test_an_error_that_is_not_retryable_ends_the_call_at_once():
    calls = []

    def attempt():
        calls.append(1)
        raise KeyError("bug")

    with pytest.raises(KeyError):
        FAST.run(attempt, service="Thing", sleep=lambda s: pytest.fail("slept"))
    assert calls == [1]


def test_run_counts_retries_through_on_retry():
    outcomes = deque([Retryable("HTTP 503"), Retryable("HTTP 429", retry_after=2.0), "done"])
    seen: list[tuple[str, float]] = []

    def attempt():
        outcome = outcomes.popleft()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert FAST.run(attempt, service="Thing", sleep=lambda s: None,
                    on_retry=lambda failure, delay: seen.append((failure.problem, delay))) == "done"
    assert [problem for problem, _ in seen] == ["HTTP 503", "HTTP 429"] and seen[1][1] == 2.0


@pytest.mark.parametrize("value, expected", [
    ("7", 7.0),
    ("1.5", 1.5),
    ("-3", 0.0),
    (None, None),
    ("soon", None),
    ("Fri, 04 Dec 2026 12:00:30 GMT", 30.0),  # an HTTP date, 30 s after "now"
    ("Fri, 04 Dec 2026 11:59:00 GMT", 0.0),  # already past
])
def test_retry_after_in_seconds_or_as_an_http_date(value, expected):
    now = dt.datetime(2026, 12, 4, 12, 0, 0, tzinfo=dt.timezone.utc)
    assert retry_after_seconds(value, now=now) == expected


def test_a_policy_needs_at_least_one_attempt():
    with pytest.raises(ValueError, match="max_attempts must be at least 1"):
        RetryPolicy(max_attempts=0)
