"""The candidate sources: one module each, registered here by name (adding a source is one module + one line).

Each module has ``build(settings) -> CandidateSource`` (see :mod:`.base`). Importing this package does
not import the sources: :func:`build_source` does, when a run asks for one.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from weekly_discovery.discover.sources.base import CandidateSource
    from weekly_discovery.settings.config import Discover

SOURCES: dict[str, str] = {
    "reccobeats": "weekly_discovery.discover.sources.reccobeats",
    "artists": "weekly_discovery.discover.sources.artists",
    "playlists": "weekly_discovery.discover.sources.playlists",
    "catalog": "weekly_discovery.discover.sources.catalog",
}
"""Source name -> module. ``catalog`` (a downloaded track catalogue) only records the file here: Spark
reads its rows in the score job."""
SOURCE_NAMES = tuple(SOURCES)


def build_source(name: str, settings: "Discover") -> "CandidateSource":
    return importlib.import_module(SOURCES[name]).build(settings)
