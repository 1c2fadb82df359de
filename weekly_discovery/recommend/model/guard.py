"""Check a stored model's Spark ML metadata before Spark loads it.

``PipelineModel.load`` trusts the folder it reads: the JVM instantiates whatever class each stage's
``metadata/part-*`` record names (any class on the classpath with a static ``read``), and PySpark, for
a pipeline marked ``"language": "Python"``, imports the module a stage names. The lake is data that
anyone with write access to it can change, so a tampered ``models/like_model/version=*/model`` would
run code of the attacker's choosing as the scoring job (which holds the lake's and Spotify's
credentials). So, before loading, every metadata record of the model is read here, through the lake's
storage layer (a local folder or a bucket), and checked:

- the pipeline record names :data:`PIPELINE_CLASS`, is a JVM pipeline (no PySpark ``language``
  marker) and lists stage ids of Spark's own form (``VectorAssembler_1a2b3c``: no ``/`` or ``..``
  that would point the loader outside ``stages/``);
- ``stages/`` holds exactly the folders those ids name, and each stage record names one of
  :data:`STAGE_CLASSES`, the classes :func:`weekly_discovery.recommend.model.families.build_pipeline` fits (a
  nested ``PipelineModel``, whose own stages would go unchecked, is not one of them);
- each ``metadata`` folder holds one ``part-*`` file with exactly one record, and besides it only Spark's
  ``_SUCCESS`` marker and the Hadoop checksums of the two (``.<name>.crc``). PySpark reads the folder with
  ``spark.read.text(folder).first()``, which takes every file whose name does not start with ``_`` or
  ``.``, largest first: any other file there could be the record Spark loads instead of the one checked.

Deeper records need no check here: a tree ensemble's ``treesMetadata`` is parsed by Spark against
the one class it expects, and the other files are data (Parquet), not class names.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from weekly_discovery.core.errors import UserError

if TYPE_CHECKING:
    from pathlib import Path

    from weekly_discovery.lake.storage import ObjectPath

PIPELINE_CLASS = "org.apache.spark.ml.PipelineModel"
STAGE_CLASSES = frozenset({
    "org.apache.spark.ml.feature.VectorAssembler",
    "org.apache.spark.ml.feature.StandardScalerModel",
    "org.apache.spark.ml.classification.LogisticRegressionModel",
    "org.apache.spark.ml.classification.RandomForestClassificationModel",
    "org.apache.spark.ml.classification.GBTClassificationModel",
})
"""What recommend/model/families.py's ``build_pipeline`` fits: the post's model, which the weekly job still stores as
a Spark ML PipelineModel, and every family as older versions stored them (they must keep loading). A
scikit-learn champion (``model.skops``) is checked by :mod:`weekly_discovery.recommend.model.skops_file` instead."""

SUCCESS = "_SUCCESS"
"""The marker Spark writes beside a metadata folder's part file (ignored when reading: its name starts with ``_``)."""

_STAGE_UID = re.compile(r"[A-Za-z][A-Za-z0-9]*_[0-9a-f]+")


class UntrustedModel(UserError, RuntimeError):
    """A stored model's metadata names something the project never writes; it is not loaded."""


def _refuse(model, problem: str) -> UntrustedModel:
    return UntrustedModel(
        f"refusing to load the model at {model}: {problem}. The lake's model folder was changed by something "
        "other than this project; retrain that version (rerun the train step, jobs/train.py, for its date) "
        "and check who can write to the lake"
    )


def _record(model, folder) -> tuple[Any, dict[str, Any]]:
    """(the metadata file, its one JSON record) of a model or stage folder, which holds nothing else Spark reads."""
    metadata = folder / "metadata"
    if not metadata.is_dir():
        raise _refuse(model, f"{metadata} is missing or not a folder")
    names = sorted(p.name for p in metadata.iterdir())
    parts = [metadata / n for n in names if n.startswith("part-")][:1]
    expected = {*(part.name for part in parts), SUCCESS}
    extra = [metadata / n for n in names if n not in expected | {f".{e}.crc" for e in expected}]
    if extra:
        raise _refuse(model, f"{metadata} holds {', '.join(map(str, extra))} beside its one part file: Spark "
                             "could read the record there instead of the one checked")
    lines = []
    for part in parts:
        try:
            text = part.read_text(errors="replace")
        except OSError as exc:
            raise _refuse(model, f"{part} is not a readable file ({exc.__class__.__name__})") from None
        lines += [(part, line) for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise _refuse(model, f"{folder / 'metadata'} must hold exactly one metadata record, found {len(lines)}")
    part, line = lines[0]
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("paramMap", {}), dict):
        raise _refuse(model, f"{part} is not a JSON metadata record")
    return part, record


def check_model(model: "Path | ObjectPath") -> tuple[str, ...]:
    """Check the saved ``PipelineModel`` folder ``model`` (a ``Path`` or an ``ObjectPath``).

    Returns the stage classes in pipeline order; raises :class:`UntrustedModel` naming the file and
    what is wrong otherwise. Reads a few small JSON objects; never starts Spark.
    """
    part, pipeline = _record(model, model)
    if pipeline.get("class") != PIPELINE_CLASS:
        raise _refuse(model, f"{part} names class {pipeline.get('class')!r}, not {PIPELINE_CLASS}")
    params = pipeline.get("paramMap", {})
    if "language" in params:
        raise _refuse(model, f"{part} marks a Python pipeline (language={params['language']!r}), whose "
                             "stages PySpark imports by name; this project saves JVM pipelines only")
    uids = params.get("stageUids")
    if not isinstance(uids, list) or not uids:
        raise _refuse(model, f"{part} lists no stages")
    for uid in uids:
        if not isinstance(uid, str) or not _STAGE_UID.fullmatch(uid):
            raise _refuse(model, f"{part} lists stage id {uid!r}, not of Spark's form (Name_hex)")
    width = len(str(len(uids)))  # Spark's own folder names: zero-padded index, "_", uid
    expected = [f"{i:0{width}d}_{uid}" for i, uid in enumerate(uids)]
    stages = model / "stages"
    present = sorted(p.name for p in stages.iterdir()) if stages.is_dir() else []
    if sorted(expected) != present:
        extra = sorted(set(present) - set(expected))
        missing = sorted(set(expected) - set(present))
        raise _refuse(model, f"{stages} does not hold the stages {part} lists "
                             f"(unexpected stage folder(s): {extra or 'none'}; missing: {missing or 'none'})")
    classes = []
    for name in expected:
        stage_part, stage = _record(model, stages / name)
        cls = stage.get("class")
        if cls == PIPELINE_CLASS:
            raise _refuse(model, f"{stage_part} names {PIPELINE_CLASS}: a nested pipeline, whose own stages "
                                 "would be loaded unchecked; this project saves flat pipelines only")
        if cls not in STAGE_CLASSES:
            raise _refuse(model, f"{stage_part} names class {cls!r}, not a class this project writes "
                                 f"({', '.join(sorted(STAGE_CLASSES))})")
        classes.append(cls)
    return tuple(classes)
