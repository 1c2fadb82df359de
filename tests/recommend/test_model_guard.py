"""A stored model is loaded only if its metadata names the Spark ML classes the project writes (issue 12, item 11).

``PipelineModel.load`` instantiates whatever class each stage's metadata names, and the lake is data
anyone with write access to it can change. Here real models of every family in the grid are written
with Spark (the allow-list must cover them all), then a copy is tampered with: a stage whose metadata
names another class, the pipeline's own class, the stage list, PySpark's Python-pipeline marker.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from weekly_discovery.core.errors import UserError
from weekly_discovery.lake.layout import Lake
from weekly_discovery.recommend.model import families as cand
from weekly_discovery.recommend.model.predict import predict
from weekly_discovery.recommend.model import store
from weekly_discovery.recommend.model.columns import LABEL

pytestmark = pytest.mark.spark

DS = "2026-11-23"
FEATURES = ["energy", "tempo"]


def fitted(spark, candidate: cand.Candidate):
    rows = [(float(i % 2), 0.2 + 0.6 * (i % 2) + 0.01 * i, 100.0 + (i % 5)) for i in range(24)]
    df = spark.createDataFrame(rows, f"{LABEL} double, energy double, tempo double")
    return cand.fit(candidate, df, FEATURES, seed=1)


@pytest.fixture(scope="module")
def saved(spark, tmp_path_factory):
    """One lake with a version per family (all of models.quick_grid()), each with its card and pointer entry."""
    lake = Lake(str(tmp_path_factory.mktemp("guard") / "lake"))
    refs = {}
    for i, candidate in enumerate(cand.quick_grid()):
        ds = f"2026-11-{10 + i:02d}"
        store.write_version(lake, ds, {store.MODEL_DIR: fitted(spark, candidate)},
                            {"champion": candidate.to_dict(), "features": FEATURES})
        store.record_decision(lake, ds, promoted=True, incumbent=None, reason="test")
        refs[candidate.name] = store.champion_ref(lake, ds)
    return lake, refs


def copy_of(ref: store.ChampionRef, tmp_path: Path) -> store.ChampionRef:
    """The version folder copied elsewhere, to tamper with."""
    target = tmp_path / ref.path.name
    shutil.copytree(ref.path, target)
    return store.ChampionRef(ref.version, ref.candidate, ref.features, target, ref.cv)


def metadata_file(folder: Path) -> Path:
    (part,) = sorted((folder / "metadata").glob("part-*"))
    return part


def rewrite(part: Path, change) -> None:
    """Edit a metadata record as an attacker would (and drop Hadoop's checksum file so Spark reads it)."""
    record = json.loads(part.read_text())
    change(record)
    part.write_text(json.dumps(record) + "\n")
    part.with_name(f".{part.name}.crc").unlink(missing_ok=True)


def stage_folder(model: Path, prefix: str) -> Path:
    (folder,) = [p for p in (model / "stages").iterdir() if p.name.startswith(prefix)]
    return folder


def test_every_family_the_project_writes_loads_and_scores(spark, saved):
    _, refs = saved
    assert set(refs) == set(cand.FAMILIES) - set(cand.SKLEARN_ONLY)  # every family with a Spark ML form
    df = spark.createDataFrame([(0.9, 101.0)], "energy double, tempo double")
    for name, ref in refs.items():
        model = store.load_model(ref)
        assert 0.0 <= predict(model, df).first()["score"] <= 1.0, name


def test_a_stage_naming_another_class_is_refused_before_spark_loads_it(saved, tmp_path):
    ref = copy_of(saved[1]["post_lr"], tmp_path)
    part = metadata_file(stage_folder(ref.model_path, "1_"))

    def swap(record):  # a real Spark class with a static read(): without the check, Spark loads it
        record["class"] = "org.apache.spark.ml.feature.SQLTransformer"
        record["paramMap"] = {"statement": "SELECT *, array(0.0, 1.0) AS probability FROM __THIS__"}
        record["defaultParamMap"] = {}

    rewrite(part, swap)
    with pytest.raises(UserError) as refused:
        store.load_model(ref)
    message = str(refused.value)
    assert "org.apache.spark.ml.feature.SQLTransformer" in message and str(part) in message
    assert "not a class this project writes" in message and "train step" in message


@pytest.mark.parametrize("change, expected", [
    (lambda r: r.update({"class": "org.apache.spark.ml.tuning.CrossValidatorModel"}),
     "names class 'org.apache.spark.ml.tuning.CrossValidatorModel'"),
    (lambda r: r["paramMap"].update({"language": "Python"}), "a Python pipeline"),
    (lambda r: r["paramMap"].update({"stageUids": ["../../elsewhere"]}), "stage id '../../elsewhere'"),
    (lambda r: r["paramMap"].update({"stageUids": r["paramMap"]["stageUids"][:1]}), "unexpected stage folder"),
])
def test_a_tampered_pipeline_record_is_refused(saved, tmp_path, change, expected):
    ref = copy_of(saved[1]["weighted_lr"], tmp_path)
    rewrite(metadata_file(ref.model_path), change)
    with pytest.raises(UserError, match="refusing to load") as refused:
        store.load_model(ref)
    assert expected in str(refused.value)


def test_unreadable_or_doubled_metadata_is_refused(saved, tmp_path):
    ref = copy_of(saved[1]["gbt"], tmp_path)
    part = metadata_file(stage_folder(ref.model_path, "0_"))
    original = part.read_text()
    part.write_text(original.strip() + "\n" + original)  # Spark reads the first record only: ambiguous
    with pytest.raises(UserError, match="exactly one metadata record"):
        store.load_model(ref)
    part.write_text("{not json")
    with pytest.raises(UserError, match="not a JSON metadata record"):
        store.load_model(ref)
    for sibling in part.parent.iterdir():
        sibling.unlink()
    with pytest.raises(UserError, match="exactly one metadata record, found 0"):
        store.load_model(ref)


# ---- a second metadata file: what Spark reads is not what the check read (defect 1) ----------------


def plant(folder: Path, name: str, change) -> tuple[Path, str]:
    """Beside ``folder``'s real metadata record, a file ``name`` holding an edited copy of it, padded to be the
    larger file (Spark reads a folder's files largest first); returns the file and its line."""
    real = metadata_file(folder)
    record = json.loads(real.read_text())
    change(record)
    record["padding"] = " " * (2 * len(real.read_text()))
    line = json.dumps(record)
    extra = real.with_name(name)
    extra.write_text(line + "\n")
    return extra, line


def stages_elsewhere(record):  # the pipeline's stages read from a folder the check never saw
    record["paramMap"]["stageUids"] = ["x/../../../../elsewhere"]


def sql_stage(record):  # a real Spark class with a static read(), resolved in Python as pyspark.ml.feature
    record["class"] = "org.apache.spark.ml.feature.SQLTransformer"
    record["paramMap"] = {"statement": "SELECT *, array(0.0, 1.0) AS probability FROM __THIS__"}
    record["defaultParamMap"] = {}


@pytest.fixture
def spark_loads(monkeypatch):
    """Every ``PipelineModel.load`` call (none happens: the model is not loaded)."""
    from pyspark.ml import PipelineModel

    calls = []
    monkeypatch.setattr(PipelineModel, "load", classmethod(lambda cls, path: calls.append(path)))
    return calls


@pytest.mark.parametrize("where, name, change", [
    ("model", "zz", stages_elsewhere),
    ("stage", "zz", sql_stage),
])
def test_a_second_metadata_file_is_refused_before_spark_loads_anything(spark, saved, tmp_path, spark_loads,
                                                                      where, name, change):
    ref = copy_of(saved[1]["weighted_lr"], tmp_path)
    folder = ref.model_path if where == "model" else stage_folder(ref.model_path, "1_")
    extra, line = plant(folder, name, change)
    assert spark.read.text(str(folder / "metadata")).first()[0] == line  # what PySpark's loadMetadata reads
    with pytest.raises(UserError) as refused:
        store.load_model(ref)
    message = str(refused.value)
    assert str(extra) in message and "refusing to load" in message and "train step" in message
    assert spark_loads == []


def test_the_extra_file_is_refused_in_every_stage_and_the_model_loads_without_it(saved, tmp_path):
    ref = copy_of(saved[1]["gbt"], tmp_path)
    for stage in sorted((ref.model_path / "stages").iterdir()):
        extra = stage / "metadata" / "zz"
        extra.write_text("{}\n")
        with pytest.raises(UserError, match="refusing to load") as refused:
            store.load_model(ref)
        assert str(extra) in str(refused.value)
        extra.unlink()
    assert store.load_model(ref) is not None


def test_a_nested_pipeline_is_refused(saved, tmp_path, monkeypatch):
    """A stage that is itself a PipelineModel (as Spark writes one): its own stages would be loaded unchecked."""
    from pyspark.ml import PipelineModel

    ref = copy_of(saved[1]["weighted_lr"], tmp_path)
    inner = saved[1]["post_lr"].model_path
    uid = json.loads(metadata_file(inner).read_text())["uid"]
    shutil.rmtree(ref.model_path / "stages")
    shutil.copytree(inner, ref.model_path / "stages" / f"0_{uid}")
    rewrite(metadata_file(ref.model_path), lambda r: r["paramMap"].update({"stageUids": [uid]}))
    (nested,) = PipelineModel.load(str(ref.model_path)).stages  # Spark loads it as the pipeline's one stage
    assert isinstance(nested, PipelineModel)

    calls = []
    monkeypatch.setattr(PipelineModel, "load", classmethod(lambda cls, path: calls.append(path)))
    with pytest.raises(UserError) as refused:
        store.load_model(ref)
    message = str(refused.value)
    assert "nested pipeline" in message and str(metadata_file(stage_folder(ref.model_path, "0_"))) in message
    assert calls == []
