"""The ``--py-files`` zip sent with every spark-submit holds the runtime package and nothing else."""

from __future__ import annotations

import zipfile

from weekly_discovery.airflow.spark_submit import package_zip


def test_the_zip_holds_runtime_code_only(tmp_path):
    names = zipfile.ZipFile(package_zip(directory=tmp_path)).namelist()
    # the runtime layers and stages are there...
    for module in ("weekly_discovery/__init__.py", "weekly_discovery/settings/config.py",
                   "weekly_discovery/lake/layout.py", "weekly_discovery/spark/session.py",
                   "weekly_discovery/enrich/transforms.py", "weekly_discovery/recommend/scoring/score.py",
                   "weekly_discovery/report/render.py", "weekly_discovery/ingest/normalize.py"):
        assert module in names
    # ...and nothing that is not run by a job: no stand-in, no demo, no tests, no caches, nothing outside the package
    assert all(n.startswith("weekly_discovery/") for n in names)
    for unwanted in ("standin", "demo", "devtools", "tests/", "conftest", "__pycache__", ".pyc"):
        assert not [n for n in names if unwanted in n], unwanted


def test_the_same_code_gives_the_same_zip(tmp_path):
    first = package_zip(directory=tmp_path)
    assert package_zip(directory=tmp_path) == first
    assert len(list(tmp_path.glob("*.zip"))) == 1
