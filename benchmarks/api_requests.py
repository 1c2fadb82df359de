"""How many Spotify requests ingest costs, against the minimum, for libraries of growing size.

    .venv/bin/python benchmarks/api_requests.py [--sizes 1000 10000 100000]

Runs the real extraction (spotipy over HTTP) against the stand-in and prints, per library size:
requests of the first run, the minimum (ceil(n/50) pages per source + 1 metadata call per playlist
+ 1 for /me), the requests of an unchanged rerun a week later, and of a week with 30 new likes.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import tempfile
import time
from pathlib import Path

from weekly_discovery.config import load_config
from weekly_discovery.extract import extract_library
from weekly_discovery.spotify.client import SpotifyAPI
from weekly_discovery.spotify.credentials import SpotifyCredentials
from weekly_discovery.standin import StandIn, scaled_library, write_demo_config


def api_for(standin: StandIn) -> SpotifyAPI:
    conn = json.loads(standin.connection_json())
    return SpotifyAPI(SpotifyCredentials.from_connection_fields("bench", conn["login"], conn["password"], conn["extra"]))


def measure(n: int, workdir: Path) -> dict[str, float]:
    library = scaled_library(n, seed=5)
    with StandIn(library) as standin:
        config = load_config(write_demo_config(library, workdir / f"{n}.toml"),
                             env={"WEEKLY_DISCOVERY_LAKE": str(workdir / f"lake-{n}")})
        api = api_for(standin)
        playlists = [s for s in config.sources if s.kind == "playlist"]
        minimum = 1 + math.ceil(n / 50) + sum(
            1 + max(1, math.ceil(len(library.playlists[s.spotify_id].items) / 50)) for s in playlists)
        started = time.monotonic()
        extract_library(api, config.lake, config, "2026-11-16")
        first_seconds = time.monotonic() - started
        first = standin.count("/v1/")
        standin.reset_counts()
        extract_library(api, config.lake, config, "2026-11-23")
        unchanged = standin.count("/v1/")
        saved = {t for _, t in library.saved}
        for track_id in [t for t in library.tracks if t not in saved][:30]:
            library.save_track(track_id)
        standin.reset_counts()
        extract_library(api, config.lake, config, "2026-11-30")
        new_likes = standin.count("/v1/")
    return {"n": n, "sources": len(config.sources), "first": first, "minimum": minimum,
            "first_s": first_seconds, "unchanged": unchanged, "new_likes": new_likes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print("| liked songs | sources | first run requests | minimum | first run s | unchanged week | week with 30 new likes |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            r = measure(n, Path(tmp))
            print(f"| {r['n']:,} | {r['sources']} | {r['first']:,} | {r['minimum']:,} | {r['first_s']:.1f} | "
                  f"{r['unchanged']} | {r['new_likes']} |")


if __name__ == "__main__":
    main()
