"""What tasks need from Airflow at run time: the config, the partition date, the Spotify client.

Everything here is called inside a running task, never while a DAG file is parsed. A DAG's ``prepare``
task fixes the run (:class:`TaskRun`: its date, checked once, its lake and config) and hands it to the
other tasks through XCom as a plain dict; each task turns it back into the typed run on entry.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any, Iterator, NamedTuple, Self

from weekly_discovery.core.errors import UserError
from weekly_discovery.lake import Lake, LakeError, PartitionDate, parse_ds
from weekly_discovery.settings.config import LAKE_ENV, Config, load_config, resolve_config_path
from weekly_discovery.spotify.credentials import SpotifyCredentials

log = logging.getLogger(__name__)


def load_run_config() -> Config:
    """The user's config, from $WEEKLY_DISCOVERY_CONFIG or the Airflow Variable, validated."""
    from airflow.sdk import Variable

    path = resolve_config_path(variable_getter=lambda key: Variable.get(key, default=None))
    return load_config(path)


class Partition(NamedTuple):
    """The partition a run works on: its date, its lake root, and where the date came from (for the log)."""

    ds: PartitionDate
    lake_root: str
    origin: str


@dataclasses.dataclass(frozen=True)
class TaskRun:
    """What a DAG's ``prepare`` task fixed for the run's other tasks; a DAG needing more extends it.

    XCom holds JSON and the DAGs' templates read its keys (``xcom("prepare", "ds")``), so ``prepare``
    returns :meth:`to_xcom` and a task taking the run starts with :meth:`from_xcom`.
    """

    ds: PartitionDate
    lake_root: str
    config_path: str

    def to_xcom(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "ds": str(self.ds)}

    @classmethod
    def from_xcom(cls, data: Mapping[str, Any]) -> Self:
        """The run from prepare's XCom value; its date is parsed (XCom is text from outside the task)."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{**{key: value for key, value in data.items() if key in names}, "ds": parse_ds(data["ds"])})


def resolve_partition(context: dict[str, Any], config: Config) -> Partition:
    """The partition a run processes, the same rule for every DAG:

    1. an explicit ``ds`` param (a manual run or a backfill by hand) wins, in the config's lake;
    2. else the newest triggering asset event whose extra names a ``ds``; an event naming another lake
       than the configured one is refused (an asset event must not be able to swap the lake);
    3. else the run's logical date, or for a run without one (manual and asset-triggered runs in
       Airflow 3) its ``run_after``, as a UTC date.

    Airflow folds the events that arrived while the DAG was busy into one run: the newest date is
    processed then (older dates can be rerun by hand with the ``ds`` param). A malformed date raises
    :class:`~weekly_discovery.lake.layout.LakeError` (a user error).
    """
    params = context.get("params") or {}
    if params.get("ds"):
        return Partition(parse_ds(str(params["ds"])), config.lake_root, "from the ds param")
    event = _newest_event(context.get("triggering_asset_events") or {})
    if event is not None:
        extra, asset_name = event
        event_lake = str(extra.get("lake_root") or "")
        if event_lake and Lake(event_lake).root != Lake(config.lake_root).root:
            # Anyone who can create an asset event could otherwise point training, scoring and publishing
            # (with the owner's Spotify token) at a lake of their choosing.
            raise LakeError(
                f"the triggering {asset_name} event names the lake {event_lake!r}, but the configured lake is "
                f"{config.lake_root!r}: a run only reads and writes the configured lake. If the lake moved, set "
                f"[lake] root in the config (or ${LAKE_ENV}) and rerun with the ds param")
        return Partition(parse_ds(str(extra["ds"])), config.lake_root, f"from the {asset_name} event")
    when = context.get("logical_date") or context["dag_run"].run_after
    return Partition(parse_ds(when.astimezone(dt.timezone.utc).date().isoformat()), config.lake_root, "from the run date")


def _newest_event(events_by_asset: Any) -> tuple[dict[str, Any], str] | None:
    """``(extra, short asset name)`` of the newest event whose extra names a ``ds``, or None."""
    found = []
    for asset, events in events_by_asset.items():
        name = str(getattr(asset, "name", asset)).rsplit(".", 1)[-1]
        for e in events or ():
            extra = getattr(e, "extra", None)
            if isinstance(extra, dict) and extra.get("ds"):
                found.append((str(extra["ds"]), str(getattr(e, "timestamp", "")), extra, name))
    if not found:
        return None
    newest = max(found, key=lambda f: (f[0], f[1]))
    dates = sorted({f[0] for f in found})
    if len(dates) > 1:
        log.info("several events triggered this run (%s): processing the newest, ds=%s", ", ".join(dates), newest[0])
    return newest[2], newest[3]


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
    """Fail the task at once on a :class:`~weekly_discovery.core.errors.UserError` (AirflowFailException:
    no retries, the message with its fix kept); a transient or unexpected error propagates, so Airflow
    retries the task with its back-off."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except UserError as exc:
        log.error("%s", exc)
        raise AirflowFailException(str(exc)) from None
