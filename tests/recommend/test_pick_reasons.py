"""The week's picks get their reasons from two small collects: the picks' rows and the library's.

A library small enough to check by hand: liked L1 Harbor (energy 0.2, danceability 0.3) and L2 Comet
(0.8, 0.7), both by Ann (A1); disliked D1 (0.5, 0.9); L3, liked but without features. The statistics
come from L1, L2 and D1. The ReccoBeats pick R1 (0.25, 0.35), seeded by L1 and L2, is nearest L1; the
artists pick A1X (0.75, 0.75), an album by Ann, is nearest L2; the playlist pick P1 has no features.
"""

from __future__ import annotations

import pytest

from weekly_discovery.recommend.scoring import score as sc

pytestmark = pytest.mark.spark

FEATURES = ("energy", "danceability")
SCHEMA = ("track_id string, source_key string, role string, name string, artist_names array<string>, "
          "primary_artist_id string, feature_status string, energy double, danceability double, "
          "seed_track_ids array<string>, seed_artist_id string, seed_artist_name string, album_name string, "
          "source_name string")


def row(track, key, role, name, artist, status="ok", energy=None, dance=None, seeds=None, seed_artist=None,
        seed_artist_name=None, album=None, source_name=None):
    return (track, key, role, name, [artist[1]], artist[0], status, energy, dance, seeds, seed_artist,
            seed_artist_name, album, source_name)


ANN, BO, CY = ("A1", "Ann"), ("A2", "Bo"), ("A3", "Cy")


@pytest.fixture(scope="module")
def enriched(spark):
    return spark.createDataFrame([
        row("L1", "saved_tracks", "liked", "Harbor", ANN, energy=0.2, dance=0.3),
        row("L1", "playlist-x", "liked", "Harbor", ANN, energy=0.2, dance=0.3),  # a second liked source
        row("L2", "saved_tracks", "liked", "Comet", ANN, energy=0.8, dance=0.7),
        row("L3", "saved_tracks", "liked", "Lantern", ANN, status="missing"),
        row("D1", "playlist-d", "disliked", "Signal", BO, energy=0.5, dance=0.9),
        row("R1", "discover-reccobeats", "candidates", "Ocean", CY, energy=0.25, dance=0.35, seeds=["L1", "L2"]),
        row("A1X", "discover-artists", "candidates", "Tide", ANN, energy=0.75, dance=0.75, seed_artist="A1",
            seed_artist_name="Ann", album="Blue"),
        row("P1", "playlist-c", "candidates", "Mirror", BO, status="missing", source_name="Fresh Finds"),
        row("R2", "discover-reccobeats", "candidates", "Not picked", CY, energy=0.1, dance=0.1, seeds=["L1"]),
    ], SCHEMA)


PICKS = [
    {"track_id": "R1", "source_key": "discover-reccobeats", "source": "reccobeats", "probability": 0.8},
    {"track_id": "A1X", "source_key": "discover-artists", "source": "artists", "probability": 0.7},
    {"track_id": "P1", "source_key": "playlist-c", "source": "playlists", "probability": 0.6},
]


def test_each_pick_names_its_origin_its_probability_and_its_nearest_liked_songs(spark, enriched):
    context = spark.sparkContext
    context.setJobGroup("pick-reasons-test", "pick_reasons")
    try:
        reasons = sc.pick_reasons(enriched, PICKS, FEATURES)
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)
    assert reasons == {
        # z-scores over L1, L2, D1: energy mean 0.5 sd 0.3; danceability mean 0.6333 sd 0.3055
        "R1": "ReccoBeats, from Harbor and Comet; 80% like; close to Harbor (Ann), Comet (Ann)",
        "A1X": "new from Ann (Blue), 3 songs in your library; 70% like; close to Comet (Ann), Harbor (Ann)",
        "P1": "from your playlist Fresh Finds; 60% like",  # no features: no neighbours named
        # (Ann has three liked songs: L3, without features, counts too)
    }
    # the picks' rows and the library's rows: two collects (a broadcast of the picks' keys may add one job
    # each); the per-lookup queries this replaced ran six
    jobs = context.statusTracker().getJobIdsForGroup("pick-reasons-test")
    assert len(jobs) <= 3, jobs


def test_no_picks_ask_spark_nothing(spark, enriched):
    assert sc.pick_reasons(enriched, [], FEATURES) == {}
