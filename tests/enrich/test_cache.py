"""The feature cache as one Delta table: one row per (track_id, fetched_ds); "the cache as of D" is, per track,
its row with the greatest fetched_ds strictly before D. Rows are merged by hand (delta-rs) as the enrich runs of
each date would have merged them; expected values are written by hand."""

from __future__ import annotations

import json

import pytest

from tests.enrich.lakekit import cache_row, silver_row, tid, write_cache, write_silver
from weekly_discovery.enrich.cache import FeatureInputError, features_as_of, silver_track_ids, wanted_ids
from weekly_discovery.lake import AUDIO_FEATURES, SILVER_TRACKS, delta
from weekly_discovery.settings.config import Enrichment

D0, D1, D2, D3 = "2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"
K, M, N = tid("K"), tid("M"), tid("N")


def chain(**kwargs) -> Enrichment:
    return Enrichment(providers=("reccobeats",), reccobeats_url="http://127.0.0.1:9", **kwargs)


@pytest.fixture
def cached(lake):
    """K: missing on D0, found on D2. M: missing on D1 and again on D3. N: ok on D0."""
    write_cache(lake, [cache_row(K, "missing", D0, "reccobeats"), cache_row(N, "ok", D0, "reccobeats",
                                                                            source="reccobeats", danceability=0.3)])
    write_cache(lake, [cache_row(M, "missing", D1, "reccobeats")])
    write_cache(lake, [cache_row(K, "ok", D2, "reccobeats", source="reccobeats", danceability=0.7)])
    write_cache(lake, [cache_row(M, "missing", D3, "reccobeats")])
    return lake


def as_of(lake, ds, **kwargs):
    table = features_as_of(lake, ds, ["status", "fetched_ds", "danceability"], **kwargs)
    return [(r["track_id"], r["status"], r["fetched_ds"], r["danceability"]) for r in table.to_pylist()]


def test_the_cache_as_of_a_date_takes_each_tracks_newest_row_strictly_before_it(cached):
    assert as_of(cached, D0) == []
    assert as_of(cached, D1) == [(K, "missing", D0, None), (N, "ok", D0, 0.3)]
    assert as_of(cached, D2) == [(K, "missing", D0, None), (M, "missing", D1, None), (N, "ok", D0, 0.3)]
    assert as_of(cached, D3) == [(K, "ok", D2, 0.7), (M, "missing", D1, None), (N, "ok", D0, 0.3)]
    assert as_of(cached, "2026-12-07") == [(K, "ok", D2, 0.7), (M, "missing", D3, None), (N, "ok", D0, 0.3)]
    # inclusive: the cache once the run of the date merged its rows (what a later stage of that date reads)
    assert as_of(cached, D2, inclusive=True) == [(K, "ok", D2, 0.7), (M, "missing", D1, None), (N, "ok", D0, 0.3)]
    assert len(delta.read(cached, AUDIO_FEATURES)) == 5  # one table, a row per (track, date): nothing copied


def test_columns_default_to_every_cache_column_with_track_id_first(cached):
    table = features_as_of(cached, D3)
    assert table.column_names[:3] == ["track_id", "status", "source"] and "valence" in table.column_names
    assert features_as_of(cached, D3, ["danceability"]).column_names == ["track_id", "danceability"]
    some = features_as_of(cached, D3, ["fetched_ds"], track_ids=[K, tid("X")])
    assert some.to_pylist() == [{"track_id": K, "fetched_ds": D2}]


def test_no_cache_yet(lake):
    assert features_as_of(lake, D1) is None


def test_a_rerun_of_a_date_asks_what_its_first_run_asked(cached):
    """The rows D2's first run merged (K ok) do not count for D2 itself: a rerun asks K again, as the first did."""
    write_silver(cached, D2, [silver_row(K), silver_row(M, position=1), silver_row(N, position=2)])
    wanted = wanted_ids(cached, D2, chain(missing_retry_days=14))
    assert (wanted.ids, wanted.known, wanted.backing_off, wanted.previous_ds) == ((K,), 1, 1, D1)
    write_silver(cached, D3, [silver_row(K), silver_row(M, position=1), silver_row(N, position=2)])
    later = wanted_ids(cached, D3, chain(missing_retry_days=14))
    assert (later.ids, later.known, later.backing_off, later.previous_ds) == ((M,), 2, 0, D2)  # M: 14 days since D1


def test_a_backfill_of_an_old_date_leaves_later_dates_rows_alone(cached):
    write_cache(cached, [cache_row(K, "ok", D0, "reccobeats", source="file", danceability=0.1)])  # rerun of D0
    assert as_of(cached, D1) == [(K, "ok", D0, 0.1), (N, "ok", D0, 0.3)]
    assert as_of(cached, D3)[0] == (K, "ok", D2, 0.7)  # D2's row still wins after D2
    assert len(delta.read(cached, AUDIO_FEATURES)) == 5  # updated in place, keyed by (track_id, fetched_ds)


def test_silver_tracks_of_a_date_never_ingested_name_the_dag(lake):
    write_silver(lake, D1, [silver_row(K)])
    with pytest.raises(FeatureInputError, match=r"run the ingest DAG \(spotify_ingest\) for 2026-11-23 first"):
        silver_track_ids(lake, D2)


def test_an_ingested_date_without_tracks_is_an_empty_library(lake):
    """A date whose normalize run wrote no rows has no rows in the table, but its _metrics.json says it ran."""
    write_silver(lake, D2, [])
    with pytest.raises(FeatureInputError):
        silver_track_ids(lake, D2)
    folder = lake.partition(SILVER_TRACKS, D2)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_metrics.json").write_text(json.dumps({"ds": D2}))
    assert silver_track_ids(lake, D2) == []
