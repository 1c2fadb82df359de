"""Run the demo's ``airflow`` commands in forks of one warm process instead of a cold interpreter each.

Each ``airflow dags test`` of the demo paid ~6 s of CPU before its first task did any work (measured with
py-spy on a ``dags test``, demo library): ~2 s importing Airflow and ~3.4 s for Cadwyn to build every
version of the execution API's routes on the first request of the in-process API server, which is why
each DAG's *first* task looked slow ("prepare 4-12 s" while its own work takes ~0.05 s). On 2 cores that
was ~30 s of the demo's critical path for six DAG runs.

:func:`serve` imports Airflow once, with the demo's environment, and initializes the in-process
execution API (Airflow starts no thread and opens no DB connection for that); it also imports pyarrow, which
the Python tasks need to read the lake (its allocator's background thread is handled across fork by
jemalloc's and Arrow's own at-fork handlers). Then, for each request on its Unix socket, it forks. The child takes the caller's stdin/stdout/stderr (passed over the socket), its
environment, working directory and ``argv``, runs Airflow's own command-line entry point (the same
code as the ``airflow`` script) and reports its exit status. Each command therefore runs in its own
process, as before (two DAGs side by side are two forks), with Airflow's fork hook resetting the ORM's
connections; only the start-up is shared.

The client (``python -m devtools.warm_airflow run SOCKET -- dags test ...``) is what the demo starts in
place of ``airflow``: it imports nothing heavy, waits for the child and exits with its status, so the
demo's process handling, logs and timings are unchanged. Without :data:`SOCKET_ENV` in the environment
the demo runs the plain ``airflow`` command.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path

SOCKET_ENV = "WEEKLY_DISCOVERY_WARM_AIRFLOW"  # the server's socket: the demo runs its commands through it
_MAX_REQUEST = 1 << 20


def command(args: list[str], env: Mapping[str, str]) -> list[str]:
    """The command that runs ``airflow *args``: through the warm server if ``env`` names one, else plain."""
    path = env.get(SOCKET_ENV)
    if not path or path == "off":
        return ["airflow", *args]
    return [sys.executable, "-m", "devtools.warm_airflow", "run", path, "--", *args]


def warm_up() -> None:
    """Import what every ``airflow dags test`` of the demo imports, and build the in-process execution API
    with all its versioned routes, in this process, so that forks start warm."""
    import airflow  # settings, configuration, logging
    from airflow.cli import cli_parser  # noqa: F401
    from airflow.cli.commands import dag_command  # noqa: F401
    from airflow.sdk.execution_time.supervisor import in_process_api_server

    app = in_process_api_server().app  # cached per process: every fork inherits it
    initialize = getattr(app, "_cadwyn_initialize", None)  # else done lazily by the first request, as before
    if callable(initialize) and not getattr(app, "_cadwyn_initialized", True):
        initialize()
    # What the DAG files and the tasks import (parsing re-runs the DAG files themselves in each fork); the
    # Python tasks read the lake's Parquet with pyarrow: 0.5-1.5 s of import each, paid here once.
    import airflow.providers.apache.spark.operators.spark_submit
    import airflow.providers.standard.operators.python  # noqa: F401
    import pyarrow.compute
    import pyarrow.dataset
    import pyarrow.parquet  # noqa: F401

    import weekly_discovery.airflow.policy
    import weekly_discovery.airflow.runtime  # noqa: F401


def serve(path: str) -> None:
    """Warm up, then fork one child per request on the Unix socket ``path`` until told to stop."""
    warm_up()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel: nobody waits here
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path + ".new")
        server.listen(8)
        os.rename(path + ".new", path)  # the path appears only once it accepts connections
        print("ready", flush=True)
        while True:
            conn, _ = server.accept()
            message, fds, _, _ = socket.recv_fds(conn, _MAX_REQUEST, 3)
            request = json.loads(message or b"{}")
            if request.get("stop") or not request:
                conn.close()
                for fd in fds:
                    os.close(fd)
                return
            sys.stdout.flush()
            sys.stderr.flush()
            if os.fork() == 0:  # the child never returns
                server.close()
                _child(conn, request, fds)
            conn.close()
            for fd in fds:
                os.close(fd)


def _child(conn: socket.socket, request: dict, fds: list[int]) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the task's spark-submit must be waited for
    for target, fd in zip((0, 1, 2), fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = ["airflow", *request["argv"]]
    status = 1
    try:
        from airflow.__main__ import main

        main()
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported like the airflow script would, as a failure
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(OSError):
            conn.sendall(f"{status}\n".encode())
        os._exit(status)


def run(path: str, argv: list[str]) -> int:
    """The client: hand ``argv``, this process's stdio, environment and folder to the server; its status."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(path)
        request = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}
        socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
        reply = b""
        while chunk := conn.recv(64):
            reply += chunk
    try:
        return int(reply.decode().strip())
    except ValueError:
        print(f"warm airflow: the command ended without a status ({' '.join(argv)})", file=sys.stderr)
        return 1


@contextlib.contextmanager
def warm_server(env: Mapping[str, str], log_path: Path, timeout: float = 120.0) -> Iterator[dict[str, str]]:
    """Start :func:`serve` with ``env`` (its Airflow home and settings) and yield ``env`` plus
    :data:`SOCKET_ENV`; stop it on exit. Its own output goes to ``log_path``.

    With ``SOCKET_ENV=off`` in ``env`` (to compare), or if the server does not come up (its log says why),
    ``env`` is yielded without it and the commands run as plain ``airflow``.
    """
    if env.get(SOCKET_ENV) == "off":
        yield {k: v for k, v in env.items() if k != SOCKET_ENV}
        return
    folder = tempfile.mkdtemp(prefix="wd-warm-airflow-")
    path = os.path.join(folder, "airflow.sock")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "devtools.warm_airflow", "serve", path], env=dict(env),
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not os.path.exists(path) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if os.path.exists(path):
            yield {**env, SOCKET_ENV: path}
        else:
            print(f"(the warm Airflow process did not start, see {log_path}: running plain `airflow` commands)",
                  file=sys.stderr)
            yield {k: v for k, v in env.items() if k != SOCKET_ENV}
    finally:
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(path)
            socket.send_fds(conn, [json.dumps({"stop": True}).encode()], [])
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with contextlib.suppress(OSError):
            os.unlink(path)
            os.rmdir(folder)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) >= 2 and argv[0] == "serve":
        serve(argv[1])
        return 0
    if len(argv) >= 3 and argv[0] == "run" and argv[2] == "--":
        return run(argv[1], argv[3:])
    print("usage: python -m devtools.warm_airflow serve SOCKET | run SOCKET -- AIRFLOW_ARGS...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
