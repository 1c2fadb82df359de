"""``make demo``: the whole pipeline through Airflow on a generated library, offline.

Starts the Spotify stand-in (a local server that speaks the Web API, serving a seeded demo
library, with Spotify's audio features forbidden as for any app registered today), writes a
config file for it, and runs each DAG with ``airflow dags test`` in order. Everything lands in
``.demo/`` (Airflow home, lake, logs); running it again the same day replaces that day's partitions.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from weekly_discovery.features.coverage import coverage_lines
from weekly_discovery.ingest_tasks import landed_lines
from weekly_discovery.lake import METRICS, Lake, read_json
from weekly_discovery.report.analysis import summary_lines
from weekly_discovery.report.paths import REPORT_JSON, report_dir, ui_route
from weekly_discovery.standin import StandIn, generate_demo_library
from weekly_discovery.standin.library import write_demo_config

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / ".demo"


def demo_env(standin: StandIn, config_path: Path) -> dict[str, str]:
    """The environment `airflow` needs for the demo: its home, the DAGs, and the two connections."""
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(DEMO / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW_CONN_SPOTIFY_DEFAULT=standin.connection_json(),
        AIRFLOW_CONN_SPARK_DEFAULT=json.dumps({"conn_type": "spark", "host": "local[2]"}),
        WEEKLY_DISCOVERY_CONFIG=str(config_path),
    )
    env.pop("WEEKLY_DISCOVERY_LAKE", None)
    return env


def write_config(library, standin: StandIn, path: Path) -> Path:
    write_demo_config(library, path)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(
            "\n[lake]\nroot = \"lake\"\n"
            "\n[enrichment]\n"
            "# The stand-in forbids Spotify's /audio-features, as Spotify does for new apps: ReccoBeats takes over.\n"
            "providers = [\"spotify\", \"reccobeats\"]\n"
            f"reccobeats_url = \"{standin.reccobeats_url}\"\n"
            "\n[model]\n"
            "# The demo trains one small configuration per model family; drop this line for the full weekly grid.\n"
            "grid = \"quick\"\n"
        )
    return path


def airflow(args: list[str], env: dict[str, str], log_name: str) -> None:
    """Run an `airflow` command, its output into .demo/logs; on failure show the end of it."""
    log_path = DEMO / "logs" / f"{log_name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log_path.open("w") as log:
        result = subprocess.run(["airflow", *args], env=env, stdout=log, stderr=subprocess.STDOUT)
    took = time.monotonic() - started
    if result.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-60:]
        print("\n".join(tail), file=sys.stderr)
        raise SystemExit(f"`airflow {' '.join(args)}` failed after {took:.0f}s; full log: {log_path}")
    print(f"  airflow {' '.join(args)}  ({took:.0f}s, log: {log_path.relative_to(REPO)})")


def weekly_lines(lake: Lake, ds: str, standin: StandIn) -> list[str]:
    """The post's "N of M" lines, the picks, and the playlist as the stand-in now holds it."""
    from weekly_discovery.publish import read_recommendations
    from weekly_discovery.transforms.score import summary_lines as score_lines

    rows, metrics = read_recommendations(lake, ds)
    card = read_json(lake.table("models", "like_model") / f"version={ds}" / "model_card.json")
    champion = card["champion"]
    lines = [f"model: {champion['name']} (cross-validated ROC AUC {champion['metrics']['roc_auc']:.3f}); "
             f"the 2016 post's logistic regression: {card['baseline']['metrics']['roc_auc']:.3f}"]
    lines += score_lines(metrics["playlists"], rows, metrics["threshold"])
    published = read_json(lake.partition("gold", "published", ds) / "_publish.json")
    playlist = standin.library.playlists[published["playlist_id"]]
    lines.append(f"playlist {playlist.name!r} on the stand-in now holds {len(playlist.track_ids())} tracks "
                 f"(snapshot {published['snapshot_id']})")
    return lines


def section(title: str, lines: list[str]) -> None:
    print(f"\n{title}:")
    for line in lines:
        print(f"  {line}")


def main() -> int:
    started = time.monotonic()
    DEMO.mkdir(exist_ok=True)
    ds = dt.datetime.now(dt.timezone.utc).date().isoformat()
    library = generate_demo_library(seed=7)
    with StandIn(library, audio_features="forbidden") as standin:
        config_path = write_config(library, standin, DEMO / "weekly-discovery.toml")
        env = demo_env(standin, config_path)
        print(f"Spotify stand-in at {standin.base_url} serving a generated library "
              f"({len(library.saved)} liked songs, {len(library.playlists)} playlists)")
        print(f"config: {config_path.relative_to(REPO)}   partition date: {ds}")
        airflow(["db", "migrate"], env, "db-migrate")
        lake = Lake(str(DEMO / "lake"))

        airflow(["dags", "test", "spotify_ingest", ds], env, "spotify_ingest")
        section("What landed where", landed_lines(lake, ds, read_json(lake.partition("silver", "tracks", ds) / METRICS)))
        ingest_requests = standin.count("/v1/")

        airflow(["dags", "test", "spotify_enrich", ds], env, "spotify_enrich")
        enriched = read_json(lake.partition("silver", "tracks_enriched", ds) / METRICS)
        section("Audio features (Spotify's endpoint is forbidden here, as for every new app)", coverage_lines(enriched))

        airflow(["dags", "test", "library_report", ds], env, "library_report")
        report_html = report_dir(lake, ds) / "index.html"
        section("Library report", summary_lines(read_json(report_dir(lake, ds) / REPORT_JSON), str(report_html),
                                                ui_route(ds)))

        airflow(["dags", "test", "weekly_recommendations", ds], env, "weekly_recommendations")
        section("This week's recommendations", weekly_lines(lake, ds, standin))
        print(f"\n  the report now has its model section: {report_html}")

        print(f"\nRequests in this run: {ingest_requests} to Spotify for ingest, "
              f"{standin.count('/v1/audio-features')} to Spotify's /audio-features, "
              f"{standin.count('/reccobeats')} to ReccoBeats (a rerun of the same date reuses stored answers)")
    print(f"\nDemo finished in {time.monotonic() - started:.0f}s. Lake: {lake.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
