"""The catalogue read by Spark: a hand-written CSV with a library song, a recently published song and
malformed rows; expected rows, counts and picks written by hand.

The model is replaced by "probability = energy" (``predict`` patched), so every expected probability
is readable off the CSV below.
"""

from __future__ import annotations

import pytest

from tests.recommend.kit import row, sid, table
from weekly_discovery.core.errors import UserError
from weekly_discovery.recommend.scoring import catalog
from weekly_discovery.recommend.scoring import score as sc

pytestmark = pytest.mark.spark

HEADER = ("id,name,album,album_id,artists,artist_ids,track_number,disc_number,explicit,danceability,energy,key,"
          "loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms,"
          "time_signature,year,release_date")
ARTIST_A, ARTIST_B, ARTIST_C = "A" * 22, "B" * 22, "C" * 22


def line(track, name, energy, *, artists="['Ada']", artist_ids=f"['{ARTIST_A}']", dance="0.5", tempo="120.0",
         time_signature="4.0"):
    return (f"{sid(track)},{name},Album,{'L' * 22},{artists},{artist_ids},1,1,False,{dance},{energy},5,-7.5,1,0.05,"
            f"0.3,0.0,0.1,0.5,{tempo},200000,{time_signature},2001,2001-03-12")


CSV = "\n".join([
    HEADER,
    line("c1", "First", "0.9"),
    line("c2", '"Two, Artists"', "0.8", artists='"[""Guns N\' Roses"", \'Slash\']"',
         artist_ids=f"\"['{ARTIST_B}', '{ARTIST_C}']\""),
    line("lk", "Liked Already", "0.99"),        # in the library (liked): never a candidate
    line("rp", "Published Last Week", "0.95"),  # scored, but kept out by the novelty window
    line("e1", "Found By A Playlist", "0.1"),    # another source's candidate: it keeps that source
    line("b1", "Bad Dance", "0.9", dance="abc"),   # not a number: quarantined
    line("b2", "Too Loud", "1.5"),                 # energy out of 0..1: quarantined
    f"{sid('b3')},Cut Short,Album",                # a line missing its fields: quarantined
    "not-an-id," + line("zz", "Bad Id", "0.9").split(",", 1)[1],  # not a Spotify id: quarantined
    line("c3", "Too Calm", "0.3"),                 # below the threshold
    line("c4", "No Tempo", "0.7", tempo="0", time_signature="0.0"),  # "not detected": null, still scored
]) + "\n"


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("catalogue") / "tracks_features.csv"
    path.write_text(CSV, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def enriched(spark):  # noqa: F811
    return spark.createDataFrame(table([
        row("lk", "liked", artist="arL", energy=0.2),
        row("dd", "disliked", artist="arD", energy=0.9),
        row("e1", "candidates", artist="arE", energy=0.6),  # a candidate playlist's song
    ]))


@pytest.fixture
def probability_is_energy(monkeypatch):
    from pyspark.sql import functions as F

    monkeypatch.setattr(sc, "predict", lambda model, df: df.withColumn("score", F.col("energy")))


def candidates(spark, enriched, csv_path, observation=None):  # noqa: F811
    return catalog.catalogue_candidates(catalog.read_catalogue(spark, csv_path), sc.known_track_ids(enriched),
                                        csv_path, observation, offered=sc.candidate_rows(enriched).select("track_id"))


def test_rows_are_typed_the_library_song_dropped_and_bad_rows_quarantined_and_counted(
        spark, enriched, csv_path):  # noqa: F811
    from pyspark.sql import Observation

    observed = Observation("catalogue")
    rows = {r["track_id"]: r for r in candidates(spark, enriched, csv_path, observed).collect()}
    assert set(rows) == {*(sid(t) for t in ("c1", "c2", "rp", "b1", "b2", "b3", "c3", "c4")), "not-an-id"}
    c2 = rows[sid("c2")]
    assert (c2["name"], c2["artist_names"], c2["primary_artist_id"], c2["primary_artist_name"]) == \
        ("Two, Artists", ["Guns N' Roses", "Slash"], ARTIST_B, "Guns N' Roses")
    assert (c2["source_key"], c2["source_name"], c2["feature_status"], c2["catalogue"]) == \
        ("discover-catalog", "From your catalogue", "ok", csv_path)
    assert (c2["energy"], c2["key"], c2["loudness"], c2["time_signature"], c2["duration_ms"]) == (0.8, 5, -7.5, 4, 200000)
    assert (rows[sid("c4")]["tempo"], rows[sid("c4")]["time_signature"], rows[sid("c4")]["feature_status"]) == \
        (None, None, "ok")
    for bad in (sid("b1"), sid("b2"), sid("b3"), "not-an-id"):
        assert rows[bad]["feature_status"] == "quarantined" and rows[bad]["energy"] is None
    # counted on the way (no second pass): 11 lines, lk in the library, e1 offered by the playlist,
    # b1 b2 b3 and the bad id quarantined
    counts = catalog.counts_summary(observed.get)
    assert (counts["rows"], counts["in_library"], counts["offered_by_others"], counts["quarantined"]) == (11, 1, 1, 4)
    by_field = counts["quarantined_by_field"]
    assert (by_field["id"], by_field["danceability"], by_field["energy"], by_field["artists"]) == (1, 2, 2, 1)
    assert by_field["duration_ms"] == 1  # only the cut-short line (b3) lacks it; b3 also counts under dance, energy


def test_catalogue_rows_are_scored_beside_the_others_and_the_novelty_rules_apply(
        spark, enriched, csv_path, probability_is_energy):  # noqa: F811
    scores = sc.score_candidates(None, enriched, ("energy",), 0.5, candidates(spark, enriched, csv_path)).cache()
    by_id = {r["track_id"]: r for r in scores.collect()}
    assert (by_id[sid("b1")]["score_status"], by_id[sid("b1")]["probability"]) == ("features_quarantined", None)
    assert by_id[sid("c1")]["probability"] == pytest.approx(0.9) and by_id[sid("c3")]["recommended"] is False
    summary = {p["source_key"]: p for p in sc.playlist_summary(scores).collect()}
    assert (summary["discover-catalog"]["total"], summary["discover-catalog"]["scored"],
            summary["discover-catalog"]["recommended"]) == (9, 5, 4)
    recent = spark.createDataFrame([(sid("rp"),)], "track_id string")
    picks = sc.recommend(scores, sc.excluded_track_ids(enriched, recent), top_n=10, max_per_artist=2).collect()
    # round 1: the catalogue's best (c1 0.9) and the playlist's (e1 0.6); then the catalogue alone: c2, c4
    assert [(p["track_id"], p["source"]) for p in picks] == [
        (sid("c1"), "catalog"), (sid("e1"), "playlists"), (sid("c2"), "catalog"), (sid("c4"), "catalog")]
    kept = sc.scores_kept(scores, keep_catalogue=2).collect()
    # the catalogue's top 2 (rp 0.95, c1 0.9) in file order, then the playlist's row
    assert [r["track_id"] for r in kept] == [sid("c1"), sid("rp"), sid("e1")]
    scores.unpersist()


def test_a_catalogue_pick_gets_its_reason_from_the_cached_rows(spark, enriched, csv_path, probability_is_energy):  # noqa: F811
    wide = sc.scored_rows(None, enriched, ("energy",), 0.5, candidates(spark, enriched, csv_path))
    pick = {"track_id": sid("c1"), "source_key": "discover-catalog", "source": "catalog", "probability": 0.9}
    reasons = sc.pick_reasons(enriched, [pick], ("energy",), wide, csv_path)
    assert reasons == {sid("c1"): "from your catalogue; 90% like; close to Song lk (Artist arL)"}


def test_the_artist_profile_is_the_tables_as_if_the_song_were_in_it(spark):  # noqa: F811
    enriched = spark.createDataFrame(table([
        row("la", "liked", artist="arA", energy=0.2), row("lb", "disliked", artist="arA", energy=0.4),
        row("e1", "candidates", artist="arE", energy=0.6),
    ]))
    rows = spark.createDataFrame([
        (sid("x"), sid("arA"), 0.9),   # arA: (0.2 + 0.4 + 0.9) / 3
        (sid("y"), sid("arN"), 0.7),   # an artist the table does not have: its own value
        (sid("e1"), sid("arE"), 0.1),  # already in the table: the table's average (0.6), not (0.6 + 0.1) / 2
        (sid("z"), None, 0.3),         # no artist: its own value
    ], "track_id string, primary_artist_id string, energy double")
    got = {r["track_id"]: r["artist_avg_energy"] for r in catalog.with_catalogue_profile(rows, enriched, ["energy"]).collect()}
    assert got == pytest.approx({sid("x"): 0.5, sid("y"): 0.7, sid("e1"): 0.6, sid("z"): 0.3})


def test_a_missing_file_or_column_names_the_key(spark, tmp_path):  # noqa: F811
    with pytest.raises(UserError, match=r"\[discover\] catalog = .*nowhere.csv'. no such file"):
        catalog.read_catalogue(spark, str(tmp_path / "nowhere.csv"))
    other = tmp_path / "other.csv"
    other.write_text("id,name,artists\nx,y,z\n")
    with pytest.raises(UserError, match="has no column artist_ids, danceability"):
        catalog.read_catalogue(spark, str(other))


def test_the_background_sample_of_the_catalogue_is_seeded_new_and_usable(spark, enriched, csv_path):  # noqa: F811
    """Training's catalogue background (issue 27): songs with usable features that are not in the library, first
    in sha256("<seed>:<id>") order, in the enriched table's shape."""
    import hashlib

    rows = catalog.background_rows(spark, csv_path, enriched, size=3, seed=42).collect()
    usable = [sid(n) for n in ("c1", "c2", "rp", "e1", "c3", "c4")]  # b1-b3, zz: quarantined; lk: in the library
    expected = sorted(usable, key=lambda t: hashlib.sha256(f"42:{t}".encode()).hexdigest())[:3]
    assert [r["track_id"] for r in rows] == expected
    assert {r["role"] for r in rows} == {"candidates"} and {r["feature_status"] for r in rows} == {"ok"}
    assert all(r["energy"] is not None for r in rows)


def test_training_with_the_catalog_source_draws_part_of_its_background_from_the_file(spark, csv_path, tmp_path):  # noqa: F811
    """steps.train wires the catalogue's sample into a liked-only week's background (one per liked song)."""
    from tests.recommend.kit import write_enriched
    from weekly_discovery.lake.layout import Lake
    from weekly_discovery.recommend import job as steps
    from weekly_discovery.settings.config import Model

    lake = Lake(str(tmp_path / "lake"))
    ds = "2026-11-30"
    liked = [row(f"L{i}", "liked", artist=f"a{i % 3}", position=i, energy=0.1 + i / 20) for i in range(4)]
    write_enriched(lake, ds, [*liked, row("e1", "candidates", artist="arE", energy=0.6)])
    model = Model(features=("energy", "danceability"), folds=2, grid="quick")
    card = steps.train(spark, steps.train_step(lake, ds, model, catalogue=csv_path))
    # 4 liked songs: the file's first 4 usable new songs by sha256("42:<id>") (c2, c4, rp, c3 by hand; e1, also
    # in the file, comes last) + e1, the week's own candidate
    assert card["training"]["by_kind"]["background"] == 5
    assert card["training"]["background"]["available"] == 5
