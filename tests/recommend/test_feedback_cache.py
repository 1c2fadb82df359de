"""The reaction's features come from the feature cache as the enrichment of the week left it (no Spark needed).

The cache is one Delta table with a row per (track id, fetched_ds); the rows are written here by hand through
delta-rs, as the enrichment's MERGE leaves them.
"""

from __future__ import annotations

import pyarrow as pa

from weekly_discovery.lake import AUDIO_FEATURES, Lake, delta
from weekly_discovery.recommend.training.feedback import cached_features

D = "2026-11-30"


def cache(lake, rows):
    delta.merge(lake, AUDIO_FEATURES, pa.table({
        "track_id": [r[0] for r in rows], "fetched_ds": [r[1] for r in rows], "status": [r[2] for r in rows],
        "energy": pa.array([r[3] for r in rows], pa.float64()), "providers_asked": ["reccobeats"] * len(rows)}),
        ["track_id", "fetched_ds"])


def test_no_cache_is_none(tmp_path):
    assert cached_features(Lake(str(tmp_path)), D, ["a"]) is None


def test_each_id_gets_its_newest_row_fetched_on_or_before_the_week(tmp_path):
    lake = Lake(str(tmp_path))
    cache(lake, [("a", "2026-11-02", "missing", None), ("a", "2026-11-16", "ok", 0.4),  # retried, found
                 ("b", "2026-11-02", "ok", 0.7), ("b", D, "ok", 0.6),               # fetched by D's own run
                 ("c", "2026-12-07", "ok", 0.1),                                    # only after D: not there yet
                 ("d", "2026-11-02", "ok", 0.9)])                                   # not asked for
    got = cached_features(lake, D, ["c", "b", "a", "a", "x"])
    assert got.column_names == ["track_id", "status", "energy"]  # the cache's feature columns only
    assert got.to_pylist() == [{"track_id": "a", "status": "ok", "energy": 0.4},
                               {"track_id": "b", "status": "ok", "energy": 0.6}]
    # a week before: b's row of D is not there yet, nor a's retry
    assert cached_features(lake, "2026-11-09", ["a", "b"]).to_pylist() == [
        {"track_id": "a", "status": "missing", "energy": None}, {"track_id": "b", "status": "ok", "energy": 0.7}]
    assert cached_features(lake, D, ["x"]).num_rows == 0
