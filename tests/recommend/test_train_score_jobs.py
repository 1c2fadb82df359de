"""End to end: the real ``spark-submit jobs/train.py`` then ``jobs/score.py`` on a tiny enriched lake, and
``jobs/weekly.py`` (the weekly DAG's one Spark task: both steps in one session) on a copy of its input.

Three spark-submits in all (each costs 15-20 s). The lake root contains a space and the jobs run from
an unrelated working directory. Outputs are read back with delta-rs and json. The model's exact
probabilities are not known in advance, so the recommendation checks are the rules themselves,
checked on the rows written: known tracks absent, one row per track, at most two per artist,
ordered by probability, only tracks at or above the threshold.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.recommend.kit import SOURCES, row, sid, taste_rows, write_enriched
from weekly_discovery.discover.sources.catalog import describe_file
from weekly_discovery.lake import RECOMMENDATIONS, SCORES, delta
from weekly_discovery.lake.layout import Lake
from weekly_discovery.recommend import job

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"
DS = "2026-11-23"
FEATURES = "energy,acousticness,loudness,tempo"
LIKED_SOUND = {"energy": 0.2, "acousticness": 0.85, "loudness": -11.0}
DISLIKED_SOUND = {"energy": 0.95, "acousticness": 0.05, "loudness": -3.0}


def candidate_rows() -> list[dict]:
    return [
        row("c1", "candidates", artist="ar20", position=0, **LIKED_SOUND),
        row("c2", "candidates", artist="ar20", position=1, **LIKED_SOUND, danceability=0.3),
        row("c3", "candidates", artist="ar20", position=2, **LIKED_SOUND, danceability=0.7),  # ar20's third
        row("c4", "candidates", artist="ar21", position=3, **LIKED_SOUND),
        row("c4", "candidates", artist="ar21", source="candidates2", position=0, **LIKED_SOUND),  # twice
        row("c5", "candidates", artist="ar22", position=4, **DISLIKED_SOUND),
        row("t000", "candidates", artist="ar00", position=5, **LIKED_SOUND),  # already liked
        row("c6", "candidates", artist="ar23", source="candidates2", position=1, status="missing"),
    ]


def run_job(job: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    return subprocess.run(
        [str(SPARK_SUBMIT), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
         str(REPO / "jobs" / job), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def job_input(tmp_path_factory, name: str = "jobs") -> tuple[Lake, list[str]]:
    """A lake (root with a space) holding the enriched partition, and the jobs' common arguments."""
    root = tmp_path_factory.mktemp(name) / "my lake"
    lake = Lake(str(root))
    extra_liked = row("t999", "liked", artist="ar05", position=99, tempo=None)  # tempo not detected: dropped
    write_enriched(lake, DS, [*taste_rows(), extra_liked, *candidate_rows()])
    config = tmp_path_factory.mktemp("config") / "weekly-discovery.toml"  # the jobs' settings, as in Airflow
    features = ", ".join(f'"{f}"' for f in FEATURES.split(","))
    config.write_text(f'[sources]\nliked = ["saved_tracks"]\n\n[model]\nfeatures = [{features}]\nfolds = 3\n'
                      'seed = 42\ngrid = "quick"\ntop_n = 30\nmax_per_artist = 2\nthreshold = 0.5\n'
                      'background = "never"\n')  # the fully labelled path
    return lake, ["--lake", str(root), "--ds", DS, "--config", str(config)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    lake, common = job_input(tmp_path_factory)
    cwd = tmp_path_factory.mktemp("cwd")
    train = run_job("train.py", common, cwd)
    assert train.returncode == 0, output(train)[-4000:]
    score = run_job("score.py", [*common, "--params", '{"top_n": 10}'], cwd)  # a manual run's Param wins
    assert score.returncode == 0, output(score)[-4000:]
    return lake, output(train), output(score)


def test_train_writes_the_version_the_card_and_the_champion(runs):
    lake, log, _ = runs
    version = lake.table("models", "like_model") / f"version={DS}"
    card = json.loads((version / "model_card.json").read_text())
    # the post's model is a Spark ML PipelineModel (metadata/ + stages/); a challenger a skops file (no pickle)
    stored_as = "metadata" if card["champion"]["name"] == "post_lr" else "model.skops"
    assert (version / "model" / stored_as).exists() and (version / "baseline" / "metadata").is_dir()
    assert not list(version.rglob("*.pkl")) and not list(version.rglob("*.pickle"))
    features = FEATURES.split(",")

    # the post's model takes the features as they are; a challenger adds their artist averages
    profile = [] if card["champion"]["name"] == "post_lr" else [f"artist_avg_{f}" for f in features]
    assert card["version"] == card["ds"] == DS and card["features"] == features + profile
    assert card["configured_features"] == card["baseline"]["features"] == features and card["artist_profile"]
    assert card["training"]["rows"] == 40
    assert (card["training"]["positives"], card["training"]["negatives"]) == (24, 16)
    assert card["training"]["dropped"]["null_feature"] == 1
    assert card["training"]["dropped"]["null_feature_by_column"]["tempo"] == 1
    assert set(card["baseline"]["coefficients"]) == set(features) and "intercept" in card["baseline"]
    assert card["baseline"]["params"] == {"elasticNetParam": 1.0, "regParam": 0.0, "maxIter": 500}
    assert [c["name"] for c in card["candidates"]] == ["post_lr", "weighted_lr", "random_forest", "gbt"]
    for candidate in card["candidates"]:
        cv = candidate["cv"]
        assert {"roc_auc", "pr_auc", "accuracy", "confusion"} <= set(cv)
        assert sum(map(sum, cv["confusion"])) == 40
    best = max(card["candidates"], key=lambda c: c["cv"]["roc_auc"])
    assert card["champion"]["metrics"]["roc_auc"] == best["cv"]["roc_auc"]
    learned = card["champion"].get("importances") or card["champion"].get("coefficients")
    assert set(learned) == set(features + profile)
    assert card["promotion"]["promoted"] is True

    pointer = json.loads((lake.table("models", "like_model") / "champion.json").read_text())
    assert pointer["version"] == DS and pointer["name"] == card["champion"]["name"]
    # the log prints the post's coefficients feature by feature, and the drops
    for name in features + ["intercept"]:
        assert any(line.split()[-2:-1] == [name] or f" {name} " in line for line in log.splitlines())
    assert "1 with a null model feature" in log


def test_score_writes_every_candidate_and_the_n_of_m_metrics(runs):
    lake, _, log = runs
    scores = delta.read_rows(lake, SCORES, DS)
    assert len(scores) == 8  # every candidate row
    missing = [r for r in scores if r["track_id"] == sid("c6")]
    assert missing[0]["probability"] is None and missing[0]["score_status"] == "features_missing"

    metrics = json.loads((lake.partition("gold", "recommendations", DS) / "_metrics.json").read_text())
    assert metrics["model_version"] == DS
    totals = {p["source_key"]: (p["total"], p["scored"]) for p in metrics["playlists"]}
    assert totals == {SOURCES["candidates"][0]: (6, 6), SOURCES["candidates2"][0]: (2, 1)}
    for p in metrics["playlists"]:
        assert f"{p['name']}: {p['recommended']} of {p['total']} songs recommended" in log


def test_recommendations_follow_the_rules(runs):
    lake, _, log = runs
    recs = delta.read_rows(lake, RECOMMENDATIONS, DS)
    recs.sort(key=lambda r: r["rank"])
    ids = [r["track_id"] for r in recs]
    metrics = json.loads((lake.partition("gold", "recommendations", DS) / "_metrics.json").read_text())

    assert [r["rank"] for r in recs] == list(range(1, len(recs) + 1)) and metrics["recommended"] == len(recs)
    assert len(ids) == len(set(ids))
    assert sid("t000") not in ids and sid("c5") not in ids and sid("c6") not in ids
    assert sum(1 for r in recs if r["primary_artist_id"] == sid("ar20")) == 2
    assert sid("c4") in ids and {sid("c1"), sid("c2"), sid("c3")} & set(ids)
    assert all(r["probability"] >= 0.5 for r in recs)
    probabilities = [r["probability"] for r in recs]
    assert probabilities == sorted(probabilities, reverse=True)
    assert recs[0]["uri"] == f"spotify:track:{recs[0]['track_id']}"
    # candidate playlists are the source "playlists"; every pick carries its one-line reason
    assert {r["source"] for r in recs} == {"playlists"}
    assert all(r["reason"].startswith("from your playlist ") and "% like" in r["reason"] for r in recs)
    assert f"  1. {recs[0]['name']} - " in log


def test_scoring_without_a_champion_fails_before_spark(tmp_path):
    write_enriched(Lake(str(tmp_path)), DS, candidate_rows())
    config = tmp_path / "weekly-discovery.toml"
    config.write_text('[sources]\nliked = ["saved_tracks"]\n')
    assert job.score_main(describe_file, ["--lake", str(tmp_path), "--ds", DS, "--config", str(config)]) == 2


# ---- jobs/weekly.py: train then score in one spark-submit -------------------------------------------------
@pytest.fixture(scope="module")
def weekly_run(tmp_path_factory):
    lake, common = job_input(tmp_path_factory, "weekly")
    weekly = run_job("weekly.py", [*common, "--params", '{"top_n": 10}'], tmp_path_factory.mktemp("cwd"))
    assert weekly.returncode == 0, output(weekly)[-4000:]
    return lake, output(weekly)


def _table(lake: Lake, table) -> list[dict]:
    rows = delta.read_rows(lake, table, DS)
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def _card(lake: Lake) -> dict:
    card = json.loads((lake.table("models", "like_model") / f"version={DS}" / "model_card.json").read_text())
    # the clock's fields, not the data's: when it was trained, and how long it (and each candidate's fits) took
    card["candidates"] = [{k: v for k, v in c.items() if k != "seconds"} for c in card["candidates"]]
    return {k: v for k, v in card.items() if k not in ("trained_at", "duration_s")}


def test_the_weekly_job_writes_what_train_then_score_write(runs, weekly_run):
    lake, _, _ = runs
    weekly_lake, log = weekly_run
    assert _card(weekly_lake) == _card(lake)
    pointers = [json.loads((x.table("models", "like_model") / "champion.json").read_text()) for x in (lake, weekly_lake)]
    for pointer in pointers:
        pointer.pop("updated_at")
    assert pointers[0] == pointers[1]
    for table in (SCORES, RECOMMENDATIONS):
        assert _table(weekly_lake, table) == _table(lake, table)
        metrics = [json.loads((x.partition(table, DS) / "_metrics.json").read_text()) for x in (lake, weekly_lake)]
        assert metrics[0] == metrics[1]
    # one log for both steps, as the two jobs' logs were: the post's coefficients, N of M, the picks
    assert "1 with a null model feature" in log and "songs recommended" in log and "  1. " in log
    assert f"train ds={DS} done in" in log and f"score ds={DS} done in" in log
    assert f"train_and_score ds={DS} done in" in log


def test_the_weekly_job_checks_the_scoring_input_before_training(tmp_path, caplog):
    """A missing catalogue file fails the weekly job before Spark starts: no model trained for nothing."""
    lake = Lake(str(tmp_path / "lake"))
    write_enriched(lake, DS, [*taste_rows(), *candidate_rows()])
    config = tmp_path / "weekly-discovery.toml"
    config.write_text('[sources]\nliked = ["saved_tracks"]\n\n[discover]\nsources = ["catalog"]\n'
                      f'catalog = "{tmp_path / "absent.csv"}"\n')
    assert job.weekly_main(describe_file, ["--lake", lake.root, "--ds", DS, "--config", str(config)]) == 2
    assert "no such file" in caplog.text and "[discover] catalog" in caplog.text
    assert not lake.table("models", "like_model").exists()


def test_the_weekly_job_without_enriched_input_fails_before_spark(tmp_path, caplog):
    config = tmp_path / "weekly-discovery.toml"
    config.write_text('[sources]\nliked = ["saved_tracks"]\n')
    assert job.weekly_main(describe_file, ["--lake", str(tmp_path / "lake"), "--ds", DS, "--config", str(config)]) == 2
    assert "run the enrichment (spotify_enrich)" in caplog.text


def test_the_training_log_has_no_warning_about_the_refits_pool(runs):
    # the post's refit runs in its own fair-scheduler pool; the session declares it (recommend/training/week.py)
    _, log, _ = runs
    warned = [line for line in log.splitlines() if "has not been configured" in line]
    assert not warned, warned
    assert "Created pool: post_refit" in log  # Spark read the declaration (an INFO line of its start-up)
    assert "selected " in log  # the training did run and log


def test_every_job_ran_with_the_small_input_settings(runs, weekly_run):
    # a small enriched partition, no catalogue: one shuffle partition, no AQE, no codegen (tests/report/test_report_job.py)
    _, train_log, score_log = runs
    _, weekly_log = weekly_run
    for name, log in (("train", train_log), ("score", score_log), ("train-and-score", weekly_log)):
        assert re.search(rf"weekly-discovery-{name}-\S+: small input \(0\.\d MB, under 32 MB\): "
                         r"[^\n]*spark\.sql\.adaptive\.enabled=false", log), log[-3000:]
