"""Keeping the lake's Delta tables small: ``VACUUM`` after each weekly run.

A rerun of a date, a MERGE into a cache, leaves the files the table no longer uses on disk, so that time
travel and a reader that started before the commit still work. :func:`vacuum_lake` deletes those a table
stopped using more than ``[lake] keep_versions_days`` ago (default 30). Every date's rows stay: VACUUM only
removes files no current version of a table references. Run by the weekly DAG's last task
(:func:`weekly_discovery.recommend.tasks.vacuum_task`).
"""

from __future__ import annotations

from weekly_discovery.lake import delta
from weekly_discovery.lake.layout import DELTA_TABLES, Lake


def vacuum_lake(lake: Lake, keep_days: float) -> dict[str, int]:
    """VACUUM every Delta table of the lake; the number of files deleted, by table."""
    deleted = {}
    for table in DELTA_TABLES:
        files = delta.vacuum(lake, table, keep_days)
        deleted[str(table)] = len(files)
    return deleted
