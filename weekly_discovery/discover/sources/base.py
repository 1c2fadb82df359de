"""The candidate-source interface: what a source is given, what it must return, and its request budget.

A source is one module with ``build(settings) -> CandidateSource``; ``CandidateSource.gather(context)``
asks its service for songs, within ``context.budget``, and returns a :class:`SourceResult`:

* ``answers``: every answer it received, kept verbatim (the bytes, or spotipy's parsed JSON), with the
  request that produced it, for the raw layer;
* ``candidates``: one :class:`Candidate` per song the user does not have, with its provenance (the seed
  songs, the artist and album, the playlist or the catalogue) and what the answer says of the song.

The budget counts the requests a source decides to make. :meth:`RequestBudget.spend` is called before
each one and refuses (:class:`BudgetExhausted`) once the week's budget is used; the source then stops and
returns what it has. Retries of one request under the HTTP retry policy are not new requests.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

from weekly_discovery.core.errors import UserError
from weekly_discovery.discover.library import UserLibrary

if TYPE_CHECKING:
    import requests

    from weekly_discovery.core.retry import RetryPolicy
    from weekly_discovery.settings.config import Discover
    from weekly_discovery.spotify.client import SpotifyAPI

STATUS_DONE = "done"  # the source asked everything it wanted to
STATUS_BUDGET = "budget"  # stopped when the budget ran out
STATUS_OFF = "off"  # the service refused (e.g. 403): nothing more to ask this week


class BudgetExhausted(UserError):
    """The source's request budget for the week is used up; it must stop asking."""


class RequestBudget:
    """Counts a source's requests and refuses the one that would go over its weekly budget."""

    def __init__(self, source: str, limit: int):
        if limit < 0:
            raise ValueError(f"a request budget is 0 or more, got {limit} for {source}")
        self.source, self.limit, self.used = source, limit, 0

    @property
    def remaining(self) -> int:
        return self.limit - self.used

    def spend(self) -> None:
        """Count one request; raise :class:`BudgetExhausted` (and count nothing) if none is left."""
        if self.used >= self.limit:
            raise BudgetExhausted(f"{self.source}: the budget of {self.limit} requests this week is used")
        self.used += 1


@dataclass(frozen=True)
class Clients:
    """The HTTP clients a source may use; a source that needs a missing one fails with the fix.

    ``reccobeats_policy`` None: the ReccoBeats source's own (:data:`...reccobeats.RECCOBEATS_POLICY`);
    ``sleep`` is how retries wait (tests pass a recorder). The Spotify client carries its own policy.
    """

    spotify: "SpotifyAPI | None" = None
    reccobeats: "requests.Session | None" = None  # None: a plain session
    reccobeats_policy: "RetryPolicy | None" = None
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class AlbumTrack:
    """One song of an album track list read from Spotify; the lake keeps these (album lists do not change)."""

    album_id: str
    album_name: str | None
    album_artist_id: str  # the artist whose discography listed the album
    album_release_date: str | None
    track_id: str
    track_name: str | None
    artist_ids: tuple[str | None, ...]
    artist_names: tuple[str | None, ...]
    track_number: int | None
    read_ds: str  # the week it was read
    position: int | None = None  # its place in the album's track list as Spotify gave it (0-based)


@dataclass(frozen=True)
class SourceContext:
    ds: str  # the week (partition date)
    seed: int  # with ``ds``, seeds every random choice
    library: UserLibrary
    settings: "Discover"
    budget: RequestBudget
    clients: Clients
    album_tracks: Mapping[str, tuple[AlbumTrack, ...]] = field(default_factory=dict)  # albums read before


@dataclass(frozen=True)
class RawAnswer:
    """One answer verbatim, and what was asked (endpoint path and parameters: no host, no secrets)."""

    endpoint: str
    params: Mapping[str, Any]
    status: int
    body: bytes

    @classmethod
    def of_json(cls, endpoint: str, params: Mapping[str, Any], payload: Any, status: int = 200) -> "RawAnswer":
        """An answer that arrives parsed (spotipy): serialised as it came, keys in their order."""
        return cls(endpoint, dict(params), status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


@dataclass(frozen=True)
class Candidate:
    """A song offered by a source, with where it came from and what the answer says of it."""

    track_id: str
    source: str
    name: str | None
    artist_ids: tuple[str | None, ...] = ()
    artist_names: tuple[str | None, ...] = ()
    seed_track_ids: tuple[str, ...] = ()  # reccobeats: the liked songs asked about
    seed_artist_id: str | None = None  # artists: the liked artist whose albums were read
    seed_artist_name: str | None = None
    album_id: str | None = None
    album_name: str | None = None
    playlist_id: str | None = None  # playlists: the candidate playlist
    playlist_name: str | None = None
    catalogue: str | None = None  # catalog: the file it came from
    reccobeats_id: str | None = None


@dataclass
class SourceResult:
    answers: list[RawAnswer] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)  # new to the library, one per track, in order
    found: int = 0  # distinct songs the answers offered, before dropping those the user has
    status: str = STATUS_DONE
    note: str = ""  # why the source stopped early, for the log
    album_tracks: list[AlbumTrack] = field(default_factory=list)  # album track lists read this week


class CandidateSource(Protocol):
    name: str

    def gather(self, context: SourceContext) -> SourceResult:
        """Ask for candidates within ``context.budget``; never offer a song in ``context.library.known``."""
        ...


class CandidateCollector:
    """Keeps the first offer of each song, drops the user's own, counts what was offered (sources share it)."""

    def __init__(self, source: str, known: frozenset[str]):
        self.source, self.known = source, known
        self.offered: set[str] = set()
        self.candidates: dict[str, Candidate] = {}

    def offer(self, candidate: Candidate) -> None:
        self.offered.add(candidate.track_id)
        if candidate.track_id not in self.known and candidate.track_id not in self.candidates:
            self.candidates[candidate.track_id] = candidate

    def into(self, result: SourceResult) -> SourceResult:
        result.candidates = list(self.candidates.values())
        result.found = len(self.offered)
        return result
