"""``artists``: songs the user does not have from the albums of their most-liked artists.

For each of the ``top_artists`` primary artists with most liked songs (ties by id), in that order:
``GET /v1/artists/{id}/albums?include_groups=album,single&limit=10`` (development-mode apps get 400 above
10), following ``next``; then ``GET /v1/albums/{id}/tracks?limit=50`` (following ``next``) for each
album **not read in an earlier week**: album track lists do not change, so they are kept in the lake
(``silver/album_tracks``, given here as ``context.album_tracks``) and only new albums cost requests.
Songs of kept albums are offered every week (novelty across weeks is decided later, not here).

One request of the budget per page. When the budget runs out the source stops where it is (an album
whose track list was not read completely is not kept, so a later week reads it again); the artists come
in order of liked songs, so the favourites are served first. Requests go through the project's spotipy
client and its retry policy; an artist Spotify does not know (404) is skipped, a 403 stops the source.
"""

from __future__ import annotations

import logging
from typing import Any

from weekly_discovery.core.errors import UserError
from weekly_discovery.discover.sources.base import (
    STATUS_BUDGET,
    STATUS_OFF,
    AlbumTrack,
    BudgetExhausted,
    Candidate,
    CandidateCollector,
    RawAnswer,
    SourceContext,
    SourceResult,
)
from weekly_discovery.settings.config import Discover
from weekly_discovery.spotify.errors import Forbidden, NotFound

log = logging.getLogger(__name__)

NAME = "artists"


class NoSpotifyClient(UserError, ValueError):
    """The source was configured but the run has no Spotify client."""


class ArtistsSource:
    name = NAME

    def __init__(self, settings: Discover):
        self.settings = settings

    def gather(self, context: SourceContext) -> SourceResult:
        api = context.clients.spotify
        if api is None:
            raise NoSpotifyClient(
                "the 'artists' discovery source needs a Spotify client (the spotify_default connection); "
                "pass one, or leave 'artists' out of discover.sources"
            )
        result = SourceResult()
        collector = CandidateCollector(NAME, context.library.known)
        kept = dict(context.album_tracks)
        try:
            for artist_id, artist_name, _ in context.library.top_artists(self.settings.top_artists):
                try:
                    albums = self._albums(api, context, artist_id, result)
                except NotFound:
                    log.warning("Spotify does not know artist %s (%s): skipped", artist_id, artist_name)
                    continue
                for album in albums:
                    tracks = kept.get(album["id"])
                    if tracks is None:
                        try:
                            tracks = self._album_tracks(api, context, album, artist_id, result)
                        except NotFound:
                            log.warning("Spotify does not know album %s: skipped", album["id"])
                            continue
                        kept[album["id"]] = tracks
                        result.album_tracks.extend(tracks)
                    for track in tracks:
                        collector.offer(Candidate(
                            track_id=track.track_id, source=NAME, name=track.track_name,
                            artist_ids=track.artist_ids, artist_names=track.artist_names,
                            seed_artist_id=artist_id, seed_artist_name=artist_name,
                            album_id=track.album_id, album_name=track.album_name,
                        ))
        except BudgetExhausted as exc:
            result.status, result.note = STATUS_BUDGET, str(exc)
        except Forbidden as exc:
            result.status, result.note = STATUS_OFF, f"Spotify refused the artist/album reads (403): {exc}"
        return collector.into(result)

    def _albums(self, api: Any, context: SourceContext, artist_id: str, result: SourceResult) -> list[dict[str, Any]]:
        """Every album of the artist's discography (``include_groups``), in the order Spotify lists them."""
        params = {"include_groups": self.settings.album_groups, "limit": self.settings.albums_page_size, "offset": 0}
        endpoint = f"/v1/artists/{artist_id}/albums"
        context.budget.spend()
        page = api.artist_albums_page(artist_id, include_groups=params["include_groups"], limit=params["limit"])
        result.answers.append(RawAnswer.of_json(endpoint, params, page))
        albums = list(page.get("items") or [])
        while page.get("next"):
            context.budget.spend()
            page = api.next_page(page)
            result.answers.append(RawAnswer.of_json(endpoint, _next_params(page, params), page))
            albums.extend(page.get("items") or [])
        seen: set[str] = set()
        unique = []
        for album in albums:
            if isinstance(album, dict) and album.get("id") and album["id"] not in seen:
                seen.add(album["id"])
                unique.append(album)
        return unique

    def _album_tracks(self, api: Any, context: SourceContext, album: dict[str, Any], artist_id: str,
                      result: SourceResult) -> tuple[AlbumTrack, ...]:
        """The album's whole track list (all pages), as rows the lake keeps."""
        params = {"limit": self.settings.album_tracks_page_size, "offset": 0}
        endpoint = f"/v1/albums/{album['id']}/tracks"
        context.budget.spend()
        page = api.album_tracks_page(album["id"], limit=params["limit"])
        result.answers.append(RawAnswer.of_json(endpoint, params, page))
        items = list(page.get("items") or [])
        while page.get("next"):
            context.budget.spend()
            page = api.next_page(page)
            result.answers.append(RawAnswer.of_json(endpoint, _next_params(page, params), page))
            items.extend(page.get("items") or [])
        rows = []
        for position, item in enumerate(items):
            if not isinstance(item, dict) or not item.get("id"):
                continue  # unavailable content: nothing to offer
            artists = [a for a in item.get("artists") or [] if isinstance(a, dict)]
            rows.append(AlbumTrack(
                album_id=album["id"], album_name=album.get("name"), album_artist_id=artist_id,
                album_release_date=album.get("release_date"), track_id=item["id"], track_name=item.get("name"),
                artist_ids=tuple(a.get("id") for a in artists), artist_names=tuple(a.get("name") for a in artists),
                track_number=item.get("track_number"), read_ds=context.ds, position=position,
            ))
        return tuple(rows)


def _next_params(page: dict[str, Any], first: dict[str, Any]) -> dict[str, Any]:
    """The parameters of a followed page (its offset), for the raw record."""
    return {**first, "offset": page.get("offset")}


def build(settings: Discover) -> ArtistsSource:
    return ArtistsSource(settings)
