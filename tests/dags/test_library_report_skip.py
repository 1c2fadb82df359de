"""The library_report DAG through real Airflow (`airflow dags test`) when report.json is current: the Spark
task is skipped, render still runs and logs the report's address, and the run succeeds.

No spark-submit runs here: the enriched date's data file (committed to the Delta table) is then overwritten
with bytes that are not Parquet, so a report task that ran anyway would fail the run. The fingerprint reads
the table's log, not the file, so it is unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import airflow_db, dags_test  # noqa: F401 - fixtures
from tests.report.conftest import make_report, write_report
from weekly_discovery.lake import TRACKS_ENRICHED, delta
from weekly_discovery.lake.layout import Lake
from weekly_discovery.report.freshness import input_fingerprint
from weekly_discovery.settings.config import load_config

pytestmark = pytest.mark.e2e
DS = "2026-11-23"


def test_a_current_report_skips_the_spark_task_and_renders(airflow_db, tmp_path):
    import pyarrow as pa

    lake = Lake(str(tmp_path / "lake"))
    delta.write_date(lake, TRACKS_ENRICHED, DS, pa.table({"track_id": ["t1"], "role": ["liked"]}))
    (data,) = lake.partition(TRACKS_ENRICHED, DS).glob("*.parquet")
    data.write_bytes(b"not parquet: reading it would fail")
    config_path = tmp_path / "wd.toml"
    config_path.write_text(f'[sources]\nliked = ["saved_tracks"]\n\n[lake]\nroot = "{lake.root}"\n')
    report = make_report(DS, label="Plain name")
    report["fingerprint"] = input_fingerprint(lake, DS, load_config(config_path))  # as the job records it
    write_report(lake, report)
    env = dict(airflow_db, WEEKLY_DISCOVERY_CONFIG=str(config_path),
               AIRFLOW_CONN_SPARK_DEFAULT=json.dumps({"conn_type": "spark", "host": "local[2]"}))
    env.pop("WEEKLY_DISCOVERY_LAKE", None)

    run = dags_test(env, "library_report", DS, {"ds": DS})

    assert run.returncode == 0, run.output[-6000:]
    assert (f"report.json of ds={DS} is current (input unchanged since" in run.output
            and "the Spark analysis is skipped; render only" in run.output), run.output[-6000:]
    assert "Spark-Submit cmd" not in run.output
    assert f"/weekly-discovery/reports/{DS}/" in run.output  # render ran and logged the address
    page = (Path(lake.root) / "reports" / "library" / f"ds={DS}" / "index.html").read_text()
    assert "Plain name" in page
