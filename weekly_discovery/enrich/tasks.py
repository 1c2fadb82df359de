"""The work behind the enrich DAG's Python tasks (the DAG file only wires them)."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from typing import Any

from weekly_discovery.airflow.runtime import TaskRun, fail_fast_on_user_errors, load_run_config, resolve_partition
from weekly_discovery.lake import METRICS, TRACKS_ENRICHED, Lake
from weekly_discovery.settings.config import load_config

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class EnrichRun(TaskRun):
    """The enrich run as prepare fixed it: the providers in order, and whether the file look-up runs."""

    providers: list[str] = dataclasses.field(default_factory=list)
    use_file: bool = False


def prepare(context: dict[str, Any]) -> dict[str, Any]:
    """Validate the config and fix the partition (:func:`~weekly_discovery.airflow.runtime.resolve_partition`)."""
    with fail_fast_on_user_errors():
        config = load_run_config()
        ds, lake_root, origin = resolve_partition(context, config)
    e = config.enrichment
    log.info("partition ds=%s (%s), lake %s", ds, origin, lake_root)
    from weekly_discovery.enrich.coverage import floors_text

    log.info("enrichment providers in order: %s; missing ids retried after %d days; min coverage %s%s",
             ", ".join(e.providers), e.missing_retry_days, floors_text(e.min_coverage),
             f"; feature file {e.file.path} ({e.file.format})" if e.file else "")
    return EnrichRun(ds, lake_root, str(config.path), providers=list(e.providers),
                     use_file="file" in e.providers).to_xcom()


def file_in_chain(xcom: Mapping[str, Any]) -> bool:
    """Whether the Spark file look-up runs (``file`` is in enrichment.providers)."""
    run = EnrichRun.from_xcom(xcom)
    if not run.use_file:
        log.info("\"file\" is not in enrichment.providers (%s): skipping the file look-up",
                 ", ".join(run.providers))
    return run.use_file


def fetch(xcom: Mapping[str, Any]) -> dict[str, Any]:
    """Ask the API providers, in order, for the ids still without features; write raw batches."""
    from weekly_discovery.airflow.runtime import spotify_api
    from weekly_discovery.enrich.fetch import fetch_features
    from weekly_discovery.enrich.providers.base import ProviderContext

    with fail_fast_on_user_errors():
        run = EnrichRun.from_xcom(xcom)
        config = load_config(run.config_path)
        context = ProviderContext(config.enrichment,
                                  spotify_api=lambda: spotify_api(config.spotify_connection_id))
        summary = fetch_features(Lake(run.lake_root), run.ds, config.enrichment, context)
    return summary.to_dict()


def publish(xcom: Mapping[str, Any], outlet_event: Any) -> dict[str, Any]:
    """Log coverage per role and announce date ds of tracks_enriched to downstream DAGs."""
    from weekly_discovery.enrich.coverage import coverage_lines

    run = EnrichRun.from_xcom(xcom)
    lake = Lake(run.lake_root)
    partition = lake.partition(TRACKS_ENRICHED, run.ds)
    metrics = json.loads((partition / METRICS).read_text())
    for line in coverage_lines(metrics):
        log.info("%s", line)
    for name, m in metrics["providers"].items():
        log.info("provider %s: %s", name, ", ".join(f"{k} {v}" for k, v in m.items() if v not in (None, "")))
    log.info("tracks_enriched: %s", partition)
    outlet_event.extra = {"ds": str(run.ds), "lake_root": run.lake_root}
    return {role: entry["coverage"] for role, entry in metrics["roles"].items()}
