"""Train the week's like/dislike model, then score the candidates with the champion: one Spark session.

The weekly_recommendations DAG's one Spark task (``train_and_score``). Run it with the venv's
spark-submit (see docs/stack.md)::

    spark-submit --master local[2] jobs/weekly.py --lake /srv/weekly-discovery/lake --ds 2026-11-23 \\
        --config ~/weekly-discovery.toml [--params '{"top_n": 20}']

It does what ``jobs/train.py`` then ``jobs/score.py`` do (same arguments, same outputs: see their
docstrings and :mod:`weekly_discovery.recommend.job`), in one spark-submit: the two steps always run
back to back, and each spark-submit costs its JVM, Spark session and first job (~6.6 s with the demo's
small-job settings). Both steps' inputs are checked before Spark starts (the champion excepted: training
writes it). A user error in training (exit status 2, no retry) stops the job before scoring starts;
a rerun gives the same result as a rerun of the two jobs.
"""

from __future__ import annotations

import weekly_discovery.spark.installed_pyspark  # noqa: F401  first: pyspark from the installed package

# isort: split
import sys

from weekly_discovery.discover.sources.catalog import describe_file
from weekly_discovery.recommend import job

if __name__ == "__main__":
    sys.exit(job.weekly_main(describe_file, doc=__doc__))
