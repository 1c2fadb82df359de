"""Enrichment unit tests: the real providers over real HTTP against the stand-in, a lake in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devtools.standin import FaultConfig, StandIn, generate_demo_library
from weekly_discovery.enrich.providers.base import ProviderContext
from weekly_discovery.lake.layout import Lake
from weekly_discovery.settings.config import Enrichment
from weekly_discovery.spotify.client import SpotifyAPI
from weekly_discovery.spotify.credentials import SpotifyCredentials

D1, D2 = "2026-11-16", "2026-11-23"


def make_api(standin: StandIn, **kwargs: Any) -> SpotifyAPI:
    """The real SpotifyAPI, built from the stand-in's Airflow connection JSON."""
    conn = json.loads(standin.connection_json())
    creds = SpotifyCredentials.from_connection_fields("spotify_default", conn["login"], conn["password"], conn["extra"])
    kwargs.setdefault("sleep", lambda seconds: None)
    return SpotifyAPI(creds, **kwargs)


def context(standin: StandIn, enrichment: Enrichment, sleeps: list[float] | None = None) -> ProviderContext:
    """How the fetch task builds providers, pointed at the stand-in; sleeps are recorded, not slept."""
    record = sleeps.append if sleeps is not None else (lambda seconds: None)
    return ProviderContext(enrichment, spotify_api=lambda: make_api(standin), sleep=record)


def enrichment(standin: StandIn, providers=("spotify", "reccobeats"), **kwargs: Any) -> Enrichment:
    return Enrichment(providers=tuple(providers), reccobeats_url=standin.reccobeats_url, **kwargs)


def feature_requests(standin: StandIn) -> dict[str, int]:
    return {"spotify": standin.count("GET /v1/audio-features"),
            "reccobeats": standin.count("GET /reccobeats/v1/audio-features")}


def asked_batches(lake: Lake, provider: str, ds: str) -> list[list[str]]:
    """The ids of each raw batch, as the request files record them."""
    folder = lake.raw_features_partition(provider, ds)
    return [json.loads(p.read_text())["ids"] for p in sorted(folder.glob("batch-*.request.json"))]


@pytest.fixture(scope="module")
def demo():
    """A small seeded library: ~170 tracks in the user's sources, some unknown to each provider."""
    return generate_demo_library(seed=11, n_tracks=400)


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(str(tmp_path / "lake"))


@pytest.fixture
def standin(demo):
    with StandIn(demo) as server:
        yield server


@pytest.fixture
def forbidden(demo):
    """Spotify as a new app sees it: /audio-features answers 403."""
    with StandIn(demo, audio_features="forbidden") as server:
        yield server


__all__ = ["D1", "D2", "FaultConfig", "StandIn", "asked_batches", "context", "enrichment", "feature_requests",
           "make_api"]
