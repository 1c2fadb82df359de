"""A seeded, plausible Spotify library for the stand-in server, demos and benchmarks.

The pipeline has to learn a user's taste from Liked Songs and playlists, so the demo library is built
around taste clusters with distinct audio-feature profiles: the user likes mostly two or three of them
and dislikes the others, which gives a model something real to separate. Everything a real library
throws at an ETL is present on purpose: local files, podcast episodes, removed (null) items, the same
track twice in one playlist, tracks Spotify has no audio features for, tracks ReccoBeats does not know,
and a Spotify-owned editorial playlist the user follows but may not read.

All randomness comes from one ``random.Random(seed)``: the same seed gives the same library, ids and all.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
import string
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote_plus

BASE62 = string.digits + string.ascii_letters
SAVED_TRACKS = "saved_tracks"
ROLES = ("liked", "disliked", "reference", "candidates")
EDITORIAL_OWNER = "spotify"
DEMO_DISPLAY_NAME = "Demo Listener"
MIN_TRACKS = 200
_REFERENCE_SIZE = 3000  # the n_tracks the demo's role sizes are tuned for

# The features ReccoBeats returns (it has no time_signature); Spotify adds time_signature.
RECCOBEATS_FEATURES = (
    "acousticness", "danceability", "energy", "instrumentalness", "key", "liveness",
    "loudness", "mode", "speechiness", "tempo", "valence",
)
SPOTIFY_FEATURES = RECCOBEATS_FEATURES + ("time_signature",)
UNIT_FEATURES = (
    "danceability", "energy", "speechiness", "instrumentalness", "acousticness", "liveness", "valence",
)


# --------------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Artist:
    id: str
    name: str

    @property
    def uri(self) -> str:
        return f"spotify:artist:{self.id}"


@dataclass
class Album:
    id: str
    name: str
    release_date: str  # YYYY-MM-DD
    artists: tuple[Artist, ...] = ()
    album_type: str = "album"
    total_tracks: int = 0

    @property
    def uri(self) -> str:
        return f"spotify:album:{self.id}"


@dataclass
class Track:
    """A catalogue track. ``features`` is the ground truth both feature sources serve from.

    ``spotify_has_features`` False mimics the ~1% of tracks for which Spotify's /audio-features
    answers ``null``; ``reccobeats_id`` None means ReccoBeats silently omits the track.
    """

    id: str
    name: str
    artists: list[Artist]
    album: Album
    duration_ms: int
    features: dict[str, float | int]
    cluster: str = ""
    explicit: bool = False
    track_number: int = 1
    spotify_has_features: bool = True
    reccobeats_id: str | None = None

    @property
    def uri(self) -> str:
        return f"spotify:track:{self.id}"


@dataclass(frozen=True)
class Episode:
    """A podcast episode: users do put them in music playlists, and the API returns them there."""

    id: str
    name: str
    show_id: str
    show_name: str
    publisher: str
    duration_ms: int
    release_date: str

    @property
    def uri(self) -> str:
        return f"spotify:episode:{self.id}"


@dataclass(frozen=True)
class LocalFile:
    """A file from the user's disk added to a playlist: it has a URI but no Spotify id."""

    name: str
    artist: str
    album: str
    duration_ms: int

    @property
    def uri(self) -> str:
        # Spotify form-encodes each part and ends with the duration in seconds.
        parts = (quote_plus(self.artist), quote_plus(self.album), quote_plus(self.name))
        return f"spotify:local:{':'.join(parts)}:{self.duration_ms // 1000}"


EntryKind = Literal["track", "episode", "local", "null"]


@dataclass(frozen=True)
class PlaylistEntry:
    """One row of a playlist: a track, an episode, a local file, or removed content (``null``).

    The same track twice is simply two ``track`` entries with the same ``track_id``.
    ``added_by`` None means the playlist's owner added it.
    """

    kind: EntryKind
    added_at: str
    track_id: str | None = None
    episode: Episode | None = None
    local: LocalFile | None = None
    added_by: str | None = None

    @classmethod
    def of_track(cls, track_id: str, added_at: str, added_by: str | None = None) -> PlaylistEntry:
        return cls("track", added_at, track_id=track_id, added_by=added_by)

    @classmethod
    def of_episode(cls, episode: Episode, added_at: str) -> PlaylistEntry:
        return cls("episode", added_at, episode=episode)

    @classmethod
    def of_local(cls, local: LocalFile, added_at: str) -> PlaylistEntry:
        return cls("local", added_at, local=local)

    @classmethod
    def removed(cls, added_at: str) -> PlaylistEntry:
        return cls("null", added_at)


@dataclass
class Playlist:
    """A playlist. ``snapshot_id`` is derived from the content, so any change to it changes the id.

    Tests may edit ``items`` in place; :meth:`touch` forces a new snapshot without a content change
    (Spotify also issues a new snapshot for edits that end where they started).
    """

    id: str
    name: str
    owner_id: str
    items: list[PlaylistEntry] = field(default_factory=list)
    description: str = ""
    public: bool = False
    collaborative: bool = False
    owner_display_name: str | None = None
    revision: int = 0
    followed: bool = True
    """Whether the user follows it, i.e. /me/playlists lists it. Deleting a playlist in the Spotify
    app unfollows it: the playlist stays (GET /playlists/{id} still answers), it is only no longer listed."""

    @property
    def uri(self) -> str:
        return f"spotify:playlist:{self.id}"

    @property
    def snapshot_id(self) -> str:
        content = repr((self.id, self.revision, self.name, self.description, self.items)).encode()
        raw = self.revision.to_bytes(4, "big") + hashlib.sha1(content).digest()[:20]
        return base64.b64encode(raw).decode()  # looks like Spotify's: "AAAAA..." base64

    def touch(self) -> None:
        self.revision += 1

    def track_ids(self) -> list[str]:
        """Track ids in playlist order, duplicates kept; episodes, local files and nulls skipped."""
        return [e.track_id for e in self.items if e.kind == "track" and e.track_id]


@dataclass
class DemoLibrary:
    """The whole world the stand-in serves: one user, the catalogue, their library and roles.

    ``saved`` is Liked Songs as ``(added_at, track_id)`` newest first, as /me/tracks returns it.
    ``roles`` maps each role to sources: ``"saved_tracks"`` or a playlist id (bare, not a URI).
    """

    user_id: str
    display_name: str
    tracks: dict[str, Track]
    saved: list[tuple[str, str]]
    playlists: dict[str, Playlist]
    roles: dict[str, list[str]]
    episodes: dict[str, Episode] = field(default_factory=dict)
    seed: int | None = None

    # -- audio features ------------------------------------------------------------------------

    def features_for(self, track_id: str) -> dict[str, float | int] | None:
        """What Spotify's /audio-features knows about a track (None: unknown or no features)."""
        track = self.tracks.get(track_id)
        if track is None or not track.spotify_has_features:
            return None
        return {name: track.features[name] for name in SPOTIFY_FEATURES} | {
            "duration_ms": track.duration_ms
        }

    def reccobeats_features_for(self, track_id: str) -> dict[str, float | int] | None:
        """What ReccoBeats knows (no time_signature), or None when it does not know the track."""
        track = self.tracks.get(track_id)
        if track is None or track.reccobeats_id is None:
            return None
        return {name: track.features[name] for name in RECCOBEATS_FEATURES}

    def reccobeats_id(self, track_id: str) -> str | None:
        track = self.tracks.get(track_id)
        return None if track is None else track.reccobeats_id

    # -- discography and recommendations (the discovery sources) --------------------------------

    def artist_albums(self, artist_id: str) -> list[Album]:
        """Albums and singles whose primary artist is ``artist_id``, newest first (as Spotify lists them)."""
        albums = {t.album.id: t.album for t in self.tracks.values() if t.album.artists and t.album.artists[0].id == artist_id}
        return sorted(albums.values(), key=lambda a: (a.release_date, a.id), reverse=True)

    def album_tracks(self, album_id: str) -> list[Track]:
        """An album's tracks in track-number order (empty for an unknown album)."""
        return sorted((t for t in self.tracks.values() if t.album.id == album_id), key=lambda t: (t.track_number, t.id))

    def has_artist(self, artist_id: str) -> bool:
        return any(a.id == artist_id for t in self.tracks.values() for a in t.artists)

    def recommendations(self, seed_ids: list[str], size: int) -> list[str]:
        """What the stand-in ReccoBeats recommends for ``seed_ids``: track ids, best first.

        Tracks near the seeds' mean in the unit audio features, seeds excluded, ``size`` of them drawn
        from the nearest ``3 * size`` with a generator seeded by the seeds: the same seeds always give
        the same answer, other seeds another. Like the real service, it knows nothing of the user's
        library, so the answer includes songs the user already has.
        """
        seeds = [self.tracks[s] for s in seed_ids if s in self.tracks and self.tracks[s].reccobeats_id]
        if not seeds:
            return []
        centre = [sum(t.features[f] for t in seeds) / len(seeds) for f in UNIT_FEATURES]
        seed_set = {t.id for t in seeds}
        ranked = sorted(
            (sum((t.features[f] - c) ** 2 for f, c in zip(UNIT_FEATURES, centre)), t.id)
            for t in self.tracks.values()
            if t.reccobeats_id and t.id not in seed_set
        )
        pool = [track_id for _, track_id in ranked[: 3 * size]]
        rng = random.Random("recommend:" + ",".join(sorted(seed_set)) + f":{size}")
        return rng.sample(pool, min(size, len(pool)))

    # -- roles ---------------------------------------------------------------------------------

    def role_sources(self, role: str) -> list[str]:
        """Sources of a role as the config file writes them (``saved_tracks`` or a playlist URI)."""
        return [s if s == SAVED_TRACKS else f"spotify:playlist:{s}" for s in self.roles.get(role, [])]

    def role_track_ids(self, role: str) -> set[str]:
        """Distinct track ids reachable from a role's sources (what an extract should find)."""
        ids: set[str] = set()
        for source in self.roles.get(role, []):
            if source == SAVED_TRACKS:
                ids.update(track_id for _, track_id in self.saved)
            else:
                ids.update(self.playlists[source].track_ids())
        return ids

    def editorial_playlist_ids(self) -> list[str]:
        """Playlists the user follows but does not own (the API refuses their items)."""
        return [p.id for p in self.playlists.values() if p.owner_id != self.user_id]

    # -- the person's taste (ground truth) --------------------------------------------------------

    def would_love(self, track_id: str) -> bool:
        """Whether the generated person loves this song (its taste cluster is one of :data:`LOVED_CLUSTERS`)."""
        track = self.tracks.get(track_id)
        return track is not None and track.cluster in LOVED_CLUSTERS

    # -- mutation helpers for tests ------------------------------------------------------------

    def save_track(self, track_id: str, added_at: str | None = None) -> None:
        """Add a catalogue track to Liked Songs as the newest entry."""
        if track_id not in self.tracks:
            raise KeyError(f"unknown track {track_id}")
        self.saved.insert(0, (added_at or utc_now_iso(), track_id))

    def remove_from_playlist(self, playlist_id: str, track_ids: set[str] | list[str]) -> None:
        """What a person does in the Spotify app: take songs out of one of their playlists."""
        gone = set(track_ids)
        playlist = self.playlists[playlist_id]
        playlist.items[:] = [e for e in playlist.items if e.track_id not in gone]

    def react(self, playlist_id: str, save: int, remove: int) -> tuple[list[str], list[str]]:
        """The person's reaction to a week's playlist, by their taste: save up to ``save`` of the songs they
        love (first ones first) and take ``remove`` songs out: the ones they do not love, then (people also
        drop songs they are tired of) the last of the others they did not save; ``(saved, removed)``."""
        held = self.playlists[playlist_id].track_ids()
        saved = [t for t in held if self.would_love(t)][:save]
        others = [t for t in held if t not in saved]
        removed = ([t for t in others if not self.would_love(t)]
                   + [t for t in reversed(others) if self.would_love(t)])[:remove]
        for track_id in saved:
            self.save_track(track_id)
        self.remove_from_playlist(playlist_id, removed)
        return saved, removed


def utc_now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------------
# Taste clusters
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterProfile:
    """Audio-feature distribution of one taste cluster: (mean, sd) pairs, clipped to valid ranges."""

    unit: dict[str, tuple[float, float]]
    loudness: tuple[float, float]
    tempo: tuple[float, float]
    duration_s: tuple[float, float]
    major_p: float
    explicit_p: float
    featuring_p: float
    artist_forms: tuple[str, ...]


def _unit(dance, energy, speech, instr, acoustic, live, valence) -> dict[str, tuple[float, float]]:
    return dict(zip(UNIT_FEATURES, (dance, energy, speech, instr, acoustic, live, valence)))


# Means and spreads follow the shape of public Spotify feature dumps per genre (e.g. metal: energy
# > 0.9 and acousticness ~0; ambient/classical: instrumental, acoustic, quiet).
CLUSTERS: dict[str, ClusterProfile] = {
    "indie-acoustic": ClusterProfile(
        _unit((0.55, 0.12), (0.38, 0.13), (0.04, 0.02), (0.08, 0.12), (0.72, 0.16), (0.12, 0.06), (0.42, 0.18)),
        loudness=(-10.5, 3.0), tempo=(112, 24), duration_s=(215, 45), major_p=0.72, explicit_p=0.03,
        featuring_p=0.08, artist_forms=("The {adj} {nouns}", "{first} {last}", "{noun} & the {nouns}"),
    ),
    "dance-pop": ClusterProfile(
        _unit((0.74, 0.08), (0.76, 0.09), (0.07, 0.04), (0.01, 0.03), (0.10, 0.09), (0.15, 0.08), (0.62, 0.17)),
        loudness=(-5.2, 1.5), tempo=(121, 10), duration_s=(198, 25), major_p=0.6, explicit_p=0.2,
        featuring_p=0.3, artist_forms=("{first}", "{first} {last}", "{adj} {noun}"),
    ),
    "metal": ClusterProfile(
        _unit((0.33, 0.10), (0.93, 0.05), (0.09, 0.05), (0.18, 0.2), (0.01, 0.02), (0.20, 0.12), (0.24, 0.12)),
        loudness=(-4.6, 1.4), tempo=(138, 30), duration_s=(280, 60), major_p=0.45, explicit_p=0.25,
        featuring_p=0.05, artist_forms=("{dark} {noun}", "{noun} of {dark}", "{dark}{dark_suffix}"),
    ),
    "hip-hop": ClusterProfile(
        _unit((0.78, 0.08), (0.64, 0.11), (0.27, 0.11), (0.01, 0.03), (0.15, 0.13), (0.18, 0.10), (0.50, 0.19)),
        loudness=(-6.3, 2.0), tempo=(101, 24), duration_s=(212, 40), major_p=0.5, explicit_p=0.7,
        featuring_p=0.4, artist_forms=("Lil {noun}", "MC {first}", "{adj} {first}", "{first} {last}"),
    ),
    "ambient-classical": ClusterProfile(
        _unit((0.24, 0.10), (0.14, 0.09), (0.04, 0.01), (0.86, 0.10), (0.91, 0.07), (0.10, 0.04), (0.18, 0.10)),
        loudness=(-22.0, 6.0), tempo=(92, 26), duration_s=(330, 110), major_p=0.55, explicit_p=0.0,
        featuring_p=0.05, artist_forms=("{first} {last}", "{city} String Quartet", "{noun} Ensemble"),
    ),
}

_WORDS = {
    "adj": ["Paper", "Quiet", "Golden", "Velvet", "Electric", "Hollow", "Silver", "Wild", "Lucky",
            "Northern", "Neon", "Gentle", "Broken", "Bright", "Lonely", "Secret", "Slow", "Crystal"],
    "noun": ["River", "Harbor", "Lantern", "Comet", "Garden", "Mirror", "Echo", "Fox", "Window",
             "Ocean", "Summer", "Ghost", "Satellite", "Meadow", "Signal", "Valley", "Engine", "Tide"],
    "dark": ["Grave", "Iron", "Obsidian", "Blood", "Wraith", "Doom", "Ash", "Venom", "Crypt", "Abyss"],
    "dark_suffix": ["throne", "forge", "maw", "spire", "born", "rot"],
    "first": ["Ada", "Milo", "Nora", "Jonas", "Lena", "Theo", "Mira", "Felix", "Iris", "Oskar",
              "Zoe", "Ravi", "Elif", "Kai", "Sofia", "Dante", "Yara", "Hugo", "Maya", "Leon"],
    "last": ["Lindqvist", "Moreau", "Okafor", "Hale", "Berg", "Castillo", "Novak", "Reyes", "Kim",
             "Fischer", "Santos", "Dubois", "Ahmed", "Walsh", "Tanaka", "Rossi"],
    "city": ["Vienna", "Leipzig", "Bergen", "Kraków", "Lisbon", "Kyoto"],
}
_WORDS["nouns"] = [w + "s" for w in _WORDS["noun"]]
_TITLE_FORMS = ("{adj} {noun}", "{noun}", "{noun} of the {noun}", "{adj} {nouns}", "Into the {noun}",
                "{first}'s {noun}", "{noun} ({adj} Mix)")


def _fill(rng: random.Random, form: str) -> str:
    return form.format(**{key: rng.choice(words) for key, words in _WORDS.items()})


def _clip(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


# --------------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """How many tracks each source gets and from which clusters (weights)."""

    n_tracks: int
    saved: int
    liked_playlist: int
    disliked: int
    reference: int
    discovery: int
    death_metal: int
    editorial: int


_LIKED_MIX = {"indie-acoustic": 0.5, "hip-hop": 0.3, "ambient-classical": 0.15, "dance-pop": 0.05}
#: The generated person's taste, the truth a test checks picks against: they love the songs of these
#: clusters (a few dance-pop songs sit in their Liked Songs, a few indie-acoustic ones in their dislikes:
#: real libraries are not clean, the truth is).
LOVED_CLUSTERS = frozenset({"indie-acoustic", "hip-hop", "ambient-classical"})
_LIKED_PLAYLIST_MIX = {"indie-acoustic": 0.6, "ambient-classical": 0.4}
_DISLIKED_MIX = {"metal": 0.5, "dance-pop": 0.45, "indie-acoustic": 0.05}
_DISCOVERY_MIX = {name: 1.0 for name in CLUSTERS}
_EPOCH_END = dt.datetime(2026, 11, 20, 9, 0, 0, tzinfo=dt.timezone.utc)


class _Builder:
    """Creates tracks on demand per cluster so every source gets the cluster mix it asks for."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._ids: set[str] = set()
        self.tracks: dict[str, Track] = {}
        self._cluster_tracks: dict[str, list[Track]] = {name: [] for name in CLUSTERS}
        self._cluster_artists: dict[str, list[Artist]] = {name: [] for name in CLUSTERS}
        self._current_album: dict[str, Album] = {}

    def new_id(self) -> str:
        while True:
            candidate = "".join(self.rng.choices(BASE62, k=22))
            if candidate not in self._ids:
                self._ids.add(candidate)
                return candidate

    def reccobeats_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _artist_for(self, cluster: str) -> Artist:
        """Mostly an existing artist of the cluster, favouring prolific ones, sometimes a new one.

        The mix of uniform and preferential choice gives a long tail with a few artists holding
        dozens of tracks, as in a real library.
        """
        artists, tracks = self._cluster_artists[cluster], self._cluster_tracks[cluster]
        roll = self.rng.random()
        if not artists or roll < 0.12:
            artist = Artist(self.new_id(), _fill(self.rng, self.rng.choice(CLUSTERS[cluster].artist_forms)))
            artists.append(artist)
            return artist
        if roll < 0.25:
            return self.rng.choice(tracks).artists[0]
        return self.rng.choice(artists)

    def _album_for(self, artist: Artist, cluster: str) -> Album:
        album = self._current_album.get(artist.id)
        if album is None or album.total_tracks >= 12 or self.rng.random() < 0.15:
            year = self.rng.randint(1965 if cluster == "ambient-classical" else 1985, 2026)
            album = Album(
                id=self.new_id(),
                name=_fill(self.rng, self.rng.choice(_TITLE_FORMS)),
                release_date=f"{year}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}",
                artists=(artist,),
                album_type="album" if self.rng.random() < 0.7 else "single",
            )
            self._current_album[artist.id] = album
        album.total_tracks += 1
        return album

    def _features(self, profile: ClusterProfile) -> dict[str, float | int]:
        rng = self.rng
        features: dict[str, float | int] = {
            name: round(_clip(rng.gauss(mean, sd), 0.0, 1.0), 4) for name, (mean, sd) in profile.unit.items()
        }
        features["loudness"] = round(_clip(rng.gauss(*profile.loudness), -60.0, 0.0), 3)
        features["tempo"] = round(_clip(rng.gauss(*profile.tempo), 50.0, 200.0), 3)
        features["key"] = -1 if rng.random() < 0.01 else rng.randrange(12)
        features["mode"] = 1 if rng.random() < profile.major_p else 0
        features["time_signature"] = rng.choices((4, 3, 5, 7), weights=(90, 7, 2, 1))[0]
        return features

    def new_track(self, cluster: str) -> Track:
        profile = CLUSTERS[cluster]
        artist = self._artist_for(cluster)
        artists = [artist]
        others = self._cluster_tracks[cluster]
        if others and self.rng.random() < profile.featuring_p:
            guest = self.rng.choice(others).artists[0]
            if guest.id != artist.id:
                artists.append(guest)
        album = self._album_for(artist, cluster)
        track = Track(
            id=self.new_id(),
            name=_fill(self.rng, self.rng.choice(_TITLE_FORMS)),
            artists=artists,
            album=album,
            duration_ms=int(_clip(self.rng.gauss(*profile.duration_s), 60, 1200) * 1000),
            features=self._features(profile),
            cluster=cluster,
            explicit=self.rng.random() < profile.explicit_p,
            track_number=album.total_tracks,
            reccobeats_id=self.reccobeats_uuid(),
        )
        self.tracks[track.id] = track
        others.append(track)
        return track

    def draw(self, mix: dict[str, float], n: int) -> list[str]:
        clusters = self.rng.choices(list(mix), weights=list(mix.values()), k=n)
        return [self.new_track(cluster).id for cluster in clusters]

    def timestamps(self, n: int, *, newest: dt.datetime, span_days: float) -> list[str]:
        """n distinct-ish ISO timestamps going back from ``newest``, newest first."""
        mean_gap = span_days * 86400 / max(n, 1)
        moment, out = newest, []
        for _ in range(n):
            out.append(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
            moment -= dt.timedelta(seconds=1 + self.rng.expovariate(1 / mean_gap))
        return out



_SHOWS = (("The Daily Riff", "Riff Media"), ("Crate Diggers", "Indie Podcasts Ltd"))


def _playlist_entries(builder: _Builder, track_ids: list[str], *, newest_days_ago: float) -> list[PlaylistEntry]:
    stamps = builder.timestamps(
        len(track_ids), newest=_EPOCH_END - dt.timedelta(days=newest_days_ago), span_days=400
    )
    stamps.reverse()  # playlists list their oldest additions first
    return [PlaylistEntry.of_track(track_id, at) for track_id, at in zip(track_ids, stamps)]


def _sprinkle(
    builder: _Builder,
    playlist: Playlist,
    kinds: tuple[str, ...],
    shows: list[tuple[str, str, str]],
    episodes: dict[str, Episode],
) -> None:
    """Insert one entry of each odd kind (local, episode, null, duplicate) at seeded positions."""
    rng, items = builder.rng, playlist.items
    for kind in kinds:
        position = rng.randrange(1, len(items) + 1)
        added_at = items[position - 1].added_at
        if kind == "local":
            local = LocalFile(
                name=_fill(rng, rng.choice(_TITLE_FORMS)),
                artist=_fill(rng, "{first} {last}"),
                album=_fill(rng, "{adj} {nouns} (Demo)"),
                duration_ms=rng.randint(120, 400) * 1000,
            )
            entry = PlaylistEntry.of_local(local, added_at)
        elif kind == "episode":
            show_name, publisher, show_id = rng.choice(shows)
            episode = Episode(
                id=builder.new_id(),
                name=f"{show_name} #{rng.randint(10, 300)}: {_fill(rng, '{adj} {nouns}')}",
                show_id=show_id,
                show_name=show_name,
                publisher=publisher,
                duration_ms=rng.randint(20, 90) * 60_000,
                release_date=f"20{rng.randint(19, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            )
            episodes[episode.id] = episode
            entry = PlaylistEntry.of_episode(episode, added_at)
        elif kind == "null":
            entry = PlaylistEntry.removed(added_at)
        elif kind == "duplicate":  # the same track added again, later in the list
            original = rng.choice([e for e in items[:position] if e.kind == "track"])
            entry = PlaylistEntry.of_track(original.track_id, added_at)
        else:
            raise ValueError(f"unknown oddity {kind!r}")
        items.insert(position, entry)


def _mark_feature_gaps(builder: _Builder, groups: list[list[str]]) -> None:
    """~1% of tracks get no Spotify features and ~0.5% are unknown to ReccoBeats (disjoint sets).

    Each group (Liked Songs, the disliked playlist, ...) gets at least one gap of each kind, so a
    coverage check sees a gap in every role whatever the seed.
    """
    rng = builder.rng
    all_ids = list(builder.tracks)
    taken: set[str] = set()

    def pick(share: float) -> list[str]:
        chosen: list[str] = []
        for group in groups:
            candidates = [t for t in group if t not in taken]
            if candidates:
                chosen.append(rng.choice(candidates))
                taken.add(chosen[-1])
        while len(chosen) < max(len(groups), round(len(all_ids) * share)):
            candidate = rng.choice(all_ids)
            if candidate not in taken:
                chosen.append(candidate)
                taken.add(candidate)
        return chosen

    for track_id in pick(0.01):
        builder.tracks[track_id].spotify_has_features = False
    for track_id in pick(0.005):
        builder.tracks[track_id].reccobeats_id = None


def _build(seed: int, plan: _Plan) -> DemoLibrary:
    rng = random.Random(seed)
    builder = _Builder(rng)
    user_id = "demo" + "".join(rng.choices(string.ascii_lowercase + string.digits, k=8))
    shows = [(name, publisher, builder.new_id()) for name, publisher in _SHOWS]

    # Liked Songs, newest first, saved over ~4 years.
    saved_ids = builder.draw(_LIKED_MIX, plan.saved)
    saved = list(zip(builder.timestamps(plan.saved, newest=_EPOCH_END, span_days=4 * 365), saved_ids))

    # A liked playlist that overlaps Liked Songs a little, as real libraries do.
    overlap = rng.sample(saved_ids, min(len(saved_ids), max(1, plan.liked_playlist // 8)))
    liked_ids = builder.draw(_LIKED_PLAYLIST_MIX, plan.liked_playlist - len(overlap)) + overlap
    rng.shuffle(liked_ids)
    disliked_ids = builder.draw(_DISLIKED_MIX, plan.disliked)
    editorial_ids = builder.draw({"dance-pop": 1.0}, plan.editorial)
    # The user's copy of the editorial playlist: mostly the same songs, plus a few own picks.
    copied = rng.sample(editorial_ids, min(len(editorial_ids), plan.reference * 4 // 5))
    reference_ids = copied + builder.draw({"dance-pop": 1.0}, plan.reference - len(copied))
    # Candidates: a mixed bag that includes a few songs the user already likes, and pure metal.
    already_liked = rng.sample(saved_ids, min(len(saved_ids), max(1, plan.discovery // 18)))
    discovery_ids = builder.draw(_DISCOVERY_MIX, plan.discovery - len(already_liked)) + already_liked
    rng.shuffle(discovery_ids)
    death_metal_ids = builder.draw({"metal": 1.0}, plan.death_metal)
    # The rest of the catalogue: in no source, but addressable by writes and feature look-ups.
    builder.draw(_DISCOVERY_MIX, max(0, plan.n_tracks - len(builder.tracks)))

    def playlist(name: str, ids: list[str], days_ago: float, description: str = "", owner: str = "") -> Playlist:
        return Playlist(
            id=builder.new_id(),
            name=name,
            owner_id=owner or user_id,
            items=_playlist_entries(builder, ids, newest_days_ago=days_ago),
            description=description,
            public=bool(owner),
            owner_display_name="Spotify" if owner else DEMO_DISPLAY_NAME,
        )

    liked = playlist("Sunday Morning Acoustic", liked_ids, 3, "slow songs for slow coffee")
    disliked = playlist("Skip Immediately", disliked_ids, 20, "songs I never want to hear again")
    reference = playlist("Today's Top Hits (my copy)", reference_ids, 9)
    discovery = playlist("Discovery Mix", discovery_ids, 1, "things friends sent me")
    death_metal = playlist("Death Metal", death_metal_ids, 60)
    editorial = playlist("Today's Top Hits", editorial_ids, 2, "The hottest tracks right now.", EDITORIAL_OWNER)

    episodes: dict[str, Episode] = {}
    for target in (liked, disliked, discovery):
        _sprinkle(builder, target, ("local", "episode", "null", "duplicate"), shows, episodes)
    _sprinkle(builder, death_metal, ("local", "duplicate"), shows, episodes)
    _mark_feature_gaps(builder, [saved_ids, liked_ids, disliked_ids, discovery_ids, death_metal_ids])
    in_sources = {*saved_ids, *liked_ids, *disliked_ids, *reference_ids, *editorial_ids, *discovery_ids,
                  *death_metal_ids}
    _add_unheard_albums(builder, seed, saved_ids, in_sources)

    return DemoLibrary(
        user_id=user_id,
        display_name=DEMO_DISPLAY_NAME,
        tracks=builder.tracks,
        saved=saved,
        playlists={p.id: p for p in (liked, disliked, reference, discovery, death_metal, editorial)},
        roles={
            "liked": [SAVED_TRACKS, liked.id],
            "disliked": [disliked.id],
            "reference": [reference.id],
            "candidates": [discovery.id, death_metal.id],
        },
        episodes=episodes,
        seed=seed,
    )


UNHEARD_ARTISTS = 5  # the most-liked artists that get albums the user has not heard
UNHEARD_ALBUMS = 2  # per artist
UNHEARD_ALBUM_TRACKS = 6  # at most, per album


def _add_unheard_albums(builder: _Builder, seed: int, saved_ids: list[str], in_sources: set[str]) -> None:
    """Give the user's most-liked artists whole albums the user has never heard (the ``artists`` source's prey).

    The songs are catalogue tracks in no source, of the artist's own taste cluster, moved onto new albums
    by that artist: the catalogue keeps its size and every id, and the main generator's stream is untouched
    (this draws from its own ``random.Random``), so libraries of earlier versions keep their ids.
    """
    rng = random.Random(f"unheard-albums-{seed}")
    liked_by_artist: dict[str, list[Track]] = {}
    for track_id in saved_ids:
        track = builder.tracks[track_id]
        liked_by_artist.setdefault(track.artists[0].id, []).append(track)
    top = sorted(liked_by_artist.values(), key=lambda ts: (-len(ts), ts[0].artists[0].id))[:UNHEARD_ARTISTS]
    spare = {name: [t for t in builder._cluster_tracks[name] if t.id not in in_sources] for name in CLUSTERS}
    for liked in top:
        artist, cluster = liked[0].artists[0], liked[0].cluster
        for _ in range(UNHEARD_ALBUMS):
            songs, spare[cluster] = spare[cluster][:UNHEARD_ALBUM_TRACKS], spare[cluster][UNHEARD_ALBUM_TRACKS:]
            if not songs:
                break
            album = Album(
                id=_unused_id(rng, builder),
                name=_fill(rng, rng.choice(_TITLE_FORMS)),
                release_date=f"{rng.randint(2024, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                artists=(artist,),
                album_type="album" if len(songs) > 2 else "single",
                total_tracks=len(songs),
            )
            for number, track in enumerate(songs, start=1):
                track.album.total_tracks -= 1
                track.artists, track.album, track.track_number = [artist], album, number


def _unused_id(rng: random.Random, builder: _Builder) -> str:
    while True:
        candidate = "".join(rng.choices(BASE62, k=22))
        if candidate not in builder._ids:
            builder._ids.add(candidate)
            return candidate


def generate_demo_library(seed: int = 7, n_tracks: int = 3000) -> DemoLibrary:
    """The demo library: ~700 Liked Songs, a liked playlist, ~250 disliked, a reference and two
    candidate playlists, plus one followed editorial playlist; role sizes scale with ``n_tracks``.

    ``n_tracks`` is the catalogue size; about 45% of it sits in the user's sources, the rest is
    catalogue the stand-in also knows (for feature look-ups and playlist writes).
    """
    if n_tracks < MIN_TRACKS:
        raise ValueError(f"n_tracks must be at least {MIN_TRACKS}, got {n_tracks}")
    scale = n_tracks / _REFERENCE_SIZE

    def size(base: int, minimum: int = 10) -> int:
        return max(minimum, round(base * scale))

    plan = _Plan(
        n_tracks=n_tracks, saved=size(700), liked_playlist=size(120), disliked=size(250),
        reference=size(50), discovery=size(90), death_metal=size(100), editorial=size(50),
    )
    return _build(seed, plan)


def scaled_library(n_saved: int, seed: int = 7) -> DemoLibrary:
    """A library with exactly ``n_saved`` Liked Songs and only small playlists, for benchmarks."""
    if n_saved < 1:
        raise ValueError(f"n_saved must be positive, got {n_saved}")
    plan = _Plan(
        n_tracks=n_saved + 150, saved=n_saved, liked_playlist=20, disliked=30,
        reference=10, discovery=30, death_metal=20, editorial=10,
    )
    return _build(seed, plan)


def write_demo_config(library: DemoLibrary, path: str | Path) -> Path:
    """Write the pipeline's TOML config naming the library's sources by role; return the path."""
    path = Path(path)
    lines = ["# Weekly Discovery configuration (demo library served by the stand-in)", "[sources]"]
    for role in ROLES:
        refs = ", ".join(f'"{ref}"' for ref in library.role_sources(role))
        lines.append(f"{role} = [{refs}]")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
