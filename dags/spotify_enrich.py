"""
### Spotify enrich: audio features for every track of your library

Runs when the discover DAG publishes `weekly_discovery.candidates` (the event says which date), or by
hand. Each track of your library, and each song discovery found, gets its audio features (danceability, energy, ..., tempo, key, mode, time_signature)
from the first source in `enrichment.providers` that has them, with the source recorded:

1. **prepare**: config, partition date (from the triggering event, the `ds` param, or the run date).
2. **lookup_file** (Spark; skipped unless `file` is a provider): joins the ids still without features
   against your downloaded feature file, e.g. Kaggle's "Spotify 1.2M+ songs" `tracks_features.csv`.
3. **fetch**: asks the API providers in order for the ids still unresolved (Spotify's
   `/audio-features` answers 403 for apps registered after 27 Nov 2024; then ReccoBeats), storing
   every response verbatim under `raw/features/`. Known ids are never asked again; ids nobody knows
   are retried after `missing_retry_days`.
4. **enrich** (Spark): updates the feature cache `silver/audio_features`, applies the quality gates
   (out-of-range values go to `quarantine/features`), writes `silver/tracks_enriched` with
   `_metrics.json`, and fails if a role's coverage is below `enrichment.min_coverage`.
5. **publish**: logs coverage per role and publishes `weekly_discovery.tracks_enriched`.

Params: `ds` overrides the partition date (YYYY-MM-DD) of a manual run. See docs/enrichment.md.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from weekly_discovery.airflow.assets import CANDIDATES, ENRICHED_TRACKS
from weekly_discovery.airflow.jobs import job_path
from weekly_discovery.airflow.policy import DAG_POLICY, TAGS, spark_job, xcom

JOB_ARGS = ["--lake", xcom("prepare", "lake_root"), "--ds", xcom("prepare", "ds"),
            "--config", xcom("prepare", "config_path")]


@dag(
    schedule=[CANDIDATES],
    doc_md=__doc__,
    tags=[*TAGS, "enrich"],
    params={
        "ds": Param(None, type=["null", "string"], description="Partition date YYYY-MM-DD (manual runs)"),
    },
    **DAG_POLICY,
)
def spotify_enrich():
    @task
    def prepare(**context):
        from weekly_discovery.enrich import tasks as enrich_tasks

        return enrich_tasks.prepare(context)

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def file_in_chain(run):
        from weekly_discovery.enrich import tasks as enrich_tasks

        return enrich_tasks.file_in_chain(run)

    lookup_file = spark_job("lookup_file", job_path("lookup_features_file"), JOB_ARGS)

    @task(retries=3, trigger_rule="none_failed")
    def fetch(run):
        from weekly_discovery.enrich import tasks as enrich_tasks

        return enrich_tasks.fetch(run)

    enrich = spark_job("enrich", job_path("enrich"), JOB_ARGS)

    @task(outlets=[ENRICHED_TRACKS])
    def publish(run, outlet_events=None):
        from weekly_discovery.enrich import tasks as enrich_tasks

        return enrich_tasks.publish(run, outlet_events[ENRICHED_TRACKS])

    run = prepare()
    fetched = fetch(run)
    file_in_chain(run) >> lookup_file >> fetched
    fetched >> enrich >> publish(run)


spotify_enrich()
