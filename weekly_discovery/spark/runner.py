"""The one runner every spark-submit job goes through: command line, logging, timing and exit status.

Settings reach every job the same way: ``--config PATH`` (default ``$WEEKLY_DISCOVERY_CONFIG``) and,
for a manual run's Airflow Params, ``--params '<json>'``, read by :func:`job_config` as
``load_config(path).with_params(params)``: each setting is checked in one place, the config's schema.

A job (``jobs/*.py``) is a thin ``main(argv)``::

    def main(argv=None) -> int:
        return run_job("train", parse_args, run, argv)

where ``parse_args`` builds on :func:`job_parser` and ``run(args)`` checks its input first (no pyspark
import needed for that) and only then opens :func:`job_session`, so a missing input costs no Spark
session.

The exit status is the contract with the spark-submit operator (:mod:`weekly_discovery.airflow.spark_submit`):

- 0: done; the runner logs ``<job> ds=<D> done in <s> s``;
- ``USER_ERROR_EXIT`` (2, like argparse's own usage errors): a
  :class:`~weekly_discovery.core.errors.UserError`, logged as its message only (it names the fix, a
  traceback would bury it); the task fails without retry;
- ``FAILURE_EXIT`` (1): anything else, logged with its traceback; the task is retried.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from weekly_discovery.core.errors import FAILURE_EXIT, USER_ERROR_EXIT, UserError
from weekly_discovery.lake import TRACKS_ENRICHED, Lake, LakeError, parse_ds
from weekly_discovery.settings.config import CONFIG_ENV, LAKE_ENV, Config, load_config

log = logging.getLogger(__name__)

def setup_job_logging() -> None:
    """One line format for every job; py4j's chatter kept out of the task log."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)


def job_parser(doc: str | None, *, settings: bool = False) -> argparse.ArgumentParser:
    """A parser with ``--lake`` (default ``$WEEKLY_DISCOVERY_LAKE``) and ``--ds``, described by the
    first paragraph of ``doc``; with ``settings``, also ``--config`` and ``--params`` (:func:`job_config`)."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--lake", default=os.environ.get(LAKE_ENV),
                        help=f"lake root folder or URI (default: ${LAKE_ENV})")
    parser.add_argument("--ds", required=True, help="partition date, YYYY-MM-DD")
    if settings:
        parser.add_argument("--config", default=os.environ.get(CONFIG_ENV),
                            help=f"the TOML config (default: ${CONFIG_ENV})")
        parser.add_argument("--params", type=_json_object, default={},
                            help="a manual run's Params as a JSON object, e.g. '{\"top_n\": 20}', applied over "
                                 "the config")
    return parser


def parse_job_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """``parser``'s arguments, ``--ds`` parsed into a :class:`~weekly_discovery.lake.PartitionDate` (the job's
    one check of it); exits with the fix (status 2, argparse's) on a malformed date or when no lake root (or,
    for a job with settings, no config) is given."""
    args = parser.parse_args(argv)
    try:
        args.ds = parse_ds(args.ds)
    except LakeError as exc:
        parser.error(str(exc))
    if not args.lake:
        parser.error(f"no lake root: pass --lake or set {LAKE_ENV}")
    if hasattr(args, "config") and not args.config:
        parser.error(f"no config: pass --config or set {CONFIG_ENV}")
    return args


def job_config(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Config:
    """The validated config of ``--config`` with the ``--params`` applied (raises ConfigError, a user error)."""
    return load_config(args.config, env=env).with_params(args.params)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON ({exc}); pass an object such as '{{\"top_n\": 20}}'") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{text!r} is not a JSON object; pass e.g. '{{\"top_n\": 20}}'")
    return value


def run_job(name: str, parse_args: Callable[[Sequence[str] | None], argparse.Namespace],
            run: Callable[[argparse.Namespace], Any], argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, call ``run(args)`` and return the exit status (see the module docstring)."""
    setup_job_logging()
    args = parse_args(argv)  # a usage error exits 2 here, with argparse's message
    ds = getattr(args, "ds", "?")
    started = time.monotonic()
    try:
        run(args)
    except UserError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            log.error("%s ds=%s failed: %s", name, ds, line)
        return USER_ERROR_EXIT
    except Exception:  # noqa: BLE001 - the exit status tells Airflow to retry; the traceback says why
        log.exception("%s ds=%s failed after %.1f s (unexpected error: the task will be retried)", name, ds,
                      time.monotonic() - started)
        return FAILURE_EXIT
    log.info("%s ds=%s done in %.1f s", name, ds, time.monotonic() - started)
    return 0


@contextlib.contextmanager
def job_session(app_name: str, conf: Mapping[str, Any] | None = None, *, input_bytes: int | None = None
                ) -> Iterator[Any]:
    """The job's SparkSession, stopped when the block ends (even on an error).

    Open it only after the input is checked: starting Spark costs 10-20 s and ~400 MB. ``input_bytes``, the
    size of what the job reads, gives a small input the small-input settings
    (:func:`weekly_discovery.spark.session.input_size_conf`); ``conf`` wins over them.
    """
    from weekly_discovery.spark.session import (
        get_spark,
        input_size_conf,
        small_input_mb,
        submitted_conf,
    )

    if input_bytes is not None:
        sized = input_size_conf(input_bytes, submitted_conf())
        if sized:
            log.info("%s: small input (%.1f MB, under %g MB): %s", app_name, input_bytes / 2**20, small_input_mb(),
                     ", ".join(f"{k}={v}" for k, v in sorted(sized.items())))
        conf = {**sized, **(conf or {})}
    spark = get_spark(app_name, conf)
    try:
        yield spark
    finally:
        spark.stop()


def enriched_input(lake: Lake, ds: str) -> str:
    """The ``silver/tracks_enriched`` table when it holds date ``ds`` (train and score read it), else
    :class:`LakeError` naming the DAG to run first. Read by delta-rs from the log, before Spark starts."""
    from weekly_discovery.lake import delta

    if not delta.has_date(lake, TRACKS_ENRICHED, ds):
        raise LakeError(f"no enriched tracks for ds={ds} in {lake.table(TRACKS_ENRICHED)}; "
                        f"run the enrichment (spotify_enrich) for {ds} first")
    return str(lake.table(TRACKS_ENRICHED))
