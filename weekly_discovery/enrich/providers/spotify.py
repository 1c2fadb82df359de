"""Spotify's own ``GET /audio-features?ids=`` (up to 100 ids per call), through spotipy.

Apps registered after 27 Nov 2024, and development-mode apps, get **403** on this endpoint
(spotipy issues #1173, #1197). The first 403 turns the provider off for the rest of the run, with one
warning, and the chain moves on to the next provider. Unknown ids come back as ``null`` entries.

spotipy's ``audio_features()`` returns the body's ``audio_features`` list; the stored body is that
list wrapped back into ``{"audio_features": [...]}``, which is the whole response object.
"""

from __future__ import annotations

import json
import warnings
from typing import Any, Sequence

from weekly_discovery.core.vocabulary import FEATURE_COLUMNS
from weekly_discovery.enrich.providers.base import BatchResult, BodySpec, ProviderContext, ProviderError, ProviderOff

NAME = "spotify"
BATCH_SIZE = 100  # GET /audio-features: at most 100 ids
BODY = BodySpec(array_field="audio_features", id_field="id")
FORBIDDEN_REASON = (
    "Spotify's /audio-features answers 403: apps registered after 27 Nov 2024 (and development-mode apps) "
    "lost this endpoint"
)


def parse_body(body: bytes, requested: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Rows of a stored body for the ids that were asked (null entries: unknown ids, left out)."""
    data = json.loads(body)
    entries = data.get("audio_features") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ProviderError("Spotify /audio-features body has no 'audio_features' list")
    wanted = set(requested)
    rows: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if isinstance(entry, dict) and entry.get("id") in wanted and entry["id"] not in rows:
            rows[entry["id"]] = {name: entry.get(name) for name in FEATURE_COLUMNS}
    return rows


class SpotifyFeatures:
    """Audio features from Spotify, under :class:`weekly_discovery.spotify.client.SpotifyAPI`'s retry policy."""

    name = NAME
    batch_size = BATCH_SIZE

    def __init__(self, api: Any):
        self.api = api
        self.identity = f"{api.credentials.api_base_url}audio-features (client {api.credentials.client_id})"

    def fetch(self, ids: Sequence[str]) -> BatchResult:
        from weekly_discovery.spotify.errors import Forbidden

        if not 0 < len(ids) <= BATCH_SIZE:
            raise ValueError(f"Spotify /audio-features takes 1..{BATCH_SIZE} ids, got {len(ids)}")
        before = self.api.requests_made
        try:
            with warnings.catch_warnings():
                # spotipy warns on every call that the endpoint is deprecated; the 403 handling says it once.
                warnings.simplefilter("ignore", DeprecationWarning)
                entries = self.api.call(self.api.sp.audio_features, list(ids))
        except Forbidden:
            raise ProviderOff(FORBIDDEN_REASON, requests=self.api.requests_made - before) from None
        if not isinstance(entries, list):
            raise ProviderError(f"Spotify /audio-features answered {type(entries).__name__}, not a list")
        body = json.dumps({"audio_features": entries}, separators=(",", ":")).encode()
        return BatchResult(
            body=body,
            rows=parse_body(body, ids),
            requests=self.api.requests_made - before,
            url=f"{self.api.credentials.api_base_url}audio-features",
        )


def build(context: ProviderContext) -> SpotifyFeatures:
    if context.spotify_api is None:
        raise ProviderError("the spotify provider needs a Spotify connection (none was given)")
    return SpotifyFeatures(context.spotify_api())

