"""
### Weekly recommendations: retrain, score the candidate playlists, update your playlist

Runs when the enrich DAG publishes `weekly_discovery.tracks_enriched` (weekly, after the ingest), or by
hand. For that week's partition:

1. **prepare**: config, partition date (the `ds` param, else the triggering event, else the run date)
   and the run's settings (`[model]` in the config, with this run's params).
2. **train_and_score** (Spark, `jobs/weekly.py`: one spark-submit, the two steps in one Spark session;
   `jobs/train.py` and `jobs/score.py` run them one at a time):
   - *train*: the labelled set (liked = 1, disliked = 0), the 2016 post's logistic regression and the
     challengers (class-weighted logistic regression, random forests, boosted trees) cross-validated on
     folds grouped by artist; the best becomes champion only if it is at least as good as the current one
     on the same folds. Model, card and metrics in `models/like_model/`. A user error here (e.g. no liked
     or disliked songs) fails the task at once, without retry, and scoring does not start.
   - *score*: every candidate track gets a probability; "N of M songs recommended" per playlist; the top
     N new tracks (at most K per artist) in `gold/recommendations`.
3. **publish**: replaces the tracks of your private playlist ("Weekly Discovery") with them, logs the
   list and the playlist's address, and publishes `weekly_discovery.recommendations`.
4. **vacuum**: deletes the files the lake's Delta tables stopped using more than `[lake] keep_versions_days`
   (30) ago. Every week's rows stay.

Params: `top_n` (how many tracks), `playlist_name`, `dry_run` (log what would change, write nothing to
Spotify), `ds` (partition date YYYY-MM-DD of a manual run), `allow_empty` / `allow_backfill` (publish an
empty week / a week older than the playlist holds; without them such a run skips publishing and succeeds).
See docs/model.md.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from weekly_discovery.airflow.assets import ENRICHED_TRACKS, RECOMMENDATIONS
from weekly_discovery.airflow.jobs import job_path
from weekly_discovery.airflow.policy import DAG_POLICY, TAGS, spark_job, xcom

# Every job reads its settings from the config file, with the run's Params (top_n, playlist_name) on top.
JOB_ARGS = ["--lake", xcom("prepare", "lake_root"), "--ds", xcom("prepare", "ds"),
            "--config", xcom("prepare", "config_path"), "--params", xcom("prepare", "params")]


@dag(
    schedule=[ENRICHED_TRACKS],
    doc_md=__doc__,
    tags=[*TAGS, "model"],
    params={
        "top_n": Param(None, type=["null", "integer"], minimum=1, maximum=10000,
                       description="How many tracks to recommend (default: model.top_n in the config)"),
        "playlist_name": Param(None, type=["null", "string"], maxLength=100,
                               description="The playlist to fill (default: model.playlist_name, 'Weekly Discovery')"),
        "dry_run": Param(False, type="boolean", description="Log what would change; write nothing to Spotify"),
        "allow_empty": Param(False, type="boolean",
                             description="Publish an empty week (empties the playlist); off: such a week is skipped"),
        "allow_backfill": Param(False, type="boolean",
                                description="Publish a ds older than the week the playlist holds; off: skipped"),
        "ds": Param(None, type=["null", "string"], description="Partition date YYYY-MM-DD (manual runs)"),
    },
    **DAG_POLICY,
)
def weekly_recommendations():
    @task
    def prepare(**context):
        from weekly_discovery.recommend import tasks as weekly_tasks

        return weekly_tasks.prepare(context)

    # train then score in one spark-submit: they always run back to back, and each spark-submit pays ~6.6 s
    train_and_score = spark_job("train_and_score", job_path("weekly"), JOB_ARGS)

    @task(outlets=[RECOMMENDATIONS])
    def publish(run, outlet_events=None):
        from weekly_discovery.recommend import tasks as weekly_tasks

        return weekly_tasks.publish(run, outlet_events[RECOMMENDATIONS])

    @task
    def vacuum(run):
        from weekly_discovery.recommend import tasks as weekly_tasks

        return weekly_tasks.vacuum_task(run)

    run = prepare()
    run >> train_and_score >> publish(run) >> vacuum(run)


weekly_recommendations()
