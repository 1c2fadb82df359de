"""Lake inputs of the right shape for each Spark job, generated directly (numpy + pyarrow), seeded.

Generating through the stand-in and the upstream jobs would measure the upstream jobs again and take
longer than the job under test, so each job's input is written the way its producer writes it:

- :func:`write_raw_pages`   normalize's input: ``raw/spotify/source=*/ds=D/page-*.json`` + ``_manifest.json``,
  pages of 50 items in the stand-in's (and Spotify's) item shape, about 2 KB per item. 90% of the
  items are Liked Songs; 10% are a candidate playlist that also carries the oddities a real playlist
  has (1% local files, 0.5% podcast episodes, 0.5% removed items, 1% duplicates).
- :func:`write_enrich_inputs`  enrich's input for a weekly run: date D of the Delta table ``silver/tracks``
  (n rows), the feature cache ``silver/audio_features`` (one undated Delta table) holding rows fetched on
  the previous date for every track but the week's new ones (95% of n: the cache as of D), and the fetch
  step's raw Spotify batches for the new 5% (bodies, request files and the provider manifest, in the
  fetch step's format).
- :func:`write_enriched`  report / train / score's input: date D of the Delta table
  ``silver/tracks_enriched`` (and its ``_metrics.json``) with the row counts per role asked for,
  realistic feature distributions (benchmarks/report_job.py's generator) shifted by role so a model has
  something to learn (liked: quieter and more acoustic).

Tables are written with delta-rs (:mod:`weekly_discovery.lake.delta`: ``write_date`` for a date,
``merge`` for the cache), with the columns and types the Spark jobs write (:func:`arrow_schema` of their
declared schemas, every column nullable as in a table Spark creates).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa

from benchmarks.report_job import features as feature_values
from benchmarks.report_job import spotify_ids
from weekly_discovery.core.vocabulary import FEATURE_COLUMNS
from weekly_discovery.lake import AUDIO_FEATURES, SILVER_TRACKS, TRACKS_ENRICHED, delta
from weekly_discovery.lake.layout import MANIFEST, METRICS, Lake

DS = "2026-11-23"
PREVIOUS_DS = "2026-11-16"
PAGE = 50
API = "https://api.spotify.com/v1"
NEW_SHARE = 0.05  # enrich: the week's new tracks, as a share of the library


# --------------------------------------------------------------------------------------------------
# the Spark jobs' schemas, in Arrow
# --------------------------------------------------------------------------------------------------


def arrow_type(spark_type) -> pa.DataType:
    """The Arrow type Delta stores a Spark type as (a timestamp is UTC microseconds)."""
    from pyspark.sql import types as T

    simple = {T.StringType: pa.string(), T.IntegerType: pa.int32(), T.LongType: pa.int64(),
              T.DoubleType: pa.float64(), T.BooleanType: pa.bool_(), T.TimestampType: pa.timestamp("us", tz="UTC")}
    if isinstance(spark_type, T.ArrayType):
        return pa.list_(arrow_type(spark_type.elementType))
    for kind, arrow in simple.items():
        if isinstance(spark_type, kind):
            return arrow
    raise TypeError(f"no Arrow type for {spark_type!r} here")


def arrow_schema(fields) -> pa.Schema:
    """A Spark schema (or a list of its fields) in Arrow, every field nullable: a Delta table that a Spark job
    creates declares every column nullable, whatever the DataFrame said."""
    return pa.schema([pa.field(f.name, arrow_type(f.dataType), nullable=True) for f in fields])


def tracks_schema() -> pa.Schema:
    """``silver/tracks`` (:data:`weekly_discovery.spark.schemas.TRACKS_SCHEMA`)."""
    from weekly_discovery.spark.schemas import TRACKS_SCHEMA

    return arrow_schema(TRACKS_SCHEMA)


def cache_schema() -> pa.Schema:
    """``silver/audio_features`` (:data:`weekly_discovery.enrich.transforms.CACHE_SCHEMA`)."""
    from weekly_discovery.enrich.transforms import CACHE_SCHEMA

    return arrow_schema(CACHE_SCHEMA)


def enriched_schema() -> pa.Schema:
    """``silver/tracks_enriched`` as the enrich job writes it: the silver tracks columns, the discovered
    candidates' provenance (null on the library's rows), the features but ``duration_ms`` (the track's own is
    kept), ``feature_source`` and ``feature_status``
    (:func:`weekly_discovery.enrich.transforms.with_discovered`, :func:`~weekly_discovery.enrich.transforms.enrich_tracks`)."""
    from pyspark.sql.types import ArrayType, StringType, StructField

    from weekly_discovery.enrich.transforms import ENRICHED_EXTRA, FEATURE_FIELDS, PROVENANCE_COLUMNS
    from weekly_discovery.spark.schemas import TRACKS_SCHEMA

    provenance = [StructField(name, ArrayType(StringType()) if name == "seed_track_ids" else StringType())
                  for name in PROVENANCE_COLUMNS]
    features = {f.name: f for f in FEATURE_FIELDS}
    extra = [features.get(name) or StructField(name, StringType()) for name in ENRICHED_EXTRA]
    return arrow_schema([*TRACKS_SCHEMA, *provenance, *extra])


def conform(columns: dict[str, pa.Array], schema: pa.Schema) -> pa.Table:
    """``columns`` as a table of ``schema``: its columns in its order and types, the missing ones null."""
    n = len(next(iter(columns.values())))
    return pa.table([columns[f.name].cast(f.type) if f.name in columns else pa.nulls(n, f.type) for f in schema],
                    schema=schema)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------------------------------
# raw pages (normalize)
# --------------------------------------------------------------------------------------------------


def _artist(i: str) -> dict:
    return {"external_urls": {"spotify": f"https://open.spotify.com/artist/%({i})s"}, "href": f"{API}/artists/%({i})s",
            "id": f"%({i})s", "name": f"%({i}_name)s", "type": "artist", "uri": f"spotify:artist:%({i})s"}


def _images() -> list[dict]:
    url = "https://i.scdn.co/image/ab67616d0000b273%(album)s"
    return [{"url": url, "height": 640, "width": 640}, {"url": url + "-300", "height": 300, "width": 300}]


def _track_template() -> str:
    """The stand-in's TrackObject with ``%(name)s`` placeholders (JSON-safe values are substituted)."""
    track = {
        "album": {"album_type": "album", "total_tracks": 12, "available_markets": [],
                  "external_urls": {"spotify": "https://open.spotify.com/album/%(album)s"},
                  "href": f"{API}/albums/%(album)s", "id": "%(album)s", "images": _images(),
                  "name": "Album %(album_n)s", "release_date": "%(release)s", "release_date_precision": "day",
                  "type": "album", "uri": "spotify:album:%(album)s", "artists": [_artist("artist")]},
        "artists": [_artist("artist")],
        "disc_number": 1, "duration_ms": "@DURATION@", "explicit": "@EXPLICIT@",
        "external_ids": {"isrc": "QZ%(isrc)s"},
        "external_urls": {"spotify": "https://open.spotify.com/track/%(id)s"},
        "href": f"{API}/tracks/%(id)s", "id": "%(id)s", "is_local": False, "is_playable": True,
        "name": "Song %(n)s", "preview_url": None, "track_number": "@TRACK_NUMBER@", "type": "track",
        "uri": "spotify:track:%(id)s",
    }
    text = json.dumps(track, ensure_ascii=False)
    return (text.replace('"@DURATION@"', "%(duration)d").replace('"@EXPLICIT@"', "%(explicit)s")
            .replace('"@TRACK_NUMBER@"', "%(track_number)d"))


_USER = ('{"external_urls": {"spotify": "https://open.spotify.com/user/benchuser"}, "href": "' + API
         + '/users/benchuser", "id": "benchuser", "type": "user", "uri": "spotify:user:benchuser"}')
_LOCAL = json.dumps({
    "album": {"album_type": None, "total_tracks": 0, "available_markets": [], "external_urls": {}, "href": None,
              "id": None, "images": [], "name": "Demo Tape", "release_date": None, "release_date_precision": None,
              "type": "album", "uri": None, "artists": []},
    "artists": [{"external_urls": {}, "href": None, "id": None, "name": "Me", "type": "artist", "uri": None}],
    "disc_number": 0, "duration_ms": 201000, "explicit": False, "external_ids": {}, "external_urls": {},
    "href": None, "id": None, "is_local": True, "name": "Rehearsal %(n)s", "preview_url": None, "track_number": 0,
    "type": "track", "uri": "spotify:local:Me:Demo+Tape:Rehearsal+%(n)s:201",
})
_EPISODE = json.dumps({
    "audio_preview_url": None, "description": "Episode.", "duration_ms": 1800000, "explicit": False,
    "external_urls": {"spotify": "https://open.spotify.com/episode/%(id)s"}, "href": f"{API}/episodes/%(id)s",
    "id": "%(id)s", "images": [], "is_externally_hosted": False, "is_playable": True, "languages": ["en"],
    "name": "Episode %(n)s", "release_date": "2026-01-01", "release_date_precision": "day", "type": "episode",
    "uri": "spotify:episode:%(id)s",
    "show": {"id": "4rOoJ6Egrf8K2IrywzwOMk", "name": "The Daily Riff", "publisher": "Riff Media", "type": "show",
             "uri": "spotify:show:4rOoJ6Egrf8K2IrywzwOMk"},
})


def _page_text(items: list[str], offset: int, total: int, path: str) -> str:
    def url(at: int) -> str:
        return f'"{API}{path}?offset={at}&limit={PAGE}"'

    nxt = url(offset + PAGE) if offset + PAGE < total else "null"
    prev = url(max(0, offset - PAGE)) if offset > 0 else "null"
    return (f'{{"href": {url(offset)}, "items": [{", ".join(items)}], "limit": {PAGE}, "next": {nxt}, '
            f'"offset": {offset}, "previous": {prev}, "total": {total}}}')


def write_raw_pages(lake: Lake, n: int, ds: str = DS, seed: int = 11) -> dict:
    """Raw pages and manifests of one date: a Liked Songs source and a candidate playlist (see module doc)."""
    rng = _rng(seed)
    n_playlist = max(20, n // 10)
    n_saved = n - n_playlist
    n_artists = max(50, n // 20)
    ids = spotify_ids(rng, n + n // 50 + 10)
    track_ids, spare = ids[:n], ids[n:]
    artists = spotify_ids(rng, n_artists)
    albums = spotify_ids(rng, max(10, n // 8))
    artist_of = np.minimum((rng.pareto(1.2, n) * 50).astype(np.int64), n_artists - 1)
    album_of = rng.integers(0, len(albums), n)
    durations = rng.integers(90_000, 420_000, n)
    explicit = rng.random(n) < 0.1
    template = _track_template()
    epoch = dt.datetime(2026, 11, 20, 9, 0, 0)

    def track_json(i: int) -> str:
        a, al = int(artist_of[i]), int(album_of[i])
        return template % {
            "id": track_ids[i], "n": i, "album": albums[al], "album_n": al, "release": "2020-01-01",
            "artist": artists[a], "artist_name": f"Artist {a}", "isrc": track_ids[i][:10].upper(),
            "duration": int(durations[i]), "explicit": "true" if explicit[i] else "false",
            "track_number": 1 + i % 12,
        }

    def added(i: int) -> str:
        return (epoch - dt.timedelta(minutes=7 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")

    written = {"pages": 0, "bytes": 0, "items": 0}

    def write_source(key: str, items: list[str], manifest: dict, path: str) -> None:
        folder = lake.raw_partition(key, ds)
        folder.mkdir(parents=True, exist_ok=True)
        pages = []
        for k in range(math.ceil(len(items) / PAGE) or 1):
            name = f"page-{k:05d}.json"
            text = _page_text(items[k * PAGE:(k + 1) * PAGE], k * PAGE, len(items), path)
            (folder / name).write_text(text, encoding="utf-8")
            pages.append(lake.relative(folder / name))
            written["bytes"] += len(text)
        written["pages"] += len(pages)
        written["items"] += len(items)
        (folder / MANIFEST).write_text(json.dumps({
            **manifest, "ds": ds, "mode": "full", "pages": pages, "item_total": len(items),
            "requests": len(pages), "extracted_at": f"{ds}T06:00:00Z"}, indent=2))

    saved = [f'{{"added_at": "{added(i)}", "track": {track_json(i)}}}' for i in range(n_saved)]
    write_source("saved_tracks", saved, {
        "source_key": "saved_tracks", "kind": "saved_tracks", "role": "liked", "spotify_id": None,
        "name": "Liked Songs", "snapshot_id": None,
        "head": {"track_id": track_ids[0], "added_at": added(0)}}, "/me/tracks")

    playlist_id = spare[-1]
    odd = rng.random(n_playlist)
    odd[1:5] = (0.005, 0.012, 0.017, 0.025)  # at least one of each oddity, whatever the size
    entries, odd_counts = [], {"local_file": 0, "episode": 0, "null_item": 0, "duplicate": 0}
    odd[0] = 0.5  # the first entry is a track, so there is always one to repeat
    kept: list[int] = []  # catalogue indices of the tracks listed so far
    for j, i in enumerate(range(n_saved, n)):
        prefix = f'{{"added_at": "{added(j)}", "added_by": {_USER}, '
        if odd[j] < 0.01:
            item, kind = _LOCAL % {"n": j}, "local_file"
        elif odd[j] < 0.015:
            item, kind = _EPISODE % {"id": spare[j % (len(spare) - 1)], "n": j}, "episode"
        elif odd[j] < 0.02:
            item, kind = "null", "null_item"
        elif odd[j] < 0.03 and kept:
            item, kind = track_json(kept[int(rng.integers(0, len(kept)))]), "duplicate"
        else:
            item, kind = track_json(i), None
            kept.append(i)
        if kind:
            odd_counts[kind] += 1
        local = "true" if kind == "local_file" else "false"
        entries.append(f'{prefix}"is_local": {local}, "item": {item}, "track": {item}}}')
    write_source(f"playlist-{playlist_id}", entries, {
        "source_key": f"playlist-{playlist_id}", "kind": "playlist", "role": "candidates",
        "spotify_id": playlist_id, "name": "Discovery Mix", "snapshot_id": "AAAAAbench",
        "owner_id": "benchuser"}, f"/playlists/{playlist_id}/items")
    return {**written, "oddities": odd_counts}


# --------------------------------------------------------------------------------------------------
# silver tracks + feature cache + raw batches (enrich)
# --------------------------------------------------------------------------------------------------


ROLE_SOURCES = {  # role -> number of sources (playlists; liked is Liked Songs plus one playlist)
    "liked": 2, "disliked": 2, "reference": 5, "candidates": 4,
}


def _sources(rng: np.random.Generator, roles: np.ndarray) -> tuple[np.ndarray, np.ndarray, list]:
    """source_key, source_name per row, and playlist ids (liked rows: 95% Liked Songs)."""
    n = len(roles)
    playlist_ids = spotify_ids(rng, sum(ROLE_SOURCES.values()))
    source_key = np.empty(n, dtype=object)
    source_name = np.empty(n, dtype=object)
    at = 0
    for role, count in ROLE_SOURCES.items():
        mask = roles == role
        ids = playlist_ids[at:at + count]
        at += count
        pick = rng.integers(0, len(ids), int(mask.sum()))
        keys = np.array([f"playlist-{i}" for i in ids], dtype=object)[pick]
        names = np.array([f"{role.title()} playlist {k + 1}" for k in range(len(ids))], dtype=object)[pick]
        if role == "liked":
            saved = rng.random(int(mask.sum())) < 0.95
            keys[saved], names[saved] = "saved_tracks", "Liked Songs"
        source_key[mask], source_name[mask] = keys, names
    return source_key, source_name, playlist_ids


def _roles(rng: np.random.Generator, counts: dict[str, int]) -> np.ndarray:
    roles = np.concatenate([np.full(c, r, dtype=object) for r, c in counts.items() if c])
    rng.shuffle(roles)
    return roles


def _positions(source_key: np.ndarray) -> np.ndarray:
    """0-based place of each row within its source (in row order)."""
    positions = np.zeros(len(source_key), dtype=np.int32)
    seen: dict[str, int] = {}
    for i, key in enumerate(source_key):
        positions[i] = seen.get(key, 0)
        seen[key] = positions[i] + 1
    return positions


def _silver_columns(rng: np.random.Generator, roles: np.ndarray, track_ids: np.ndarray) -> dict[str, pa.Array]:
    """The silver tracks columns (schemas.TRACKS_SCHEMA, in its order)."""
    n = len(roles)
    source_key, source_name, _ = _sources(rng, roles)
    n_artists = max(100, n // 20)
    artist_ids = np.array(spotify_ids(rng, n_artists), dtype=object)
    artist_of = np.minimum((rng.pareto(1.2, n) * 100).astype(np.int64), n_artists - 1)
    added_at = np.datetime64("2026-11-20T09:00:00", "us") - (np.arange(n) * 420_000_000).astype("timedelta64[us]")
    return {
        "track_id": pa.array(track_ids, pa.string()),
        "track_uri": pa.array(np.char.add("spotify:track:", track_ids.astype(str)), pa.string()),
        "name": pa.array(np.char.add("Song ", np.arange(n).astype(str)), pa.string()),
        "artist_ids": pa.array([[a] for a in artist_ids[artist_of]], pa.list_(pa.string())),
        "artist_names": pa.array([[f"Artist {a}"] for a in artist_of], pa.list_(pa.string())),
        "primary_artist_id": pa.array(artist_ids[artist_of], pa.string()),
        "primary_artist_name": pa.array(np.char.add("Artist ", artist_of.astype(str)), pa.string()),
        "album_id": pa.array(artist_ids[(artist_of * 7 + 3) % n_artists], pa.string()),
        "album_name": pa.array(np.char.add("Album ", (artist_of % 997).astype(str)), pa.string()),
        "album_release_date": pa.array(np.full(n, "2020-01-01"), pa.string()),
        "duration_ms": pa.array(rng.integers(90_000, 420_000, n).astype(np.int64)),
        "explicit": pa.array(rng.random(n) < 0.1),
        "added_at": pa.array(added_at, pa.timestamp("us", tz="UTC")),
        "role": pa.array(roles, pa.string()),
        "source_key": pa.array(source_key, pa.string()),
        "source_id": pa.array([None if k == "saved_tracks" else k[9:] for k in source_key], pa.string()),
        "source_name": pa.array(source_name, pa.string()),
        "snapshot_id": pa.array([None if k == "saved_tracks" else "AAAAAbench" for k in source_key], pa.string()),
        "position": pa.array(_positions(source_key)),
    }


def _write_metrics(lake: Lake, table, ds: str, metrics: dict) -> None:
    """The date's ``_metrics.json`` beside its rows, as the Spark jobs write it after their commit."""
    folder = lake.partition(table, ds)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / METRICS).write_text(json.dumps(metrics, indent=2))


SILVER_MIX = {"liked": 0.5, "disliked": 0.15, "reference": 0.1, "candidates": 0.25}


def _typed_features(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    values = feature_values(rng, n)
    values["duration_ms"] = rng.integers(90_000, 420_000, n).astype(np.int64)
    return values


def write_enrich_inputs(lake: Lake, n: int, ds: str = DS, previous_ds: str = PREVIOUS_DS, seed: int = 12,
                        new_share: float = NEW_SHARE) -> dict:
    """Silver tracks of ``ds``, the feature cache (rows fetched on ``previous_ds``) and ``ds``'s raw Spotify
    batches."""
    rng = _rng(seed)
    counts = {role: int(round(n * share)) for role, share in SILVER_MIX.items()}
    counts["candidates"] += n - sum(counts.values())
    roles = _roles(rng, counts)
    track_ids = np.array(spotify_ids(rng, n), dtype=object)
    delta.write_date(lake, SILVER_TRACKS, ds, conform(_silver_columns(rng, roles, track_ids), tracks_schema()))

    n_new = max(1, int(round(n * new_share)))
    order = rng.permutation(n)
    new_ids, known_ids = track_ids[order[:n_new]], track_ids[order[n_new:]]

    # the cache as of ds (CACHE_SCHEMA), rows of the run of previous_ds: ok 98.5%, missing 1%, quarantined 0.5%
    k = len(known_ids)
    status = np.array(["ok", "missing", "quarantined"], dtype=object)[rng.choice(3, k, p=[0.985, 0.01, 0.005])]
    ok = status == "ok"
    values = _typed_features(rng, k)
    fetched_at = np.full(k, np.datetime64(f"{previous_ds}T06:10:00", "us"))
    snapshot = {
        "track_id": pa.array(known_ids, pa.string()),
        "status": pa.array(status, pa.string()),
        "source": pa.array(np.where(ok, "spotify", None), pa.string()),
        "fetched_at": pa.array(fetched_at, pa.timestamp("us", tz="UTC")),
        "fetched_ds": pa.array(np.full(k, previous_ds), pa.string()),
        "providers_asked": pa.array(np.full(k, "spotify,reccobeats"), pa.string()),
        "detail": pa.array(np.where(status == "quarantined", "tempo=-3 (expected >= 0)", None), pa.string()),
    }
    types = {"key": pa.int32(), "mode": pa.int32(), "time_signature": pa.int32(), "duration_ms": pa.int64()}
    for name in FEATURE_COLUMNS:
        snapshot[name] = pa.array(values[name], types.get(name, pa.float64()), mask=~ok)
    from weekly_discovery.enrich.cache import CACHE_KEYS

    delta.merge(lake, AUDIO_FEATURES, conform(snapshot, cache_schema()), CACHE_KEYS, ds=previous_ds)

    # the fetch step's raw Spotify batches for the new ids (1% unknown: null entries)
    folder = lake.raw_features_partition("spotify", ds)
    folder.mkdir(parents=True, exist_ok=True)
    new_values = _typed_features(rng, n_new)
    unknown = rng.random(n_new) < 0.01
    batches = []
    fetched = f"{ds}T06:10:00.000Z"
    for b in range(math.ceil(n_new / 100)):
        sl = slice(b * 100, (b + 1) * 100)
        entries = []
        for i in range(sl.start, min(sl.stop, n_new)):
            if unknown[i]:
                entries.append(None)
                continue
            tid = new_ids[i]
            entry = {name: (new_values[name][i].item()) for name in FEATURE_COLUMNS}
            entry |= {"analysis_url": f"{API}/audio-analysis/{tid}", "id": tid, "track_href": f"{API}/tracks/{tid}",
                      "type": "audio_features", "uri": f"spotify:track:{tid}"}
            entries.append(entry)
        body, request = f"batch-{b:05d}.json", f"batch-{b:05d}.request.json"
        (folder / body).write_text(json.dumps({"audio_features": entries}, separators=(",", ":")))
        asked = [str(t) for t in new_ids[sl]]
        answered = sum(e is not None for e in entries)
        (folder / request).write_text(json.dumps({
            "provider": "spotify", "ds": ds, "batch": b, "body": body, "url": f"{API}/audio-features",
            "ids": asked, "answered": answered, "fetched_at": fetched, "requests": 1}, indent=2, sort_keys=True))
        batches.append({"body": body, "request": request, "ids": len(asked), "answered": answered,
                        "fetched_at": fetched})
    (folder / MANIFEST).write_text(json.dumps({
        "identity": f"{API}/audio-features (client bench)", "off_reason": "", "provider": "spotify", "ds": ds,
        "chain": ["spotify", "reccobeats"], "status": "ok", "note": "", "requests": len(batches),
        "new_batches": len(batches), "reused_batches": 0, "asked": n_new,
        "answered": sum(b["answered"] for b in batches), "batches": batches,
        "written_at": f"{ds}T06:11:00Z"}, indent=2, sort_keys=True))
    return {"silver_rows": n, "snapshot_rows": k, "new_ids": n_new, "batches": len(batches)}


def write_config(path: Path, lake: Lake) -> Path:
    """A config the enrich job accepts: the lake and the enrichment chain (sources are not read by it)."""
    path.write_text(
        "[sources]\nliked = [\"saved_tracks\"]\n\n"
        f"[lake]\nroot = \"{lake.root}\"\n\n"
        "[enrichment]\nproviders = [\"spotify\", \"reccobeats\"]\n",
        encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------------
# tracks_enriched (report, train, score)
# --------------------------------------------------------------------------------------------------


LIBRARY_MIX = {"liked": 0.40, "disliked": 0.15, "reference": 0.25, "candidates": 0.20}  # report_job.py's mix


def library_counts(n: int) -> dict[str, int]:
    counts = {role: int(round(n * share)) for role, share in LIBRARY_MIX.items()}
    counts["candidates"] += n - sum(counts.values())
    return counts


def write_enriched(lake: Lake, counts: dict[str, int], ds: str = DS, seed: int = 20161107) -> dict:
    """Date ``ds`` of ``silver/tracks_enriched`` with ``counts`` rows per role (see module docstring)."""
    rng = _rng(seed)
    roles = _roles(rng, counts)
    n = len(roles)
    track_ids = np.array(spotify_ids(rng, n), dtype=object)
    columns = _silver_columns(rng, roles, track_ids)
    # 5% of liked rows repeat a Liked Songs track in the liked playlist (the dedupe a real library needs)
    source_key = np.array(columns["source_key"].to_pylist(), dtype=object)
    liked_saved = np.flatnonzero((roles == "liked") & (source_key == "saved_tracks"))
    liked_playlist = np.flatnonzero((roles == "liked") & (source_key != "saved_tracks"))
    if len(liked_saved) and len(liked_playlist):
        track_ids[liked_playlist] = track_ids[rng.choice(liked_saved, len(liked_playlist))]
        columns["track_id"] = pa.array(track_ids, pa.string())
        columns["track_uri"] = pa.array(np.char.add("spotify:track:", track_ids.astype(str)), pa.string())

    values = feature_values(rng, n)
    liked, disliked = roles == "liked", roles == "disliked"
    values["energy"] = np.clip(values["energy"] - 0.18 * liked + 0.12 * disliked, 0, 1)
    values["acousticness"] = np.clip(values["acousticness"] + 0.2 * liked - 0.1 * disliked, 0, 1)
    values["loudness"] = np.clip(values["loudness"] - 3.0 * liked + 2.0 * disliked, -60, 3)
    values["danceability"] = np.clip(values["danceability"] + 0.08 * disliked, 0, 1)
    status = np.array(["ok", "missing", "quarantined", "pending"], dtype=object)[
        rng.choice(4, n, p=[0.95, 0.03, 0.01, 0.01])]
    ok = status == "ok"
    for name, v in values.items():
        columns[name] = pa.array(v, mask=~ok)
    columns["feature_source"] = pa.array(np.where(ok, "reccobeats", None), pa.string())
    columns["feature_status"] = pa.array(status, pa.string())
    metrics = {"ds": ds, "providers_in_order": ["spotify", "reccobeats"],
               "gates": {"checked": n, "quarantined": int((status == "quarantined").sum())}}
    delta.write_date(lake, TRACKS_ENRICHED, ds, conform(columns, enriched_schema()))
    _write_metrics(lake, TRACKS_ENRICHED, ds, metrics)
    return {"rows": n, **{f"{role}_rows": c for role, c in counts.items()}}
