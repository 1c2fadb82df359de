"""The in-process sessions' settings (tests/util/spark.py): the small-input settings a personal library's
jobs take, and Spark's defaults for a block, restored after it."""

from __future__ import annotations

import pytest

from tests.util.spark import LARGE_INPUT_CONF, runtime_conf

pytestmark = pytest.mark.spark


def test_the_shared_session_runs_the_small_input_settings_with_two_partitions(spark):
    assert spark.conf.get("spark.sql.adaptive.enabled") == "false"
    assert spark.conf.get("spark.sql.codegen.wholeStage") == "false"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"


def test_sparks_defaults_hold_for_a_block_then_the_previous_values_return(spark):
    with runtime_conf(spark, LARGE_INPUT_CONF):
        assert spark.conf.get("spark.sql.adaptive.enabled") == "true"
        assert spark.conf.get("spark.sql.codegen.wholeStage") == "true"
    assert spark.conf.get("spark.sql.adaptive.enabled") == "false"
    assert spark.conf.get("spark.sql.codegen.wholeStage") == "false"
