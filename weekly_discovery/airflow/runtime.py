"""What tasks need from Airflow at run time: the config, the partition date, the Spotify client.

Everything here is called inside a running task, never while a DAG file is parsed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from typing import Any, Iterator

from weekly_discovery.core.config import Config, ConfigError, load_config, resolve_config_path
from weekly_discovery.lake.layout import LakeError, check_ds
from weekly_discovery.spotify.credentials import CredentialsError, SpotifyCredentials
from weekly_discovery.spotify.errors import SpotifyAccessError, SpotifyUnavailable

log = logging.getLogger(__name__)


def load_run_config() -> Config:
    """The user's config, from $WEEKLY_DISCOVERY_CONFIG or the Airflow Variable, validated."""
    from airflow.sdk import Variable

    path = resolve_config_path(variable_getter=lambda key: Variable.get(key, default=None))
    return load_config(path)


def partition_date(context: dict[str, Any]) -> str:
    """The lake partition a run writes: the ``ds`` param, else the logical date, else the run time.

    Manually triggered and asset-triggered runs in Airflow 3 have no logical date.
    """
    params = context.get("params") or {}
    if params.get("ds"):
        return check_ds(str(params["ds"]))
    when = context.get("logical_date") or context["dag_run"].run_after
    return when.astimezone(dt.timezone.utc).date().isoformat()


def spotify_api(conn_id: str):
    """A :class:`SpotifyAPI` from an Airflow connection; every secret is registered for masking."""
    from airflow.sdk import BaseHook
    from airflow.sdk.log import mask_secret

    from weekly_discovery.spotify.client import SpotifyAPI

    conn = BaseHook.get_connection(conn_id)
    credentials = SpotifyCredentials.from_connection_fields(conn_id, conn.login, conn.password, conn.extra)
    return SpotifyAPI(credentials, on_secret=mask_secret)


@contextlib.contextmanager
def fail_fast_on_user_errors() -> Iterator[None]:
    """Turn errors that a retry cannot fix into AirflowFailException (no retries, message kept)."""
    from airflow.sdk.exceptions import AirflowFailException

    from weekly_discovery.ingest.extract import SourcesUnreadable

    try:
        yield
    except SpotifyUnavailable:
        raise  # transient: let Airflow retry the task
    except (ConfigError, CredentialsError, LakeError, SpotifyAccessError, SourcesUnreadable) as exc:
        log.error("%s", exc)
        raise AirflowFailException(str(exc)) from None
