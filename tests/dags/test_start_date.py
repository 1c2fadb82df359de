"""``WEEKLY_DISCOVERY_START_DATE``: where the weekly schedule starts, and what unpausing then runs at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pendulum
import pytest

from weekly_discovery.airflow.policy import (
    DEFAULT_START_DATE,
    START_DATE_ENV,
    start_date,
)
from weekly_discovery.core.errors import UserError

REPO = Path(__file__).resolve().parents[2]

# Parse spotify_ingest with the environment given, serialize it as the dag-processor does, and ask its
# timetable what an unpause at argv[1] schedules first (catchup off, no run yet: the scheduler's question).
FIRST_RUN = """
import json, sys, pendulum
import airflow.timetables.trigger as trigger
from airflow.models import DagBag
from airflow.serialization.serialized_objects import DagSerialization
from airflow.timetables.base import TimeRestriction
trigger.utcnow = lambda: pendulum.parse(sys.argv[1])  # "now" for the timetable
parsed = DagBag(dag_folder=sys.argv[2]).dags["spotify_ingest"]
dag = DagSerialization.from_dict(DagSerialization.to_dict(parsed))  # what the dag-processor stores
info = dag.timetable.next_dagrun_info(last_automated_data_interval=None,
                                      restriction=TimeRestriction(dag.start_date, None, catchup=False))
print(json.dumps({"start_date": dag.start_date.isoformat(), "run_after": info.run_after.isoformat()}))
"""


def test_unset_or_empty_is_the_default():
    assert start_date("") == DEFAULT_START_DATE == pendulum.datetime(2026, 1, 5, tz="UTC")


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-12-07", pendulum.datetime(2026, 12, 7, tz="UTC")),
    ("2026-12-05T06:04:12Z", pendulum.datetime(2026, 12, 5, 6, 4, 12, tz="UTC")),
    ("2026-12-05T07:04:12+01:00", pendulum.datetime(2026, 12, 5, 6, 4, 12, tz="UTC")),
])
def test_dates_and_date_times(value, expected):
    assert start_date(value) == expected


@pytest.mark.parametrize("value", ["next monday", "06:00", "P1D", "2026-13-01"])
def test_anything_else_is_a_user_error_naming_the_fix(value):
    with pytest.raises(UserError, match=rf"{START_DATE_ENV}='{value}' is not .*set it like 2026-01-05"):
        start_date(value)


@pytest.mark.parametrize(("env_value", "first_run"), [
    (None, "2026-11-30T06:00:00+00:00"),  # production: unpausing runs last Monday's slot at once
    ("2026-12-05T06:04:12Z", "2026-12-07T06:00:00+00:00"),  # make ui: the schedule waits for next Monday
])
def test_unpausing_runs_last_monday_unless_the_schedule_starts_later(env_value, first_run, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != START_DATE_ENV}
    if env_value:
        env[START_DATE_ENV] = env_value
    out = subprocess.run([sys.executable, "-c", FIRST_RUN, "2026-12-05T09:00:00Z", str(REPO / "dags")],
                         env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    parsed = json.loads(out.stdout.strip().splitlines()[-1])
    assert parsed["run_after"] == first_run
    assert parsed["start_date"] == (env_value or "2026-01-05T00:00:00Z").replace("Z", "+00:00")


def test_a_bad_value_is_an_import_error_that_names_the_variable():
    env = {**os.environ, START_DATE_ENV: "someday"}
    code = ("import sys; from airflow.models import DagBag; "
            "print(list(DagBag(dag_folder=sys.argv[1]).import_errors.values())[0])")
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "dags" / "spotify_ingest.py")],
                         env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert f"{START_DATE_ENV}='someday' is not an ISO 8601 date" in out.stdout, out.stdout + out.stderr[-2000:]
