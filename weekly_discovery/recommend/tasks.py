"""The work behind the weekly_recommendations DAG's Python tasks (the DAG file only wires them)."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from typing import Any

from weekly_discovery.airflow.runtime import TaskRun, fail_fast_on_user_errors, load_run_config, resolve_partition
from weekly_discovery.lake import PICKS, PUBLISHED, Lake, PartitionDate
from weekly_discovery.settings.config import LAKE_ENV, load_config

log = logging.getLogger(__name__)


# The Params of a manual run that are configuration: the Spark jobs apply them over the config file
# (``--params``, :meth:`Config.with_params`); ``ds`` and ``dry_run`` are read by the tasks themselves.
JOB_PARAMS = ("top_n", "playlist_name")


@dataclasses.dataclass(frozen=True)
class WeeklyRun(TaskRun):
    """The weekly run as prepare fixed it: the jobs' ``--params`` (JSON text), where and how to publish."""

    params: str = "{}"
    playlist_name: str = ""
    dry_run: bool = False
    allow_empty: bool = False  # publish an empty week (empties the playlist)
    allow_backfill: bool = False  # publish a week older than the one the playlist holds


def prepare(context: dict[str, Any]) -> dict[str, Any]:
    """Config, partition and the run's Params, checked before any Spark job starts (a :class:`WeeklyRun`, as XCom).

    The partition comes from :func:`~weekly_discovery.airflow.runtime.resolve_partition` (the ``ds``
    param, else the triggering ``tracks_enriched`` event with its lake, else the run date). The jobs
    read their settings from the config file (``--config``) with the Params given here (``--params``,
    a JSON object) applied on top, the same way as this task checks them: one place, the config's schema.
    """
    params = context.get("params") or {}
    with fail_fast_on_user_errors():
        config = load_run_config()
        ds, lake_root, origin = resolve_partition(context, config)
        job_params = {key: params[key] for key in JOB_PARAMS if params.get(key) not in (None, "")}
        model = config.with_params(job_params).model
    dry_run = bool(params.get("dry_run", False))
    log.info("partition ds=%s (%s), lake %s", ds, origin, lake_root)
    if not dry_run:
        with fail_fast_on_user_errors():
            read_reaction(config, Lake(lake_root), ds, model.playlist_name)
    log.info("model: features %s; %d folds grouped by artist, seed %d; threshold %g", ",".join(model.features),
             model.folds, model.seed, model.threshold)
    log.info("recommendations: top %s, at most %s per artist, into the playlist %r%s", model.top_n,
             model.max_per_artist, model.playlist_name, " (dry run: nothing is written to Spotify)" if dry_run else "")
    return WeeklyRun(ds, lake_root, str(config.path), params=json.dumps(job_params),
                     playlist_name=model.playlist_name, dry_run=dry_run,
                     allow_empty=bool(params.get("allow_empty", False)),
                     allow_backfill=bool(params.get("allow_backfill", False))).to_xcom()


def source_playlist_ids(config: Any) -> frozenset[str]:
    """The ids of the playlists the config reads (every role): publishing never replaces one of them."""
    return frozenset(s.spotify_id for s in config.sources if s.spotify_id)


def read_reaction(config: Any, lake: Lake, ds: PartitionDate, playlist_name: str) -> None:
    """Which of the picks the playlist holds did you take out since? Read before training, which learns from it."""
    from weekly_discovery.airflow.runtime import spotify_api
    from weekly_discovery.recommend.publish.playlist import detect_reaction, stored_playlist

    if stored_playlist(lake, playlist_name) is None:
        log.info("no playlist %r published yet: no reaction to read", playlist_name)
        return
    removed = detect_reaction(spotify_api(config.spotify_connection_id), lake, ds, playlist_name)
    log.info("reaction: %d pick(s) newly seen removed from %r (the model learns from them, and they are never "
             "offered again)", len(removed), playlist_name)


def publish(xcom: Mapping[str, Any], outlet_event: Any = None) -> dict[str, Any]:
    """Log the week's "N of M" lines and recommendations, update the playlist, announce the asset."""
    from weekly_discovery.airflow.runtime import spotify_api
    from weekly_discovery.recommend.publish.playlist import publish as publish_playlist
    from weekly_discovery.recommend.publish.playlist import read_recommendations
    from weekly_discovery.recommend.scoring.score import summary_lines

    with fail_fast_on_user_errors():
        run = WeeklyRun.from_xcom(xcom)
        lake = Lake(run.lake_root)
        config = load_config(run.config_path)
        rows, metrics = read_recommendations(lake, run.ds)
        log.info("model version %s (%s)", metrics.get("model_version"), (metrics.get("model") or {}).get("name"))
        for line in summary_lines(metrics["playlists"], rows, metrics["threshold"]):
            log.info("%s", line)
        for r in rows:
            if r.get("reason"):
                log.info("%3d. why: %s", r["rank"], r["reason"])
        api = spotify_api(config.spotify_connection_id)
        result = publish_playlist(api, lake, run.ds, run.playlist_name, dry_run=run.dry_run,
                                  allow_empty=run.allow_empty, allow_backfill=run.allow_backfill,
                                  sources=source_playlist_ids(config))
    if result.skipped:
        log.warning("the playlist was not published (the task succeeds, Spotify untouched): %s", result.skipped)
    elif result.dry_run:
        log.info("dry run: nothing was written to Spotify or to the lake%s",
                 f"; the playlist is {result.playlist_url}" if result.playlist_url else "")
    else:
        log.info("playlist %r: %s (%d tracks, snapshot %s)", result.playlist_name, result.playlist_url,
                 result.tracks, result.snapshot_id)
        log.info("publish record: %s ds=%s; picks history: %s ds=%s", lake.table(PUBLISHED), run.ds,
                 lake.table(PICKS), run.ds)
    if outlet_event is not None:
        outlet_event.extra = {"ds": str(run.ds), "lake_root": run.lake_root, "playlist_id": result.playlist_id,
                              "snapshot_id": result.snapshot_id, "dry_run": result.dry_run}
    return result.to_dict()


def vacuum_task(xcom: Mapping[str, Any]) -> dict[str, int]:
    """The ``vacuum`` task: VACUUM the run's lake, files unused for ``[lake] keep_versions_days``."""
    from weekly_discovery.lake.maintenance import vacuum_lake

    lake_root = xcom["lake_root"]  # the whole lake, whatever the run's date
    config = load_config(xcom["config_path"], env={LAKE_ENV: lake_root})
    deleted = vacuum_lake(Lake(lake_root), config.keep_versions_days)
    log.info("VACUUM (files unused for more than %d days): %s", config.keep_versions_days,
             ", ".join(f"{name} {n}" for name, n in deleted.items()))
    return deleted
