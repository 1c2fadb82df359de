"""Train the week's like/dislike model, then score the candidates with the champion: one Spark session.

The weekly_recommendations DAG's one Spark task (``train_and_score``). Run it with the venv's
spark-submit (see docs/stack.md)::

    spark-submit --master local[2] jobs/weekly.py --lake /srv/weekly-discovery/lake --ds 2026-11-23 \\
        --config ~/weekly-discovery.toml [--params '{"top_n": 20}']

It does what ``jobs/train.py`` then ``jobs/score.py`` do (same arguments, same outputs: see their
docstrings and :mod:`weekly_discovery.recommend.steps`), in one spark-submit: the two steps always run
back to back, and each spark-submit costs its JVM, Spark session and first job (~6.6 s with the demo's
small-job settings). Both steps' inputs are checked before Spark starts (the champion excepted: training
writes it). A user error in training (exit status 2, no retry) stops the job before scoring starts;
a rerun gives the same result as a rerun of the two jobs.
"""

from __future__ import annotations

import weekly_discovery.spark.installed_pyspark  # noqa: F401  first: pyspark from the installed package

# isort: split
import argparse
import sys
from collections.abc import Sequence

from weekly_discovery.discover.sources.catalog import describe_file
from weekly_discovery.lake import Lake, check_ds
from weekly_discovery.recommend import steps
from weekly_discovery.recommend.week import train_conf  # fair pools for the refit beside the grid
from weekly_discovery.spark.runner import job_config, job_parser, job_session, parse_job_args, run_job


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return parse_job_args(job_parser(__doc__, settings=True), argv)


def run(args: argparse.Namespace) -> None:
    lake, ds, config = Lake(args.lake), check_ds(args.ds), job_config(args)
    training = steps.train_step(lake, ds, config.model, steps.catalogue_path(config))  # inputs checked before Spark
    scoring = steps.score_step(lake, ds, config, describe_file, champion=False)  # the champion: after training
    size = scoring.input_bytes()  # the enriched rows training reads too, and the catalogue
    with job_session(f"weekly-discovery-train-and-score-{ds}", train_conf(), input_bytes=size) as spark:
        with steps.timed("train", ds):
            steps.train(spark, training)
        with steps.timed("score", ds):
            steps.score(spark, scoring)


def main(argv: Sequence[str] | None = None) -> int:
    return run_job("train_and_score", parse_args, run, argv)


if __name__ == "__main__":
    sys.exit(main())
