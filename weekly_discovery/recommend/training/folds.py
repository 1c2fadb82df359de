"""Cross-validation folds grouped by primary artist, the same on every run with the same seed.

Songs of one artist resemble each other (same voice, same production), so a split that puts
some of an artist's songs in training and others in the held-out fold measures how well the
model recognises artists, not how well it judges a new song. Here every artist's songs fall in
one fold.

Assignment: artists are ordered by ``sha256("<seed>:<artist id>")`` (ties, which do not happen
in practice, by the id) and dealt round-robin: the i-th artist in that order goes to fold
``i mod k``. Folds therefore hold the same number of artists (+-1) and the assignment depends only
on the set of artists and the seed, never on row order or partitioning. :func:`python_folds` is
the same rule in plain Python, used by the benchmark's scikit-learn reference and by the tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

FOLD = "fold"


def group_hash(group: str, seed: int) -> str:
    """The hex sha256 of ``"<seed>:<group>"`` (what Spark's ``sha2(..., 256)`` returns)."""
    return hashlib.sha256(f"{seed}:{group}".encode("utf-8")).hexdigest()


def python_folds(groups: Iterable[str], k: int, seed: int) -> dict[str, int]:
    """``{group: fold}`` for the distinct ``groups``, by the rule in the module docstring."""
    _check_k(k)
    ordered = sorted(set(groups), key=lambda g: (group_hash(g, seed), g))
    return {group: index % k for index, group in enumerate(ordered)}


def assign_folds(df: "DataFrame", k: int, seed: int, group_col: str) -> "DataFrame":
    """``df`` with an integer column ``fold`` in ``0..k-1``, equal for rows of one group.

    Only the distinct groups go through the ordering window (one partition: a library has a
    few thousand artists), then they are joined back.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    _check_k(k)
    groups = df.select(F.col(group_col).alias("_group")).distinct()
    hashed = groups.withColumn("_hash", F.sha2(F.concat(F.lit(f"{seed}:"), F.col("_group")), 256))
    ranked = hashed.withColumn("_rank", F.row_number().over(Window.orderBy("_hash", "_group")) - 1)
    folds = ranked.select("_group", (F.col("_rank") % k).cast("int").alias(FOLD))
    return df.join(F.broadcast(folds), df[group_col] == folds["_group"], "inner").drop("_group")


def _check_k(k: int) -> None:
    if not isinstance(k, int) or k < 2:
        raise ValueError(f"the number of folds must be a whole number >= 2, got {k!r}")
