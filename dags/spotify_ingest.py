"""
### Spotify ingest: your library into the lake

Reads the sources named in your config file (Liked Songs and playlists, by role) from the Spotify
Web API into the lake's raw layer, verbatim and incrementally, then a Spark job normalizes them into
NDJSON (bronze) and a typed Parquet table of tracks (silver). Publishes the
`weekly_discovery.silver_tracks` asset, which starts enrichment.

Params: `full_resync` re-reads everything instead of stopping at known tracks; `ds` overrides the
partition date (YYYY-MM-DD) of a manual run.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from weekly_discovery.airflow.assets import SILVER_TRACKS
from weekly_discovery.airflow.jobs import job_path
from weekly_discovery.airflow.policy import DAG_POLICY, TAGS, WEEKLY_MONDAY_6AM, spark_job, xcom


@dag(
    schedule=WEEKLY_MONDAY_6AM,
    doc_md=__doc__,
    tags=[*TAGS, "ingest"],
    params={
        "full_resync": Param(False, type="boolean", description="Read every page again"),
        "ds": Param(None, type=["null", "string"], description="Partition date YYYY-MM-DD (manual runs)"),
    },
    **DAG_POLICY,
)
def spotify_ingest():
    @task
    def prepare(**context):
        from weekly_discovery.ingest import tasks as ingest_tasks

        return ingest_tasks.prepare(context)

    @task(retries=3)
    def extract(run, params=None):
        from weekly_discovery.ingest import tasks as ingest_tasks

        return ingest_tasks.extract(run, full_resync=bool(params["full_resync"]))

    normalize = spark_job(
        "normalize", job_path("normalize"), ["--lake", xcom("prepare", "lake_root"), "--ds", xcom("prepare", "ds")]
    )

    @task(outlets=[SILVER_TRACKS])
    def publish(run, outlet_events=None):
        from weekly_discovery.ingest import tasks as ingest_tasks

        return ingest_tasks.publish_tracks(run, outlet_events[SILVER_TRACKS])

    run = prepare()
    extract(run) >> normalize >> publish(run)


spotify_ingest()
