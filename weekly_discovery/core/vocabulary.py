"""The project's shared words, declared once: feature names, source roles and kinds, feature statuses.

Every stage and layer imports these from here; nothing else defines them. The features' ranges and
meanings are in :mod:`weekly_discovery.core.features`, Spotify ids in :mod:`weekly_discovery.core.spotify_ids`,
the per-role coverage counts in :mod:`weekly_discovery.core.coverage`.
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
#: What a source's tracks are to the pipeline, in the order every list and log shows them.
LIKED, DISLIKED, REFERENCE, CANDIDATES = "liked", "disliked", "reference", "candidates"
ROLES = (LIKED, DISLIKED, REFERENCE, CANDIDATES)
#: The roles of the user's own library: a song in one of them is never offered as new.
LIBRARY_ROLES = (LIKED, DISLIKED, REFERENCE)
#: The roles whose songs are labelled examples of the user's taste (1 liked, 0 disliked).
TRAINING_ROLES = (LIKED, DISLIKED)
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


def role_rank(role: str) -> tuple[int, str]:
    """Where ``role`` sorts: the order of :data:`ROLES`, then any other name alphabetically."""
    return (ROLES.index(role) if role in ROLES else len(ROLES), role)
