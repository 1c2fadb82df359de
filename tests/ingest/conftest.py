"""Extraction runs the real spotipy client over real HTTP against the Spotify stand-in."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from devtools.standin import FaultConfig, StandIn, generate_demo_library, write_demo_config
from weekly_discovery.settings.config import Config, load_config
from weekly_discovery.spotify.client import RetryPolicy, SpotifyAPI
from weekly_discovery.spotify.credentials import SpotifyCredentials

DS1, DS2 = "2026-11-16", "2026-11-23"


def make_api(standin: StandIn, **kwargs: Any) -> SpotifyAPI:
    conn = json.loads(standin.connection_json())
    creds = SpotifyCredentials.from_connection_fields("spotify_default", conn["login"], conn["password"], conn["extra"])
    kwargs.setdefault("sleep", lambda seconds: None)  # honoured Retry-After would only slow the tests
    return SpotifyAPI(creds, **kwargs)


def make_config(standin: StandIn, tmp_path: Path, name: str = "lake") -> Config:
    path = write_demo_config(standin.library, tmp_path / f"{name}.toml")
    return load_config(path, env={"WEEKLY_DISCOVERY_LAKE": str(tmp_path / name)})


def lake_contents(root: str) -> dict[str, Any]:
    """Every raw file as parsed JSON, minus the run-specific fields (time, request counts)."""
    out = {}
    for path in sorted(Path(root, "raw").rglob("*.json")):
        data = json.loads(path.read_text())
        if path.name == "_manifest.json":
            data = {k: v for k, v in data.items() if k not in ("extracted_at", "requests")}
        out[str(path.relative_to(root))] = data
    return out


def pages(n: int, size: int = 50) -> int:
    return max(1, math.ceil(n / size))


@pytest.fixture
def library():
    return generate_demo_library(seed=7)


@pytest.fixture
def standin(library):
    with StandIn(library) as server:
        yield server


__all__ = ["DS1", "DS2", "FaultConfig", "RetryPolicy", "StandIn", "lake_contents", "make_api", "make_config", "pages"]
