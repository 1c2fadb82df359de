"""The whole chain through real Airflow (`airflow dags test`), as `make demo` runs it, against the stand-in with
Spotify's audio features forbidden (the situation of every app registered today), and with NO candidate
playlist configured (issue 13: discovery finds the week's songs), two Mondays in a row:

- week 1: ingest -> discover -> enrich -> report -> weekly -> report again (on the recommendations event);
  then enrich and weekly once more for the same date (a rerun asks nothing and changes nothing);
- week 2: ingest (the unchanged library: one request per source) -> discover -> enrich -> weekly (a
  playlist of new songs, disjoint from week 1's).

One chain for three stories (the pipeline's, discovery's and the ingest DAG's two weeks: three files and
17 DAG runs before, 12 now): lean on purpose (a small library, the quick grid, top_n 8). The
candidate-playlist path runs end to end in tests/services (the chain on PostgreSQL with the scheduler)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from devtools.standin import StandIn, generate_demo_library
from tests.e2e.conftest import dags_test, pipeline_env
from weekly_discovery.lake.layout import Lake
from weekly_discovery.report.paths import INDEX_HTML, report_dir

pytestmark = pytest.mark.e2e
MONDAYS = ("2026-11-23", "2026-11-30")
DS = MONDAYS[0]
WEEK = ("spotify_ingest", "spotify_discover", "spotify_enrich", "weekly_recommendations")
TOP_N = 8
CONFIGURED_ROLES = ("liked", "disliked", "reference")


def write_config(library, standin: StandIn, path: Path) -> Path:
    sources = "".join(f"{role} = {json.dumps(list(library.role_sources(role)))}\n"
                      for role in CONFIGURED_ROLES)  # no candidates: none configured
    path.write_text(
        f"[sources]\n{sources}\n[lake]\nroot = \"lake\"\n"
        f"[enrichment]\nproviders = [\"spotify\", \"reccobeats\"]\nreccobeats_url = \"{standin.reccobeats_url}\"\n"
        f"[model]\ngrid = \"quick\"\ntop_n = {TOP_N}\n"
        f"[discover]\nsources = [\"reccobeats\", \"artists\"]\nreccobeats_url = \"{standin.reccobeats_url}\"\n",
        encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def chain(airflow_db, tmp_path_factory):
    """Run the chain for both Mondays against one stand-in; keep outputs, logs and request counts."""
    tmp = tmp_path_factory.mktemp("pipeline")
    library = generate_demo_library(seed=7, n_tracks=500)
    with StandIn(library, audio_features="forbidden") as standin:
        env = pipeline_env(airflow_db, standin, write_config(library, standin, tmp / "weekly-discovery.toml"))
        lake = Lake(str(tmp / "lake"))
        runs, outputs = {}, []

        def run(dag_id: str, ds: str):
            result = dags_test(env, dag_id, ds)
            outputs.append(result.output)
            assert result.returncode == 0, f"{dag_id} {ds} failed:\n{result.output[-6000:]}"
            return result

        # week 1, with the report DAG after enrich (its first run) and after weekly (the recommendations event)
        for dag_id in ("spotify_ingest", "spotify_discover", "spotify_enrich", "library_report",
                       "weekly_recommendations"):
            runs[dag_id] = run(dag_id, DS)
        page_before_rerun = (report_dir(lake, DS) / INDEX_HTML).read_text()
        report_after_weekly = run("library_report", DS)
        requests_after_first_pass = {"audio_features": standin.count("GET /v1/audio-features"),
                                     "reccobeats_features": standin.count("GET /reccobeats/v1/audio-features")}
        enriched_before = pq.read_table(lake.partition("silver", "tracks_enriched", DS)).sort_by(
            [("source_key", "ascending"), ("track_id", "ascending")])
        first_playlist = _published_playlist(standin, lake, DS)
        # the same date again: enrich asks nothing, weekly publishes the same playlist
        standin.reset_counts()
        rerun = run("spotify_enrich", DS)
        rerun_weekly = run("weekly_recommendations", DS)
        playlists_created = standin.count("POST /v1/me/playlists")
        rerun_feature_requests = standin.count("GET /v1/audio-features") + standin.count("/reccobeats")
        rerun_playlist = _published_playlist(standin, lake, DS)
        # week 2: the unchanged library costs one request per source; then new songs again, in the same
        # playlist (its items are replaced each week)
        standin.reset_counts()
        run("spotify_ingest", MONDAYS[1])
        week2_ingest_requests = standin.count("/v1/")
        for dag_id in WEEK[1:]:
            run(dag_id, MONDAYS[1])
        playlists = {DS: first_playlist[1], MONDAYS[1]: _published_playlist(standin, lake, MONDAYS[1])[1]}
        yield {
            "library": library, "lake": lake, "runs": runs, "rerun": rerun, "tmp": tmp, "outputs": outputs,
            "first": requests_after_first_pass, "rerun_feature_requests": rerun_feature_requests,
            "enriched_before": enriched_before, "first_playlist": first_playlist, "rerun_playlist": rerun_playlist,
            "playlists_created_on_rerun": playlists_created, "rerun_weekly": rerun_weekly,
            "page_before_rerun": page_before_rerun, "report_after_weekly": report_after_weekly,
            "playlists": playlists,  # what the playlist held right after each week
            "week2_ingest_requests": week2_ingest_requests,
            # every access token the stand-in handed out during the runs (its private registry)
            "secrets": (standin.client_secret, standin.refresh_token, *standin._access_tokens),
        }


def expected_tracks_per_source(library) -> dict[str, int]:
    """Written from the library itself, not from the pipeline: one row per distinct real track of each
    configured source (liked, disliked, reference: no candidate playlist here)."""
    out = {}
    for role in CONFIGURED_ROLES:
        for source in library.roles.get(role, []):
            if source == "saved_tracks":
                out[source] = len({t for _, t in library.saved})
            else:
                out[f"playlist-{source}"] = len(set(library.playlists[source].track_ids()))
    return out


def _published_playlist(standin, lake: Lake, ds: str):
    published = json.loads((lake.partition("gold", "published", ds) / "_publish.json").read_text())
    return published["playlist_id"], standin.library.playlists[published["playlist_id"]].track_ids()


def picks(lake: Lake, ds: str) -> list[dict]:
    return pq.read_table(str(lake.partition("gold", "picks", ds) / "part-00000.parquet")).to_pylist()


def library_ids(lake: Lake, ds: str) -> set[str]:
    rows = pq.read_table(str(lake.partition("silver", "tracks", ds)), columns=["track_id", "role"]).to_pylist()
    return {r["track_id"] for r in rows if r["role"] in ("liked", "disliked", "reference")}


# ---- the week's playlist, its rerun, enrichment and the report ------------------------------------------

def test_weekly_playlist_holds_the_recommendations_and_a_rerun_keeps_it(chain):
    lake = chain["lake"]
    recommended = sorted(pq.read_table(lake.partition("gold", "recommendations", DS)).to_pylist(),
                         key=lambda r: r["rank"])
    playlist_id, tracks = chain["first_playlist"]
    assert recommended and tracks == [r["track_id"] for r in recommended]
    assert len(set(tracks)) == len(tracks)
    library = chain["library"]
    known = library.role_track_ids("liked") | library.role_track_ids("disliked")
    assert not set(tracks) & known  # never recommends what you already rated
    assert chain["rerun_playlist"] == (playlist_id, tracks)  # same playlist, same tracks, no duplicates
    assert chain["playlists_created_on_rerun"] == 0
    assert "songs recommended" in chain["runs"]["weekly_recommendations"].output


def test_enrichment_falls_back_to_reccobeats_in_batches_of_40(chain):
    library, lake = chain["library"], chain["lake"]
    table = pq.read_table(lake.partition("silver", "tracks_enriched", DS)).to_pylist()
    ok = [r for r in table if r["feature_status"] == "ok"]
    assert ok and {r["feature_source"] for r in ok} == {"reccobeats"}
    # expected values come from the library, not from the pipeline
    for row in ok[:50]:
        truth = library.reccobeats_features_for(row["track_id"])
        assert row["danceability"] == pytest.approx(truth["danceability"])
        assert row["tempo"] == pytest.approx(truth["tempo"])
    distinct = {r["track_id"] for r in table}
    known = {t for t in distinct if library.reccobeats_features_for(t) is not None}
    assert {r["track_id"] for r in ok} == known
    assert chain["first"]["audio_features"] == 1  # the 403 turned Spotify off after one call
    assert chain["first"]["reccobeats_features"] == -(-len(distinct) // 40)


def test_rerun_of_enrichment_asks_nothing_and_changes_nothing(chain):
    assert chain["rerun_feature_requests"] == 0
    after = pq.read_table(chain["lake"].partition("silver", "tracks_enriched", DS)).sort_by(
        [("source_key", "ascending"), ("track_id", "ascending")])
    assert after.equals(chain["enriched_before"])


def test_report_is_written_and_logged(chain):
    lake = chain["lake"]
    report = lake.table("reports", "library") / f"ds={DS}"
    assert (report / "index.html").is_file() and (report / "report.json").is_file()
    assert f"/weekly-discovery/reports/{DS}/" in chain["runs"]["library_report"].output


def test_the_report_shows_the_weeks_model_once_the_report_dag_runs_after_the_weekly_dag(chain):
    # the weekly DAG does not touch the report DAG's page: after it, the page is still the one rendered before
    before = chain["page_before_rerun"].split('<section id="model">')[1]
    assert f"The weekly model has not run yet for {DS}" in before
    page = (report_dir(chain["lake"], DS) / INDEX_HTML).read_text()
    model = page.split('<section id="model">')[1]
    assert "not run yet" not in model
    assert f"Model version {DS}" in model
    assert "<h3>Recommended tracks</h3>" in model
    assert f"/weekly-discovery/reports/{DS}/" in chain["report_after_weekly"].output


def test_no_secret_in_task_logs_spark_logs_or_the_lake(chain):
    assert len(chain["outputs"]) == 12  # every DAG run of both weeks
    for secret in chain["secrets"]:
        for text in chain["outputs"]:
            assert secret not in text
        for path in Path(chain["tmp"]).rglob("*"):
            if path.is_file() and path.name != "weekly-discovery.toml":
                assert secret.encode() not in path.read_bytes(), f"{secret!r} found in {path}"


# ---- ingest: the library lands, and an unchanged library's second week costs one request per source -------

def test_ingest_lands_the_library_and_a_second_week_costs_one_request_per_source(chain):
    library, lake = chain["library"], chain["lake"]
    table = pq.read_table(lake.partition("silver", "tracks", DS))
    counts = {}
    for key in table.column("source_key").to_pylist():
        counts[key] = counts.get(key, 0) + 1
    assert counts == expected_tracks_per_source(library)
    # the task log a person reads: progress lines, counts, paths (no secret: see the test below)
    saved = len(library.saved)
    pages = -(-saved // 50)
    output = chain["runs"]["spotify_ingest"].output
    assert f"saved_tracks: page {pages} of {pages}, {saved} of {saved} items" in output
    assert "silver/tracks: " + str(lake.partition("silver", "tracks", DS)) in output

    assert chain["week2_ingest_requests"] == 1 + len(expected_tracks_per_source(library))
    metrics = json.loads((lake.partition("silver", "tracks", MONDAYS[1]) / "_metrics.json").read_text())
    assert {m["mode"] for m in metrics["sources"].values()} == {"unchanged"}
    week2_table = pq.read_table(lake.partition("silver", "tracks", MONDAYS[1]))
    assert week2_table.sort_by("track_id").equals(table.sort_by("track_id"))


# ---- discovery, two Mondays in a row (issue 13) ---------------------------------------------------------

def test_each_week_fills_the_playlist_with_new_songs_found_by_discovery(chain):
    lake = chain["lake"]
    for ds in MONDAYS:
        week = picks(lake, ds)
        assert len(week) == TOP_N, f"{ds}: {len(week)} picks"
        assert [p["track_id"] for p in week] == chain["playlists"][ds]  # what the playlist holds, in rank order
        assert not {p["track_id"] for p in week} & library_ids(lake, ds)
        assert {p["source"] for p in week} <= {"reccobeats", "artists"}  # no candidate playlist exists
        assert all(p["reason"] for p in week)


def test_two_consecutive_weeks_publish_disjoint_playlists(chain):
    first, second = (set(chain["playlists"][ds]) for ds in MONDAYS)
    assert len(first) == len(second) == TOP_N and not first & second


def test_each_source_stays_within_its_budget(chain):
    for ds in MONDAYS:
        metrics = json.loads((chain["lake"].partition("silver", "candidates", ds) / "_metrics.json").read_text())
        for name, m in metrics["sources"].items():
            assert m["requests"] <= m["budget"], (ds, name, m)
