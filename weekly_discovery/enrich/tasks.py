"""The work behind the enrich DAG's Python tasks (the DAG file only wires them)."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any, Iterator

from weekly_discovery.airflow.runtime import fail_fast_on_user_errors, load_run_config, partition_date
from weekly_discovery.core.config import load_config
from weekly_discovery.lake.layout import METRICS, Lake, LakeError, check_ds

log = logging.getLogger(__name__)


def triggering_partition(context: dict[str, Any]) -> dict[str, str] | None:
    """``{"ds", "lake_root"}`` from the newest triggering ``silver_tracks`` event's extra, if any.

    Airflow may fold several events into one run (e.g. two ingest runs while this DAG was busy);
    the newest partition is processed then, which also covers the older one's tracks.
    """
    from weekly_discovery.airflow.assets import SILVER_TRACKS

    events_by_asset = context.get("triggering_asset_events") or {}
    try:
        events = list(events_by_asset[SILVER_TRACKS])
    except (KeyError, TypeError):
        events = [e for evs in getattr(events_by_asset, "values", lambda: [])() for e in evs]
    found = [e for e in events if isinstance(getattr(e, "extra", None), dict) and e.extra.get("ds")]
    if not found:
        return None
    newest = max(found, key=lambda e: (str(e.extra["ds"]), str(getattr(e, "timestamp", ""))))
    if len({e.extra["ds"] for e in found}) > 1:
        log.info("several silver_tracks events triggered this run (%s): enriching the newest, ds=%s",
                 ", ".join(sorted({str(e.extra["ds"]) for e in found})), newest.extra["ds"])
    return {"ds": check_ds(str(newest.extra["ds"])), "lake_root": str(newest.extra.get("lake_root") or "")}


def prepare(context: dict[str, Any]) -> dict[str, Any]:
    """Validate the config and fix the partition date (asset event, else ``ds`` param, else run date)."""
    with _user_errors_fail_fast():
        config = load_run_config()
        event = triggering_partition(context)
        ds = event["ds"] if event else partition_date(context)
    lake_root = config.lake_root
    if event and event["lake_root"] and Lake(event["lake_root"]).root != Lake(lake_root).root:
        log.warning("the triggering event names lake %s but the config says %s: using the event's lake",
                    event["lake_root"], lake_root)
        lake_root = event["lake_root"]
    e = config.enrichment
    log.info("partition ds=%s (%s), lake %s", ds, "from the silver_tracks event" if event else "from the run",
             lake_root)
    log.info("enrichment providers in order: %s; missing ids retried after %d days; min coverage %.0f%%%s",
             ", ".join(e.providers), e.missing_retry_days, e.min_coverage * 100,
             f"; feature file {e.file.path} ({e.file.format})" if e.file else "")
    return {
        "ds": ds,
        "lake_root": lake_root,
        "config_path": str(config.path),
        "providers": list(e.providers),
        "use_file": "file" in e.providers,
    }


def file_in_chain(run: dict[str, Any]) -> bool:
    """Whether the Spark file look-up runs (``file`` is in enrichment.providers)."""
    if not run["use_file"]:
        log.info("\"file\" is not in enrichment.providers (%s): skipping the file look-up",
                 ", ".join(run["providers"]))
    return bool(run["use_file"])


def fetch(run: dict[str, Any]) -> dict[str, Any]:
    """Ask the API providers, in order, for the ids still without features; write raw batches."""
    from weekly_discovery.airflow.runtime import spotify_api
    from weekly_discovery.enrich.fetch import fetch_features
    from weekly_discovery.enrich.providers.base import ProviderContext

    with _user_errors_fail_fast():
        config = load_config(run["config_path"])
        context = ProviderContext(config.enrichment,
                                  spotify_api=lambda: spotify_api(config.spotify_connection_id))
        summary = fetch_features(Lake(run["lake_root"]), run["ds"], config.enrichment, context)
    return summary.to_dict()


def publish(run: dict[str, Any], outlet_event: Any) -> dict[str, Any]:
    """Log coverage per role and announce the tracks_enriched partition to downstream DAGs."""
    from weekly_discovery.enrich.cache import ENRICHED
    from weekly_discovery.enrich.coverage import coverage_lines

    lake = Lake(run["lake_root"])
    partition = lake.partition(*ENRICHED, run["ds"])
    metrics = json.loads((partition / METRICS).read_text())
    for line in coverage_lines(metrics):
        log.info("%s", line)
    for name, m in metrics["providers"].items():
        log.info("provider %s: %s", name, ", ".join(f"{k} {v}" for k, v in m.items() if v not in (None, "")))
    log.info("tracks_enriched: %s", partition)
    outlet_event.extra = {"ds": run["ds"], "lake_root": run["lake_root"]}
    return {role: entry["coverage"] for role, entry in metrics["roles"].items()}


@contextlib.contextmanager
def _user_errors_fail_fast() -> Iterator[None]:
    """:func:`fail_fast_on_user_errors` plus the enrichment step's own unretryable errors (and a bad ``ds``)."""
    from airflow.sdk.exceptions import AirflowFailException

    from weekly_discovery.enrich.cache import FeatureInputError
    from weekly_discovery.enrich.providers.base import ProviderError

    with fail_fast_on_user_errors():
        try:
            yield
        except (FeatureInputError, ProviderError, LakeError) as exc:
            log.error("%s", exc)
            raise AirflowFailException(str(exc)) from None
