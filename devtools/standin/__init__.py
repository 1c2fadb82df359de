"""A local stand-in for the Spotify Web API and ReccoBeats, serving a seeded demo library.

Tests, demos and benchmarks run the real pipeline (spotipy, OAuth refresh, paging, retries) against
it instead of api.spotify.com: ``python -m devtools.standin --print-connection``.
"""

from devtools.standin.library import (
    DemoLibrary,
    Playlist,
    PlaylistEntry,
    Track,
    generate_demo_library,
    scaled_library,
    write_demo_config,
)
from devtools.standin.server import FaultConfig, StandIn

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
