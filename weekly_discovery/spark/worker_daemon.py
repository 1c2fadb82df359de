"""Spark's Python worker daemon, started on the installed pyspark (``spark.python.daemon.module``).

Spark starts one daemon per executor (``python -m <module> pyspark.worker``); the daemon forks a worker per
Python task. This module only fixes the path (:func:`weekly_discovery.spark.pythonpath.prefer_installed_pyspark`)
and then runs pyspark's own daemon, unchanged, so the forked workers import pyspark with its compiled bytecode
(~1.5 CPU s less for a job with pandas UDFs). :func:`weekly_discovery.spark.session.get_spark` names it for
local masters only: on a cluster the executors' Python may not have this package.
"""

from __future__ import annotations

import runpy

from weekly_discovery.spark.pythonpath import prefer_installed_pyspark


def main() -> None:
    prefer_installed_pyspark()
    runpy.run_module("pyspark.daemon", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
