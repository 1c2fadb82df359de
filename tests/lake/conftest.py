"""A SparkSession for the lake tests that need Delta's Spark connector (tests/lake/test_spark_interop.py).

The same in-process settings as tests/spark (:data:`tests.util.spark.IN_PROCESS_CONF`); one JVM per test
worker is shared by every package (``getOrCreate``). Only a test that asks for ``spark`` starts it.
"""

from __future__ import annotations

import pytest

from tests.util.spark import IN_PROCESS_CONF, runtime_conf


@pytest.fixture(scope="session")
def spark():
    from weekly_discovery.spark.session import get_spark

    session = get_spark("weekly-discovery-lake-tests", IN_PROCESS_CONF)
    with runtime_conf(session, IN_PROCESS_CONF):  # in case another package's session came first
        yield session
    session.stop()
