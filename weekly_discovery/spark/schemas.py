"""Declared Spark schemas at every boundary of the normalize step.

Columns declared NOT NULL (the source context, keys, positions) are checked when a
transform casts its result to the schema (``DataFrame.to``); Parquet keeps them as
required fields. Reading files back, Spark reports every column nullable.

Raw JSON is never read with schema inference: inference depends on what happens to be
in the pages (a page of local files has no album ids; a week without episodes has no
``show``), so the same code would produce different types on different days. Only the
fields the pipeline uses are declared; the raw pages keep everything else verbatim.

Shapes follow the Spotify Web API OpenAPI spec (PagingObject, SavedTrackObject,
PlaylistTrackObject, TrackObject, EpisodeObject), read leniently: the real API sends
``id: null`` for local files and ``item: null`` for removed content.
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)


def _fields(*specs: tuple) -> StructType:
    """``StructType`` from ``(name, type)`` or ``(name, type, nullable)`` tuples."""
    return StructType([StructField(*spec) if len(spec) == 3 else StructField(spec[0], spec[1], True) for spec in specs])


CORRUPT_RECORD = "_corrupt_record"

SOURCE_CONTEXT = (
    ("role", StringType(), False),
    ("source_key", StringType(), False),
    ("source_id", StringType()),
    ("source_name", StringType()),
    ("snapshot_id", StringType()),
)
"""Where a row came from (its source in the config and the playlist snapshot read): the same columns in
``bronze/items``, ``silver/tracks`` and ``quarantine/items``."""

RAW_PAGE_SCHEMA = _fields(
    ("href", StringType()),
    ("items", ArrayType(StringType())),
    ("limit", LongType()),
    ("next", StringType()),
    ("offset", LongType()),
    ("previous", StringType()),
    ("total", LongType()),
    (CORRUPT_RECORD, StringType()),
)
"""One page file: the verbatim body of ``GET /me/tracks`` or ``GET /playlists/{id}/items``.

``items`` is declared ``array<string>``, so Spark keeps each item as its (compacted) JSON
text: an item that later fails a check is quarantined with its text, and nothing is lost.
``_corrupt_record`` is filled by ``from_json`` when the page is not valid JSON or does not
fit the paging object (used with ``columnNameOfCorruptRecord``).
"""

ARTIST_SCHEMA = _fields(("id", StringType()), ("name", StringType()))
"""SimplifiedArtistObject: the artist fields we keep."""

ALBUM_SCHEMA = _fields(
    ("id", StringType()),
    ("name", StringType()),
    ("release_date", StringType()),
    ("release_date_precision", StringType()),
)
"""SimplifiedAlbumObject: ``release_date`` stays a string (``1981``, ``1981-12`` or ``1981-12-15``)."""

PLAYABLE_SCHEMA = _fields(
    ("id", StringType()),
    ("uri", StringType()),
    ("name", StringType()),
    ("type", StringType()),
    ("duration_ms", LongType()),
    ("explicit", BooleanType()),
    ("is_local", BooleanType()),
    ("episode", BooleanType()),
    ("track", BooleanType()),
    ("artists", ArrayType(ARTIST_SCHEMA)),
    ("album", ALBUM_SCHEMA),
)
"""TrackObject or EpisodeObject, as far as the pipeline needs it.

``type`` is ``"track"`` or ``"episode"``; the legacy ``/tracks`` endpoint also flags
episodes with ``episode: true, track: false``. A local file has ``is_local: true``,
``id: null`` and a ``spotify:local:...`` uri.
"""

RAW_ITEM_SCHEMA = _fields(
    ("added_at", StringType()),
    ("added_by", _fields(("id", StringType()))),
    ("is_local", BooleanType()),
    ("item", PLAYABLE_SCHEMA),
    ("track", PLAYABLE_SCHEMA),
)
"""One element of a page's ``items``: a PlaylistTrackObject or a SavedTrackObject.

Playlist items carry the object in ``item`` (and in the deprecated ``track``); saved
tracks and older playlist pages only in ``track``. ``added_at`` stays the API's string
here; silver parses it.
"""

PAGE_LIST_SCHEMA = _fields(
    ("ds", StringType(), False),
    ("source_key", StringType(), False),
    ("kind", StringType(), False),
    ("role", StringType(), False),
    ("source_id", StringType()),
    ("source_name", StringType()),
    ("snapshot_id", StringType()),
    ("page", StringType(), False),
    ("page_index", IntegerType(), False),
)
"""The pages to normalize, built in the driver from the manifests of one date.

``page`` is the lake-relative path; ``page_index`` is the page's 0-based place in its
manifest's ``pages`` list (which orders the source's items).
"""

RAW_TEXT_SCHEMA = _fields(("file_path", StringType()), ("text", StringType()))
"""Page files as read: one row per file, ``file_path`` as Spark reports it (a URI)."""

BRONZE_ITEMS_SCHEMA = _fields(
    ("ds", StringType(), False),
    *SOURCE_CONTEXT,
    ("page", StringType(), False),
    ("position", IntegerType(), False),
    ("added_at", StringType()),
    ("added_by_id", StringType()),
    ("is_local", BooleanType()),
    ("item", PLAYABLE_SCHEMA),
)
"""``bronze/items``: one NDJSON line per raw item of a readable page, quarantined ones included.

``position`` is the item's 0-based place in its source's list as the manifest orders it
(items of earlier pages + index in the page). ``item`` is the parsed track or episode
(``item``, else the legacy ``track``), null for removed content. ``is_local`` is the
playlist item's own flag (null for saved tracks).
"""

TRACKS_SCHEMA = _fields(
    ("track_id", StringType(), False),
    ("track_uri", StringType()),
    ("name", StringType()),
    ("artist_ids", ArrayType(StringType())),
    ("artist_names", ArrayType(StringType())),
    ("primary_artist_id", StringType()),
    ("primary_artist_name", StringType()),
    ("album_id", StringType()),
    ("album_name", StringType()),
    ("album_release_date", StringType()),
    ("duration_ms", LongType()),
    ("explicit", BooleanType()),
    ("added_at", TimestampType()),
    *SOURCE_CONTEXT,
    ("position", IntegerType(), False),
)
"""``silver/tracks``: one row per (source_key, track_id), the first occurrence in the source.

Only Spotify tracks with an id: no local files, episodes or removed content (those are
in quarantine). ``added_at`` is UTC. There is no ``ds`` column: the partition folder
carries the date. Rows are sorted by (source_key, position).
"""

QUARANTINE_REASONS = ("null_item", "local_file", "episode", "missing_id", "invalid_id", "duplicate",
                      "malformed_page")
"""Why a row is in quarantine, in the order the checks apply (the first that fits wins)."""

QUARANTINE_SCHEMA = _fields(
    ("ds", StringType(), False),
    ("reason", StringType(), False),
    ("detail", StringType()),
    *SOURCE_CONTEXT,
    ("page", StringType(), False),
    ("position", IntegerType(), False),
    ("item_id", StringType()),
    ("item_uri", StringType()),
    ("item_name", StringType()),
    ("item_type", StringType()),
    ("added_at", StringType()),
    ("raw", StringType()),
)
"""``quarantine/items``: rejected items, and pages that could not be read, with a ``reason``.

``reason`` is one of :data:`QUARANTINE_REASONS`. ``raw`` is the item's JSON text, or
for ``malformed_page`` the page file's text (null when the file is missing or empty);
such a row has ``position`` = where the page's items would have started. ``detail``
says more where useful (the first position of a duplicate, what is wrong with a page).
"""
