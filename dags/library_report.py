"""
### Library report: feature ranges, top artists and correlations of your library

Runs when the enrich DAG publishes `weekly_discovery.tracks_enriched`, and again when the weekly DAG
publishes `weekly_discovery.recommendations`, so the page gains its "This week's model" section (each
event says which date and lake); or by hand. Answers the 2016 post's questions for that week:

1. **prepare**: config, partition date (the `ds` param, else the newest triggering event of either
   asset, else the run date).
2. **analysis_needed** (short-circuit): skips `report` when `report.json` of that date was computed from
   the enriched partition and the settings there now (the fingerprint the job records in it), as on the
   second run of a week, started by the recommendations event; its log says why either way.
3. **report** (Spark, `jobs/report.py`): from `silver/tracks_enriched/ds=D` computes the share of tracks
   per range of each 0..1 feature (liked songs against each reference playlist) with a one-line reading,
   liked tracks per artist, the Pearson correlation matrix of the audio features, and coverage per role;
   writes `reports/library/ds=D/report.json`.
4. **render** (runs unless something failed, so also after a skipped `report`): writes `index.html` beside
   it (inline SVG charts, no scripts; with the week's model once the weekly DAG has run), moves
   `latest.json`, logs a summary and publishes `weekly_discovery.library_report`.

Open it in the Airflow UI under *Browse > Library reports* (`/weekly-discovery/`). See docs/report.md.
Params: `ds` overrides the partition date (YYYY-MM-DD) of a manual run; `recompute` runs the Spark
analysis even when `report.json` is current.
"""

from __future__ import annotations

from airflow.sdk import Param, TriggerRule, dag, task

from weekly_discovery.airflow.assets import ENRICHED_TRACKS, LIBRARY_REPORT, RECOMMENDATIONS
from weekly_discovery.airflow.jobs import job_path
from weekly_discovery.airflow.policy import DAG_POLICY, TAGS, spark_job, xcom


@dag(
    # either asset starts a run: the enriched tracks (the library's numbers) or the recommendations (the model section)
    schedule=(ENRICHED_TRACKS | RECOMMENDATIONS),
    doc_md=__doc__,
    tags=[*TAGS, "report"],
    params={
        "ds": Param(None, type=["null", "string"], description="Partition date YYYY-MM-DD (manual runs)"),
        "recompute": Param(False, type="boolean",
                           description="Run the Spark analysis even if report.json matches its input"),
    },
    **DAG_POLICY,
)
def library_report():
    @task
    def prepare(**context):
        from weekly_discovery.report import tasks as report_tasks

        return report_tasks.prepare(context)

    # False skips `report` only (its direct downstream); render's trigger rule then lets it run
    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def analysis_needed(run, params=None):
        from weekly_discovery.report import tasks as report_tasks

        return report_tasks.analysis_needed(run, params)

    report = spark_job(
        "report",
        job_path("report"),
        ["--lake", xcom("prepare", "lake_root"), "--ds", xcom("prepare", "ds"),
         "--config", xcom("prepare", "config_path")],
    )

    @task(outlets=[LIBRARY_REPORT], trigger_rule=TriggerRule.NONE_FAILED)
    def render(run, outlet_events=None):
        from weekly_discovery.report import tasks as report_tasks

        return report_tasks.render(run, outlet_events[LIBRARY_REPORT])

    run = prepare()
    analysis_needed(run) >> report >> render(run)


library_report()
