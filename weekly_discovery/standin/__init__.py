"""A local stand-in for the Spotify Web API and ReccoBeats, serving a seeded demo library.

Tests, demos and benchmarks run the real pipeline (spotipy, OAuth refresh, paging, retries) against
it instead of api.spotify.com: ``python -m weekly_discovery.standin --print-connection``.
"""

from weekly_discovery.standin.library import (
    DemoLibrary,
    Playlist,
    PlaylistEntry,
    Track,
    generate_demo_library,
    scaled_library,
    write_demo_config,
)
from weekly_discovery.standin.server import FaultConfig, StandIn

__all__ = [
    "DemoLibrary",
    "FaultConfig",
    "Playlist",
    "PlaylistEntry",
    "StandIn",
    "Track",
    "generate_demo_library",
    "scaled_library",
    "write_demo_config",
]
