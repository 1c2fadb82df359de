"""The whole chain through real Airflow, as `make demo` runs it: ingest -> enrich -> report (-> weekly
-> report again, on the recommendations event), with Spotify's audio features forbidden (the situation of
every app registered today)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from devtools.standin import StandIn, generate_demo_library, write_demo_config
from tests.e2e.conftest import dags_test, pipeline_env
from weekly_discovery.lake.layout import Lake
from weekly_discovery.report.paths import INDEX_HTML, report_dir

pytestmark = pytest.mark.e2e
DS = "2026-11-23"
CHAIN = ("spotify_ingest", "spotify_enrich", "library_report", "weekly_recommendations")


@pytest.fixture(scope="module")
def chain(airflow_db, tmp_path_factory):
    """Run every DAG of the chain once for DS against one stand-in; keep outputs and logs."""
    tmp = tmp_path_factory.mktemp("pipeline")
    library = generate_demo_library(seed=7)
    with StandIn(library, audio_features="forbidden") as standin:
        config_path = write_demo_config(library, tmp / "weekly-discovery.toml")
        with config_path.open("a") as fh:
            fh.write(f'\n[lake]\nroot = "lake"\n\n[enrichment]\nproviders = ["spotify", "reccobeats"]\n'
                     f'reccobeats_url = "{standin.reccobeats_url}"\n\n[model]\ngrid = "quick"\n')
        env = pipeline_env(airflow_db, standin, config_path)
        runs = {}
        for dag_id in CHAIN:
            runs[dag_id] = dags_test(env, dag_id, DS)
            assert runs[dag_id].returncode == 0, f"{dag_id} failed:\n{runs[dag_id].output[-6000:]}"
        page_before_rerun = (report_dir(Lake(str(tmp / "lake")), DS) / INDEX_HTML).read_text()
        # the weekly DAG's recommendations event starts the report DAG again (its schedule is either asset)
        report_after_weekly = dags_test(env, "library_report", DS)
        assert report_after_weekly.returncode == 0, report_after_weekly.output[-6000:]
        requests_after_first_pass = {
            "audio_features": standin.count("GET /v1/audio-features"), "reccobeats": standin.count("/reccobeats")}
        lake = Lake(str(tmp / "lake"))
        enriched_before = pq.read_table(lake.partition("silver", "tracks_enriched", DS)).sort_by(
            [("source_key", "ascending"), ("track_id", "ascending")])
        first_playlist = _published_playlist(standin, tmp)
        standin.reset_counts()
        rerun = dags_test(env, "spotify_enrich", DS)
        assert rerun.returncode == 0, rerun.output[-6000:]
        rerun_weekly = dags_test(env, "weekly_recommendations", DS)
        assert rerun_weekly.returncode == 0, rerun_weekly.output[-6000:]
        playlists_created = standin.count("POST /v1/me/playlists")
        yield {
            "library": library, "lake": lake, "runs": runs, "rerun": rerun, "tmp": tmp,
            "first": requests_after_first_pass, "rerun_feature_requests":
                standin.count("GET /v1/audio-features") + standin.count("/reccobeats"),
            "enriched_before": enriched_before,
            "first_playlist": first_playlist, "rerun_playlist": _published_playlist(standin, tmp),
            "playlists_created_on_rerun": playlists_created, "rerun_weekly": rerun_weekly,
            "page_before_rerun": page_before_rerun, "report_after_weekly": report_after_weekly,
            # every access token the stand-in handed out during the runs (its private registry)
            "secrets": (standin.client_secret, standin.refresh_token, *standin._access_tokens),
        }


def _published_playlist(standin, tmp):
    published = json.loads(next(Path(tmp, "lake", "gold", "published").glob("ds=*/_publish.json")).read_text())
    return published["playlist_id"], standin.library.playlists[published["playlist_id"]].track_ids()


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
    assert chain["first"]["reccobeats"] == -(-len(distinct) // 40)


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
    outputs = [run.output for run in chain["runs"].values()] + [chain["rerun"].output, chain["rerun_weekly"].output,
                                                               chain["report_after_weekly"].output]
    for secret in chain["secrets"]:
        for text in outputs:
            assert secret not in text
        for path in Path(chain["tmp"]).rglob("*"):
            if path.is_file() and path.name != "weekly-discovery.toml":
                assert secret.encode() not in path.read_bytes(), f"{secret!r} found in {path}"
