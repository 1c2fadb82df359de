"""The work behind the discover DAG's task (the DAG file only wires it).

One plain function per task, called with the task's Airflow context: it reads the config, fixes the
partition the same way every DAG does (:func:`~weekly_discovery.airflow.runtime.resolve_partition`),
builds the Spotify client from the Airflow connection only when a source needs it, runs
:func:`~weekly_discovery.discover.gather.gather` and announces ``silver/candidates`` to the enrich DAG.
"""

from __future__ import annotations

import logging
from typing import Any

from weekly_discovery.airflow.runtime import fail_fast_on_user_errors, load_run_config, resolve_partition
from weekly_discovery.lake import Lake

log = logging.getLogger(__name__)

#: the sources that call the Spotify Web API (the others need no connection)
SPOTIFY_SOURCES = frozenset({"artists"})


def discover(context: dict[str, Any], outlet_event: Any) -> dict[str, Any]:
    """Gather the week's candidates from the configured sources and announce them.

    A user error (bad config, no library for the week) fails the task at once; a service that kept
    failing through its retries fails it with the error, so Airflow retries the task.
    """
    from weekly_discovery.airflow.runtime import spotify_api
    from weekly_discovery.discover.gather import gather
    from weekly_discovery.discover.sources.base import Clients

    with fail_fast_on_user_errors():
        config = load_run_config()
        ds, lake_root, origin = resolve_partition(context, config)
        settings = config.discover
        log.info("partition ds=%s (%s), lake %s; sources in order: %s; budgets %s; seed %d", ds, origin, lake_root,
                 ", ".join(settings.sources) or "none",
                 ", ".join(f"{name} {settings.budget(name)}" for name in settings.sources), config.model.seed)
        needs_spotify = bool(SPOTIFY_SOURCES & set(settings.sources))
        clients = Clients(spotify=spotify_api(config.spotify_connection_id) if needs_spotify else None)
        result = gather(Lake(lake_root), ds, settings=settings, seed=config.model.seed, clients=clients)
    outlet_event.extra = {"ds": str(ds), "lake_root": lake_root}
    return {
        "ds": str(ds),
        "lake_root": lake_root,
        "candidates": result.candidates,
        "sources": {s.source: s.as_metrics() for s in result.sources},
    }
