"""Spotify ids, URIs and open.spotify.com URLs, all normalized to the bare 22-char id.

A user copies playlist references from wherever the Spotify app offers them:
``spotify:playlist:37i9dQZF1DXcBWIGoYBM5M``, ``https://open.spotify.com/playlist/37i9...?si=abc``
(sometimes with a locale segment such as ``/intl-de/``), or the bare id. All three are accepted.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from weekly_discovery.core.errors import UserError

SPOTIFY_ID_PATTERN = "[0-9A-Za-z]{22}"
"""A Spotify id: 22 base-62 characters (a regular expression without anchors, to build others from)."""
SPOTIFY_ID_RE = re.compile(SPOTIFY_ID_PATTERN)
_URI_RE = re.compile(r"^spotify:(?P<kind>[a-z]+):(?P<id>[^:]+)$")
_USER_PLAYLIST_URI_RE = re.compile(r"^spotify:user:[^:]+:playlist:(?P<id>[^:]+)$")


class InvalidSpotifyId(UserError, ValueError):
    """A reference that is not a Spotify id, URI or open.spotify.com URL of the right kind."""


def expected_forms(kind: str) -> str:
    example = "37i9dQZF1DXcBWIGoYBM5M"
    return (
        f"a 22-character Spotify {kind} id ({example}), a URI (spotify:{kind}:{example}) "
        f"or a link (https://open.spotify.com/{kind}/{example})"
    )


def parse_spotify_id(ref: str, kind: str = "playlist") -> str:
    """Return the bare id of a Spotify ``kind`` (playlist, track...) referenced by ``ref``."""
    if not isinstance(ref, str):
        raise InvalidSpotifyId(f"{ref!r} is not a string; expected {expected_forms(kind)}")
    text = ref.strip()
    candidate = None
    if SPOTIFY_ID_RE.fullmatch(text):
        candidate = text
    elif text.startswith("spotify:"):
        match = _URI_RE.match(text) or _USER_PLAYLIST_URI_RE.match(text)
        if match and match.groupdict().get("kind", kind) == kind:
            candidate = match.group("id")
    elif "open.spotify.com" in text:
        url = urlparse(text if "://" in text else f"https://{text}")
        parts = [p for p in url.path.split("/") if p and not p.startswith("intl-")]
        if url.hostname == "open.spotify.com" and len(parts) >= 2 and parts[-2] == kind:
            candidate = parts[-1]
    if candidate is None or not SPOTIFY_ID_RE.fullmatch(candidate):
        raise InvalidSpotifyId(f"{ref!r} is not {expected_forms(kind)}")
    return candidate
