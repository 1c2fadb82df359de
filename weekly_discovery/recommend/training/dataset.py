"""From ``silver/tracks_enriched`` to the labelled set: one row per track, liked = 1, disliked = 0.

Rules, applied per track id in this order (the first that applies decides, each is counted):

1. a track found both in a liked and in a disliked source is a **conflict**: dropped;
2. features not usable (``feature_status`` missing / quarantined / pending): dropped, counted by status;
3. a null value in one of the model's features (tempo or time_signature "not detected"): dropped,
   counted, and counted per feature;
4. otherwise kept, once, however many liked (or disliked) sources list it: extra rows of the same
   track are merged and counted as ``duplicate_rows``.

Every feature column present in the input is kept (as double, nulls allowed) beside the model's
features, so another feature set (the incumbent champion's) can be evaluated on the same rows.

Besides the library's liked (label 1) and disliked (0) sources, the rows may come from the person's
reaction to earlier picks (role ``removed``: taken out of the playlist; ``unsaved``: still not saved
weeks later; both label 0, see :mod:`weekly_discovery.recommend.training.feedback`) and from the **background**:
a seeded sample of the week's candidates that are in no library role, label 0 but *unlabeled* rather
than disliked (positive-unlabeled learning, docs/model.md). Each row carries its ``kind`` (the
strongest role it has: liked, disliked, removed, unsaved, background) and a ``weight``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from weekly_discovery.core.errors import UserError
from weekly_discovery.core.vocabulary import CANDIDATES, DISLIKED, FEATURE_COLUMNS, LIBRARY_ROLES, LIKED, STATUS_OK
from weekly_discovery.recommend.model.columns import GROUP, KIND, LABEL, TRACK_ID, WEIGHT

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

REMOVED, UNSAVED, BACKGROUND = "removed", "unsaved", "background"  # the kinds beside the roles liked, disliked
#: The kinds of training rows, strongest first: a track with several roles takes the first (liked AND
#: disliked is a conflict and dropped). Background is what is left of the week's candidates.
KINDS = (LIKED, DISLIKED, REMOVED, UNSAVED, BACKGROUND)
LABELLED_ROLES = (LIKED, DISLIKED, REMOVED, UNSAVED)
MIN_DISLIKED = 50  # [model] background = "auto": background when the disliked sources give fewer usable songs
# at most this many background songs per liked song: in practice every candidate of the week (a catalogue is not in
# tracks_enriched). More background measured better than 2 per liked song on Kaggle's 600-song subsamples
# (liked only: ROC AUC 0.787 -> 0.808, top-30 precision 0.52 -> 0.64; benchmarks.liked_only --per-liked)
BACKGROUND_PER_LIKED = 10
INFO_COLUMNS = ("name", "primary_artist_id", "primary_artist_name")


class DatasetError(UserError, ValueError):
    """The input cannot give a labelled set (a column is missing, too few tracks); says what to do."""


@dataclass(frozen=True)
class Negatives:
    """What the songs that are not liked weigh, and whether the background is drawn ([model] settings).

    ``background``: "always", "never", or "auto" (drawn when the disliked sources give fewer than
    :data:`MIN_DISLIKED` usable songs: most people keep no disliked playlist). A disliked or removed song
    weighs 1, an unsaved pick ``unsaved_weight``, a background song ``background_weight``; the classes
    are then balanced on these weights (:func:`weekly_discovery.recommend.model.scikit.balanced_weights`).
    """

    background: str = "auto"
    unsaved_weight: float = 0.5
    background_weight: float = 1.0
    seed: int = 42
    per_liked: int = BACKGROUND_PER_LIKED

    def weight_of(self, kind: str) -> float:
        return {UNSAVED: self.unsaved_weight, BACKGROUND: self.background_weight}.get(kind, 1.0)


@dataclass
class LabelledSet:
    """The labelled rows (``track_id``, ``group_id``, ``label``, ``kind``, ``weight``, info and feature
    columns) and the counts."""

    df: "DataFrame"
    features: tuple[str, ...]
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def positives(self) -> int:
        return self.counts["positives"]

    @property
    def negatives(self) -> int:
        return self.counts["negatives"]

    @property
    def uses_background(self) -> bool:
        return bool(self.counts["background"]["used"])

    def summary_lines(self) -> list[str]:
        """What the log and the card say about the training data."""
        c, d = self.counts, self.counts["dropped"]
        lines = [
            f"training set: {c['rows']} tracks: {sources_text(c)}",
            f"from {c['input_rows']} liked/disliked/reaction rows; {c['duplicate_rows']} duplicate rows of the same "
            "track across sources merged",
            f"dropped: {d['conflict']} liked AND disliked (conflict), "
            + ", ".join(f"{d[k]} with features {k.removeprefix('features_')}"
                        for k in sorted(d) if k.startswith("features_"))
            + f", {d['null_feature']} with a null model feature",
            background_text(c["background"]),
        ]
        if d["null_feature"]:
            per = ", ".join(f"{name} {n}" for name, n in sorted(d["null_feature_by_column"].items()) if n)
            lines.append(f"null model features (a track may count under several): {per}")
        return lines


def sources_text(counts: dict[str, Any]) -> str:
    """``liked 700 (label 1); disliked playlist 0, removed picks 2, unsaved picks 5 (weight 0.5), background
    1400 (unlabeled, weight 1) (label 0)``: what the week's model learned from."""
    k, w = counts["by_kind"], counts["weights"]
    return (f"liked {k[LIKED]} (label 1); disliked playlist {k[DISLIKED]}, removed picks {k[REMOVED]}, "
            f"unsaved picks {k[UNSAVED]} (weight {w[UNSAVED]:g}), background {k[BACKGROUND]} "
            f"(unlabeled, weight {w[BACKGROUND]:g}) (label 0)")


def background_text(background: dict[str, Any]) -> str:
    """Why the background was drawn or not, in a sentence."""
    if not background["used"]:
        return f"background: not drawn ({background['reason']})"
    return (f"background: {background['drawn']} of the week's {background['available']} usable candidates "
            f"not in the library, drawn by seeded hash ({background['reason']})")


def labelled_set(enriched: "DataFrame", features: tuple[str, ...] | list[str],
                 negatives: Negatives | None = None,
                 more_background: Callable[[int], "DataFrame"] | None = None) -> LabelledSet:
    """The labelled set for ``features`` from a tracks_enriched DataFrame (see module docstring).

    ``enriched`` may also hold the reaction rows (roles ``removed`` and ``unsaved``,
    :func:`weekly_discovery.recommend.training.feedback.reaction_rows`). ``more_background(n)``: n more candidate
    rows for the background (a catalogue's sample, one per liked song), asked only when the background is
    drawn. Only counts (a handful of rows) come to the driver.
    """
    from pyspark.sql import functions as F

    negatives = negatives or Negatives()
    features = tuple(features)
    needed = {TRACK_ID, "role", "source_key", "position", "feature_status", *INFO_COLUMNS, *features}
    missing = sorted(needed - set(enriched.columns))
    if missing:
        raise DatasetError(
            f"tracks_enriched lacks the column(s) {', '.join(missing)}; model.features must name columns "
            f"of the enriched table ({', '.join(c for c in FEATURE_COLUMNS if c in enriched.columns)})"
        )
    feature_cols = [c for c in FEATURE_COLUMNS if c in enriched.columns]
    keep = [*INFO_COLUMNS, "feature_status", *feature_cols]

    rows = enriched.where(F.col("role").isin(*LABELLED_ROLES))
    # min(struct(source_key, position, ...)) picks the same row of a track on every run.
    per_track = rows.groupBy(TRACK_ID).agg(
        F.collect_set("role").alias("roles"),
        F.count(F.lit(1)).alias("_rows"),
        F.min(F.struct("source_key", "position", *keep)).alias("_first"),
    ).select(TRACK_ID, "roles", "_rows", *[F.col(f"_first.{c}").alias(c) for c in keep])

    kind = F.lit(None).cast("string")
    for name in reversed(LABELLED_ROLES):  # the strongest role a track has
        kind = F.when(F.array_contains("roles", name), F.lit(name)).otherwise(kind)
    usable = _usable(features)
    outcome = (
        F.when(F.array_contains("roles", LIKED) & F.array_contains("roles", DISLIKED), F.lit("conflict"))
        .when(F.coalesce(F.col("feature_status"), F.lit("unknown")) != STATUS_OK,
              F.concat(F.lit("features_"), F.coalesce(F.col("feature_status"), F.lit("unknown"))))
        .when(~usable, F.lit("null_feature"))
        .otherwise(F.lit("ok"))
    )
    # cached: the tallies below and the labelled rows (read once more by training) share one pass
    classified = per_track.withColumn("_outcome", outcome).withColumn(KIND, kind).cache()

    tallies = classified.groupBy("_outcome", KIND).agg(
        F.count(F.lit(1)).alias("tracks"),
        F.sum("_rows").alias("rows"),
        *[F.sum(F.col(name).isNull().cast("long")).alias(f"null_{name}") for name in features],
    ).collect()
    counts = _counts(tallies, features, negatives)

    labelled = classified.where(F.col("_outcome") == "ok").select(TRACK_ID, KIND, *keep)
    background = counts["background"]
    if background["used"]:
        pool = enriched
        if more_background is not None:
            pool = pool.unionByName(more_background(counts["positives"]), allowMissingColumns=True)
        drawn, available = _background(pool, classified.select(TRACK_ID), keep, features, negatives,
                                       negatives.per_liked * counts["positives"])
        background.update(available=available, drawn=drawn.count())
        counts["by_kind"][BACKGROUND] = background["drawn"]
        counts["negatives"] += background["drawn"]
        counts["rows"] += background["drawn"]
        labelled = labelled.unionByName(drawn.select(TRACK_ID, F.lit(BACKGROUND).alias(KIND), *keep))

    weight = F.lit(1.0)
    for name in (UNSAVED, BACKGROUND):
        weight = F.when(F.col(KIND) == name, F.lit(float(negatives.weight_of(name)))).otherwise(weight)
    df = labelled.select(
        TRACK_ID,
        *INFO_COLUMNS,
        F.coalesce(F.col("primary_artist_id"), F.concat(F.lit("track:"), F.col(TRACK_ID))).alias(GROUP),
        F.when(F.col(KIND) == LIKED, 1.0).otherwise(0.0).alias(LABEL),
        KIND,
        weight.alias(WEIGHT),
        *[F.col(c).cast("double").alias(c) for c in feature_cols],
    )
    return LabelledSet(df, features, counts)


def _usable(features: tuple[str, ...]):
    from pyspark.sql import functions as F

    usable = F.lit(True)
    for name in features:
        usable = usable & F.col(name).isNotNull()
    return usable


def _background(enriched: "DataFrame", labelled_ids: "DataFrame", keep: list[str], features: tuple[str, ...],
                negatives: Negatives, size: int) -> tuple["DataFrame", int]:
    """(``size`` background rows, how many were available): the week's candidates in no library role and
    not labelled, with usable features, in the order of ``sha256("<seed>:<track id>")`` (the same sample on
    every run and machine)."""
    from pyspark.sql import functions as F

    library = enriched.where(F.col("role").isin(*LIBRARY_ROLES)).select(TRACK_ID)
    candidates = (
        enriched.where(F.col("role") == CANDIDATES)
        .groupBy(TRACK_ID).agg(F.min(F.struct("source_key", "position", *keep)).alias("_first"))
        .select(TRACK_ID, *[F.col(f"_first.{c}").alias(c) for c in keep])
        .join(library, TRACK_ID, "left_anti").join(labelled_ids, TRACK_ID, "left_anti")
        .where((F.col("feature_status") == STATUS_OK) & _usable(features))
        .withColumn("_draw", F.sha2(F.concat(F.lit(f"{negatives.seed}:"), F.col(TRACK_ID)), 256))
        .cache()
    )
    available = candidates.count()
    drawn = candidates.orderBy("_draw").limit(size).drop("_draw")
    return drawn, available


def _counts(tallies: list, features: tuple[str, ...], negatives: Negatives) -> dict[str, Any]:
    dropped: dict[str, Any] = {"conflict": 0, "null_feature": 0, "features_missing": 0,
                               "features_quarantined": 0, "features_pending": 0}
    by_column = {name: 0 for name in features}
    by_kind = {name: 0 for name in KINDS}
    input_rows = tracks = 0
    for row in tallies:
        outcome, n = row["_outcome"], row["tracks"]
        input_rows += row["rows"]
        tracks += n
        if outcome == "ok":
            by_kind[row[KIND]] += n
            continue
        dropped[outcome] = dropped.get(outcome, 0) + n
        if outcome == "null_feature":
            for name in features:
                by_column[name] += row[f"null_{name}"] or 0
    dropped["null_feature_by_column"] = by_column
    positives = by_kind[LIKED]
    negatives_n = by_kind[DISLIKED] + by_kind[REMOVED] + by_kind[UNSAVED]
    if negatives.background == "never":
        used, reason = False, '[model] background = "never"'
    elif negatives.background == "always":
        used, reason = True, '[model] background = "always"'
    elif by_kind[DISLIKED] < MIN_DISLIKED:
        used, reason = True, (f"the disliked sources give {by_kind[DISLIKED]} usable songs, fewer than "
                              f"{MIN_DISLIKED}: [model] background = \"auto\"")
    else:
        used, reason = False, (f"the disliked sources give {by_kind[DISLIKED]} usable songs (>= {MIN_DISLIKED}): "
                               "[model] background = \"auto\"")
    return {
        "input_rows": input_rows,
        "distinct_tracks": tracks,
        "duplicate_rows": input_rows - tracks,
        "rows": positives + negatives_n,
        "positives": positives,
        "negatives": negatives_n,
        "by_kind": by_kind,
        "weights": {name: negatives.weight_of(name) for name in KINDS},
        "background": {"mode": negatives.background, "used": used, "reason": reason, "available": 0, "drawn": 0,
                       "per_liked": negatives.per_liked},
        "dropped": dropped,
    }
