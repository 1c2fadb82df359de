"""The audio-feature provider interface and the registry of providers.

A provider answers "what are the audio features of these Spotify track ids?" in batches. Two kinds
exist:

* **API providers** (``spotify``, ``reccobeats``): a module with ``NAME``, ``BATCH_SIZE``, ``BODY``
  (how the Spark job reads a stored response body), ``parse_body(body, requested)`` and
  ``build(context) -> FeatureProvider``. The fetch task asks them for the ids still unresolved and
  stores each response verbatim in the raw layer.
* **the file snapshot** (``file``): a CSV or Parquet file keyed by track id, joined by a Spark job
  (``jobs/lookup_features_file.py``) because it can hold millions of rows.

Adding an API provider is one module plus one line in :data:`API_PROVIDERS` (and its name in
``config.PROVIDERS``, which validates the user's ``enrichment.providers``).
"""

from __future__ import annotations

import importlib
import re
import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence

from weekly_discovery.core.errors import TransientError, UserError
from weekly_discovery.core.spotify_ids import SPOTIFY_ID_PATTERN
from weekly_discovery.core.vocabulary import FEATURE_COLUMNS
from weekly_discovery.settings.config import Enrichment

if TYPE_CHECKING:
    import requests

    from weekly_discovery.spotify.client import SpotifyAPI

API_PROVIDERS: dict[str, str] = {
    "spotify": "weekly_discovery.enrich.providers.spotify",
    "reccobeats": "weekly_discovery.enrich.providers.reccobeats",
}
"""API provider name -> module. The registry: one line per provider."""

FILE_PROVIDER = "file"
"""The snapshot provider, resolved by the Spark look-up job instead of HTTP calls."""

# A Spotify web link to a track, as ReccoBeats' ``href`` carries it. The same pattern is used by
# Python (re) and by Spark (Java regex in regexp_extract), so both map rows back identically.
SPOTIFY_TRACK_HREF_PATTERN = rf"^https?://open\.spotify\.com/(?:intl-[a-z]{{2}}/)?track/({SPOTIFY_ID_PATTERN})(?:[/?#].*)?$"
_HREF_RE = re.compile(SPOTIFY_TRACK_HREF_PATTERN)


def spotify_id_from_href(href: Any) -> str | None:
    """The track id in ``https://open.spotify.com/track/<id>``, or None."""
    if not isinstance(href, str):
        return None
    match = _HREF_RE.match(href.strip())
    return match.group(1) if match else None


@dataclass(frozen=True)
class BatchResult:
    """One answered batch: the response body verbatim, and the rows it holds for the ids asked."""

    body: bytes
    rows: Mapping[str, Mapping[str, Any]]  # Spotify track id -> {feature name: value as sent}
    requests: int  # HTTP requests this batch took, retries included
    url: str = ""  # the endpoint (no query, no secrets), for the record


class ProviderOff(UserError):
    """The provider cannot answer during this run (e.g. Spotify's 403); the chain moves on."""

    def __init__(self, reason: str, requests: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.requests = requests


class ProviderUnavailable(TransientError, RuntimeError):
    """A provider kept failing through every retry: transient, the task should be retried."""


class ProviderError(UserError, RuntimeError):
    """A provider answered something a retry cannot fix (e.g. 400 for our request)."""


class AllProvidersFailed(UserError, RuntimeError):
    """Every provider of the chain refused this run (401/403/404-like answers): no features at all.

    Different from providers that answered "unknown id" (a coverage matter, checked per role by the
    enrich job): here the configuration or the service is wrong, and retrying the task would get the
    same answers, so it fails at once with each provider's answer and what to change.
    """


class FeatureProvider(Protocol):
    """What the fetch task needs from an API provider."""

    name: str
    batch_size: int
    identity: str  # where it asks, e.g. the endpoint and client id (no secrets); recorded in manifests

    def fetch(self, ids: Sequence[str]) -> BatchResult:
        """Ask for at most ``batch_size`` ids; raise :class:`ProviderOff` when the provider is unusable."""
        ...


@dataclass(frozen=True)
class BodySpec:
    """How the Spark job reads one stored response body of a provider.

    The body is a JSON object whose ``array_field`` lists one object per known track (null entries
    allowed). ``id_field`` holds the Spotify id, or, with ``id_pattern``, a string the id is the first
    group of (ReccoBeats: the ``href`` link). ``fields`` maps our feature names to the body's names
    where they differ; features the provider does not send are simply absent (read as null).
    """

    array_field: str
    id_field: str
    id_pattern: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    absent: tuple[str, ...] = ()  # our feature names the provider never sends

    def source_name(self, feature: str) -> str:
        return self.fields.get(feature, feature)


@dataclass
class ProviderContext:
    """What building a provider may need; expensive parts are built only when asked for."""

    enrichment: Enrichment
    spotify_api: Callable[[], "SpotifyAPI"] | None = None
    http_session: "requests.Session | None" = None
    sleep: Callable[[float], None] = time.sleep


def is_api_provider(name: str) -> bool:
    return name in API_PROVIDERS


def provider_module(name: str) -> ModuleType:
    """The module of an API provider (imported on first use)."""
    try:
        return importlib.import_module(API_PROVIDERS[name])
    except KeyError:
        raise ValueError(
            f"unknown audio-feature provider {name!r}; known: {', '.join([*API_PROVIDERS, FILE_PROVIDER])}"
        ) from None


def build_provider(name: str, context: ProviderContext) -> FeatureProvider:
    return provider_module(name).build(context)


def empty_row() -> dict[str, Any]:
    return {name: None for name in FEATURE_COLUMNS}
