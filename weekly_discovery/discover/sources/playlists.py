"""``playlists``: the songs of the candidate playlists the user owns, as before (no requests).

The ingest already read them into ``silver/tracks`` with role ``candidates``; this source only turns
them into candidate rows (provenance: the playlist) and drops songs the user already has in a library
role (liked, disliked, reference).
"""

from __future__ import annotations

from weekly_discovery.discover.sources.base import Candidate, CandidateCollector, SourceContext, SourceResult
from weekly_discovery.settings.config import Discover

NAME = "playlists"


class PlaylistsSource:
    name = NAME

    def __init__(self, settings: Discover):
        self.settings = settings

    def gather(self, context: SourceContext) -> SourceResult:
        collector = CandidateCollector(NAME, context.library.known)
        for track in context.library.candidate_tracks:
            collector.offer(Candidate(
                track_id=track.track_id, source=NAME, name=track.name, artist_ids=track.artist_ids,
                artist_names=track.artist_names, playlist_id=track.playlist_id, playlist_name=track.playlist_name,
            ))
        return collector.into(SourceResult())


def build(settings: Discover) -> PlaylistsSource:
    return PlaylistsSource(settings)
