"""The model check reads a model's metadata through the lake's storage layer on a bucket (issue 12, item 11).

A real model is written with Spark to a local folder and uploaded (as the train job, which writes a version's
files in place, leaves it on a bucket); the check then reads it from the S3-protocol server, before and after one
stage's metadata is replaced by an attacker's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from weekly_discovery.core.errors import UserError
from weekly_discovery.lake.storage import ObjectPath, open_store
from weekly_discovery.recommend.model import families as cand
from weekly_discovery.recommend.model.columns import LABEL
from weekly_discovery.recommend.model.guard import check_model

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def local_model(spark, tmp_path_factory):  # noqa: F811
    rows = [(float(i % 2), 0.2 + 0.6 * (i % 2) + 0.01 * i, 100.0 + (i % 5)) for i in range(24)]
    df = spark.createDataFrame(rows, f"{LABEL} double, energy double, tempo double")
    path = tmp_path_factory.mktemp("s3model") / "model"
    cand.fit(cand.Candidate("weighted_lr", {"regParam": 0.0}), df, ["energy", "tempo"], seed=1).write().save(str(path))
    return path


def upload(s3, bucket: str, folder: Path, prefix: str) -> dict[str, str]:
    """Every file of ``folder`` but Hadoop's checksums under ``prefix``; returns relative name -> key."""
    keys = {}
    for file in sorted(folder.rglob("*")):
        if file.is_file() and not file.name.endswith(".crc"):
            relative = file.relative_to(folder).as_posix()
            keys[relative] = f"{prefix}/{relative}"
            s3.put_object(Bucket=bucket, Key=keys[relative], Body=file.read_bytes())
    return keys


def test_the_check_reads_a_model_in_a_bucket_and_refuses_a_tampered_stage(s3_env, s3, bucket, local_model):
    prefix = "lake/models/like_model/version=2026-11-23/model"
    keys = upload(s3, bucket, local_model, prefix)
    store, key = open_store(f"s3a://{bucket}/{prefix}")
    model = ObjectPath(store, key)
    assert check_model(model) == ("org.apache.spark.ml.feature.VectorAssembler",
                                  "org.apache.spark.ml.feature.StandardScalerModel",
                                  "org.apache.spark.ml.classification.LogisticRegressionModel")

    (stage_meta,) = [k for name, k in keys.items() if name.startswith("stages/1_") and "/metadata/part-" in name]
    record = json.loads(s3.get_object(Bucket=bucket, Key=stage_meta)["Body"].read())
    record["class"] = "org.apache.spark.ml.feature.SQLTransformer"
    s3.put_object(Bucket=bucket, Key=stage_meta, Body=json.dumps(record).encode())
    with pytest.raises(UserError, match="names class 'org.apache.spark.ml.feature.SQLTransformer'") as refused:
        check_model(model)
    assert f"s3a://{bucket}/{stage_meta}" in str(refused.value)
