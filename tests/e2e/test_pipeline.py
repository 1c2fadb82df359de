"""The whole chain through real Airflow (`airflow dags test`), as `make demo` runs it, against the stand-in with
Spotify's audio features forbidden (the situation of every app registered today), NO candidate playlist
configured (issue 13: discovery finds the week's songs) and NO disliked playlist (issue 27: most people keep
none; the model learns from Liked Songs and the week's candidates as background), two Mondays in a row:

- week 1: ingest -> discover -> enrich -> report -> weekly -> report again (on the recommendations event);
  then enrich and weekly once more for the same date (a rerun asks nothing and changes nothing);
- between the weeks the person reacts, by the taste the stand-in knows (``would_love``): saves some picks
  they love to Liked Songs and takes picks they do not love out of the playlist;
- week 2: ingest (the playlists unchanged: one request each; Liked Songs re-read) -> discover -> enrich ->
  weekly (learns from the reaction; a playlist of new songs, disjoint from week 1's).

One chain for three stories (the pipeline's, discovery's and the ingest DAG's two weeks: three files and
17 DAG runs before, 12 now): lean on purpose (a small library, the quick grid, top_n 8). The
candidate-playlist path runs end to end in tests/services (the chain on PostgreSQL with the scheduler)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.standin import StandIn, generate_demo_library
from tests.e2e.conftest import dags_test, pipeline_env
from weekly_discovery.lake import delta
from weekly_discovery.lake.layout import (
    PICKS, PUBLISHED, RECOMMENDATIONS, REMOVED_PICKS, SILVER_TRACKS, TRACKS_ENRICHED, Lake,
)
from weekly_discovery.report.paths import INDEX_HTML, report_dir

pytestmark = pytest.mark.e2e
MONDAYS = ("2026-11-23", "2026-11-30")
DS = MONDAYS[0]
WEEK = ("spotify_ingest", "spotify_discover", "spotify_enrich", "weekly_recommendations")
TOP_N = 8
CONFIGURED_ROLES = ("liked", "reference")  # no disliked playlist, no candidate playlist
SAVES, REMOVALS = 2, 2  # the person's reaction to week 1's playlist


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
        enriched_before = delta.read(lake, TRACKS_ENRICHED, DS).sort_by(
            [("source_key", "ascending"), ("track_id", "ascending")])
        first_playlist = _published_playlist(standin, lake, DS)
        # the same date again: enrich asks nothing, weekly publishes the same playlist
        standin.reset_counts()
        rerun = run("spotify_enrich", DS)
        rerun_weekly = run("weekly_recommendations", DS)
        playlists_created = standin.count("POST /v1/me/playlists")
        rerun_feature_requests = standin.count("GET /v1/audio-features") + standin.count("/reccobeats")
        rerun_playlist = _published_playlist(standin, lake, DS)
        # the person's reaction to week 1, by their taste
        week1_sources = expected_tracks_per_source(library)
        saved, removed = library.react(first_playlist[0], save=SAVES, remove=REMOVALS)
        # week 2: unchanged playlists cost one request each; then new songs again, in the same playlist (its
        # items are replaced each week)
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
            "week2_ingest_requests": week2_ingest_requests, "saved": saved, "removed": removed,
            "week1_sources": week1_sources,
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
    published = published_record(lake, ds)
    return published["playlist_id"], standin.library.playlists[published["playlist_id"]].track_ids()


def published_record(lake: Lake, ds: str) -> dict:
    """What was written to Spotify for ``ds``: the one row of gold/published, its JSON record."""
    (row,) = delta.read_rows(lake, PUBLISHED, ds)
    return json.loads(row["record"])


def picks(lake: Lake, ds: str) -> list[dict]:
    return delta.read_rows(lake, PICKS, ds)


def library_ids(lake: Lake, ds: str) -> set[str]:
    rows = delta.read_rows(lake, SILVER_TRACKS, ds, columns=["track_id", "role"])
    return {r["track_id"] for r in rows if r["role"] in ("liked", "disliked", "reference")}


# ---- the week's playlist, its rerun, enrichment and the report ------------------------------------------

def test_weekly_playlist_holds_the_recommendations_and_a_rerun_keeps_it(chain):
    lake = chain["lake"]
    recommended = sorted(delta.read_rows(lake, RECOMMENDATIONS, DS),
                         key=lambda r: r["rank"])
    playlist_id, tracks = chain["first_playlist"]
    assert recommended and tracks == [r["track_id"] for r in recommended]
    assert len(set(tracks)) == len(tracks)
    assert not set(tracks) & library_ids(lake, DS)  # never recommends what you already have
    assert chain["rerun_playlist"] == (playlist_id, tracks)  # same playlist, same tracks, no duplicates
    assert chain["playlists_created_on_rerun"] == 0
    assert "songs recommended" in chain["runs"]["weekly_recommendations"].output


def test_enrichment_falls_back_to_reccobeats_in_batches_of_40(chain):
    library, lake = chain["library"], chain["lake"]
    table = delta.read_rows(lake, TRACKS_ENRICHED, DS)
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
    after = delta.read(chain["lake"], TRACKS_ENRICHED, DS).sort_by(
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


# ---- ingest: the library lands, and a second week costs one request per source ---------------------------

def test_ingest_lands_the_library_and_a_second_week_costs_one_request_per_source(chain):
    library, lake = chain["library"], chain["lake"]
    table = delta.read(lake, SILVER_TRACKS, DS)
    counts = {}
    for key in table.column("source_key").to_pylist():
        counts[key] = counts.get(key, 0) + 1
    assert counts == chain["week1_sources"]
    # the task log a person reads: progress lines, counts, paths (no secret: see the test below)
    saved = len(library.saved) - SAVES  # Liked Songs on week 1, before the person saved two picks
    pages = -(-saved // 50)
    output = chain["runs"]["spotify_ingest"].output
    assert f"saved_tracks: page {pages} of {pages}, {saved} of {saved} items" in output
    assert f"silver/tracks: ds={DS} of the Delta table {lake.table(SILVER_TRACKS)}" in output

    # week 2: the playlists are unchanged (their snapshot), Liked Songs' first page holds the two new saves
    assert chain["week2_ingest_requests"] == 1 + len(chain["week1_sources"])
    metrics = json.loads((lake.partition("silver", "tracks", MONDAYS[1]) / "_metrics.json").read_text())
    modes = {key: m["mode"] for key, m in metrics["sources"].items()}
    assert modes.pop("saved_tracks") == "incremental" and set(modes.values()) == {"unchanged"}
    week2 = delta.read(lake, SILVER_TRACKS, MONDAYS[1], columns=["track_id", "source_key"])
    pairs = lambda t: sorted(zip(t.column("track_id").to_pylist(), t.column("source_key").to_pylist()))  # noqa: E731
    assert pairs(week2) == sorted([*pairs(table.select(["track_id", "source_key"])),
                                   *((t, "saved_tracks") for t in chain["saved"])])


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


# ---- Liked Songs alone: a playlist the person loves on week 1, the reaction learned on week 2 (issue 27) ---

def card(lake: Lake, ds: str) -> dict:
    return json.loads((lake.table("models", "like_model") / f"version={ds}" / "model_card.json").read_text())


def test_without_a_disliked_playlist_week_1_learns_from_the_background(chain):
    training = card(chain["lake"], DS)["training"]
    assert training["by_kind"]["disliked"] == 0 and training["by_kind"]["liked"] > 100
    assert training["background"]["used"] and training["by_kind"]["background"] > 100
    assert card(chain["lake"], DS)["pu"]["label_frequency"] > 0
    output = chain["runs"]["weekly_recommendations"].output
    assert "disliked playlist 0, removed picks 0, unsaved picks 0" in output
    page = (report_dir(chain["lake"], DS) / INDEX_HTML).read_text()
    assert "background" in page.split('<section id="model">')[1]


def test_week_2_learns_from_the_picks_saved_and_removed(chain):
    lake = chain["lake"]
    assert len(chain["saved"]) == SAVES and len(chain["removed"]) == REMOVALS
    week1, week2 = card(lake, DS)["training"], card(lake, MONDAYS[1])["training"]
    assert week2["by_kind"]["removed"] == len(chain["removed"])  # seen before training, learned as negatives
    assert week2["by_kind"]["liked"] == week1["by_kind"]["liked"] + SAVES  # saved picks are liked songs now
    stored = delta.read_rows(lake, REMOVED_PICKS, DS)
    assert sorted(r["track_id"] for r in stored) == sorted(chain["removed"])
    assert not set(chain["removed"]) & set(chain["playlists"][MONDAYS[1]])


def test_the_picks_are_songs_the_person_loves(chain):
    """The stand-in knows the generated person's taste; the shares below were read off an inspected run
    (week 1: 8 of 8, week 2: 8 of 8) and written here with a margin, by hand."""
    library = chain["library"]
    loved = {ds: sum(library.would_love(t) for t in chain["playlists"][ds]) for ds in MONDAYS}
    assert loved[MONDAYS[0]] >= 7 and loved[MONDAYS[1]] >= 7, loved


# ---- SQL over the lake: docs/sql.md's queries, answered on this chain's lake ------------------------------

REPO = Path(__file__).resolve().parents[2]


def documented_queries() -> dict[str, str]:
    """The queries of docs/sql.md, by the name in the comment above each."""
    text = (REPO / "docs" / "sql.md").read_text(encoding="utf-8")
    return dict(re.findall(r"<!-- query: (\w+) -->\n```sql\n(.*?)```", text, re.S))


@pytest.fixture(scope="module")
def sql_answers(chain):
    """Every documented query run by the project's SQL entry point in one Spark session, as JSON rows."""
    queries = documented_queries()
    assert set(queries) == {"artists", "ranges", "correlation", "picks", "hit_rate"}
    args = [sys.executable, "-m", "weekly_discovery.spark.sql", "--lake", chain["lake"].root, "--format", "json"]
    for query in queries.values():
        args += ["-e", query]
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stderr[-4000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("[")]
    return dict(zip(queries, (json.loads(line) for line in lines)))


def raw_items(lake: Lake, source_key: str, ds: str) -> list[dict]:
    """The track items of a source's raw pages on ``ds`` (the verbatim API answers), by its manifest."""
    folder = Path(lake.root, "raw", "spotify", f"source={source_key}", f"ds={ds}")
    manifest = json.loads((folder / "_manifest.json").read_text())
    items = []
    for page in sorted(folder.glob("page-*.json")):
        items += [i for i in json.loads(page.read_text())["items"] if _a_spotify_track((i or {}).get("track"))]
    assert items, manifest
    return items


def _a_spotify_track(track) -> bool:
    """What silver keeps of a raw item: a track with an id (no local file, no episode)."""
    return bool(track) and bool(track.get("id")) and not track.get("is_local") and track.get("type", "track") == "track"


def raw_features(lake: Lake) -> dict[str, dict]:
    """ReccoBeats' answers of every week, by Spotify track id (the href's last part)."""
    out = {}
    for batch in sorted(Path(lake.root, "raw", "features", "provider=reccobeats").glob("ds=*/batch-*[0-9].json")):
        for row in json.loads(batch.read_text())["content"]:
            out[row["href"].rsplit("/", 1)[1]] = row
    return out


def source_keys(library, role: str) -> list[str]:
    """The raw folders' source keys of a role's sources (a playlist as its id, whether given as id or URI)."""
    return ["saved_tracks" if s == "saved_tracks" else f"playlist-{s.rsplit(':', 1)[-1].rsplit('/', 1)[-1]}"
            for s in library.role_sources(role)]


def liked_sources(library) -> list[str]:
    return source_keys(library, "liked")


def test_make_sql_answers_the_artists_query_on_the_lake(chain):
    query = ("SELECT primary_artist_name, count(*) AS n FROM tracks WHERE role = 'liked' AND ds = '%s' "
             "GROUP BY 1 HAVING n > 3 ORDER BY n DESC, primary_artist_name" % MONDAYS[1])
    result = subprocess.run(["make", "-s", "sql", f"LAKE={chain['lake'].root}", f"Q={query}"], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in result.stdout.splitlines()
            if line.startswith("|")]
    assert rows[0] == ["primary_artist_name", "n"]
    counts: dict[str, int] = {}  # silver has one row per (source, track): count each source's distinct songs
    for source in liked_sources(chain["library"]):
        for artist, track in {(i["track"]["artists"][0]["name"], i["track"]["id"])
                              for i in raw_items(chain["lake"], source, MONDAYS[1])}:
            counts[artist] = counts.get(artist, 0) + 1
    expected = sorted(((a, n) for a, n in counts.items() if n > 3), key=lambda x: (-x[1], x[0]))
    assert expected and [(a, int(n)) for a, n in rows[1:]] == expected


def test_the_documented_artists_query(chain, sql_answers):
    ids: dict[str, set] = {}
    for source in liked_sources(chain["library"]):
        for item in raw_items(chain["lake"], source, MONDAYS[1]):
            ids.setdefault(item["track"]["artists"][0]["name"], set()).add(item["track"]["id"])
    expected = sorted(((a, len(s)) for a, s in ids.items() if len(s) > 3), key=lambda x: (-x[1], x[0]))
    assert [(r["primary_artist_name"], r["n"]) for r in sql_answers["artists"]] == expected


def role_ids(chain, role: str) -> set[str]:
    library, lake = chain["library"], chain["lake"]
    keys = source_keys(library, role)
    return {item["track"]["id"] for key in keys for item in raw_items(lake, key, MONDAYS[1])}


def test_the_documented_feature_ranges_and_correlation(chain, sql_answers):
    import numpy as np

    features = raw_features(chain["lake"])
    expected = {}
    for role in ("liked", "reference"):
        for track in role_ids(chain, role) & set(features):
            key = (role, np.floor(features[track]["danceability"] * 4) / 4)
            expected[key] = expected.get(key, 0) + 1
    got = {(r["role"], r["from_value"]): r["songs"] for r in sql_answers["ranges"]}
    assert got == pytest.approx(expected)
    liked = sorted(role_ids(chain, "liked") & set(features))
    energy = [features[t]["energy"] for t in liked]
    loudness = [features[t]["loudness"] for t in liked]
    (answer,) = sql_answers["correlation"]
    assert answer["songs"] == len(liked)
    assert answer["r"] == pytest.approx(np.corrcoef(energy, loudness)[0, 1], abs=0.0006)


def test_the_documented_picks_query_lists_this_weeks_playlist(chain, sql_answers):
    rows = sql_answers["picks"]
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert [r["name"] for r in rows] == [chain["library"].tracks[t].name for t in chain["playlists"][MONDAYS[1]]]
    assert all(r["reason"] and r["source"] for r in rows)


def test_the_documented_hit_rate_counts_the_picks_the_person_saved(chain, sql_answers):
    week1 = chain["playlists"][DS]
    rows = sql_answers["hit_rate"]
    assert {r["week"] for r in rows} == {DS}
    assert sum(r["offered"] for r in rows) == len(week1)
    assert sum(r["saved"] for r in rows) == len(set(chain["saved"]) & set(week1)) == SAVES
