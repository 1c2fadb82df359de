"""The enrichment transforms on tiny hand-written rows, with hand-written expected values.

Covers the quality gates (out-of-range, unknown-kept, non-numeric), ReccoBeats' href mapping and
Spotify's null entries as Spark reads the stored bodies, provider precedence, the file look-up on a
tiny CSV with broken rows and a column mapping, the cache as of a date, the cache merge and tracks_enriched
statuses, and the whole enrich date in-process (a rerun gives the same content and touches no other date's
cache rows).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pyspark.sql import Row
from pyspark.sql import functions as F

from tests.enrich.lakekit import (
    cache_row,
    read_cache,
    read_date,
    silver_row,
    tid,
    write_cache,
    write_file_lookup,
    write_silver,
)
from weekly_discovery.core.vocabulary import FEATURE_COLUMNS
from weekly_discovery.enrich import job as enrich_job
from weekly_discovery.enrich import lookup_job
from weekly_discovery.enrich import transforms as tx
from weekly_discovery.enrich.providers import reccobeats as reccobeats_provider
from weekly_discovery.enrich.providers import spotify as spotify_provider
from weekly_discovery.lake import AUDIO_FEATURES, QUARANTINE_FEATURES, TRACKS_ENRICHED, delta
from weekly_discovery.lake.layout import Lake
from weekly_discovery.settings.config import Enrichment, FeatureFile

pytestmark = pytest.mark.spark

DS = "2026-11-23"
T0 = dt.datetime(2026, 11, 23, 6, 0)
T1 = dt.datetime(2026, 11, 23, 6, 5)


GOOD = dict(danceability="0.5", energy="0.8", speechiness="0.05", instrumentalness="0", acousticness="1",
            liveness="0.1", valence="0.3", loudness="-5.2", tempo="120.5", key="-1", mode="1",
            time_signature="4.0", duration_ms="200000")


def answer(name: str, status: str = "ok", **changes) -> dict:
    values = {} if status == "missing" else {**GOOD, **changes}
    return {"track_id": tid(name), "status": status, "source": None if status == "missing" else "reccobeats",
            "fetched_at": T0, **{f: values.get(f) for f in FEATURE_COLUMNS}}


GATE_CASES = [
    answer("good"),
    answer("loud5", loudness="4.9"),  # real exports go up to about +5 dB
    answer("ts0", time_signature="0", tempo="0.0"),  # "not detected": kept as null, counted
    answer("ts1", time_signature="1"),
    answer("rbeats", time_signature=None, duration_ms=None),  # ReccoBeats sends neither
    answer("dance", danceability="1.7"),
    answer("text", energy="abc"),
    answer("multi", loudness="-80", key="12", mode="2"),
    answer("halfkey", key="5.5"),
    answer("negtempo", tempo="-1"),
    answer("ts8", time_signature="8"),
    answer("zerodur", duration_ms="0"),
    answer("nan", valence="NaN"),
    answer("inf", tempo="Infinity"),
    answer("gone", status="missing"),
]


@pytest.fixture(scope="module")
def gated(spark):
    resolved = spark.createDataFrame(
        [Row(**r) for r in GATE_CASES],
        "track_id string, status string, source string, fetched_at timestamp, "
        + ", ".join(f"{f} string" for f in FEATURE_COLUMNS),
    )
    return tx.apply_gates(resolved).cache()


def test_gates_keep_valid_values_typed(gated):
    rows = {r["track_id"]: r.asDict() for r in gated.collect()}
    good = rows[tid("good")]
    assert {f: good[f] for f in FEATURE_COLUMNS} == {
        "danceability": 0.5, "energy": 0.8, "speechiness": 0.05, "instrumentalness": 0.0, "acousticness": 1.0,
        "liveness": 0.1, "valence": 0.3, "loudness": -5.2, "tempo": 120.5, "key": -1, "mode": 1,
        "time_signature": 4, "duration_ms": 200000}
    assert (good["failed_fields"], good["unknown_fields"]) == ([], [])
    assert rows[tid("loud5")]["loudness"] == 4.9 and rows[tid("loud5")]["failed_fields"] == []
    ts0 = rows[tid("ts0")]
    assert (ts0["time_signature"], ts0["tempo"], ts0["unknown_fields"], ts0["failed_fields"]) == (
        None, None, ["tempo", "time_signature"], [])
    assert (rows[tid("ts1")]["time_signature"], rows[tid("ts1")]["unknown_fields"]) == (None, ["time_signature"])
    rbeats = rows[tid("rbeats")]
    assert (rbeats["time_signature"], rbeats["duration_ms"], rbeats["unknown_fields"], rbeats["failed_fields"]) == (
        None, None, [], [])


def test_gates_name_every_failing_field_and_value(gated):
    rows = {r["track_id"]: (r["failed_fields"], r["failures"]) for r in gated.collect()}
    assert rows[tid("dance")] == (["danceability"], ["danceability=1.7 (expected 0..1)"])
    assert rows[tid("text")] == (["energy"], ["energy=abc (not a number)"])
    assert rows[tid("multi")] == (["loudness", "key", "mode"], [
        "loudness=-80 (expected -70..10)", "key=12 (expected -1..11)", "mode=2 (expected 0..1)"])
    assert rows[tid("halfkey")] == (["key"], ["key=5.5 (not a whole number)"])
    assert rows[tid("negtempo")] == (["tempo"], ["tempo=-1 (expected >= 0)"])
    assert rows[tid("ts8")] == (["time_signature"], ["time_signature=8 (expected 3..7)"])
    assert rows[tid("zerodur")] == (["duration_ms"], ["duration_ms=0 (expected >= 1)"])
    assert rows[tid("nan")] == (["valence"], ["valence=NaN (not a number)"])
    assert rows[tid("inf")] == (["tempo"], ["tempo=Infinity (not a number)"])
    assert rows[tid("gone")] == ([], [])


def test_cache_and_quarantine_rows(gated):
    cache = {r["track_id"]: r for r in tx.cache_rows(gated, DS, ("spotify", "reccobeats")).collect()}
    assert {name: cache[tid(name)]["status"] for name in ("good", "loud5", "ts0", "ts1", "rbeats", "gone")} == {
        "good": "ok", "loud5": "ok", "ts0": "ok", "ts1": "ok", "rbeats": "ok", "gone": "missing"}
    quarantined = sorted(t for t, r in cache.items() if r["status"] == "quarantined")
    assert quarantined == sorted(tid(n) for n in ("dance", "text", "multi", "halfkey", "negtempo", "ts8", "zerodur",
                                                  "nan", "inf"))
    multi = cache[tid("multi")]
    assert multi["detail"] == "loudness=-80 (expected -70..10); key=12 (expected -1..11); mode=2 (expected 0..1)"
    assert all(multi[f] is None for f in FEATURE_COLUMNS)  # never passed on
    assert (multi["source"], multi["fetched_ds"], multi["providers_asked"]) == ("reccobeats", DS, "spotify,reccobeats")
    assert cache[tid("gone")]["source"] is None and cache[tid("good")]["danceability"] == 0.5

    quarantine = {r["track_id"]: r for r in tx.quarantine_rows(gated, DS).collect()}
    assert sorted(quarantine) == quarantined
    assert quarantine[tid("text")]["energy"] == "abc"  # the value as sent
    assert quarantine[tid("multi")]["failed_fields"] == ["loudness", "key", "mode"]


def test_gate_counts(gated):
    counts = {(r["kind"], r["field"]): r["tracks"] for r in tx.gate_counts(gated).collect()}
    assert counts == {
        ("checked", "*"): 14, ("quarantined", "*"): 9,
        ("quarantined", "danceability"): 1, ("quarantined", "energy"): 1, ("quarantined", "loudness"): 1,
        ("quarantined", "key"): 2, ("quarantined", "mode"): 1, ("quarantined", "tempo"): 2,
        ("quarantined", "time_signature"): 1, ("quarantined", "duration_ms"): 1, ("quarantined", "valence"): 1,
        ("unknown_kept", "tempo"): 1, ("unknown_kept", "time_signature"): 2,
    }


A, B, C, D = tid("A"), tid("B"), tid("C"), tid("D")


def asked_df(spark, rows):
    return spark.createDataFrame(rows, "batch int, track_id string, fetched_at timestamp")


def test_reccobeats_bodies_map_back_through_href(spark):
    body0 = json.dumps({"content": [
        {"id": "uuid-a", "href": f"https://open.spotify.com/track/{A}", "danceability": 0.25, "energy": "loud",
         "key": 7, "tempo": 1e-05},
        {"id": "uuid-x", "href": f"https://open.spotify.com/track/{D}", "danceability": 0.9},  # D not in batch 0
        {"id": "uuid-bad", "href": "https://example.com/x", "danceability": 0.9},
    ]})
    body1 = json.dumps({"content": [{"id": "uuid-d", "href": f"https://open.spotify.com/intl-de/track/{D}?si=z",
                                     "valence": 0.5}]})
    bodies = spark.createDataFrame([(0, body0), (1, body1)], "batch int, value string")
    asked = asked_df(spark, [(0, A, T0), (0, B, T0), (1, D, T1)])
    rows = {r["track_id"]: r.asDict() for r in
            tx.api_answers(bodies, asked, reccobeats_provider.BODY, "reccobeats", 1).collect()}
    assert sorted(rows) == [A, D]
    assert (rows[A]["danceability"], rows[A]["energy"], rows[A]["key"], rows[A]["time_signature"]) == (
        "0.25", "loud", "7", None)
    assert float(rows[A]["tempo"]) == 1e-05
    assert (rows[A]["provider"], rows[A]["rank"], rows[A]["batch"], rows[A]["fetched_at"]) == ("reccobeats", 1, 0, T0)
    assert (rows[D]["valence"], rows[D]["batch"], rows[D]["fetched_at"]) == ("0.5", 1, T1)


def test_spotify_bodies_skip_null_entries(spark):
    body = json.dumps({"audio_features": [{"id": A, "danceability": 0.5, "time_signature": 4, "duration_ms": 1000},
                                          None, {"id": C, "danceability": 0.1}]})
    bodies = spark.createDataFrame([(0, body)], "batch int, value string")
    asked = asked_df(spark, [(0, A, T0), (0, B, T0), (0, C, T0)])
    rows = {r["track_id"]: r for r in tx.api_answers(bodies, asked, spotify_provider.BODY, "spotify", 0).collect()}
    assert sorted(rows) == [A, C]
    assert (rows[A]["time_signature"], rows[A]["duration_ms"]) == ("4", "1000")


def test_the_first_provider_in_order_wins_and_asked_but_absent_is_missing(spark):
    answers = spark.createDataFrame([
        ("reccobeats", 1, 0, A, T0, "0.2"),
        ("file", 0, 0, A, T1, "0.9"),  # the file is first in the order: it wins for A
        ("reccobeats", 1, 3, B, T1, "0.3"),
        ("reccobeats", 1, 1, B, T0, "0.4"),  # the same provider twice: the earliest batch wins
    ], "provider string, rank int, batch int, track_id string, fetched_at timestamp, danceability string")
    for name in FEATURE_COLUMNS[1:]:
        answers = answers.withColumn(name, F.lit(None).cast("string"))
    asks = spark.createDataFrame([("file", A, T1), ("reccobeats", A, T0), ("reccobeats", B, T0),
                                  ("reccobeats", C, T0), ("file", C, T1)],
                                 "provider string, track_id string, fetched_at timestamp")
    rows = {r["track_id"]: (r["status"], r["source"], r["fetched_at"], r["danceability"])
            for r in tx.resolve(answers, asks).collect()}
    assert rows == {A: ("ok", "file", T1, "0.9"), B: ("ok", "reccobeats", T0, "0.4"), C: ("missing", None, T1, None)}


def silver_df(spark, rows):
    from weekly_discovery.spark.schemas import TRACKS_SCHEMA

    return spark.createDataFrame([tuple(r[n] for n in TRACKS_SCHEMA.fieldNames()) for r in rows], TRACKS_SCHEMA)


def write_csv(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_file_lookup_on_a_tiny_csv_with_broken_rows_and_a_column_mapping(spark, tmp_path):
    header = "track_id,title,dance,energy,speechiness,instrumentalness,acousticness,liveness,valence,loudness," \
             "tempo,key,mode,duration_ms"  # no time_signature column
    csv = write_csv(tmp_path / "features.csv", "\n".join([
        header,
        f'spotify:track:{A},"Song, with ""quotes""",0.5,0.6,0.03,0,0.2,0.1,0.4,-6.5,121.0,5,1,200000',  # a URI
        f"{B},Broken,0.5,lots,0.03,0,0.2,0.1,0.4,-6.5,121.0,5,1,200000",  # non-numeric energy
        f"{C},Short,0.5,0.6",  # too few fields
        f"{D},Twice bad,x,0.6,0.03,0,0.2,0.1,0.4,-6.5,121.0,5,1,200000",  # D twice: the good row wins
        f"{D},Twice good,0.7,0.6,0.03,0,0.2,0.1,0.4,-6.5,99.0,2,0,180000",
        f"{tid('Z')},Not wanted,0.5,0.6,0.03,0,0.2,0.1,0.4,-6.5,121.0,5,1,200000",
    ]) + "\n")
    columns = {"id": "track_id", "danceability": "dance", **{f: f for f in FEATURE_COLUMNS if f != "danceability"}}
    spark.conf.set("spark.sql.csv.parser.columnPruning.enabled", "false")
    try:
        df, mapping, corrupt = lookup_job.read_feature_file(spark, FeatureFile(csv, "csv", columns))
        assert "time_signature" not in mapping and corrupt == "_corrupt_record"
        wanted = spark.createDataFrame([(t,) for t in (A, B, C, D, tid("E"))], "track_id string")
        rows = {r["track_id"]: r.asDict() for r in tx.file_lookup(df, wanted, mapping, corrupt_column=corrupt).collect()}
    finally:
        spark.conf.unset("spark.sql.csv.parser.columnPruning.enabled")
    assert {t: r["status"] for t, r in rows.items()} == {
        A: "hit", B: "malformed", C: "malformed", D: "hit", tid("E"): "absent"}
    assert {f: rows[A][f] for f in FEATURE_COLUMNS} == {
        "danceability": 0.5, "energy": 0.6, "speechiness": 0.03, "instrumentalness": 0.0, "acousticness": 0.2,
        "liveness": 0.1, "valence": 0.4, "loudness": -6.5, "tempo": 121.0, "key": 5.0, "mode": 1.0,
        "time_signature": None, "duration_ms": 200000.0}
    assert rows[B]["detail"] == "energy=lots" and rows[B]["danceability"] is None
    assert rows[C]["detail"] == "row does not parse (wrong number of fields?)"
    assert (rows[D]["danceability"], rows[D]["tempo"], rows[D]["detail"]) == (0.7, 99.0, None)
    assert {t: r["malformed_rows"] for t, r in rows.items()} == {A: 0, B: 1, C: 1, D: 1, tid("E"): 0}


def test_file_lookup_joins_the_file_once_and_gives_one_row_per_wanted_id(spark, tmp_path):
    """The absent ids come from a union and a group-by, not from a second join: Spark's constraint inference
    over a left join of the wanted ids with the looked-up rows took ~10 s to plan.
    A wanted id asked twice still gives one row."""
    csv = write_csv(tmp_path / "features.csv", "id,danceability\n" + f"{A},0.5\n{B},x\n")
    df, mapping, corrupt = lookup_job.read_feature_file(
        spark, FeatureFile(csv, "csv", {"id": "id", "danceability": "danceability"}))
    wanted = spark.createDataFrame([(A,), (B,), (C,), (C,)], "track_id string")
    looked_up = tx.file_lookup(df, wanted, mapping, corrupt_column=corrupt)
    plan = looked_up._jdf.queryExecution().optimizedPlan().toString()
    assert plan.count("Join ") == 1, plan  # the file with the wanted ids, and nothing else
    rows = [(r["track_id"], r["status"], r["malformed_rows"], r["danceability"]) for r in looked_up.collect()]
    assert sorted(rows) == sorted([(A, "hit", 0, 0.5), (B, "malformed", 1, None), (C, "absent", 0, None)])


def test_file_lookup_on_parquet(spark, tmp_path):
    path = str(tmp_path / "features.parquet")
    spark.createDataFrame([(A, 0.5, 4), (B, 0.1, 3)], "id string, danceability double, time_signature int") \
        .write.parquet(path)
    df, mapping, corrupt = lookup_job.read_feature_file(
        spark, FeatureFile(path, "parquet", {"id": "id", **{f: f for f in FEATURE_COLUMNS}}))
    wanted = spark.createDataFrame([(A,), (C,)], "track_id string")
    rows = {r["track_id"]: r for r in tx.file_lookup(df, wanted, mapping, corrupt_column=corrupt).collect()}
    assert (rows[A]["status"], rows[A]["danceability"], rows[A]["time_signature"]) == ("hit", 0.5, 4.0)
    assert rows[C]["status"] == "absent"


def test_file_look_up_with_nothing_wanted_writes_an_empty_partition(spark, tmp_path):
    from tests.enrich.lakekit import write_config
    from weekly_discovery.enrich.cache import file_lookup

    lake = Lake(str(tmp_path / "lake"))
    write_silver(lake, DS, [silver_row(A)])
    write_cache(lake, [cache_row(A, "ok", "2026-11-16", source="file")])
    (tmp_path / "f.csv").write_text("id,danceability\n")
    config = write_config(tmp_path, tmp_path / "lake", 'providers = ["file"]\n[enrichment.file]\npath = "f.csv"\n')
    manifest = lookup_job.lookup(spark, lake, DS, str(config.path))
    assert (manifest["looked_up"], manifest["hits"], manifest["wanted"]["known"]) == (0, 0, 1)
    assert file_lookup(lake, DS) == (set(), set())


def test_the_cache_as_of_a_date_is_each_tracks_newest_row_before_it(spark):
    cache = spark.createDataFrame([
        Row(**cache_row(A, "missing", "2026-11-09")),
        Row(**cache_row(A, "ok", "2026-11-16", source="spotify", danceability=0.1)),
        Row(**cache_row(A, "ok", DS, source="file", danceability=0.9)),  # the date itself: not before it
        Row(**cache_row(B, "missing", "2026-11-09")),
        Row(**cache_row(C, "ok", "2026-11-30", source="spotify")),  # after the date
    ], tx.CACHE_SCHEMA)
    rows = sorted((r["track_id"], r["status"], r["fetched_ds"], r["danceability"])
                  for r in tx.cache_as_of(cache, DS).collect())
    assert rows == [(A, "ok", "2026-11-16", 0.1), (B, "missing", "2026-11-09", None)]
    assert tx.cache_as_of(cache, DS).columns == tx.CACHE_SCHEMA.fieldNames()


def test_snapshot_merge_and_enriched_statuses(spark):
    previous = spark.createDataFrame([
        Row(**cache_row(A, "ok", "2026-11-16", source="spotify", danceability=0.1, duration_ms=111)),
        Row(**cache_row(B, "missing", "2026-11-16")),
        Row(**cache_row(C, "ok", "2026-11-16", source="spotify", danceability=0.3)),
    ], tx.CACHE_SCHEMA)
    new = spark.createDataFrame([
        Row(**cache_row(B, "ok", DS, source="reccobeats", danceability=0.2, duration_ms=222)),
        Row(**cache_row(D, "quarantined", DS, source="reccobeats")),
    ], tx.CACHE_SCHEMA)
    snapshot = tx.merge_snapshot(previous, new)
    assert [(r["track_id"], r["status"], r["source"], r["fetched_ds"]) for r in snapshot.collect()] == [
        (A, "ok", "spotify", "2026-11-16"), (B, "ok", "reccobeats", DS), (C, "ok", "spotify", "2026-11-16"),
        (D, "quarantined", None, DS)]

    silver = silver_df(spark, [silver_row(A, "liked", 0), silver_row(B, "liked", 1, duration_ms=None),
                               silver_row(D, "disliked", 0), silver_row(tid("E"), "disliked", 1),
                               silver_row(A, "candidates", 0)])
    enriched = tx.enrich_tracks(silver, snapshot)
    assert enriched.columns == list(silver.columns) + tx.ENRICHED_EXTRA
    rows = [(r["role"], r["track_id"], r["feature_status"], r["feature_source"], r["danceability"], r["duration_ms"])
            for r in enriched.collect()]
    assert rows == [  # sorted by (source_key, position) like silver
        ("candidates", A, "ok", "spotify", 0.1, 200000),
        ("disliked", D, "quarantined", None, None, 200000),
        ("disliked", tid("E"), "pending", None, None, 200000),
        ("liked", A, "ok", "spotify", 0.1, 200000),  # the track's own duration wins
        ("liked", B, "ok", "reccobeats", 0.2, 222),  # none of its own: the provider's
    ]


def test_enrich_date_in_process_and_rerun_gives_the_same_content(spark, tmp_path):
    """Raw batches written by hand as the fetch step would; D's rows merged into the cache, D's dates written;
    a rerun gives the same content, one more commit per table, and leaves the earlier date's cache row alone."""
    lake = Lake(str(tmp_path / "lake"))
    write_silver(lake, DS, [silver_row(A, "liked", 0), silver_row(B, "liked", 1), silver_row(C, "disliked", 0),
                            silver_row(D, "candidates", 0), silver_row(tid("E"), "candidates", 1)])
    previous = "2026-11-16"
    write_cache(lake, [cache_row(tid("E"), "missing", previous, providers_asked="file,reccobeats")])
    write_file_lookup(lake, DS, [{"track_id": A, "status": "hit", "danceability": 0.9, "tempo": 0.0},
                                 {"track_id": B, "status": "absent"}, {"track_id": C, "status": "malformed"},
                                 {"track_id": D, "status": "absent"}],
                      {"provider": "file", "ds": DS, "file_modified_at": "2026-01-01T00:00:00Z", "looked_up": 4,
                       "hits": 1, "absent": 2, "malformed": 1})
    folder = lake.raw_features_partition("reccobeats", DS)
    folder.mkdir(parents=True)
    (folder / "batch-00000.json").write_text(json.dumps({"content": [
        {"id": "u1", "href": f"https://open.spotify.com/track/{B}", **{k: v for k, v in GOOD.items()
                                                                         if k not in ("time_signature", "duration_ms")}},
        {"id": "u2", "href": f"https://open.spotify.com/track/{C}", **GOOD, "danceability": 3},
    ]}))
    (folder / "batch-00000.request.json").write_text(json.dumps(
        {"ids": [B, C, D], "fetched_at": "2026-11-23T06:00:00.000Z", "requests": 1}))
    (folder / "_manifest.json").write_text(json.dumps(
        {"provider": "reccobeats", "status": "ok", "requests": 1, "asked": 3, "answered": 2, "new_batches": 1,
         "reused_batches": 0, "note": "", "batches": [{"body": "batch-00000.json",
                                                        "request": "batch-00000.request.json"}]}))
    enrichment = Enrichment(providers=("file", "reccobeats"), min_coverage=0.5)

    metrics = enrich_job.enrich_date(spark, lake, DS, enrichment)
    cache = read_cache(lake)
    assert [(r["track_id"], r["status"], r["source"], r["fetched_ds"]) for r in cache] == [
        (A, "ok", "file", DS), (B, "ok", "reccobeats", DS), (C, "quarantined", "reccobeats", DS),
        (D, "missing", None, DS),
        (tid("E"), "missing", None, previous)]  # E: backing off, not asked: its row of the earlier date stays
    assert cache[0]["fetched_at"] == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)  # the file's mtime
    assert cache[0]["tempo"] is None and cache[0]["danceability"] == 0.9
    assert cache[1]["fetched_at"] == dt.datetime(2026, 11, 23, 6, tzinfo=dt.timezone.utc)
    assert cache[2]["detail"] == "danceability=3 (expected 0..1)"
    assert metrics["cache"] == {"previous_snapshot": previous, "rows": 5,
                                "by_status": {"missing": 2, "ok": 2, "quarantined": 1},
                                "new_rows": {"missing": 1, "ok": 2, "quarantined": 1}}
    assert metrics["roles"]["liked"]["by_source"] == {"file": 1, "reccobeats": 1}
    assert metrics["roles"]["candidates"]["by_status"] == {"missing": 2}
    assert metrics["gates"] == {"checked": 3, "passed": 2, "quarantined": 1, "quarantined_by_field": {"danceability": 1},
                                "unknown_kept": {"tempo": 1}}
    assert metrics["providers"]["file"]["malformed"] == 1
    assert metrics["outputs"] == {"audio_features": "silver/audio_features",
                                  "quarantine": f"quarantine/features/ds={DS}",
                                  "tracks_enriched": f"silver/tracks_enriched/ds={DS}"}
    assert json.loads((lake.partition(TRACKS_ENRICHED, DS) / "_metrics.json").read_text()) == metrics
    enriched = read_date(lake, TRACKS_ENRICHED, DS, order=("source_key", "position"))
    assert [(r["track_id"], r["feature_status"]) for r in enriched] == [
        (D, "missing"), (tid("E"), "missing"), (C, "quarantined"), (A, "ok"), (B, "ok")]
    quarantine = read_date(lake, QUARANTINE_FEATURES, DS)
    assert [(r["track_id"], r["danceability"]) for r in quarantine] == [(C, "3")]

    with pytest.raises(enrich_job.CoverageTooLow, match="(?s)role 'disliked' is 0.0% .*role 'candidates' is 0.0%"):
        enrich_job.check_coverage(metrics, enrichment)

    again = enrich_job.enrich_date(spark, lake, DS, enrichment)
    assert again == metrics  # D's own rows, merged by the first run, are not part of the cache as of D
    assert read_cache(lake) == cache  # updated in place: still one row per (track, date)
    assert read_date(lake, TRACKS_ENRICHED, DS, order=("source_key", "position")) == enriched
    assert read_date(lake, QUARANTINE_FEATURES, DS) == quarantine
    for table in (AUDIO_FEATURES, QUARANTINE_FEATURES, TRACKS_ENRICHED):
        commits = [c for c in delta.history(lake, table) if c.get("ds") == DS]
        assert len(commits) == 2, (table, commits)  # one commit per run
    assert len(delta.history(lake, AUDIO_FEATURES)) == 3  # the hand-written row of the earlier date, two merges
