"""The tests' names for :mod:`devtools.processes` (shared with `make ui`, which may not import tests)."""

from devtools.processes import (
    Service,
    free_port,
    http_json,
    pids_with_env,
    start,
    stop_group,
    stop_services,
    tail,
    wait_until,
)

__all__ = ["Service", "free_port", "http_json", "pids_with_env", "start", "stop_group", "stop_services", "tail", "wait_until"]
