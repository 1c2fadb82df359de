"""The tests' names for :mod:`weekly_discovery.service.processes` (shared with `make run` and `make ui`, which may not
import tests)."""

from weekly_discovery.service.processes import (
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
