"""The demo uses the new sources by default: its config names no candidate playlist, and it prints the
picks once, each with its source, probability and reason, and the requests per discovery source."""

from __future__ import annotations

import json

from devtools import demo
from devtools.standin import StandIn, generate_demo_library
from weekly_discovery.lake import CANDIDATES, METRICS, Lake
from weekly_discovery.settings.config import load_config


def test_the_demo_config_has_no_candidate_or_disliked_playlist_and_discovers(tmp_path):
    library = generate_demo_library(seed=7, n_tracks=400)
    with StandIn(library) as standin:
        config = load_config(demo.write_config(library, standin, tmp_path / "demo.toml"), env={})
        assert config.sources_in("candidates") == ()
        assert config.discover.sources == ("reccobeats", "artists", "catalog")
        assert config.discover.catalog == str(tmp_path / "catalogue" / "tracks_features.csv")  # main writes it
        assert config.discover.reccobeats_url == standin.reccobeats_url
        assert {s.role for s in config.sources} == {"liked", "reference"}  # most people keep no disliked playlist


def test_pick_lines_show_each_pick_once_with_probability_and_reason_and_count_the_sources():
    rows = [{"rank": 1, "name": "One", "artists": ["Ann", "Bo"], "probability": 0.9, "source": "reccobeats",
             "reason": "ReccoBeats, from Two; 90% like"},
            {"rank": 2, "name": "Three", "artists": ["Ada"], "probability": 0.81234, "source": "artists",
             "reason": "new from Ada"},
            {"rank": 3, "name": "Four", "artists": [], "primary_artist_name": "Cy", "probability": 0.5,
             "source": "catalog", "source_name": "From your catalogue", "reason": "from your catalogue"},
            {"rank": 4, "name": "Five", "artists": ["Di"], "probability": 0.75, "source": "reccobeats",
             "reason": "ReccoBeats"}]
    lines = demo.pick_lines(rows)
    assert lines == [
        "  1. [reccobeats] One - Ann, Bo (0.900): ReccoBeats, from Two; 90% like",
        "  2. [artists] Three - Ada (0.812): new from Ada",
        "  3. [catalog] Four - Cy (0.500): from your catalogue",
        "  4. [reccobeats] Five - Di (0.750): ReccoBeats",
        "picks per source: artists 1, catalog 1, reccobeats 2",
    ]
    assert not any("from From" in line for line in lines)


def test_discover_lines_show_the_requests_per_source(tmp_path):
    lake = Lake(str(tmp_path))
    folder = lake.partition(CANDIDATES, "2026-11-23")
    folder.mkdir(parents=True)
    (folder / METRICS).write_text(json.dumps({"candidates": 40, "sources": {
        "reccobeats": {"requests": 3, "budget": 20, "found": 30, "new": 25, "status": "done", "note": ""},
        "artists": {"requests": 150, "budget": 150, "found": 20, "new": 15, "status": "budget",
                    "note": "the budget ran out"}}}))
    assert demo.discover_lines(lake, "2026-11-23") == [
        "reccobeats    3/20 requests, 30 songs offered, 25 new to you",
        "artists     150/150 requests, 20 songs offered, 15 new to you (stopped: the budget ran out)",
        f"candidates: 40 rows (song, source) in {folder}",
    ]
