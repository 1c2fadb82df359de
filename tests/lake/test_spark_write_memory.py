"""A date's Spark write streams its rows to one file: it does not sort them by the partition column first.

Delta's writer sorts a task's rows by ``ds`` unless the task may keep more files open than the partitions it
meets (``spark.sql.maxConcurrentOutputFileWriters``, set to 2 by :data:`weekly_discovery.spark.delta.SESSION_CONF`;
at 1 the writer falls back to the sort after its first file). The sort held every row of the task in
execution memory: at 1M tracks normalize's bronze write ran the default 1 GB heap out of memory.

How the test sees a sort: a fresh Spark JVM in which every sorter spills to disk after 1,000 rows
(``spark.shuffle.spill.numElementsForceSpillThreshold``, read when the JVM starts, hence the subprocess). A
write that sorts its 20,000 rows spills, and Spark records the spilled bytes in the write's stage. Spark's
"peak execution memory" would not do: the writer's own fallback sorter does not report it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from weekly_discovery.spark.delta import SESSION_CONF

pytestmark = pytest.mark.spark

SETTING = "spark.sql.maxConcurrentOutputFileWriters"
SCRIPT = r"""
import json, sys
from pyspark.sql import functions as F
from weekly_discovery.lake import SILVER_TRACKS, Lake
from weekly_discovery.spark import delta as spark_delta
from weekly_discovery.spark.session import get_spark

spark = get_spark("write-spills", {"spark.ui.enabled": "false", "spark.shuffle.spill.numElementsForceSpillThreshold": "1000"})
sc = spark.sparkContext
no_quantiles = sc._gateway.new_array(sc._gateway.jvm.double, 0)

def spilled_by_stage():
    stages = sc._jsc.sc().statusStore().stageList(None, False, False, no_quantiles, None)
    return {stages.apply(i).stageId(): stages.apply(i).diskBytesSpilled() for i in range(stages.size())}

out = {}
for value in sys.argv[2:]:
    spark.conf.set("spark.sql.maxConcurrentOutputFileWriters", value)
    before = spilled_by_stage()
    df = spark.range(20000).select(F.format_string("t%021d", "id").alias("track_id"), (F.col("id") * 2).alias("n"))
    spark_delta.write_date(df, Lake(sys.argv[1] + "/" + value), SILVER_TRACKS, "2026-11-23")
    rows = spark.read.format("delta").load(sys.argv[1] + "/" + value + "/silver/tracks").count()
    after = spilled_by_stage()
    out[value] = {"rows": rows, "spilled": sum(v for k, v in after.items() if k not in before)}
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def spills(tmp_path_factory) -> dict:
    """Bytes spilled by one date's write of 20,000 rows, with the project's setting and with 1 and 0 (Spark's
    default: no concurrent writers), in one JVM whose sorters spill after 1,000 rows."""
    folder = tmp_path_factory.mktemp("spills")
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(folder), SESSION_CONF[SETTING], "1", "0"],
                            capture_output=True, text=True, timeout=300, env=dict(os.environ))
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_a_date_is_written_without_a_sort(spills):
    ours = spills[SESSION_CONF[SETTING]]
    assert ours["rows"] == 20000
    assert ours["spilled"] == 0


@pytest.mark.parametrize("value", ["1", "0"])
def test_with_fewer_open_files_the_write_sorts_its_rows(spills, value):
    assert spills[value]["rows"] == 20000
    assert spills[value]["spilled"] > 0  # the measure sees a sort
