"""The recommend stage's Spark jobs: train, score, and both in one session; what ``jobs/*.py`` run.

``jobs/train.py`` and ``jobs/score.py`` run one step each (:func:`train_main`, :func:`score_main`);
``jobs/weekly.py`` (the weekly DAG's one Spark task) runs both in one Spark session (:func:`weekly_main`),
which saves a spark-submit (~6.6 s: the JVM, the session and its first job) on a step that always follows
the other. Each step is split the same way:

- ``*_step(...)`` checks the input in the driver and returns what the step needs (no Spark yet), so a
  missing input fails before a Spark session is paid for;
- :func:`train` / :func:`score` do the Spark work on the session they are given.

The work itself is :func:`weekly_discovery.recommend.training.week.train_week` and
:func:`weekly_discovery.recommend.scoring.week.score_date`. The ``[discover] catalog`` file is checked by
the discover stage's ``describe_file``: a stage does not import another, so the launcher passes it in.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from weekly_discovery.lake import TRACKS_ENRICHED, Lake, PartitionDate, tree_bytes
from weekly_discovery.recommend.model import store
from weekly_discovery.recommend.model.families import GRIDS
from weekly_discovery.recommend.scoring import catalog
from weekly_discovery.recommend.scoring.week import score_date
from weekly_discovery.recommend.training.dataset import Negatives
from weekly_discovery.recommend.training.week import TrainSettings, train_conf, train_week
from weekly_discovery.settings.config import Config, Model
from weekly_discovery.spark import delta
from weekly_discovery.spark.runner import (
    enriched_input,
    job_config,
    job_parser,
    job_session,
    parse_job_args,
    run_job,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainStep:
    """A checked training input: the enriched date exists and the ``[model]`` settings are valid."""

    lake: Lake
    ds: PartitionDate
    settings: TrainSettings
    catalogue: str | None = None  # the [discover] catalog file when that source is on: part of the background

    def input_bytes(self) -> int:
        """What training reads: the week's enriched rows (sizes the session, see ``job_session``)."""
        return enriched_bytes(self.lake, self.ds)


def enriched_bytes(lake: Lake, ds: PartitionDate) -> int:
    """The size of ``silver/tracks_enriched``'s folder of ``ds``: one listing, an upper bound of what a job reads
    (after a rerun it also holds files the table no longer uses, until VACUUM deletes them)."""
    return tree_bytes(lake.partition(TRACKS_ENRICHED, ds))


def catalogue_path(config: Config) -> str | None:
    """The ``[discover] catalog`` file when the ``catalog`` source is on (its songs are scored weekly), else None."""
    return config.discover.catalog if "catalog" in config.discover.sources else None


def train_step(lake: Lake, ds: PartitionDate, model: Model, catalogue: str | None = None) -> TrainStep:
    """The training of ``ds`` with the config's ``[model]`` table; fails (LakeError) without the enriched input.
    ``catalogue``: :func:`catalogue_path`."""
    enriched_input(lake, ds)
    settings = TrainSettings(features=tuple(model.features), folds=model.folds, seed=model.seed,
                             threshold=model.threshold, grid=tuple(GRIDS[model.grid]()),
                             artist_profile=model.artist_profile,
                             negatives=Negatives(background=model.background, unsaved_weight=model.unsaved_weight,
                                                 seed=model.seed),
                             unsaved_after_weeks=model.unsaved_after_weeks)
    return TrainStep(lake, ds, settings, catalogue)


def train(spark, step: TrainStep) -> dict[str, Any]:
    """Train, select and store the model of the step's week; return its card. With a catalogue, a sample of it
    (one song per liked song) joins the week's candidates when the background is drawn
    (:func:`weekly_discovery.recommend.scoring.catalog.background_rows`); the file is not read otherwise."""
    enriched = delta.read_date(spark, step.lake, TRACKS_ENRICHED, step.ds)
    more = None  # (size) -> the catalogue's sample
    if step.catalogue:
        more = functools.partial(catalog.background_rows, spark, step.catalogue, enriched, seed=step.settings.seed)
    return train_week(enriched, step.lake, step.ds, step.settings, more_background=more)


@dataclass(frozen=True)
class ScoreStep:
    """A checked scoring input. ``champion`` None: resolved when scoring starts (after a training step)."""

    lake: Lake
    ds: PartitionDate
    settings: Model
    novelty_weeks: int
    catalogue: dict[str, Any] | None
    champion: store.ChampionRef | None = None

    def input_bytes(self) -> int:
        """What scoring reads: the week's enriched rows and the catalogue file, if one is scored."""
        return enriched_bytes(self.lake, self.ds) + int((self.catalogue or {}).get("size") or 0)


def score_step(lake: Lake, ds: PartitionDate, config: Config, describe_catalogue: Callable[[str], Any], *,
               champion: bool = True) -> ScoreStep:
    """The scoring of ``ds`` with the config's ``[model]`` and ``[discover]`` settings, its input checked.

    ``describe_catalogue`` checks the ``[discover] catalog`` file (the discover stage's
    ``describe_file``: a stage does not import another, so the job passes it in); it runs only when
    ``[discover] sources`` lists ``catalog``. With ``champion`` the champion in force for ``ds`` is
    resolved now (fails with the fix when there is none); without it, when :func:`score` starts, i.e.
    after the training step of the same job has written it.
    """
    enriched_input(lake, ds)
    ref = store.champion_for_scoring(lake, ds) if champion else None
    catalogue = None
    if "catalog" in config.discover.sources:  # the file must be there: the same check as the discover task's
        catalogue = describe_catalogue(config.discover.catalog).as_dict()
    return ScoreStep(lake, ds, config.model, config.discover.novelty_weeks, catalogue, ref)


def score(spark, step: ScoreStep) -> dict[str, Any]:
    """Score the step's date with its champion (the one in force now if not resolved yet); return the metrics."""
    champion = step.champion or store.champion_for_scoring(step.lake, step.ds)
    return score_date(spark, step.lake, step.ds, champion, step.settings, step.novelty_weeks, step.catalogue)


@contextlib.contextmanager
def timed(name: str, ds: PartitionDate) -> Iterator[None]:
    """Log ``<name> ds=<D> done in <s> s`` when a step of a several-step job ends (as a one-step job's runner
    does), or which step stopped the job: the runner then logs the error itself."""
    started = time.monotonic()
    try:
        yield
    except BaseException:
        log.error("%s ds=%s stopped after %.1f s: the job's later steps do not run", name, ds,
                  time.monotonic() - started)
        raise
    log.info("%s ds=%s done in %.1f s", name, ds, time.monotonic() - started)


DescribeCatalogue = Callable[[str], Any]


def _parser(doc: str | None) -> Callable[[Sequence[str] | None], argparse.Namespace]:
    return lambda argv: parse_job_args(job_parser(doc, settings=True), argv)


def train_main(argv: Sequence[str] | None = None, doc: str | None = None) -> int:
    """``jobs/train.py``: train the model of ``--ds`` and decide the champion. ``doc``: the job's ``--help``."""

    def run(args: argparse.Namespace) -> None:
        ds = args.ds
        config = job_config(args)
        step = train_step(Lake(args.lake), ds, config.model, catalogue_path(config))  # before paying for Spark
        with job_session(f"weekly-discovery-train-{ds}", train_conf(), input_bytes=step.input_bytes()) as spark:
            train(spark, step)

    return run_job("train", _parser(doc), run, argv)


def score_main(describe_catalogue: DescribeCatalogue, argv: Sequence[str] | None = None,
               doc: str | None = None) -> int:
    """``jobs/score.py``: score the candidates of ``--ds`` with the champion and write the picks."""

    def run(args: argparse.Namespace) -> None:
        ds = args.ds
        step = score_step(Lake(args.lake), ds, job_config(args), describe_catalogue)  # before paying for Spark
        with job_session(f"weekly-discovery-score-{ds}", input_bytes=step.input_bytes()) as spark:
            score(spark, step)

    return run_job("score", _parser(doc), run, argv)


def weekly_main(describe_catalogue: DescribeCatalogue, argv: Sequence[str] | None = None,
                doc: str | None = None) -> int:
    """``jobs/weekly.py``: train, then score with the new champion, in one Spark session."""

    def run(args: argparse.Namespace) -> None:
        lake, ds, config = Lake(args.lake), args.ds, job_config(args)
        training = train_step(lake, ds, config.model, catalogue_path(config))  # inputs checked before Spark
        scoring = score_step(lake, ds, config, describe_catalogue, champion=False)  # the champion: after training
        size = scoring.input_bytes()  # the enriched rows training reads too, and the catalogue
        with job_session(f"weekly-discovery-train-and-score-{ds}", train_conf(), input_bytes=size) as spark:
            with timed("train", ds):
                train(spark, training)
            with timed("score", ds):
                score(spark, scoring)

    return run_job("train_and_score", _parser(doc), run, argv)
