"""The project's shared words, declared once: feature names, source roles and kinds, feature statuses.

Every stage and layer imports these from here; nothing else defines them.
"""

from __future__ import annotations

#: The audio features a track can carry (Spotify's ``/audio-features`` names).
FEATURE_COLUMNS = (
    "danceability", "energy", "speechiness", "instrumentalness", "acousticness", "liveness", "valence",
    "loudness", "tempo", "key", "mode", "time_signature", "duration_ms",
)
#: The 2016 post's eleven model features.
POST_FEATURES = (
    "danceability", "energy", "speechiness", "instrumentalness", "acousticness", "liveness", "mode",
    "valence", "loudness", "tempo", "key",
)
#: What a source's tracks are to the pipeline.
ROLES = ("liked", "disliked", "reference", "candidates")
#: The source kind (and lake source key) of the user's Liked Songs; the other kind is "playlist".
SAVED_TRACKS = "saved_tracks"
#: ``source_key`` of the songs the discovery stage found: ``discover-<source>`` (reccobeats, artists, ...);
#: a candidate playlist's songs keep ``playlist-<id>`` and count as the source ``playlists``
DISCOVER_SOURCE_PREFIX = "discover-"
PLAYLIST = "playlist"
#: A track's audio-feature status in ``silver/audio_features`` and ``silver/tracks_enriched``.
STATUS_OK = "ok"
STATUS_MISSING = "missing"
STATUS_QUARANTINED = "quarantined"
STATUS_PENDING = "pending"  # tracks_enriched only: never asked yet (no provider could answer)
