"""Publishing runs the real spotipy client over real HTTP against the Spotify stand-in."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest

from devtools.standin import StandIn, generate_demo_library
from weekly_discovery.lake import PUBLISHED, RECOMMENDATIONS, delta
from weekly_discovery.lake.layout import Lake
from weekly_discovery.spotify.client import SpotifyAPI
from weekly_discovery.spotify.credentials import SpotifyCredentials

DS, DS2 = "2026-11-23", "2026-11-30"
RECOMMENDATIONS_SCHEMA = pa.schema([
    ("rank", pa.int32()), ("track_id", pa.string()), ("uri", pa.string()), ("name", pa.string()),
    ("artists", pa.list_(pa.string())), ("primary_artist_id", pa.string()), ("primary_artist_name", pa.string()),
    ("probability", pa.float64()), ("source_key", pa.string()), ("source_name", pa.string()),
])


def make_api(standin: StandIn) -> SpotifyAPI:
    conn = json.loads(standin.connection_json())
    creds = SpotifyCredentials.from_connection_fields("spotify_default", conn["login"], conn["password"], conn["extra"])
    return SpotifyAPI(creds, sleep=lambda seconds: None)


def write_recommendations(lake: Lake, ds: str, track_ids: list[str]) -> list[str]:
    """Date ``ds`` of gold/recommendations as the score job writes it (the rows, then ``_metrics.json``);
    returns the URIs in rank order."""
    rows = [{"rank": i + 1, "track_id": t, "uri": f"spotify:track:{t}", "name": f"Song {i}", "artists": ["Someone"],
             "primary_artist_id": "a" * 22, "primary_artist_name": "Someone", "probability": 0.99 - i / 1000,
             "source_key": "playlist-" + "c" * 22, "source_name": "Discovery Mix"} for i, t in enumerate(track_ids)]
    delta.write_date(lake, RECOMMENDATIONS, ds, pa.Table.from_pylist(list(reversed(rows)), schema=RECOMMENDATIONS_SCHEMA))
    path = lake.partition(RECOMMENDATIONS, ds)
    path.mkdir(parents=True, exist_ok=True)  # a week with no rows has no data file
    metrics: dict[str, Any] = {"playlists": [{"source_key": "playlist-" + "c" * 22, "name": "Discovery Mix",
                                              "recommended": len(rows), "total": len(rows) + 5, "scored": len(rows) + 5}],
                               "recommended": len(rows), "model_version": "2026-11-16", "threshold": 0.5}
    (path / "_metrics.json").write_text(json.dumps(metrics))
    return [r["uri"] for r in rows]


def publish_record(lake: Lake, ds: str) -> dict[str, Any] | None:
    """The publish record of ``ds`` as stored: the JSON of the ``record`` column of its one gold/published row."""
    rows = delta.read_rows(lake, PUBLISHED, ds)
    assert len(rows) <= 1, rows
    return json.loads(rows[0]["record"]) if rows else None


@pytest.fixture
def library():
    """A fresh library per test: publishing adds playlists to it."""
    return generate_demo_library(seed=11, n_tracks=400)


@pytest.fixture
def standin(library):
    with StandIn(library) as server:
        yield server


@pytest.fixture
def lake(tmp_path):
    return Lake(str(tmp_path / "lake"))
