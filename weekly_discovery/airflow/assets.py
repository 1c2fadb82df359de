"""Assets that chain the DAGs: each DAG publishes one when its data has landed.

The event's ``extra`` carries the partition date (``ds``) and the lake root, so a downstream DAG
processes exactly the partition that triggered it.
"""

from __future__ import annotations

from airflow.sdk import Asset

SILVER_TRACKS = Asset(name="weekly_discovery.silver_tracks", uri="weekly-discovery://silver/tracks")
CANDIDATES = Asset(name="weekly_discovery.candidates", uri="weekly-discovery://silver/candidates")
ENRICHED_TRACKS = Asset(name="weekly_discovery.tracks_enriched", uri="weekly-discovery://silver/tracks_enriched")
LIBRARY_REPORT = Asset(name="weekly_discovery.library_report", uri="weekly-discovery://reports/library")
RECOMMENDATIONS = Asset(name="weekly_discovery.recommendations", uri="weekly-discovery://gold/recommendations")
