"""The lake's Delta commits (weekly_discovery.lake.delta, delta-rs): what each write promises.

Replaces the tests of the home-made commit protocol (staging folders renamed into place), whose guarantees
are now Delta's: a write of a date replaces that date only, in one commit that records the run and the date;
rows of another date are refused; caches are upserted by their keys; VACUUM deletes only files no version
in the retention window uses, never ``_metrics.json``. Each commit's effect is checked on the log files
themselves (tests.lake.deltalog), rows by hand-written expectations.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyarrow as pa
import pytest

from tests.lake.deltalog import commit_info, data_files_on_disk, live_files, log_versions, touched_dates
from weekly_discovery.lake import ALBUM_TRACKS, AUDIO_FEATURES, PICKS, SILVER_TRACKS, Lake, LakeError
from weekly_discovery.lake import delta

D1, D2, D3 = "2026-11-16", "2026-11-23", "2026-11-30"


@pytest.fixture
def lake(tmp_path, monkeypatch) -> Lake:
    for name in ("WEEKLY_DISCOVERY_RUN_ID", "AIRFLOW_CTX_DAG_RUN_ID", "AIRFLOW_CTX_DAG_ID"):
        monkeypatch.delenv(name, raising=False)
    return Lake(str(tmp_path / "lake"))


def tracks(*ids: str, role: str = "liked") -> pa.Table:
    return pa.table({"track_id": list(ids), "role": [role] * len(ids)})


def rows(lake: Lake, table, ds: str | None = None) -> list[dict]:
    return sorted(delta.read_rows(lake, table, ds), key=lambda r: [str(v) for v in r.values()])


# ---- write_date ------------------------------------------------------------------------------------

def test_a_write_of_a_date_replaces_that_date_only(lake):
    delta.write_date(lake, SILVER_TRACKS, D1, tracks("a", "b"), run="run-1")
    delta.write_date(lake, SILVER_TRACKS, D2, tracks("c"), run="run-2")
    d1_files = live_files(lake, SILVER_TRACKS, D1)

    delta.write_date(lake, SILVER_TRACKS, D2, tracks("d", "e", role="disliked"), run="run-3")

    assert rows(lake, SILVER_TRACKS, D2) == [{"track_id": "d", "role": "disliked"},
                                             {"track_id": "e", "role": "disliked"}]  # "c" is gone
    assert rows(lake, SILVER_TRACKS, D1) == [{"track_id": "a", "role": "liked"}, {"track_id": "b", "role": "liked"}]
    assert live_files(lake, SILVER_TRACKS, D1) == d1_files  # not rewritten either
    assert touched_dates(lake, SILVER_TRACKS, log_versions(lake, SILVER_TRACKS)[-1]) == {D2}
    assert delta.dates(lake, SILVER_TRACKS) == [D1, D2]
    assert delta.has_date(lake, SILVER_TRACKS, D2) and not delta.has_date(lake, SILVER_TRACKS, D3)


def test_the_same_rows_written_again_give_the_same_table(lake):
    delta.write_date(lake, PICKS, D1, tracks("a", "b"))
    delta.write_date(lake, PICKS, D2, tracks("c"))
    before = rows(lake, PICKS)
    delta.write_date(lake, PICKS, D1, tracks("b", "a"))  # a rerun, rows in another order
    assert rows(lake, PICKS) == before
    assert before == [{"track_id": "a", "role": "liked", "ds": D1}, {"track_id": "b", "role": "liked", "ds": D1},
                      {"track_id": "c", "role": "liked", "ds": D2}]


def test_an_empty_write_leaves_the_date_without_rows_and_the_others_as_they_were(lake):
    delta.write_date(lake, SILVER_TRACKS, D1, tracks("a"))
    delta.write_date(lake, SILVER_TRACKS, D2, tracks("b"))
    delta.write_date(lake, SILVER_TRACKS, D2, tracks())
    assert delta.dates(lake, SILVER_TRACKS) == [D1]
    assert delta.read_rows(lake, SILVER_TRACKS, D2) == []
    assert delta.read_rows(lake, SILVER_TRACKS, D1) == [{"track_id": "a", "role": "liked"}]
    assert len(log_versions(lake, SILVER_TRACKS)) == 3  # the empty write is a commit of its own


def test_history_records_one_commit_per_write_with_its_run_and_date(lake, monkeypatch):
    delta.write_date(lake, SILVER_TRACKS, D1, tracks("a"), run="scheduled__2026-11-16")
    delta.write_date(lake, SILVER_TRACKS, D2, tracks("b"), run="scheduled__2026-11-23")
    monkeypatch.setenv("WEEKLY_DISCOVERY_RUN_ID", "backfill__2026-11-16")  # how a Spark job's process gets it
    delta.write_date(lake, SILVER_TRACKS, D1, tracks("c"))
    monkeypatch.delenv("WEEKLY_DISCOVERY_RUN_ID")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_RUN_ID", "manual__2026-12-01")  # an Airflow task's own process
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "weekly_discovery_ingest")
    delta.write_date(lake, SILVER_TRACKS, D3, tracks("d"))

    assert log_versions(lake, SILVER_TRACKS) == [0, 1, 2, 3]  # one commit each
    history = delta.history(lake, SILVER_TRACKS)  # newest first
    assert [(c["version"], c["run_id"], c["ds"], c["operation"]) for c in history] == [
        (3, "manual__2026-12-01", D3, "WRITE"),
        (2, "backfill__2026-11-16", D1, "WRITE"),
        (1, "scheduled__2026-11-23", D2, "WRITE"),
        (0, "scheduled__2026-11-16", D1, "WRITE"),
    ]
    assert history[0]["dag_id"] == "weekly_discovery_ingest"
    # what a reader of the log itself finds (DESCRIBE HISTORY: tests/lake/test_spark_interop.py)
    assert {k: commit_info(lake, SILVER_TRACKS, 2)[k] for k in ("run_id", "ds", "app")} == \
        {"run_id": "backfill__2026-11-16", "ds": D1, "app": "weekly-discovery"}
    assert [touched_dates(lake, SILVER_TRACKS, v) for v in range(4)] == [{D1}, {D2}, {D1}, {D3}]


def test_a_commit_without_a_run_says_manual(lake):
    delta.write_date(lake, SILVER_TRACKS, D1, tracks("a"))
    assert delta.history(lake, SILVER_TRACKS)[0]["run_id"] == "manual"


def test_rows_that_say_another_date_are_refused_and_nothing_is_committed(lake):
    delta.write_date(lake, SILVER_TRACKS, D1, tracks("a"))
    mixed = tracks("b", "c").append_column("ds", pa.array([D2, D3]))
    with pytest.raises(ValueError, match="another date"):
        delta.write_date(lake, SILVER_TRACKS, D2, mixed)
    assert log_versions(lake, SILVER_TRACKS) == [0]
    assert delta.dates(lake, SILVER_TRACKS) == [D1]
    assert data_files_on_disk(lake, SILVER_TRACKS) == live_files(lake, SILVER_TRACKS)  # nothing half written


def test_rows_that_carry_their_own_date_are_stored_once_under_it(lake):
    delta.write_date(lake, SILVER_TRACKS, D2, tracks("b").append_column("ds", pa.array([D2])))
    table = delta.read(lake, SILVER_TRACKS)
    assert table.column_names.count("ds") == 1
    assert table.to_pylist() == [{"track_id": "b", "role": "liked", "ds": D2}]
    assert delta.read(lake, SILVER_TRACKS, D2).to_pylist() == [{"track_id": "b", "role": "liked"}]


def test_a_malformed_date_is_refused_before_anything_is_written(lake):
    with pytest.raises(LakeError):
        delta.write_date(lake, SILVER_TRACKS, "2026-13-01", tracks("a"))
    assert delta.open_table(lake, SILVER_TRACKS) is None
    delta.write_date(lake, SILVER_TRACKS, D1, tracks("a"))
    with pytest.raises(LakeError):
        delta.read(lake, SILVER_TRACKS, "2026-11-31")


# ---- merge -----------------------------------------------------------------------------------------

def features(*rows_: tuple[str, str, float]) -> pa.Table:
    return pa.table({"track_id": [r[0] for r in rows_], "fetched_ds": [r[1] for r in rows_],
                     "energy": [r[2] for r in rows_]})


def test_merge_creates_then_upserts_by_its_keys(lake):
    delta.merge(lake, AUDIO_FEATURES, features(("a", D1, 0.1), ("b", D1, 0.2)), ["track_id", "fetched_ds"], ds=D1,
                run="run-1")
    # a later date: a new row for "a" (another key), a new track "c"
    delta.merge(lake, AUDIO_FEATURES, features(("a", D2, 0.5), ("c", D2, 0.3)), ["track_id", "fetched_ds"], ds=D2,
                run="run-2")
    # a rerun of D2 that got another answer for "a": that row is updated, D1's row is not
    delta.merge(lake, AUDIO_FEATURES, features(("a", D2, 0.6)), ["track_id", "fetched_ds"], ds=D2, run="run-3")

    assert rows(lake, AUDIO_FEATURES) == [
        {"track_id": "a", "fetched_ds": D1, "energy": 0.1},
        {"track_id": "a", "fetched_ds": D2, "energy": 0.6},
        {"track_id": "b", "fetched_ds": D1, "energy": 0.2},
        {"track_id": "c", "fetched_ds": D2, "energy": 0.3},
    ]
    assert log_versions(lake, AUDIO_FEATURES) == [0, 1, 2]  # one commit per merge
    assert [(c["run_id"], c.get("ds")) for c in delta.history(lake, AUDIO_FEATURES)] == \
        [("run-3", D2), ("run-2", D2), ("run-1", D1)]
    assert delta.dates(lake, AUDIO_FEATURES) == []  # not a dated table


def album_rows(*rows_: tuple[str, str, str]) -> pa.Table:
    return pa.table({"album_id": [r[0] for r in rows_], "track_id": [r[1] for r in rows_],
                     "read_ds": [r[2] for r in rows_]})


def test_merge_with_a_condition_changes_a_matched_row_only_when_it_holds(lake):
    """The album cache: a row changes only to record an earlier read; new rows are always inserted."""
    keys, earlier = ["album_id", "track_id"], "s.read_ds < t.read_ds"
    delta.merge(lake, ALBUM_TRACKS, album_rows(("x", "1", D2), ("x", "2", D2)), keys, update_when=earlier)
    delta.merge(lake, ALBUM_TRACKS, album_rows(("x", "1", D3), ("y", "3", D3)), keys, update_when=earlier)  # later
    delta.merge(lake, ALBUM_TRACKS, album_rows(("x", "2", D1)), keys, update_when=earlier)  # a backfill: earlier
    assert rows(lake, ALBUM_TRACKS) == [
        {"album_id": "x", "track_id": "1", "read_ds": D2},  # the later read changed nothing
        {"album_id": "x", "track_id": "2", "read_ds": D1},  # the earlier read is recorded
        {"album_id": "y", "track_id": "3", "read_ds": D3},
    ]


def test_read_filters_on_columns_that_are_not_partitions_after_a_merge(lake):
    delta.merge(lake, AUDIO_FEATURES, features(("a", D1, 0.1), ("b", D1, 0.2), ("c", D2, 0.9)),
                ["track_id", "fetched_ds"])
    delta.merge(lake, AUDIO_FEATURES, features(("b", D1, 0.25), ("d", D2, 0.4)), ["track_id", "fetched_ds"])

    got = delta.read(lake, AUDIO_FEATURES, columns=["track_id", "energy"], filters=[("fetched_ds", "<", D2)])
    assert got.column_names == ["track_id", "energy"]
    assert sorted(got.to_pylist(), key=lambda r: r["track_id"]) == [{"track_id": "a", "energy": 0.1},
                                                                     {"track_id": "b", "energy": 0.25}]
    assert got.schema.field("track_id").type == pa.string()  # plain strings, whatever MERGE wrote
    picked = delta.read_rows(lake, AUDIO_FEATURES, columns=["track_id"],
                             filters=[("track_id", "in", ["b", "d", "zz"]), ("energy", ">=", 0.3)])
    assert picked == [{"track_id": "d"}]
    assert delta.read_rows(lake, AUDIO_FEATURES, filters=[("track_id", "=", "nobody")]) == []


def test_read_filters_a_dated_table_on_a_date_and_other_columns_at_once(lake):
    delta.write_date(lake, SILVER_TRACKS, D1, tracks("a", "b"))
    delta.write_date(lake, SILVER_TRACKS, D2, tracks("a", "c", role="disliked"))
    assert delta.read_rows(lake, SILVER_TRACKS, D2, filters=[("track_id", "=", "a")]) == \
        [{"track_id": "a", "role": "disliked"}]
    assert sorted(r["ds"] for r in delta.read_rows(lake, SILVER_TRACKS, filters=[("track_id", "=", "a")])) == [D1, D2]
    assert delta.read_rows(lake, SILVER_TRACKS, columns=["ds", "track_id"],
                           filters=[("ds", ">", D1), ("role", "!=", "liked"), ("track_id", "!=", "a")]) == \
        [{"ds": D2, "track_id": "c"}]


# ---- vacuum ----------------------------------------------------------------------------------------

def age(path: Path, days: float) -> None:
    then = time.time() - days * 24 * 3600
    os.utime(path, (then, then))


def test_vacuum_deletes_only_the_files_no_longer_used_and_keeps_the_metrics(lake):
    delta.write_date(lake, SILVER_TRACKS, D1, tracks("a"))
    delta.write_date(lake, SILVER_TRACKS, D2, tracks("b"))
    first_d2 = live_files(lake, SILVER_TRACKS, D2)
    delta.write_date(lake, SILVER_TRACKS, D2, tracks("c"))  # a rerun: D2's first file is no longer used
    metrics = lake.partition(SILVER_TRACKS, D2) / "_metrics.json"
    metrics.write_text('{"tracks": 1}')
    old_metrics = lake.partition(SILVER_TRACKS, D1) / "_metrics.json"
    old_metrics.write_text('{"tracks": 1}')
    age(old_metrics, 400)
    used = live_files(lake, SILVER_TRACKS)
    assert data_files_on_disk(lake, SILVER_TRACKS) == used | first_d2

    assert delta.vacuum(lake, SILVER_TRACKS) == []  # removed just now: inside the default 30 days
    assert data_files_on_disk(lake, SILVER_TRACKS) == used | first_d2

    deleted = delta.vacuum(lake, SILVER_TRACKS, keep_days=0)
    assert {str(Path(lake.table(SILVER_TRACKS), name)) for name in deleted} == first_d2
    assert data_files_on_disk(lake, SILVER_TRACKS) == used
    assert metrics.read_text() == '{"tracks": 1}' and old_metrics.read_text() == '{"tracks": 1}'
    assert rows(lake, SILVER_TRACKS) == [{"track_id": "a", "role": "liked", "ds": D1},
                                         {"track_id": "c", "role": "liked", "ds": D2}]


def test_vacuum_of_a_table_never_written_does_nothing(lake):
    assert delta.vacuum(lake, SILVER_TRACKS, keep_days=0) == []
    assert not Path(lake.table(SILVER_TRACKS)).exists()
