"""Background processes for `make run`, `make ui` and the tests that run real services: free ports, processes,
waiting, HTTP JSON calls, log tails.

Every process is started in its own session (process group), so stopping it also stops whatever it
spawned (an Airflow scheduler's executor workers, a task's spark-submit JVM).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (another process may still take it before we do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], T], timeout: float, what: str, interval: float = 0.5,
               alive: Sequence["Service"] = ()) -> T:
    """Call ``check`` until it returns something truthy; fail after ``timeout`` s naming ``what``.

    Exceptions from ``check`` count as "not yet". If one of ``alive`` exits meanwhile, fail at once.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - "not ready yet" comes in many forms
            last_error = exc
        for service in alive:
            if service.process.poll() is not None:
                raise RuntimeError(f"{service.name} exited with {service.process.returncode} while waiting for "
                                   f"{what}\n{service.tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}"
                               + (f" (last error: {last_error!r})" if last_error else ""))
        time.sleep(interval)


def http_json(url: str, *, method: str = "GET", body: Any = None, headers: Mapping[str, str] | None = None,
              token: str | None = None, timeout: float = 10) -> Any:
    """One HTTP request with a JSON body and answer (urllib: no client state between calls); ``token``: a
    bearer token for the ``Authorization`` header."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/json", **(headers or {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:2000]
        raise RuntimeError(f"{method} {url} -> HTTP {exc.code}: {detail}") from None
    return json.loads(text) if text else None


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Service:
    """A background process with its output in ``log``."""

    name: str
    process: subprocess.Popen
    log: Path

    def tail(self, lines: int = 40) -> str:
        return f"----- {self.name} (pid {self.process.pid}), last {lines} lines of {self.log} -----\n" + tail(
            self.log, lines)

    def stop(self, grace: float = 10) -> None:
        stop_group(self.process, grace)


def start(name: str, args: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path | None = None) -> Service:
    """Start ``args`` in a new session with stdout and stderr appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(list(args), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    return Service(name, process, log)


def stop_group(process: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after ``grace`` seconds."""
    stop_groups([process], grace)


def stop_groups(processes: Sequence[subprocess.Popen], grace: float = 10) -> None:
    """SIGTERM every process's group at once, then SIGKILL whatever is left after ``grace`` seconds (one
    deadline for all: they shut down side by side, not one after the other)."""
    groups = []
    for process in processes:
        try:
            groups.append(os.getpgid(process.pid))
        except ProcessLookupError:
            groups.append(None)
    for pgid in groups:
        if pgid is not None:
            _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for pgid in groups:
        if pgid is not None:
            _signal_group(pgid, signal.SIGKILL)  # children that outlived their parent, too
    for process in processes:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def stop_services(services: Sequence[Service], grace: float = 15, last: Sequence[str] = ("api-server",)) -> None:
    """Stop ``services`` side by side (:func:`stop_groups`), those named in ``last`` after the others: tasks
    that end while the scheduler stops still report to the api-server."""
    first = [s.process for s in services if s.name not in last]
    then = [s.process for s in services if s.name in last]
    for group in (first, then):
        if group:
            stop_groups(group, grace)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def pids_with_env(key: str, value: str) -> list[int]:
    """Processes whose environment holds ``key=value`` (our own, found by a value unique to this run)."""
    needle = f"{key}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found
