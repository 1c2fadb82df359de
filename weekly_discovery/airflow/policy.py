"""Run policy shared by every DAG, in one place: retries, owners, and how Spark jobs are submitted.

Imported at DAG parse time, so it stays cheap: no I/O, no connection or Variable lookups.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum

from weekly_discovery.airflow.spark_submit import PackagedSparkSubmitOperator
from weekly_discovery.core.errors import UserError

DEFAULT_START_DATE = pendulum.datetime(2026, 1, 5, tz="UTC")
START_DATE_ENV = "WEEKLY_DISCOVERY_START_DATE"
WEEKLY_MONDAY_6AM = "0 6 * * 1"
TAGS = ["weekly-discovery"]

# Retries are for transient failures (429, 5xx, lost connections): a user error (core.errors.UserError,
# or a Spark job's exit status 2) fails its task at once instead.
DEFAULT_ARGS: dict[str, Any] = {
    "owner": "weekly-discovery",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=20),
}


def start_date(value: str | None = None) -> pendulum.DateTime:
    """The DAGs' ``start_date``: ``$WEEKLY_DISCOVERY_START_DATE`` (ISO 8601, UTC unless it says) or 2026-01-05.

    With ``catchup=False``, unpausing ``spotify_ingest`` runs its latest weekly slot at once when that slot is
    after the start date (Airflow's rule); a start date of *now* makes the first scheduled run the next Monday
    instead. ``make ui`` sets it to the moment it starts, so pressing *Trigger* runs one chain, not two.
    """
    value = os.environ.get(START_DATE_ENV) if value is None else value
    if not value:
        return DEFAULT_START_DATE
    fix = "set it like 2026-01-05 or 2026-01-05T06:00:00Z, or unset it"
    try:
        parsed = pendulum.parse(value, tz="UTC", exact=True)
    except ValueError as exc:
        raise UserError(f"{START_DATE_ENV}={value!r} is not an ISO 8601 date or date-time ({exc}): {fix}") from None
    if isinstance(parsed, pendulum.DateTime):
        return parsed
    if isinstance(parsed, pendulum.Date):
        return pendulum.datetime(parsed.year, parsed.month, parsed.day, tz="UTC")
    raise UserError(f"{START_DATE_ENV}={value!r} is not a date or a date-time: {fix}")


START_DATE = start_date()

DAG_POLICY: dict[str, Any] = {
    "start_date": START_DATE,
    "catchup": False,
    "max_active_runs": 1,
    "max_consecutive_failed_dag_runs": 5,
    "default_args": DEFAULT_ARGS,
}


def xcom(task_id: str, key: str) -> str:
    """A Jinja expression for one field of a task's returned dict."""
    return "{{ ti.xcom_pull(task_ids='%s')['%s'] }}" % (task_id, key)


def spark_job(task_id: str, application: Path, args: list[str], **kwargs: Any) -> PackagedSparkSubmitOperator:
    """A spark-submit task on the ``spark_default`` connection (local mode or a cluster: the connection decides).

    The ``weekly_discovery`` package goes with the job as a zip in ``--py-files``, built when the task
    runs (:mod:`weekly_discovery.airflow.spark_submit`), so executors and cluster-mode drivers need no copy of
    the project installed. ``application`` is an absolute path; nothing depends on the working directory.
    A job that exits with ``USER_ERROR_EXIT`` (a user error, :mod:`weekly_discovery.spark.runner`) fails
    its task without the retries of :data:`DEFAULT_ARGS`; any other failure is retried.

    ``conf`` here holds only non-secret run settings: they are the only ``--conf`` flags left on the
    command line (visible in ``ps`` and the task log). The connection's ``extra.conf``, the lake's
    settings and any credential go to spark-submit in a private 0600 properties file instead.
    """
    return PackagedSparkSubmitOperator(
        task_id=task_id,
        application=str(application),
        application_args=args,
        conn_id="spark_default",
        name=f"weekly_discovery_{task_id}",
        conf={"spark.ui.showConsoleProgress": "false", "spark.sql.session.timeZone": "UTC"},
        **kwargs,
    )
