"""The library report's Spark transforms on tiny hand-written tables.

Expected values are counted by hand (bins, artists, coverage) or computed independently with
numpy (the correlation matrix), never by the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from weekly_discovery.report import transforms as tr
from weekly_discovery.report.compute import ReportSettings, build_report, correlation_section

pytestmark = pytest.mark.spark

FEATURES = ("danceability", "energy", "speechiness", "instrumentalness", "acousticness", "liveness", "valence",
            "loudness", "tempo", "key", "mode", "time_signature")
COLUMNS = ("track_id", "role", "source_key", "source_name", "primary_artist_id", "primary_artist_name",
           "feature_status", "feature_source", *FEATURES)
SCHEMA = ", ".join([f"{c} string" for c in COLUMNS[:8]]
                   + [f"{f} double" for f in FEATURES[:9]] + ["key int", "mode int", "time_signature int"])
REF = "playlist-" + "R" * 22
REF2 = "playlist-" + "S" * 22


def tid(n: int) -> str:
    return f"t{n:021d}"


def row(n, role="liked", source="saved_tracks", status="ok", artist=("a1", "Artist One"), name=None, **features):
    """A tracks_enriched row; unspecified features are mid-range values, null unless status is ok."""
    values = {"danceability": 0.5, "energy": 0.5, "speechiness": 0.05, "instrumentalness": 0.0,
              "acousticness": 0.3, "liveness": 0.1, "valence": 0.5, "loudness": -7.0, "tempo": 120.0,
              "key": 5, "mode": 1, "time_signature": 4, **features}
    if status != "ok":
        values = {f: None for f in FEATURES}
    return (tid(n), role, source, name or ("Liked Songs" if source == "saved_tracks" else "Some playlist"),
            artist[0], artist[1], status, "reccobeats" if status == "ok" else None, *[values[f] for f in FEATURES])


def frame(spark, rows):
    return spark.createDataFrame(rows, SCHEMA)


def test_bin_counts_match_hand_counts_with_edges(spark):
    rows = [
        row(1, danceability=0.0),            # bin 0 (lowest edge)
        row(2, danceability=0.05),           # bin 0
        row(3, danceability=0.1),            # exactly on the 0.1 edge: bin 1 (the range that starts there)
        row(4, danceability=0.3),            # 0.3 * 10 = 2.9999999999999996 in floating point: still bin 3
        row(5, danceability=0.35),           # bin 3
        row(6, danceability=0.95),           # bin 9
        row(7, danceability=1.0),            # 1.0 goes into the last range (0.9-1.0)
        row(7, source="playlist-" + "L" * 22, danceability=1.0),  # the same liked track twice: counted once
        row(8, status="missing"),            # no features: not counted
        row(9, role="disliked", danceability=0.5),  # not a distribution group
        row(10, role="reference", source=REF, danceability=0.7),
        row(11, role="reference", source=REF, danceability=0.75),
    ]
    counts = tr.bin_counts(tr.distribution_groups(frame(spark, rows), ["danceability"]), ["danceability"], 0.1)
    got = {(r["group"], r["bin"]): r["count"] for r in counts.collect()}
    assert got == {("liked", 0): 2, ("liked", 1): 1, ("liked", 3): 2, ("liked", 9): 2, (REF, 7): 2}


def test_bin_width_quarter(spark):
    rows = [row(1, energy=0.25), row(2, energy=0.24), row(3, energy=0.5), row(4, energy=0.75), row(5, energy=1.0)]
    counts = tr.bin_counts(tr.distribution_groups(frame(spark, rows), ["energy"]), ["energy"], 0.25)
    assert {r["bin"]: r["count"] for r in counts.collect()} == {0: 1, 1: 1, 2: 1, 3: 2}


def test_top_artists_counts_distinct_liked_tracks_above_the_threshold(spark):
    a, b, c, d = ("A" * 22, "Zed"), ("B" * 22, "Abba"), ("C" * 22, "Cee"), ("D" * 22, "Dee")
    e = ("E" * 22, "Eve")
    rows = [row(n, artist=a, status="missing") for n in range(1, 6)]          # A: 5 (features not needed)
    rows += [row(1, source="playlist-" + "L" * 22, artist=a)]                 # duplicate of track 1: still 5
    rows += [row(n, artist=b) for n in range(11, 15)]                         # B: 4
    rows += [row(n, artist=e) for n in range(31, 35)]                         # E: 4 (ties with B: by name)
    rows += [row(n, artist=c) for n in range(21, 24)]                         # C: 3, not more than 3
    rows += [row(n, role="disliked", source=REF2, artist=d) for n in range(41, 47)]  # D: disliked only
    got = [(r["artist_id"], r["name"], r["tracks"]) for r in tr.top_artists(frame(spark, rows), 3).collect()]
    assert got == [(a[0], "Zed", 5), (b[0], "Abba", 4), (e[0], "Eve", 4)]


def test_correlation_equals_numpy(spark):
    rng = np.random.default_rng(11)
    features = ["danceability", "energy", "loudness", "tempo", "key", "mode"]
    n = 40
    energy = rng.uniform(0, 1, n)
    data = np.column_stack([
        rng.uniform(0, 1, n),
        energy,
        -20 + 15 * energy + rng.normal(0, 2, n),  # loudness follows energy
        rng.uniform(60, 180, n),
        rng.integers(-1, 12, n),
        rng.integers(0, 2, n),
    ])
    rows = []
    for i, values in enumerate(data):
        role = "liked" if i % 3 else "disliked"
        rows.append(row(i, role=role, source="saved_tracks" if role == "liked" else REF2,
                        **{f: (int(v) if f in ("key", "mode") else float(v)) for f, v in zip(features, values)}))
    # rows the matrix must leave out
    rows.append(row(1, source="playlist-" + "L" * 22,  # the same track again from another liked source
                    **{f: (int(v) if f in ("key", "mode") else float(v)) for f, v in zip(features, data[1])}))
    rows.append(row(100, role="reference", source=REF, danceability=0.99, energy=0.01))
    rows.append(row(101, status="quarantined"))
    rows.append(row(102, tempo=None))  # tempo not detected: the row lacks a feature
    tracks = frame(spark, rows)
    n_rows, matrix = tr.correlation(tr.correlation_input(tracks, features, ("liked", "disliked")), features)
    got = np.array(matrix)
    expected = np.corrcoef(data, rowvar=False)
    assert n_rows == n  # each track once, the quarantined one and the one without tempo left out
    assert got.shape == (6, 6)
    assert np.allclose(got, expected, rtol=0, atol=1e-9)


def test_a_constant_feature_has_no_correlation_row_or_column(spark):
    features = ["danceability", "energy", "mode"]
    values = [(0.1, 0.2, 1), (0.5, 0.4, 1), (0.9, 0.9, 1)]  # mode is 1 everywhere: zero variance
    tracks = frame(spark, [row(i, danceability=d, energy=e, mode=m) for i, (d, e, m) in enumerate(values)])
    n_rows, matrix = tr.correlation(tr.correlation_input(tracks, features, ("liked",)), features)
    assert n_rows == 3
    assert matrix[0][0] == matrix[1][1] == 1.0
    assert matrix[0][1] == matrix[1][0] == pytest.approx(np.corrcoef([0.1, 0.5, 0.9], [0.2, 0.4, 0.9])[0, 1], abs=1e-12)
    assert all(np.isnan(matrix[2][j]) and np.isnan(matrix[j][2]) for j in range(3))
    section = correlation_section(tracks, ReportSettings(correlation_features=tuple(features),
                                                         correlation_roles=("liked",)))
    assert section["matrix"][2] == [None, None, None] and section["matrix"][0][2] is None  # JSON: null


def test_build_report_end_to_end_on_a_small_table(spark):
    rows = [
        row(1, danceability=0.62, energy=0.9, loudness=-4.0, artist=("A" * 22, "<img src=x onerror=alert(1)>")),
        row(2, danceability=0.65, energy=0.8, loudness=-5.0, artist=("A" * 22, "<img src=x onerror=alert(1)>")),
        row(3, danceability=0.2, energy=0.3, loudness=-12.0),
        row(4, danceability=0.9, energy=0.4, loudness=-11.0),
        row(5, status="missing"),
        row(6, role="disliked", source=REF2, danceability=0.1, energy=0.2, loudness=-15.0),
        row(7, role="reference", source=REF, name="Top Hits", danceability=0.7),
        row(8, role="reference", source=REF, name="Top Hits", danceability=0.71),
        row(9, role="reference", source=REF, name="Top Hits", status="quarantined"),
        row(10, role="candidates", source="playlist-" + "C" * 22, status="pending"),
    ]
    settings = ReportSettings(top_artist_min_tracks=1, strong_correlation=0.9,
                              correlation_features=("danceability", "energy", "loudness"))
    report = build_report(frame(spark, rows), "2026-11-23", settings, enrichment_metrics={"gates": {"checked": 3}})
    d = report["distributions"]
    assert [(g["key"], g["label"], g["tracks"], g["with_features"]) for g in d["groups"]] == [
        ("liked", "Your liked songs", 5, 4), (REF, "Top Hits", 3, 2)]
    dance = d["by_feature"]["danceability"]
    assert dance["liked"]["counts"] == [0, 0, 1, 0, 0, 0, 2, 0, 0, 1]
    assert dance["liked"]["shares"] == [0, 0, 0.25, 0, 0, 0, 0.5, 0, 0, 0.25]
    assert sum(dance[REF]["shares"]) == pytest.approx(1.0)
    assert d["readings"]["danceability"]["windows"][REF] == {"low": 0.7, "high": 0.8, "share": 1.0,
                                                             "concentrated": True}
    # liked: 0.25 in 0.2-0.3, 0.5 in 0.6-0.7, 0.25 in 0.9-1.0; no run shorter than 0.6-1.0 holds 60%
    assert d["readings"]["danceability"]["line"] == (
        "danceability: your liked songs are spread over 0.6-1.0 (75%); \u201cTop Hits\u201d is concentrated "
        "in 0.7-0.8 (100%).")
    assert report["top_artists"]["artists"] == [  # liked tracks 3 and 4, and 5 without features
        {"artist_id": "a1", "name": "Artist One", "tracks": 3},
        {"artist_id": "A" * 22, "name": "<img src=x onerror=alert(1)>", "tracks": 2}]
    corr = report["correlation"]
    assert corr["rows"] == 5  # liked 1-4 and disliked 6
    data = np.array([[0.62, 0.9, -4.0], [0.65, 0.8, -5.0], [0.2, 0.3, -12.0], [0.9, 0.4, -11.0], [0.1, 0.2, -15.0]])
    assert np.allclose(corr["matrix"], np.corrcoef(data, rowvar=False), atol=1e-9)
    assert [(p["a"], p["b"]) for p in corr["strong_pairs"]] == [("energy", "loudness")]
    cov = report["coverage"]
    assert cov["roles"]["liked"] == {"tracks": 5, "with_features": 4, "coverage": 0.8,
                                     "by_status": {"missing": 1, "ok": 4}, "by_source": {"reccobeats": 4}}
    assert list(cov["roles"]) == ["liked", "disliked", "reference", "candidates"]
    assert cov["roles"]["candidates"]["by_status"] == {"pending": 1}
    assert cov["library"]["tracks"] == 10 and cov["library"]["with_features"] == 7
    assert cov["enrichment"]["gates"] == {"checked": 3}
