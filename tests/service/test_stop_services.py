"""Services stop side by side (one grace period for all), the api-server after the others.

Real processes, each in its own session as :func:`weekly_discovery.service.processes.start` starts them: a shell that
writes when its SIGTERM came and leaves 1.5 s later (a service shutting down), and one that
ignores SIGTERM (a service stuck in its shutdown) and must be SIGKILLed when the grace period ends.
"""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from tests.util.processes import start, stop_services, wait_until

GRACE = 2.0


def service(tmp: Path, name: str, ignores_term: bool = False, leaves_after: float = 1.5):
    stamp = tmp / f"{name}.term"
    trap = "''" if ignores_term else f"'date +%s.%N > {stamp}; sleep {leaves_after}; exit 0'"
    script = f"trap {trap} TERM; echo ready; while true; do sleep 0.1; done"
    svc = start(name, ["bash", "-c", script], {"PATH": "/usr/bin:/bin"}, tmp / f"{name}.log")
    wait_until(lambda: "ready" in (tmp / f"{name}.log").read_text(), 10, f"{name} to start", interval=0.05)
    return svc, stamp


def test_services_stop_side_by_side_and_the_api_server_last(tmp_path):
    made = [service(tmp_path, name) for name in ("scheduler", "dag-processor", "triggerer", "api-server")]
    services = [svc for svc, _ in made]
    pids = [svc.process.pid for svc in services]
    started = time.monotonic()
    stop_services(services, grace=10)
    elapsed = time.monotonic() - started
    assert all(svc.process.poll() == 0 for svc in services), [svc.process.poll() for svc in services]
    assert not [pid for pid in pids if psutil.pid_exists(pid)]
    # each takes 1.5 s to leave: side by side that is ~1.5 s for the three, then ~1.5 s for the api-server
    # (one after the other it would be 6 s; the margins are wide for a loaded machine)
    assert elapsed < 4.5, elapsed
    term = {svc.name: float(stamp.read_text()) for svc, stamp in made}
    others = [term[n] for n in ("scheduler", "dag-processor", "triggerer")]
    assert max(others) - min(others) < 1.0, term  # one after the other: >= 3 s  # signalled together
    assert term["api-server"] >= max(others) + 1.2, term  # after the others had left


def test_a_service_that_ignores_sigterm_is_killed_when_the_grace_period_ends(tmp_path):
    stuck = [service(tmp_path, name, ignores_term=True)[0] for name in ("scheduler", "dag-processor")]
    polite, _ = service(tmp_path, "triggerer", leaves_after=0.2)
    started = time.monotonic()
    stop_services([*stuck, polite], grace=GRACE)
    elapsed = time.monotonic() - started
    assert polite.process.poll() == 0
    assert [s.process.poll() for s in stuck] == [-9, -9]  # SIGKILL
    assert GRACE <= elapsed < GRACE + 1.5, elapsed  # one grace period for both, not one each (4 s)
