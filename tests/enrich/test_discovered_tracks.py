"""The discovered candidates join tracks_enriched as role ``candidates`` (hand-written rows in and out).

The candidates go through the lake as in a run: committed to ``silver/candidates`` by the discover stage's
writer (delta-rs), read back by Spark's Delta reader as the enrich job does (the date's rows, no ``ds``)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tests.discover.kit import sid
from tests.enrich.lakekit import SILVER_SCHEMA, silver_row
from weekly_discovery.discover.store import write_candidates
from weekly_discovery.enrich.transforms import PROVENANCE_COLUMNS, with_discovered
from weekly_discovery.lake import CANDIDATES, Lake
from weekly_discovery.spark import delta as spark_delta

pytestmark = pytest.mark.spark

DS = "2026-11-23"


def candidate(source, rank, name, **provenance):
    base = {"ds": DS, "source": source, "rank": rank, "track_id": sid(name),
            "track_uri": f"spotify:track:{sid(name)}", "name": f"Song {name}", "artist_ids": ["ArtX", "ArtY"],
            "artist_names": ["X", "Y"], "seed_track_ids": [], "seed_artist_id": None, "seed_artist_name": None,
            "album_id": None, "album_name": None, "playlist_id": None, "playlist_name": None, "catalogue": None,
            "reccobeats_id": None}
    return base | provenance


def frames(spark, lake, silver_rows, candidate_rows):
    silver = spark.createDataFrame(pa.Table.from_pylist(silver_rows, schema=SILVER_SCHEMA).to_pandas(),
                                   schema=None).select(*SILVER_SCHEMA.names)
    write_candidates(lake, DS, candidate_rows, {})
    return silver, spark_delta.read_date(spark, lake, CANDIDATES, DS)


def test_discovered_songs_not_in_the_library_become_candidate_rows_with_their_provenance(spark, tmp_path):
    silver_rows = [silver_row(sid("liked1"), "liked", 0), silver_row(sid("pl1"), "candidates", 0)]
    candidate_rows = [
        candidate("reccobeats", 0, "new1", seed_track_ids=[sid("liked1")], reccobeats_id="rb-1"),
        candidate("reccobeats", 1, "liked1", seed_track_ids=[sid("liked1")]),  # in the library: dropped
        candidate("artists", 0, "new1", seed_artist_id="ArtX", seed_artist_name="X", album_id="AlbX",
                  album_name="Album X"),
        candidate("playlists", 0, "pl1", playlist_id="Candidates"),  # already there with its playlist
    ]
    silver, candidates = frames(spark, Lake(str(tmp_path / "lake")), silver_rows, candidate_rows)
    assert "ds" not in candidates.columns and candidates.count() == 4
    out = with_discovered(silver, candidates)
    assert out.columns == [*SILVER_SCHEMA.names, *PROVENANCE_COLUMNS]
    rows = {(r["track_id"], r["source_key"]): r.asDict() for r in out.collect()}
    assert set(rows) == {(sid("liked1"), "saved_tracks"), (sid("pl1"), "playlist-Candidates00000000000000"),
                         (sid("new1"), "discover-reccobeats"), (sid("new1"), "discover-artists")}
    recco = rows[(sid("new1"), "discover-reccobeats")]
    assert {k: recco[k] for k in ("role", "source_name", "source_id", "position", "primary_artist_id",
                                  "primary_artist_name", "seed_track_ids", "reccobeats_id", "added_at")} == {
        "role": "candidates", "source_name": "ReccoBeats recommendations", "source_id": None, "position": 0,
        "primary_artist_id": "ArtX", "primary_artist_name": "X", "seed_track_ids": [sid("liked1")],
        "reccobeats_id": "rb-1", "added_at": None}
    artists = rows[(sid("new1"), "discover-artists")]
    assert (artists["source_name"], artists["seed_artist_id"], artists["seed_artist_name"], artists["album_id"],
            artists["album_name"]) == ("New from your artists", "ArtX", "X", "AlbX", "Album X")
    liked = rows[(sid("liked1"), "saved_tracks")]
    assert [liked[c] for c in PROVENANCE_COLUMNS] == [None] * 5


def test_without_candidates_the_library_alone_gets_null_provenance(spark, tmp_path):
    silver, _ = frames(spark, Lake(str(tmp_path / "lake")), [silver_row(sid("liked1"), "liked", 0)],
                       [candidate("artists", 0, "new1")])
    out = with_discovered(silver, None)
    assert out.count() == 1 and out.columns[-5:] == list(PROVENANCE_COLUMNS)
