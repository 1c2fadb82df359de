"""Which Spark settings a job's session gets from the size of its input (weekly_discovery.spark.session)."""

from __future__ import annotations

import pytest

from weekly_discovery.core.errors import UserError
from weekly_discovery.spark.session import (
    SMALL_INPUT_ENV,
    SparkSettingsError,
    input_size_conf,
    small_input_mb,
)

MB = 1024 * 1024
SMALL = {
    "spark.sql.shuffle.partitions": "1",
    "spark.databricks.delta.snapshotPartitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


def test_an_input_under_32_mb_runs_as_one_partition_without_adaptive_execution_or_code_generation():
    assert input_size_conf(0, {}, env={}) == SMALL
    assert input_size_conf(32 * MB - 1, {}, env={}) == SMALL


def test_an_input_of_32_mb_or_more_keeps_sparks_settings():
    assert input_size_conf(32 * MB, {}, env={}) == {}
    assert input_size_conf(5 * 1024 * MB, {}, env={}) == {}


def test_the_threshold_comes_from_the_environment_and_0_turns_the_rule_off():
    assert input_size_conf(3 * MB, {}, env={SMALL_INPUT_ENV: "2"}) == {}
    assert input_size_conf(3 * MB, {}, env={SMALL_INPUT_ENV: "2.5"}) == {}
    assert input_size_conf(2 * MB, {}, env={SMALL_INPUT_ENV: "2.5"}) == SMALL
    assert input_size_conf(0, {}, env={SMALL_INPUT_ENV: "0"}) == {}
    assert input_size_conf(100 * MB, {}, env={SMALL_INPUT_ENV: "512"}) == SMALL
    assert small_input_mb({SMALL_INPUT_ENV: " "}) == 32


def test_what_the_user_set_stays():
    submitted = {"spark.sql.adaptive.enabled": "true", "spark.master": "local[2]"}  # --conf or spark-defaults.conf
    assert input_size_conf(MB, submitted, env={}) == {
        "spark.sql.shuffle.partitions": "1", "spark.databricks.delta.snapshotPartitions": "1",
        "spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}
    pinned = input_size_conf(MB, {}, env={"WEEKLY_DISCOVERY_SHUFFLE_PARTITIONS": "4"})
    assert pinned == {"spark.sql.adaptive.enabled": "false", "spark.sql.codegen.wholeStage": "false",
                      "spark.sql.codegen.factoryMode": "NO_CODEGEN"}


@pytest.mark.parametrize("bad", ["-1", "lots", "32MB", "nan", "inf"])
def test_a_bad_threshold_is_a_user_error_naming_the_variable_and_the_fix(bad):
    with pytest.raises(SparkSettingsError) as caught:
        input_size_conf(MB, {}, env={SMALL_INPUT_ENV: bad})
    assert isinstance(caught.value, UserError)
    assert f"{SMALL_INPUT_ENV}={bad!r}" in str(caught.value)
    assert "set a number such as 32" in str(caught.value) and "unset it" in str(caught.value)
