"""Spark's Python processes import the installed pyspark, not spark-submit's zip copy of it.

spark-submit puts ``$SPARK_HOME/python/lib/pyspark.zip`` first on the path of every Python process it starts:
a job's driver and, in local mode, the executors' worker daemon (Spark's ``PythonUtils.sparkPythonPath``, with
no setting to leave it out). With Spark from the pip package, ``SPARK_HOME`` is the installed ``pyspark`` folder
and that zip holds a second copy of the same package. Python keeps no bytecode for modules imported from a zip,
so each of those processes compiled pyspark's modules from source on every run: ~0.7 CPU s in a job's driver
and ~1.5 CPU s in the workers of a job with pandas UDFs, where the installed
copy's bytecode was compiled once, by pip.

:func:`prefer_installed_pyspark` drops the zip from ``sys.path`` when, and only when, it lies inside the very
pyspark package that the rest of the path imports: the code is then the same file for file. A Spark
distribution with its own ``python/`` folder, a node without pyspark installed (the cluster's ``python -S``
drivers) or a process that already imported pyspark keep their path as it is.

Who calls it: every ``jobs/*.py`` imports :mod:`weekly_discovery.spark.installed_pyspark` before anything
that imports pyspark; the worker daemon is :mod:`weekly_discovery.spark.worker_daemon`, which
:func:`weekly_discovery.spark.session.get_spark` names in ``spark.python.daemon.module`` for local masters.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from collections.abc import Mapping, MutableSequence
from typing import Any

ZIP_NAME = "pyspark.zip"


def installed_copy_zip(entry: str, rest: list[str]) -> bool:
    """Whether ``entry`` is ``<pkg>/python/lib/pyspark.zip`` of the pyspark package ``<pkg>`` found on ``rest``."""
    if os.path.basename(entry) != ZIP_NAME:
        return False
    lib = os.path.dirname(os.path.abspath(entry))
    package = os.path.dirname(os.path.dirname(lib))
    if os.path.basename(lib) != "lib" or os.path.basename(os.path.dirname(lib)) != "python":
        return False
    spec = importlib.machinery.PathFinder.find_spec("pyspark", rest)
    if spec is None or not spec.origin or not os.path.isfile(spec.origin):
        return False
    try:
        return os.path.samefile(os.path.dirname(spec.origin), package)
    except OSError:
        return False


def prefer_installed_pyspark(path: MutableSequence[str] | None = None,
                             modules: Mapping[str, Any] | None = None) -> str | None:
    """Drop spark-submit's ``pyspark.zip`` from ``path`` (default ``sys.path``) when it is the installed
    pyspark's own copy; return the entry dropped, or None when the path stays as it was."""
    path = sys.path if path is None else path
    modules = sys.modules if modules is None else modules
    if "pyspark" in modules:  # too late: its submodules must come from where it came from
        return None
    for entry in list(path):
        if entry and installed_copy_zip(entry, [p for p in path if p != entry]):
            path.remove(entry)
            return entry
    return None
