"""Train the weekly like/dislike model on one date's enriched library and decide the champion.

Run it with the venv's spark-submit (SPARK_HOME = the venv's site-packages/pyspark,
PYSPARK_PYTHON = the venv's python, see docs/stack.md)::

    spark-submit --master local[2] jobs/train.py --lake /srv/weekly-discovery/lake --ds 2026-11-23 \\
        --features danceability,energy,speechiness,instrumentalness,acousticness,liveness,mode,valence,loudness,tempo,key \\
        --folds 5 --seed 42 --threshold 0.5 [--grid default|quick] [--artist-profile on|off]

``--lake`` defaults to ``$WEEKLY_DISCOVERY_LAKE``; the model options default to the config's
``[model]`` defaults. It reads ``silver/tracks_enriched/ds=D`` and writes
``models/like_model/version=D/`` (the selected PipelineModel, the post's baseline, ``model_card.json``),
then updates ``models/like_model/champion.json``. The logic is in :mod:`weekly_discovery.recommend`;
see docs/model.md. Exit status 2 means the input is missing or too small (the log says what to do).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from weekly_discovery.core.config import Model
from weekly_discovery.core.vocabulary import FEATURE_COLUMNS
from weekly_discovery.lake.layout import Lake, LakeError, check_ds
from weekly_discovery.recommend.dataset import DatasetError
from weekly_discovery.recommend.models import GRIDS
from weekly_discovery.recommend.train import TrainingError
from weekly_discovery.recommend.week import TrainSettings, train_week
from weekly_discovery.spark.cli import enriched_input, job_parser, parse_job_args
from weekly_discovery.spark.logs import setup_job_logging
from weekly_discovery.spark.session import get_spark

log = logging.getLogger("weekly_discovery.jobs.train")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = Model()
    parser = job_parser(__doc__)
    parser.add_argument("--features", default=",".join(defaults.features),
                        help="comma-separated feature columns (default: the post's eleven)")
    parser.add_argument("--folds", type=int, default=defaults.folds)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--threshold", type=float, default=defaults.threshold)
    parser.add_argument("--grid", choices=sorted(GRIDS), default="default",
                        help="candidate configurations: default (weekly) or quick (one small model per family)")
    parser.add_argument("--artist-profile", choices=("on", "off"), default="on" if defaults.artist_profile else "off",
                        help="challengers also learn each feature's average over the track's artist (default on)")
    args = parse_job_args(parser, argv)
    args.features = tuple(f.strip() for f in args.features.split(",") if f.strip())
    unknown = [f for f in args.features if f not in FEATURE_COLUMNS]
    if not args.features or unknown:
        parser.error(f"--features must name columns from {', '.join(FEATURE_COLUMNS)}; unknown: {unknown}")
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    setup_job_logging()
    args = parse_args(argv)
    started = time.monotonic()
    try:
        lake = Lake(args.lake)
        ds = check_ds(args.ds)
        source = enriched_input(lake, ds)
    except LakeError as exc:
        log.error("train ds=%s failed: %s", args.ds, exc)
        return 2

    settings = TrainSettings(features=args.features, folds=args.folds, seed=args.seed, threshold=args.threshold,
                             grid=tuple(GRIDS[args.grid]()), artist_profile=args.artist_profile == "on")
    spark = get_spark(f"weekly-discovery-train-{ds}")
    try:
        enriched = spark.read.parquet(str(source))
        train_week(enriched, lake, ds, settings)
    except (DatasetError, TrainingError) as exc:
        log.error("train ds=%s failed: %s", ds, exc)
        return 2
    finally:
        spark.stop()
    log.info("train ds=%s done in %.1f s", ds, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
