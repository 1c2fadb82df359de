"""The work behind the weekly_recommendations DAG's Python tasks (the DAG file only wires them)."""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Iterator

from weekly_discovery.airflow.runtime import fail_fast_on_user_errors, load_run_config
from weekly_discovery.core.config import ConfigError, load_config
from weekly_discovery.lake.layout import Lake, LakeError

log = logging.getLogger(__name__)


def prepare(context: dict[str, Any]) -> dict[str, Any]:
    """Config, partition date and the run's model settings (the Params of a manual run win).

    The date is the ``ds`` param of a manual run, else the triggering ``tracks_enriched`` event's
    (with its lake), else the run date. Values bound for spark-submit arguments are strings.
    """
    from weekly_discovery.report.tasks import run_partition

    with _user_errors_fail_fast():
        config = load_run_config()
        ds, lake_root, origin = run_partition(context, config.lake_root)
        settings = run_settings(config.model, context.get("params") or {})
    log.info("partition ds=%s (%s), lake %s", ds, origin, lake_root)
    log.info("model: features %s; %d folds grouped by artist, seed %d; threshold %g", settings["features"],
             int(settings["folds"]), int(settings["seed"]), float(settings["threshold"]))
    log.info("recommendations: top %s, at most %s per artist, into the playlist %r%s", settings["top_n"],
             settings["max_per_artist"], settings["playlist_name"],
             " (dry run: nothing is written to Spotify)" if settings["dry_run"] else "")
    return {"ds": ds, "lake_root": lake_root, "config_path": str(config.path), **settings}


def run_settings(model: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The config's [model] table with the run's Params (top_n, playlist_name, dry_run) applied."""
    top_n = params.get("top_n")
    if top_n in (None, ""):
        top_n = model.top_n
    if isinstance(top_n, bool) or not isinstance(top_n, (int, float)) or int(top_n) != top_n or not 1 <= top_n <= 10_000:
        raise ConfigError(f"the top_n param must be a whole number between 1 and 10000, got {top_n!r}")
    name = params.get("playlist_name") or model.playlist_name
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        raise ConfigError(f"the playlist_name param must be a non-empty name of at most 100 characters, got {name!r}")
    return {
        "features": ",".join(model.features),
        "folds": str(int(model.folds)),
        "seed": str(int(model.seed)),
        "grid": model.grid,
        "artist_profile": "on" if model.artist_profile else "off",
        "threshold": str(float(model.threshold)),
        "top_n": str(int(top_n)),
        "max_per_artist": str(int(model.max_per_artist)),
        "playlist_name": name.strip(),
        "dry_run": bool(params.get("dry_run", False)),
    }


def publish(run: dict[str, Any], outlet_event: Any = None) -> dict[str, Any]:
    """Log the week's "N of M" lines and recommendations, update the playlist, announce the asset."""
    from weekly_discovery.airflow.runtime import spotify_api
    from weekly_discovery.recommend.publish import publish as publish_playlist
    from weekly_discovery.recommend.publish import read_recommendations
    from weekly_discovery.recommend.score import summary_lines

    lake = Lake(run["lake_root"])
    with _user_errors_fail_fast():
        config = load_config(run["config_path"])
        rows, metrics = read_recommendations(lake, run["ds"])
        log.info("model version %s (%s)", metrics.get("model_version"), (metrics.get("model") or {}).get("name"))
        for line in summary_lines(metrics["playlists"], rows, metrics["threshold"]):
            log.info("%s", line)
        api = spotify_api(config.spotify_connection_id)
        result = publish_playlist(api, lake, run["ds"], run["playlist_name"], dry_run=bool(run["dry_run"]))
    if result.dry_run:
        log.info("dry run: nothing was written to Spotify or to the lake%s",
                 f"; the playlist is {result.playlist_url}" if result.playlist_url else "")
    else:
        log.info("playlist %r: %s (%d tracks, snapshot %s)", result.playlist_name, result.playlist_url,
                 result.tracks, result.snapshot_id)
        log.info("publish record: %s", lake.partition("gold", "published", run["ds"]))
    _refresh_report(lake, run["ds"])
    if outlet_event is not None:
        outlet_event.extra = {"ds": run["ds"], "lake_root": run["lake_root"], "playlist_id": result.playlist_id,
                              "snapshot_id": result.snapshot_id, "dry_run": result.dry_run}
    return result.to_dict()


def _refresh_report(lake: Lake, ds: str) -> None:
    """Re-render the week's library report so its model section shows this run (if the report exists)."""
    from weekly_discovery.report.paths import ui_route
    from weekly_discovery.report.render import render_report

    html = render_report(lake, ds, missing_ok=True)
    if html is None:
        log.info("no library report for %s yet: its model section will appear when library_report runs", ds)
    else:
        log.info("report with this week's model: %s (UI: %s)", html, ui_route(ds))


@contextlib.contextmanager
def _user_errors_fail_fast() -> Iterator[None]:
    """:func:`fail_fast_on_user_errors` plus this DAG's own unretryable errors (missing input, bad ``ds``)."""
    from airflow.sdk.exceptions import AirflowFailException

    from weekly_discovery.recommend.publish import PublishInputError

    with fail_fast_on_user_errors():
        try:
            yield
        except (PublishInputError, LakeError) as exc:
            log.error("%s", exc)
            raise AirflowFailException(str(exc)) from None
