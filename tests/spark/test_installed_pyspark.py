"""A real ``spark-submit --master local[2]``: the job's driver and its Python workers import the installed
pyspark, not spark-submit's ``$SPARK_HOME/python/lib/pyspark.zip`` (:mod:`weekly_discovery.spark.pythonpath`).

The application starts as every ``jobs/*.py`` does (``import weekly_discovery.spark.installed_pyspark`` first),
gets its session from :func:`weekly_discovery.spark.session.get_spark` and runs a pandas UDF; the package
arrives through ``--py-files`` (the zip the Airflow operator ships), and it runs from an unrelated folder. It
reports where each process found pyspark and which daemon forked the worker; the expected places are
computed here from ``SPARK_HOME``, not by the code under test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from weekly_discovery.airflow.spark_submit import package_zip

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"

APP = '''
import weekly_discovery.spark.installed_pyspark as installed  # first, as in every job

import json
import sys

import pyspark

from weekly_discovery.spark.session import get_spark


def where(batches):
    import os

    import pandas as pd
    import pyspark

    with open(f"/proc/{os.getppid()}/cmdline", "rb") as fh:
        daemon = fh.read().replace(b"\\0", b" ").decode().strip()
    for _ in batches:
        yield pd.DataFrame({"pyspark": [pyspark.__file__], "daemon": [daemon],
                            "zips": [",".join(p for p in sys.path if p.endswith("pyspark.zip"))]})


spark = get_spark("installed-pyspark-test")
rows = spark.range(0, 2, 1, 2).mapInPandas(where, "pyspark string, daemon string, zips string").collect()
json.dump({"driver": pyspark.__file__, "dropped": installed.DROPPED,
           "driver_zips": [p for p in sys.path if p.endswith("pyspark.zip")],
           "workers": [r.asDict() for r in rows]}, open(sys.argv[1], "w"))
spark.stop()
'''


def test_the_driver_and_the_workers_import_the_installed_pyspark(tmp_path):
    spark_home = Path(os.environ["SPARK_HOME"]).resolve()
    installed = str(spark_home / "__init__.py")
    zip_copy = str(spark_home / "python" / "lib" / "pyspark.zip")
    assert Path(zip_copy).is_file(), "the pip package's zip copy is what this test is about"
    app, out, cwd = tmp_path / "app.py", tmp_path / "where.json", tmp_path / "elsewhere"
    app.write_text(APP)
    cwd.mkdir()
    zipped = package_zip(directory=tmp_path / "py-files")
    result = subprocess.run(
        [str(SPARK_SUBMIT), "--master", "local[2]", "--conf", "spark.ui.enabled=false", "--py-files", str(zipped),
         str(app), str(out)],
        cwd=cwd, env=dict(os.environ), capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    seen = json.loads(out.read_text())

    assert Path(seen["dropped"]).resolve() == Path(zip_copy)  # spark-submit had put it on the driver's path
    assert seen["driver_zips"] == []
    assert Path(seen["driver"]).resolve() == Path(installed)
    assert len(seen["workers"]) == 2
    for worker in seen["workers"]:
        assert Path(worker["pyspark"]).resolve() == Path(installed), worker
        assert worker["zips"] == "", worker
        assert "-m weekly_discovery.spark.worker_daemon pyspark.worker" in worker["daemon"], worker
