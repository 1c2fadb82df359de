"""``make demo``: the whole pipeline through Airflow on a generated library, offline, two Mondays in a row.

Starts the Spotify stand-in (a local server that speaks the Web API, serving a seeded demo
library, with Spotify's audio features forbidden as for any app registered today), writes a
config file for it, and runs each DAG with ``airflow dags test`` as the assets chain them: ingest,
then discovery (the week's new songs from ReccoBeats and the liked artists' albums: the demo config
names no candidate playlist), then enrichment, then the two DAGs that both start on ``tracks_enriched`` (the library report and the
weekly recommendations) side by side, as the scheduler would start them, and the report once more
on the weekly DAG's ``recommendations`` event (its page then shows the week's model). The person keeps no
disliked playlist (as most people do): the model learns from Liked Songs and the week's candidates as
background. Between the two weeks the person reacts by the taste the stand-in knows (saves picks they love,
takes out picks they do not), and the second week learns from it. Everything lands in
``.demo/`` (Airflow home, lake, logs); each run starts from an empty lake (the stand-in's library, its
playlist ids and the two weeks' dates are made anew, and a lake of an earlier run would hold a later week).
At the end it prints where the time went (per DAG and per task, from the DAG logs) and the total.

Spark start-up is most of a small job's time. The demo's spark-submits get settings for jobs of a few
thousand rows on a laptop (``SPARK_SUBMIT_OPTS``, :func:`small_job_env`): no Spark UI, the JVM's quick (C1)
JIT only, and the class-data archive of Spark's classes (:mod:`weekly_discovery.airflow.spark_class_data`,
made once per machine); the jobs, their inputs and outputs are the same. The ``airflow`` commands run in
forks of one warm process (:mod:`devtools.warm_airflow`): each ``dags test`` used to spend ~6 s of CPU
importing Airflow and building its in-process execution API before its first task started.
"""

from __future__ import annotations

import datetime as dt
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from devtools import warm_airflow
from devtools.standin import StandIn, generate_demo_library
from devtools.standin.catalogue import demo_catalogue
from devtools.standin.library import ROLES
from weekly_discovery.airflow import spark_class_data
from weekly_discovery.enrich.coverage import coverage_lines
from weekly_discovery.ingest.tasks import landed_lines
from weekly_discovery.lake import (
    CANDIDATES,
    LIKE_MODEL,
    METRICS,
    MODEL_CARD,
    SILVER_TRACKS,
    TRACKS_ENRICHED,
    Lake,
    read_json,
)
from weekly_discovery.report.analysis import summary_lines
from weekly_discovery.report.paths import REPORT_JSON, report_dir, ui_route
from weekly_discovery.recommend.training.dataset import sources_text

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / ".demo"

# Settings for jobs of a few thousand rows on a laptop (a production lake keeps Spark's defaults;
# docs/benchmarks.md measures the jobs with them), as options of spark-submit's JVM (the driver, which in
# local mode is also the executor), through SPARK_SUBMIT_OPTS rather than a spark-defaults.conf in
# SPARK_CONF_DIR: a non-empty conf folder on Spark's class path rules out the class-data archive
# (weekly_discovery.airflow.spark_class_data), which nearly halves a short job's start.
NO_UI = "-Dspark.ui.enabled=false"  # no Jetty server and UI listeners to start for a job nobody watches
# C1 JIT only: compiles less and sooner, which is what a job of seconds needs on 2 cores. Two demo runs at
# load ~10 (one each): with it normalize 22.7 s, enrich 25.1, report 40.1, train 201, score 28.6; without
# it 18.2, 31.6, 69.1, 198, 50.4. Noisy, but it does not slow the longest job (train) down.
C1_JIT = "-XX:TieredStopAtLevel=1"


def small_job_jvm_options(env: dict[str, str]) -> str:
    """The JVM options of a small job's Spark JVMs: C1 JIT only, and the class-data archive of Spark's
    classes (made on first use, :func:`weekly_discovery.airflow.spark_class_data.ensure_archive`) when
    one can be made."""
    archive = spark_class_data.ensure_archive(env, f"{NO_UI} {C1_JIT}")
    return " ".join(filter(None, [C1_JIT, spark_class_data.shared_archive_option(archive)]))


def small_job_env(env: dict[str, str], executors: bool = False) -> dict[str, str]:
    """``env`` with ``SPARK_SUBMIT_OPTS`` set to the small-job settings: no Spark UI and
    :func:`small_job_jvm_options`. ``executors``: a cluster's executors get the same JVM options
    (``spark.executor.extraJavaOptions``)."""
    jvm = small_job_jvm_options(env)
    extra = [f'"-Dspark.executor.extraJavaOptions={jvm}"'] if executors else []
    return {**env, "SPARK_SUBMIT_OPTS": " ".join([NO_UI, jvm, *extra])}


def demo_env(standin: StandIn, config_path: Path, home: Path = DEMO) -> dict[str, str]:
    """The environment `airflow` needs for the demo: its home (under ``home``, e.g. a benchmark's temp
    folder), the DAGs, and the two connections."""
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW_CONN_SPOTIFY_DEFAULT=standin.connection_json(),
        AIRFLOW_CONN_SPARK_DEFAULT=json.dumps({"conn_type": "spark", "host": "local[2]"}),
        WEEKLY_DISCOVERY_CONFIG=str(config_path),
    )
    env.pop("WEEKLY_DISCOVERY_LAKE", None)
    return small_job_env(env)


CATALOGUE_FILE = "catalogue/tracks_features.csv"  # beside the demo's config (main writes it)


def write_config(library, standin: StandIn, path: Path) -> Path:
    """The demo's config: the library's liked and reference sources, no disliked and no candidate playlist
    (discovery finds the songs), ReccoBeats and the small model grid on the stand-in."""
    lines = ["# Weekly Discovery configuration (demo library served by the stand-in)", "[sources]",
             "# No candidate playlist: the discover DAG finds the week's new songs ([discover] below).",
             "# No disliked playlist, as most people keep none: the model learns from your Liked Songs, your",
             "# reaction to its picks and the week's candidates as background (docs/model.md)."]
    for role in ROLES:
        if role not in ("candidates", "disliked"):
            lines.append(f"{role} = {json.dumps(list(library.role_sources(role)))}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
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
            "\n[discover]\n"
            "# ReccoBeats recommendations seeded by your likes, then the albums of your most-liked artists, then\n"
            "# every song of a downloaded catalogue (a generated one here, in Kaggle's tracks_features.csv layout).\n"
            "sources = [\"reccobeats\", \"artists\", \"catalog\"]\n"
            f"catalog = \"{CATALOGUE_FILE}\"\n"
            f"reccobeats_url = \"{standin.reccobeats_url}\"\n"
        )
    return path


@dataclass
class AirflowRun:
    """One `airflow` command started in the background, its output into .demo/logs."""

    args: list[str]
    log_path: Path
    process: subprocess.Popen
    started: float
    took: float = 0.0

    def wait(self) -> "AirflowRun":
        """Wait for it; on failure show the end of its log and stop the demo."""
        returncode = self.process.wait()
        self.took = time.monotonic() - self.started
        if returncode != 0:
            tail = self.log_path.read_text(errors="replace").splitlines()[-60:]
            print("\n".join(tail), file=sys.stderr)
            raise SystemExit(f"`airflow {' '.join(self.args)}` failed after {self.took:.0f}s; full log: {self.log_path}")
        shown = self.log_path.relative_to(REPO) if self.log_path.is_relative_to(REPO) else self.log_path
        print(f"  airflow {' '.join(self.args)}  ({self.took:.0f}s, log: {shown})")
        return self


def start_airflow(args: list[str], env: dict[str, str], log_name: str, home: Path = DEMO) -> AirflowRun:
    log_path = home / "logs" / f"{log_name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        process = subprocess.Popen(warm_airflow.command(args, env), env=env, stdout=log, stderr=subprocess.STDOUT)
    return AirflowRun(args, log_path, process, time.monotonic())


def airflow(args: list[str], env: dict[str, str], log_name: str, home: Path = DEMO) -> AirflowRun:
    """Run an `airflow` command to the end (see :class:`AirflowRun`)."""
    return start_airflow(args, env, log_name, home).wait()


def dags_test(dag_id: str, ds: str) -> list[str]:
    """``airflow dags test`` arguments for one DAG of the demo on partition ``ds``.

    The logical date is now, not ``ds`` at midnight: ``dags test`` records a run as started at its logical
    date, so a run for midnight showed in the UI as lasting from midnight until it ended (21h30m for a demo
    at 21:30). The partition date goes in as the DAGs' ``ds`` param, so every DAG of the demo processes the
    same week even if the demo runs across midnight.
    """
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return ["dags", "test", dag_id, now, "--conf", json.dumps({"ds": ds})]


_TASK_EVENT = re.compile(r"^(\S+?)Z? .*\[DAG TEST\] (starting|end task) task_id=(\S+)")


def task_times(log_path: Path) -> list[tuple[str, float]]:
    """(task_id, seconds) of each task of an `airflow dags test` log, in the order they started."""
    started: dict[str, dt.datetime] = {}
    took: dict[str, float] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        match = _TASK_EVENT.match(line)
        if not match:
            continue
        try:
            when = dt.datetime.fromisoformat(match.group(1).rstrip("Z"))
        except ValueError:
            continue
        if match.group(2) == "starting":
            started[match.group(3)] = when
        elif match.group(3) in started:
            took[match.group(3)] = (when - started[match.group(3)]).total_seconds()
    return [(task, took[task]) for task in started if task in took]


def timing_lines(runs: list[AirflowRun]) -> list[str]:
    """Per DAG: its wall time, the tasks' times and what was left (Airflow start-up, parsing, the DB)."""
    lines = []
    for run in runs:
        tasks = task_times(run.log_path)
        in_tasks = sum(seconds for _, seconds in tasks)
        detail = ", ".join(f"{task} {seconds:.1f}" for task, seconds in tasks)
        lines.append(f"{' '.join(run.args[:3]):<40} {run.took:5.0f}s: {detail or '-'}; "
                     f"Airflow start-up and bookkeeping {max(0.0, run.took - in_tasks):.0f}s")
    return lines


def discover_lines(lake: Lake, ds: str) -> list[str]:
    """Per discovery source: requests used of its budget, songs offered, songs new to the library."""
    metrics = read_json(lake.partition(CANDIDATES, ds) / METRICS)
    lines = []
    for name, m in metrics["sources"].items():
        if name == "catalog":  # no request, no row here: the score job reads the file
            lines.append(f"{name:<11} {m['note']}")
            continue
        stopped = "" if m["status"] == "done" else f" (stopped: {m['note']})"
        lines.append(f"{name:<11} {m['requests']:>3}/{m['budget']} requests, {m['found']} songs offered, "
                     f"{m['new']} new to you{stopped}")
    lines.append(f"candidates: {metrics['candidates']} rows (song, source) in {lake.partition(CANDIDATES, ds)}")
    return lines


def pick_lines(rows: list[dict]) -> list[str]:
    """Each pick once: rank, source, title, artists, the model's probability and the reason; then the
    count per source."""
    lines, per_source = [], {}
    for r in rows:
        source = r.get("source") or "playlists"
        per_source[source] = per_source.get(source, 0) + 1
        artists = ", ".join(r.get("artists") or []) or r.get("primary_artist_name") or "?"
        lines.append(f"{r['rank']:>3}. [{source}] {r['name']} - {artists} ({r['probability']:.3f}): "
                     f"{r.get('reason') or ''}")
    lines.append("picks per source: " + (", ".join(f"{k} {v}" for k, v in sorted(per_source.items())) or "none"))
    return lines


def published_record(lake: Lake, ds: str) -> dict:
    """What the week's publish step wrote to Spotify (its record in the ``gold/published`` table)."""
    from weekly_discovery.recommend.publish.playlist import read_record

    record = read_record(lake, ds)
    if record is None:
        raise SystemExit(f"no publish record for ds={ds} in {lake.root}: the weekly_recommendations DAG "
                         "did not publish")
    return record


def weekly_lines(lake: Lake, ds: str, standin: StandIn) -> list[str]:
    """The post's "N of M" lines, the picks, and the playlist as the stand-in now holds it."""
    from weekly_discovery.recommend.publish.playlist import read_recommendations
    from weekly_discovery.recommend.scoring.score import summary_lines as score_lines

    rows, metrics = read_recommendations(lake, ds)
    card = read_json(lake.version(LIKE_MODEL, ds) / MODEL_CARD)
    champion = card["champion"]
    lines = [f"model: {champion['name']} (cross-validated ROC AUC {champion['metrics']['roc_auc']:.3f}); "
             f"the 2016 post's logistic regression: {card['baseline']['metrics']['roc_auc']:.3f}",
             f"learned from: {sources_text(card['training'])}"]
    # only the "N of M" lines: the picks follow once, with their probabilities and reasons
    lines += score_lines(metrics["playlists"], rows, metrics["threshold"])[:len(metrics["playlists"])]
    if metrics.get("short_week"):
        lines.append(f"a short week: {metrics['short_week']}")
    lines += pick_lines(rows)
    published = published_record(lake, ds)
    playlist = standin.library.playlists[published["playlist_id"]]
    held = playlist.track_ids()
    lines.append(f"playlist {playlist.name!r} on the stand-in now holds {len(held)} tracks "
                 f"(snapshot {published['snapshot_id']}); the generated person would love "
                 f"{sum(standin.library.would_love(t) for t in held)} of them (the stand-in knows their taste)")
    return lines


def section(title: str, lines: list[str]) -> None:
    print(f"\n{title}:")
    for line in lines:
        print(f"  {line}")


REACTION = (3, 3)  # between the weeks the person saves up to 3 picks they love and removes up to 3 others


def run_week(env: dict[str, str], lake: Lake, standin: StandIn, ds: str, runs: list, *, first: bool) -> str:
    """One Monday's chain (ingest, discovery, enrichment, the report and the weekly model side by side, the
    report again); returns the week's request counts as a sentence."""
    start = {"spotify": standin.count("/v1/"), "albums": standin.count("/v1/artists/") + standin.count("/v1/albums/"),
             "reccobeats": standin.count("/reccobeats/v1/track/recommendation"),
             "features": standin.count("/v1/audio-features"), "rb_features": standin.count("/reccobeats")}
    suffix = "" if first else f"-{ds}"
    runs.append(airflow(dags_test("spotify_ingest", ds), env, "spotify_ingest" + suffix))
    section("What landed where", landed_lines(lake, ds, read_json(lake.partition(SILVER_TRACKS, ds) / METRICS)))
    ingest_requests = standin.count("/v1/") - start["spotify"]
    runs.append(airflow(dags_test("spotify_discover", ds), env, "spotify_discover" + suffix))
    section("This week's new songs (discovery; no candidate playlist configured)", discover_lines(lake, ds))
    albums = standin.count("/v1/artists/") + standin.count("/v1/albums/") - start["albums"]
    reccobeats = standin.count("/reccobeats/v1/track/recommendation") - start["reccobeats"]
    runs.append(airflow(dags_test("spotify_enrich", ds), env, "spotify_enrich" + suffix))
    enriched = read_json(lake.partition(TRACKS_ENRICHED, ds) / METRICS)
    section("Audio features (Spotify's endpoint is forbidden here, as for every new app)", coverage_lines(enriched))

    # Both DAGs start on tracks_enriched: the scheduler starts them together, and so does the demo. The
    # report DAG also starts on the weekly DAG's recommendations event, so it runs again after it (below).
    report_run = start_airflow(dags_test("library_report", ds), env, "library_report" + suffix)
    weekly_run = start_airflow(dags_test("weekly_recommendations", ds), env, "weekly_recommendations" + suffix)
    runs.append(report_run.wait())
    report_html = report_dir(lake, ds) / "index.html"
    section("Library report", summary_lines(read_json(report_dir(lake, ds) / REPORT_JSON), str(report_html),
                                            ui_route(ds)))
    runs.append(weekly_run.wait())
    section("This week's recommendations", weekly_lines(lake, ds, standin))
    runs.append(airflow(dags_test("library_report", ds), env, "library_report-on-recommendations" + suffix))
    print(f"\n  the report now has its model section: {report_html}")
    return (f"{ingest_requests} to Spotify for ingest, {albums} to Spotify's artist albums and album tracks "
            f"(discovery), {reccobeats} to ReccoBeats recommendations (discovery), "
            f"{standin.count('/v1/audio-features') - start['features']} to Spotify's /audio-features, "
            f"{standin.count('/reccobeats') - start['rb_features']} to ReccoBeats (a song's features are asked once)")


def main() -> int:
    started = time.monotonic()
    DEMO.mkdir(exist_ok=True)
    shutil.rmtree(DEMO / "lake", ignore_errors=True)  # see the module docstring
    today = dt.datetime.now(dt.timezone.utc).date()
    weeks = ((today - dt.timedelta(days=7)).isoformat(), today.isoformat())
    library = generate_demo_library(seed=7)
    catalogue = demo_catalogue(library, DEMO / CATALOGUE_FILE)  # before the stand-in serves the library
    with StandIn(library, audio_features="forbidden") as standin, contextlib.ExitStack() as stack:
        config_path = write_config(library, standin, DEMO / "weekly-discovery.toml")
        env = demo_env(standin, config_path)
        env = stack.enter_context(warm_airflow.warm_server(env, DEMO / "logs" / "warm-airflow.log"))
        print(f"Spotify stand-in at {standin.base_url} serving a generated library "
              f"({len(library.saved)} liked songs, {len(library.playlists)} playlists)")
        print(f"config: {config_path.relative_to(REPO)}   partition dates: {', '.join(weeks)}")
        print(f"catalogue: {catalogue.rows:,} songs ({catalogue.from_library:,} of them the stand-in's, some in your "
              f"library) in {catalogue.path.relative_to(REPO)}")
        runs = [airflow(["db", "migrate"], env, "db-migrate")]
        lake = Lake(str(DEMO / "lake"))
        requests = []
        for week, day in enumerate(weeks, 1):
            print(f"\n=== Week {week}: the Monday {day} ===")
            requests.append(run_week(env, lake, standin, day, runs, first=week == 1))
            if week < len(weeks):
                published = published_record(lake, day)
                saved, removed = library.react(published["playlist_id"], save=REACTION[0], remove=REACTION[1])
                section("Your reaction during the week (by the taste the stand-in knows)",
                        [f"saved to Liked Songs: {len(saved)} picks you love; taken out of the playlist: "
                         f"{len(removed)} picks you do not love (next week learns from both)"])
        for week, counts in enumerate(requests, 1):
            print(f"\nRequests in week {week}: {counts}")
    section("Where the time went (seconds; each week library_report and weekly_recommendations ran side by "
            "side, then library_report again)",
            timing_lines(runs))
    print(f"\nDemo finished in {time.monotonic() - started:.0f}s wall time (load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores). Lake: {lake.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
