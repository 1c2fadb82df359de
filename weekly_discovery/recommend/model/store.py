"""Model versions, their cards and the champion pointer, in the lake's ``models`` layer.

Layout (under ``lake.table(LIKE_MODEL)``)::

    version=<ds>/model/            the week's selected model, refit on all rows: model.skops (a scikit-learn
                                   challenger, :mod:`weekly_discovery.recommend.model.skops_file`) or a Spark ML
                                   PipelineModel (the post's model; every model of older versions)
    version=<ds>/baseline/         the post's logistic regression (Spark ML PipelineModel), refit on all rows
    version=<ds>/model_card.json   data, features, every candidate's CV metrics, the decision and why
    champion.json                  which version scores the candidates, and the history of decisions

A version folder holds plain files (not a Delta table), written in place with ``model_card.json``
LAST: a version without a card is not a version (:func:`read_card` finds none, so it is neither an
incumbent nor a champion, and scoring asks for the train step). A rerun of a date deletes the old
card first, then the old folder, then writes the new one: a crash part-way leaves a folder without a
card, which the next run replaces. ``champion.json`` is replaced atomically (temporary file + rename).

A version is **frozen** once a later week has been trained (:func:`frozen_card`): that week's
decision, and every later one, was taken against the champion chain as it stood, and their history
entries and cards point at it. Replacing it would put a model that never won its comparison under
their records, so :func:`write_version` refuses, and a rerun of the week reuses the stored version
(:func:`weekly_discovery.recommend.training.week.train_week`). Only the newest trained week (or a week never
trained) is trained again, which a seeded run does reproducibly.

The pointer keeps one history entry per training date: ``{"ds", "champion", "promoted", "reason"}``.
The champion a run of date D competes against is the one in force after the latest entry dated
strictly before D, so a rerun of D faces the same incumbent as the first run did (and a rerun can
never compete against itself). Scoring date D uses the champion in force after D's own entry.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weekly_discovery.core.errors import UserError
from weekly_discovery.lake import CHAMPION, LIKE_MODEL, MODEL_CARD, Lake, PartitionDate, read_json, rmtree
from weekly_discovery.lake import write_json as write_json_file
from weekly_discovery.recommend.model.families import Candidate

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel

    from weekly_discovery.recommend.model.scikit import SklearnModel

log = logging.getLogger(__name__)

CARD = MODEL_CARD
POINTER = CHAMPION
MODEL_DIR = "model"
BASELINE_DIR = "baseline"


class NoChampion(UserError, RuntimeError):
    """No model has been trained for (or before) the date asked; the message says what to run."""


class VersionFrozen(UserError, RuntimeError):
    """A week's model version cannot be replaced: later weeks were decided against it (see the module)."""


@dataclass(frozen=True)
class ChampionRef:
    """A stored model version: its date, configuration, features and folder."""

    version: str
    candidate: Candidate
    features: tuple[str, ...]
    path: Path  # the version folder
    cv: dict[str, Any]
    pu: dict[str, Any] | None = None  # the positive-unlabeled calibration of a model that learned from background

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_DIR


def table(lake: Lake) -> Path:
    return lake.table(LIKE_MODEL)


def version_dir(lake: Lake, ds: PartitionDate) -> Path:
    return lake.version(LIKE_MODEL, ds)


def pointer_path(lake: Lake) -> Path:
    return table(lake) / POINTER


def read_pointer(lake: Lake) -> dict[str, Any] | None:
    path = pointer_path(lake)
    return read_json(path) if path.is_file() else None


def read_card(lake: Lake, version: str) -> dict[str, Any] | None:
    path = version_dir(lake, version) / CARD
    return read_json(path) if path.is_file() else None


def champion_version(lake: Lake, ds: PartitionDate, *, strictly_before: bool) -> str | None:
    """The champion version in force for date ``ds`` (see the module docstring), or None."""
    pointer = read_pointer(lake) or {}
    entries = [e for e in pointer.get("history", []) if (e["ds"] < ds if strictly_before else e["ds"] <= ds)]
    if not entries:
        return None
    return max(entries, key=lambda e: e["ds"])["champion"]


def champion_ref(lake: Lake, version: str) -> ChampionRef | None:
    """The stored version's configuration from its card (None, logged, if the card is gone)."""
    card = read_card(lake, version)
    if card is None:
        log.warning("champion version %s has no %s under %s", version, CARD, table(lake))
        return None
    selected = card["champion"]
    return ChampionRef(
        version=version,
        candidate=Candidate.from_dict(selected),
        features=tuple(card["features"]),
        path=version_dir(lake, version),
        cv=selected.get("metrics") or {},
        pu=card.get("pu"),
    )


def incumbent_for(lake: Lake, ds: PartitionDate) -> ChampionRef | None:
    """The champion a training run of ``ds`` competes against (in force strictly before ``ds``)."""
    version = champion_version(lake, ds, strictly_before=True)
    return None if version is None else champion_ref(lake, version)


def champion_for_scoring(lake: Lake, ds: PartitionDate) -> ChampionRef:
    """The champion that scores date ``ds``'s candidates; fails with the fix when there is none."""
    version = champion_version(lake, ds, strictly_before=False)
    ref = None if version is None else champion_ref(lake, version)
    if ref is None or not ref.model_path.is_dir():
        raise NoChampion(
            f"no champion model for ds={ds} under {table(lake)}: run the train step "
            f"(jobs/train.py, the weekly_recommendations DAG) for {ds} first"
        )
    return ref


def load_model(ref: ChampionRef) -> "PipelineModel | SklearnModel":
    """The stored model of ``ref``, checked before anything in it is instantiated.

    A scikit-learn model (``model.skops``) goes through the skops allow-list
    (:mod:`weekly_discovery.recommend.model.skops_file`); a Spark ML PipelineModel (the post's model, and every
    model stored before the scikit-learn challengers) through the metadata allow-list
    (:mod:`weekly_discovery.recommend.model.guard`). Both raise a UserError naming what they refused.
    """
    from weekly_discovery.recommend.model import skops_file

    if skops_file.is_stored(ref.model_path):
        return skops_file.load(ref.model_path)
    from pyspark.ml import PipelineModel

    from weekly_discovery.recommend.model.guard import check_model

    check_model(ref.model_path)  # Spark instantiates the classes the lake's metadata names: check them first
    return PipelineModel.load(str(ref.model_path))


def later_weeks(lake: Lake, ds: PartitionDate) -> list[str]:
    """Dates of the pointer's history entries after ``ds``, oldest first."""
    return sorted(e["ds"] for e in (read_pointer(lake) or {}).get("history", []) if e["ds"] > ds)


def frozen_card(lake: Lake, ds: PartitionDate) -> dict[str, Any] | None:
    """The card of version ``ds`` if that version is frozen, else None (the week may be trained).

    Frozen: the version exists, its decision is recorded, and a later week has been trained since.
    A version never recorded (a week never trained, or a run that died before recording) was never
    an incumbent of anyone, so it stays trainable (a backfill of an older week).
    """
    later = later_weeks(lake, ds)
    if not later or not any(e["ds"] == ds for e in read_pointer(lake)["history"]):
        return None
    return read_card(lake, ds)


def write_version(lake: Lake, ds: PartitionDate, models: dict[str, "PipelineModel | SklearnModel"],
                  card: dict[str, Any]) -> Path:
    """Save ``models`` (folder name -> model) and the card as ``version=<ds>``, the card last.

    A Spark ML model is saved by Spark; a scikit-learn one as ``<folder>/model.skops`` (no pickle). An older
    version of the date loses its card first, then its files: nothing of it is mixed with the new one (a
    ``model.skops`` left beside a Spark ML model would be the one loaded).

    Refuses (:class:`VersionFrozen`) to replace a frozen version (see the module docstring).
    """
    if frozen_card(lake, ds) is not None:
        later = later_weeks(lake, ds)
        raise VersionFrozen(
            f"model version {ds} under {table(lake)} is not replaced: week(s) {', '.join(later)} were trained "
            f"after it and their champion decisions rest on it; a rerun of {ds} reuses the stored version"
        )
    from weekly_discovery.recommend.model import skops_file

    final = version_dir(lake, ds)
    (final / CARD).unlink(missing_ok=True)  # from here on the old version is no version
    rmtree(final)
    final.mkdir(parents=True, exist_ok=True)
    for name, model in models.items():
        if hasattr(model, "write"):
            model.write().overwrite().save(str(final / name))
        else:
            skops_file.save(model, final / name)
    _sync(final)  # the models are on disk before the card says they are there
    write_json_file(final / CARD, card)
    return final


def _sync(folder: Path | Any) -> None:
    """fsync every file and folder under a local ``folder`` (an object store's PUTs are durable when they return)."""
    import os

    if not isinstance(folder, Path):
        return
    for root, _, names in os.walk(folder):
        for name in [*names, "."]:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def record_decision(lake: Lake, ds: PartitionDate, *, promoted: bool, incumbent: str | None, reason: str) -> dict[str, Any]:
    """Add (or replace) ``ds``'s entry in the pointer's history and point at the champion now in force.

    The champion of ``ds`` is ``ds`` itself when promoted, else the incumbent. The pointer's
    top-level fields describe the champion of the newest entry, so backfilling an old date never
    moves the current champion back in time.
    """
    pointer = read_pointer(lake) or {}
    champion = ds if promoted or incumbent is None else incumbent
    history = [e for e in pointer.get("history", []) if e["ds"] != ds]
    history.append({"ds": ds, "champion": champion, "promoted": promoted, "reason": reason})
    history.sort(key=lambda e: e["ds"])
    current = history[-1]["champion"]
    card = read_card(lake, current) or {}
    selected = card.get("champion", {})
    new_pointer = {
        "version": current,
        "name": selected.get("name"),
        "params": selected.get("params"),
        "features": card.get("features"),
        "metrics": selected.get("metrics"),
        "model_path": str(Path(lake.relative(version_dir(lake, current))) / MODEL_DIR),
        "updated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "history": history,
    }
    write_json_file(pointer_path(lake), new_pointer)
    return new_pointer
