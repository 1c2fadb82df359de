"""
### Spotify discover: this week's candidate songs, found by the pipeline itself

Runs when the ingest DAG publishes `weekly_discovery.silver_tracks` (the event says which date), or by
hand. With no playlist to copy by hand, it gathers songs you do not have from the sources listed in
the config's `[discover]` table, in order, each within its weekly request budget:

- `reccobeats`: ReccoBeats recommendations seeded by your liked songs (recent likes weigh more);
- `artists`: the albums and singles of your most-liked artists (album track lists are kept);
- `playlists`: the candidate playlists of `[sources] candidates`, if any.

Every answer is kept verbatim under `raw/discover/`; `silver/candidates` holds one row per (song,
source) with where it came from. Publishes `weekly_discovery.candidates`, which starts enrichment.

Params: `ds` overrides the partition date (YYYY-MM-DD) of a manual run.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from weekly_discovery.airflow.assets import CANDIDATES, SILVER_TRACKS
from weekly_discovery.airflow.policy import DAG_POLICY, TAGS


@dag(
    schedule=[SILVER_TRACKS],
    doc_md=__doc__,
    tags=[*TAGS, "discover"],
    params={
        "ds": Param(None, type=["null", "string"], description="Partition date YYYY-MM-DD (manual runs)"),
    },
    **DAG_POLICY,
)
def spotify_discover():
    @task(retries=3, outlets=[CANDIDATES])
    def discover(outlet_events=None, **context):
        from weekly_discovery.discover import tasks as discover_tasks

        return discover_tasks.discover(context, outlet_events[CANDIDATES])

    discover()


spotify_discover()
