"""How many requests each discovery source makes in a week, against its budget, for a 1k and a 10k library.

    .venv/bin/python -m benchmarks.discovery_requests [--sizes 1000 10000]

Per library size n (``scaled_library(n)``: n Liked Songs, small playlists, and albums of the most-liked
artists the user has not heard), against the stand-in over real HTTP with the real clients (spotipy for
Spotify, requests for ReccoBeats), the discovery stage's own entry point
(:func:`weekly_discovery.discover.gather.gather`) runs the default sources (``reccobeats``, ``artists``,
``playlists``) with the default budgets, twice:

1. week 1, on an empty lake;
2. week 2, a week later on the same library: album track lists read in week 1 are kept in the lake (the
   ``silver/album_tracks`` Delta table), so the ``artists`` source asks only about albums it has not seen. The baseline beside it is what week 2 would
   cost without that cache (every album read again: week 1's count).

The requests are counted twice: by the source's budget (what the stage logs) and by the stand-in (what
reached the server, retries included), per endpoint. A source over its budget is printed as MISSED.
The silver tracks the stage reads are written from the library as the ingest would (no Spark job here).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from devtools.standin import StandIn, scaled_library
from weekly_discovery.discover.gather import gather
from weekly_discovery.discover.sources.base import Clients
from weekly_discovery.lake import SILVER_TRACKS, Lake, delta
from weekly_discovery.settings.config import Discover
from weekly_discovery.spotify.client import SpotifyAPI
from weekly_discovery.spotify.credentials import SpotifyCredentials

WEEKS = ("2026-11-16", "2026-11-23")
ENDPOINTS = {"reccobeats": ("/reccobeats",), "artists": ("/v1/artists/", "/v1/albums/"), "playlists": ()}


def write_silver_tracks(lake: Lake, ds: str, library) -> int:
    """Date ``ds`` of ``silver/tracks`` (a Delta commit) with the columns the discovery stage reads, from the
    library's sources."""
    rows = []

    def add(track_id: str, role: str, key: str, position: int, added_at: str, source_id, source_name: str):
        track = library.tracks[track_id]
        rows.append({
            "track_id": track.id, "name": track.name, "artist_ids": [a.id for a in track.artists],
            "artist_names": [a.name for a in track.artists], "primary_artist_id": track.artists[0].id,
            "primary_artist_name": track.artists[0].name,
            "added_at": dt.datetime.fromisoformat(added_at.replace("Z", "+00:00")),
            "role": role, "source_key": key, "source_id": source_id, "source_name": source_name,
            "position": position,
        })

    for i, (added_at, track_id) in enumerate(library.saved):
        add(track_id, "liked", "saved_tracks", i, added_at, None, "Liked Songs")
    for role, sources in library.roles.items():
        for source in sources:
            if source == "saved_tracks":
                continue
            playlist = library.playlists[source]
            for i, entry in enumerate(e for e in playlist.items if e.kind == "track"):
                add(entry.track_id, role, f"playlist-{playlist.id}", i, entry.added_at, playlist.id, playlist.name)
    delta.write_date(lake, SILVER_TRACKS, ds, pa.Table.from_pylist(rows))
    return len(rows)


def _week(standin: StandIn, lake: Lake, ds: str, settings: Discover, clients: Clients) -> dict:
    standin.reset_counts()
    started = time.monotonic()
    result = gather(lake, ds, settings=settings, seed=42, clients=clients)
    seconds = time.monotonic() - started
    out = {"seconds": round(seconds, 1), "candidates": result.candidates, "sources": {}}
    for s in result.sources:
        served = sum(standin.count(prefix) for prefix in ENDPOINTS.get(s.source, ()))
        out["sources"][s.source] = {"requests": s.requests, "served": served, "budget": s.budget,
                                    "found": s.found, "new": s.new, "status": s.status}
    return out


def measure(n: int, workdir: Path) -> dict:
    library = scaled_library(n)
    lake = Lake(str(workdir / f"lake-{n}"))
    with StandIn(library) as standin:
        conn = json.loads(standin.connection_json())
        api = SpotifyAPI(SpotifyCredentials.from_connection_fields("bench", conn["login"], conn["password"],
                                                                    conn["extra"]))
        settings = Discover(reccobeats_url=standin.reccobeats_url)
        clients = Clients(spotify=api)
        weeks = {}
        for ds in WEEKS:
            library_rows = write_silver_tracks(lake, ds, library)
            weeks[ds] = _week(standin, lake, ds, settings, clients)
    return {"n": n, "library_rows": library_rows, "weeks": weeks}


def table_lines(results: list[dict]) -> list[str]:
    first, second = WEEKS
    lines = [
        "| liked songs | source | budget | week 1: requests (served) | week 2: requests (served) "
        "| week 2 without the album cache (baseline) | songs found / new, week 1 | within budget |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        w1, w2 = r["weeks"][first]["sources"], r["weeks"][second]["sources"]
        for name, s1 in w1.items():
            s2 = w2[name]
            within = s1["requests"] <= s1["budget"] and s2["requests"] <= s2["budget"]
            verdict = "MET" if within else (f"MISSED by {max(s1['requests'], s2['requests']) - s1['budget']} "
                                            "requests")
            lines.append(f"| {r['n']:,} | {name} | {s1['budget']} | {s1['requests']} ({s1['served']}) "
                         f"| {s2['requests']} ({s2['served']}) | {s1['requests'] if name == 'artists' else '-'} "
                         f"| {s1['found']:,} / {s1['new']:,} | {verdict} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(n, Path(tmp)) for n in args.sizes]
    print(f"discovery requests per source and week (load average {load[0]:.2f}, {os.cpu_count()} cores)")
    print("\n".join(table_lines(results)))
    for r in results:
        for ds, week in r["weeks"].items():
            print(f"  {r['n']:,} liked songs, {ds}: {week['candidates']:,} candidate rows in {week['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
