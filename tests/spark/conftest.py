"""One SparkSession for every Spark test: starting a JVM costs ~10 s, so it is shared."""

from __future__ import annotations

import os
import time

import pytest

from tests.util.spark import IN_PROCESS_CONF
from weekly_discovery.spark.session import get_spark



# PySpark turns timestamps into naive datetimes in the Python process's local zone; pin it
# so expected values written in UTC hold on any machine (sessions use UTC, see get_spark).
os.environ["TZ"] = "UTC"
time.tzset()


@pytest.fixture(scope="session")
def spark():
    session = get_spark("weekly-discovery-tests", IN_PROCESS_CONF)
    yield session
    session.stop()
