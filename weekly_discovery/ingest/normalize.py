"""Normalize raw Spotify pages into bronze items, silver tracks and quarantine rows.

The functions here are pure: DataFrames in, DataFrames out, plus a few plain-Python
helpers for the manifests and the metrics. ``jobs/normalize.py`` reads and writes.

Flow for one date::

    page list (from the manifests) + page file texts
      -> parse_pages      one row per page: context, problem (if unreadable), items as JSON texts
      -> extract_items    one row per item: context, position, raw text, parsed track/episode
      -> classify_items   + status (track | superseded | quarantined), reason, unreadable fields;
                          the raw text kept for quarantined items only
      -> to_bronze / to_silver / to_quarantine / outcome_counts -> build_metrics

Rules (first that fits wins, see ``schemas.QUARANTINE_REASONS``): a page that is not a
JSON paging object quarantines as ``malformed_page``; an item without a track or episode
is ``null_item``; then ``local_file``, ``episode``, ``missing_id``, ``invalid_id`` (an id that
is not Spotify's 22 base-62 characters: it would be sent to the feature APIs). A track id seen again
in the same source keeps its first occurrence (manifest page order, then index): in a
playlist the repeat is a ``duplicate``; in saved tracks it is ``superseded`` (the overlap
of an incremental extract with the previous pages), counted but not quarantined.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from weekly_discovery.core.errors import UserError
from weekly_discovery.core.spotify_ids import SPOTIFY_ID_RE
from weekly_discovery.core.vocabulary import SAVED_TRACKS
from weekly_discovery.lake import RAW_PAGE_RE, LakeError, check_raw_page, source_key
from weekly_discovery.spark.schemas import (
    BRONZE_ITEMS_SCHEMA,
    CORRUPT_RECORD,
    QUARANTINE_REASONS,
    QUARANTINE_SCHEMA,
    RAW_ITEM_SCHEMA,
    RAW_PAGE_SCHEMA,
    TRACKS_SCHEMA,
)

TRACK, SUPERSEDED, QUARANTINED = "track", "superseded", "quarantined"
MALFORMED_PAGE = "malformed_page"
ITEM_REASONS = tuple(r for r in QUARANTINE_REASONS if r != MALFORMED_PAGE)

_CONTEXT = ["ds", "role", "source_key", "source_id", "source_name", "snapshot_id"]
_REQUIRED_MANIFEST_KEYS = ("source_key", "kind", "role", "name", "ds", "pages")


class RawInputError(UserError, ValueError):
    """The raw input of a date cannot be normalized: no manifests, a bad manifest, a missing page."""


# ---- manifests -> page list (plain Python, in the driver) ---------------------------------
def page_list_rows(ds: str, manifests: Sequence[Mapping[str, Any]]) -> list[tuple]:
    """One tuple per listed page, in ``schemas.PAGE_LIST_SCHEMA`` order.

    Checks what the join and the lake layout rely on, and fails with the source's key:
    the manifest is for ``ds``, its key matches its kind and id, its pages are raw page paths.
    """
    rows = []
    for manifest in manifests:
        _check_manifest(ds, manifest)
        for index, page in enumerate(manifest["pages"]):
            rows.append((
                ds,
                manifest["source_key"],
                manifest["kind"],
                manifest["role"],
                manifest.get("spotify_id"),
                manifest["name"],
                manifest.get("snapshot_id"),
                page,
                index,
            ))
    return rows


def _check_manifest(ds: str, manifest: Mapping[str, Any]) -> None:
    where = f"manifest of source {manifest.get('source_key')!r} for ds={ds}"
    missing = [key for key in _REQUIRED_MANIFEST_KEYS if manifest.get(key) is None]
    if missing:
        raise RawInputError(f"{where} lacks {', '.join(missing)}; re-run the extract step for {ds}")
    if manifest["ds"] != ds:
        raise RawInputError(f"{where} says ds={manifest['ds']!r}")
    try:
        expected_key = source_key(manifest["kind"], manifest.get("spotify_id"))
        if manifest["source_key"] != expected_key:
            raise RawInputError(f"{where}: kind/spotify_id give source key {expected_key!r}")
        if not isinstance(manifest["pages"], list):
            raise RawInputError(f"{where}: 'pages' is not a list")
        for page in manifest["pages"]:
            check_raw_page(page)
    except LakeError as exc:
        raise RawInputError(f"{where}: {exc}") from exc


# ---- pages --------------------------------------------------------------------------------
def parse_pages(page_list: DataFrame, raw_pages: DataFrame) -> DataFrame:
    """Attach each listed page's file text and parse it as a paging object.

    ``page_list`` has ``schemas.PAGE_LIST_SCHEMA``; ``raw_pages`` has ``schemas.RAW_TEXT_SCHEMA``
    (``file_path`` as Spark reports it, a possibly percent-encoded URI: it is matched to the
    listed page by its lake-relative tail, which is plain ASCII by construction).

    Adds ``text``, ``problem`` (null for a readable page, else why not), ``items`` (the
    items' JSON texts), ``item_count`` and ``first_position`` (items in the source's earlier
    pages, so ``first_position + index`` is an item's place in the source's list).
    """
    texts = raw_pages.select(
        F.regexp_extract("file_path", f"({RAW_PAGE_RE.pattern})$", 1).alias("page"),
        F.col("text"),
    )
    parsed = F.from_json("text", RAW_PAGE_SCHEMA, {"columnNameOfCorruptRecord": CORRUPT_RECORD})
    problem = (
        F.when(F.col("text").isNull() | (F.trim("text") == ""), "page file is missing or empty")
        .when(F.col("parsed").isNull() | F.col(f"parsed.{CORRUPT_RECORD}").isNotNull(),
              "not valid JSON for a paging object")
        .when(F.col("parsed.items").isNull(), "paging object has no items array")
    )
    earlier_pages = (
        Window.partitionBy("source_key").orderBy("page_index")
        .rowsBetween(Window.unboundedPreceding, -1)
    )
    parsed_pages = (
        _attach_texts(page_list, texts)
        .withColumn("parsed", parsed)
        .withColumn("problem", problem)
        .withColumn("items", F.when(F.col("problem").isNull(), F.col("parsed.items")))
        .withColumn("item_count", F.coalesce(F.size("items"), F.lit(0)))
        .drop("parsed")
    )
    # The running count of items runs over (source_key, page_index, item_count) only: a window
    # buffers a whole partition (here: a whole source) in memory, which with the page texts and
    # their items is the size of the source's raw data (1M tracks, ~2 GB: OutOfMemoryError in a
    # 1 GB heap). The narrow rows are a few bytes each; they are joined back by broadcast
    # (one row per page on each side, so the inner join keeps every page once).
    positions = (
        parsed_pages.select("source_key", "page_index", "item_count")
        .withColumn("first_position",
                    F.coalesce(F.sum("item_count").over(earlier_pages), F.lit(0)).cast("int"))
        .drop("item_count")
    )
    return parsed_pages.join(F.broadcast(positions), ["source_key", "page_index"]).select(
        *parsed_pages.columns, "first_position"
    )


def _attach_texts(page_list: DataFrame, texts: DataFrame) -> DataFrame:
    """Every listed page with its file's ``text`` (null when no file was read), without moving the texts.

    A plain left join of the page list to the texts is planned as a sort-merge join: Spark shuffles
    both sides, the whole raw input included (~2 GB at 1M tracks, through the one JVM in local mode),
    before adaptive execution sees that the page list is small and broadcasts it. The page list (one
    short row per page, built from the manifests in the driver) is broadcast from the start instead, so
    the texts stream from the files into the parse. A broadcast cannot keep the unmatched rows of the
    broadcast side, so the listed pages without a text are added back by an anti join on the page
    names alone.
    """
    found = F.broadcast(page_list).join(texts, "page").select(*page_list.columns, "text")
    missing = page_list.join(F.broadcast(texts.select("page")), "page", "left_anti").select(
        *page_list.columns, F.lit(None).cast("string").alias("text")
    )
    return found.unionByName(missing)


def without_readable_texts(pages: DataFrame) -> DataFrame:
    """``pages`` without ``items``, and with ``text`` kept for unreadable pages only.

    That is all :func:`to_quarantine` and :func:`outcome_counts` read of the pages; it is a few
    bytes per readable page, where the full rows carry the whole raw input (at 1M tracks ~2 GB of
    text and as much again of items, which do not fit in a cache built in a 1 GB heap).
    """
    return pages.withColumn("text", F.when(F.col("problem").isNotNull(), F.col("text"))).drop("items")


# ---- items --------------------------------------------------------------------------------
def extract_items(pages: DataFrame) -> DataFrame:
    """One row per item of every readable page, parsed with ``schemas.RAW_ITEM_SCHEMA``.

    Keeps the page context, ``kind``, ``page_index``/``item_index`` (the order that decides
    first occurrences), ``position``, the item's JSON text ``raw`` and ``item``: the track or
    episode object (``item``, else the legacy ``track``; null for removed content).
    """
    exploded = pages.where(F.col("problem").isNull()).select(
        *_CONTEXT, "kind", "page", "page_index", "first_position",
        F.posexplode("items").alias("item_index", "raw"),
    )
    entry = F.from_json("raw", RAW_ITEM_SCHEMA)
    return exploded.withColumn("entry", entry).select(
        *_CONTEXT, "kind", "page", "page_index", "item_index",
        (F.col("first_position") + F.col("item_index")).cast("int").alias("position"),
        F.col("entry.added_at").alias("added_at"),
        F.col("entry.added_by.id").alias("added_by_id"),
        F.col("entry.is_local").alias("is_local"),
        F.coalesce(F.col("entry.item"), F.col("entry.track")).alias("item"),
        F.col("raw"),
    )


def classify_items(items: DataFrame) -> DataFrame:
    """Add ``status`` (track | superseded | quarantined), ``reason``, ``detail`` and ``unreadable``.

    ``reason`` is set for quarantined items only; ``detail`` names the first position of a
    repeated track (duplicate or superseded); ``unreadable`` lists the fields of
    ``UNREADABLE_FIELDS`` present in the raw item but unreadable as typed.

    ``raw`` (the item's JSON text) is kept for quarantined items only, the one output that shows
    it: it is most of an item's size (~2 KB of ~2.5), and every row of the result passes through
    the shuffle and sort of the first-occurrence window and through the job's cache. It is dropped
    before the window where no repeat can quarantine the item (a kept item of saved tracks: its
    repeats are superseded), and after it for every item that was not quarantined.
    """
    item = F.col("item")
    is_local = (
        F.coalesce(F.col("is_local"), F.lit(False))
        | F.coalesce(item["is_local"], F.lit(False))
        | F.coalesce(item["uri"].startswith("spotify:local:"), F.lit(False))
    )
    is_episode = F.coalesce(item["type"] == "episode", F.lit(False)) | F.coalesce(item["episode"], F.lit(False))
    missing_id = item["id"].isNull() | (F.trim(item["id"]) == "")
    invalid_id = ~item["id"].rlike(f"^{SPOTIFY_ID_RE.pattern}$")
    check = (
        F.when(item.isNull(), "null_item")
        .when(is_local, "local_file")
        .when(is_episode, "episode")
        .when(missing_id, "missing_id")
        .when(invalid_id, "invalid_id")
    )
    first_seen = Window.partitionBy("source_key", "track_key").orderBy("page_index", "item_index")
    repeated = F.col("track_key").isNotNull() & (F.row_number().over(first_seen) > 1)
    in_saved_tracks = F.col("kind") == SAVED_TRACKS
    unreadable = F.filter(F.array(*[F.when(_unreadable(field), F.lit(field)) for field in UNREADABLE_FIELDS]),
                          lambda field: field.isNotNull())
    return (
        items.withColumn("check", check)
        .withColumn("unreadable", unreadable)
        .withColumn("raw", F.when(F.col("check").isNotNull() | ~in_saved_tracks, F.col("raw")))
        .withColumn("track_key", F.when(F.col("check").isNull(), item["id"]))
        .withColumn("repeated", repeated)
        .withColumn("status",
                    F.when(F.col("check").isNotNull(), QUARANTINED)
                    .when(F.col("repeated") & in_saved_tracks, SUPERSEDED)
                    .when(F.col("repeated"), QUARANTINED)
                    .otherwise(TRACK))
        .withColumn("reason",
                    F.coalesce(F.col("check"), F.when(F.col("repeated") & ~in_saved_tracks, "duplicate")))
        .withColumn("detail",
                    F.when(F.col("repeated"),
                           F.concat(F.lit("first at position "),
                                    F.first("position").over(first_seen).cast("string"))))
        .withColumn("raw", F.when(F.col("status") == QUARANTINED, F.col("raw")))
        .drop("check", "track_key", "repeated")
    )


# ---- outputs ------------------------------------------------------------------------------
def to_bronze(items: DataFrame) -> DataFrame:
    """Bronze items (``schemas.BRONZE_ITEMS_SCHEMA``): every item, sorted by source and position (the order
    of the files written; a Delta table keeps no row order, so readers that need one sort)."""
    return items.select(*BRONZE_ITEMS_SCHEMA.fieldNames()).to(BRONZE_ITEMS_SCHEMA).orderBy("source_key", "position")


def to_silver(classified: DataFrame) -> DataFrame:
    """Silver tracks (``schemas.TRACKS_SCHEMA``): the kept tracks, sorted by source and position (the order
    of the files written; readers that need an order sort)."""
    item = F.col("item")
    primary_artist = F.try_element_at(item["artists"], F.lit(1))
    tracks = classified.where(F.col("status") == TRACK).select(
        _required_string(item["id"], "silver tracks: track_id").alias("track_id"),
        item["uri"].alias("track_uri"),
        item["name"].alias("name"),
        F.transform(item["artists"], lambda artist: artist["id"]).alias("artist_ids"),
        F.transform(item["artists"], lambda artist: artist["name"]).alias("artist_names"),
        primary_artist["id"].alias("primary_artist_id"),
        primary_artist["name"].alias("primary_artist_name"),
        item["album"]["id"].alias("album_id"),
        item["album"]["name"].alias("album_name"),
        item["album"]["release_date"].alias("album_release_date"),
        item["duration_ms"].alias("duration_ms"),
        item["explicit"].alias("explicit"),
        F.try_to_timestamp(F.col("added_at")).alias("added_at"),
        "role", "source_key", "source_id", "source_name", "snapshot_id", "position",
    )
    return tracks.to(TRACKS_SCHEMA).orderBy("source_key", "position")


def to_quarantine(classified: DataFrame, pages: DataFrame) -> DataFrame:
    """Quarantine rows (``schemas.QUARANTINE_SCHEMA``): rejected items and unreadable pages."""
    item = F.col("item")
    no_string = F.lit(None).cast("string")
    rejected = classified.where(F.col("status") == QUARANTINED).select(
        "ds", _required_string(F.col("reason"), "quarantine: reason").alias("reason"), "detail", *_CONTEXT[1:], "page", "position",
        item["id"].alias("item_id"),
        item["uri"].alias("item_uri"),
        item["name"].alias("item_name"),
        item["type"].alias("item_type"),
        "added_at",
        "raw",
    )
    bad_pages = pages.where(F.col("problem").isNotNull()).select(
        "ds", F.lit(MALFORMED_PAGE).alias("reason"), F.col("problem").alias("detail"),
        *_CONTEXT[1:], "page", F.col("first_position").alias("position"),
        no_string.alias("item_id"), no_string.alias("item_uri"), no_string.alias("item_name"),
        no_string.alias("item_type"), no_string.alias("added_at"),
        F.col("text").alias("raw"),
    )
    return (
        rejected.unionByName(bad_pages)
        .to(QUARANTINE_SCHEMA)
        .orderBy("source_key", "position", "page", "reason")
    )


#: Typed fields of a kept track whose value can be present in the raw item but unreadable (a
#: string where Spotify sends a number, ...): silver stores null, and the metrics count it per field.
UNREADABLE_FIELDS = ("added_at", "duration_ms", "explicit")
UNREADABLE = "unreadable:"


def _unreadable(field: str) -> Column:
    """True when the raw item has a non-null ``field`` that the typed parse could not read."""
    if field == "added_at":
        present, parsed = F.get_json_object("raw", "$.added_at"), F.try_to_timestamp(F.col("added_at"))
    else:
        present = F.coalesce(F.get_json_object("raw", f"$.item.{field}"), F.get_json_object("raw", f"$.track.{field}"))
        parsed = F.col("item")[field]
    return present.isNotNull() & parsed.isNull()


def outcome_counts(classified: DataFrame, pages: DataFrame) -> DataFrame:
    """Rows of (source_key, outcome, count); outcome is track, superseded, a quarantine reason, or
    ``unreadable:<field>`` (kept tracks with that field present but unreadable, see UNREADABLE_FIELDS)."""
    items = classified.groupBy(
        "source_key", F.coalesce("reason", "status").alias("outcome")
    ).count()
    kept = classified.where(F.col("status") == TRACK)
    unreadable = kept.select(
        "source_key", F.explode(F.transform("unreadable", lambda field: F.concat(F.lit(UNREADABLE), field)))
        .alias("outcome")
    ).groupBy("source_key", "outcome").count()
    items = items.unionByName(unreadable)
    bad_pages = (
        pages.where(F.col("problem").isNotNull())
        .groupBy("source_key", F.lit(MALFORMED_PAGE).alias("outcome"))
        .count()
    )
    return items.unionByName(bad_pages)


def unique_tracks_by_role(silver: DataFrame) -> DataFrame:
    """Rows of (role, unique_tracks); the row with role null counts all roles together."""
    return silver.rollup("role").agg(F.countDistinct("track_id").alias("unique_tracks"))


def _required_string(column: Column, what: str) -> Column:
    """``column`` typed NOT NULL; evaluating it on a null fails the job (a bug upstream).

    Spark infers nullability per expression, and a filter does not narrow it; a
    ``coalesce`` ending in a literal is non-nullable, and ``raise_error`` before the
    literal makes sure the literal is never used.
    """
    return F.coalesce(column, F.raise_error(F.lit(f"{what} is null")).cast("string"), F.lit(""))


# ---- metrics (plain Python, in the driver) --------------------------------------------------
_COUNTERS = ("pages", "items", "tracks", "superseded", "quarantined_total")


def build_metrics(
    ds: str,
    manifests: Sequence[Mapping[str, Any]],
    counts: Iterable[tuple[str, str, int]],
    unique_tracks: Mapping[str | None, int],
    outputs: Mapping[str, str],
) -> dict[str, Any]:
    """The ``_metrics.json`` document: per source, per role and in total.

    ``counts`` are :func:`outcome_counts` rows; ``unique_tracks`` maps role (None = all) to
    distinct track ids in silver. ``items`` counts the items of readable pages, so per
    source ``items == tracks + superseded + quarantined items`` (``malformed_page`` counts
    pages, not items). Every reason is present, zeros included, so the shape never changes.
    """
    by_source: dict[str, dict[str, int]] = {}
    for key, outcome, n in counts:
        found = by_source.setdefault(key, {})
        found[outcome] = found.get(outcome, 0) + int(n)

    sources = {}
    for manifest in sorted(manifests, key=lambda m: m["source_key"]):
        key = manifest["source_key"]
        found = by_source.get(key, {})
        quarantined = {reason: found.get(reason, 0) for reason in QUARANTINE_REASONS}
        unreadable = {field: found.get(f"{UNREADABLE}{field}", 0) for field in UNREADABLE_FIELDS}
        sources[key] = {
            "kind": manifest["kind"],
            "role": manifest["role"],
            "name": manifest["name"],
            "mode": manifest.get("mode"),
            "snapshot_id": manifest.get("snapshot_id"),
            "pages": len(manifest["pages"]),
            "items": found.get(TRACK, 0) + found.get(SUPERSEDED, 0) + sum(found.get(r, 0) for r in ITEM_REASONS),
            "tracks": found.get(TRACK, 0),
            "superseded": found.get(SUPERSEDED, 0),
            "quarantined": quarantined,
            "quarantined_total": sum(quarantined.values()),
            "unreadable_fields": unreadable,
        }

    roles: dict[str, dict[str, Any]] = {}
    for source in sources.values():
        _add_to(roles.setdefault(source["role"], _empty_totals()), source)
    for role, totals in roles.items():
        totals["unique_tracks"] = int(unique_tracks.get(role, 0))
    totals = _empty_totals()
    for source in sources.values():
        _add_to(totals, source)
    totals["unique_tracks"] = int(unique_tracks.get(None, 0))
    return {
        "ds": ds,
        "sources": sources,
        "roles": dict(sorted(roles.items())),
        "totals": totals,
        "outputs": dict(outputs),
    }


def _empty_totals() -> dict[str, Any]:
    return {"sources": 0, **{c: 0 for c in _COUNTERS}, "quarantined": {r: 0 for r in QUARANTINE_REASONS},
            "unreadable_fields": {f: 0 for f in UNREADABLE_FIELDS}}


def _add_to(totals: dict[str, Any], source: Mapping[str, Any]) -> None:
    totals["sources"] += 1
    for counter in _COUNTERS:
        totals[counter] += source[counter]
    for reason, n in source["quarantined"].items():
        totals["quarantined"][reason] += n
    for field, n in source["unreadable_fields"].items():
        totals["unreadable_fields"][field] += n


def summary_lines(metrics: Mapping[str, Any]) -> list[str]:
    """Log lines for people: one per source, then the total."""
    ds = metrics["ds"]
    lines = [
        f"normalize ds={ds} source={key} role={s['role']} items={s['items']} tracks={s['tracks']}"
        + _quarantine_text(s)
        for key, s in metrics["sources"].items()
    ]
    t = metrics["totals"]
    lines.append(
        f"normalize ds={ds} total sources={t['sources']} pages={t['pages']} items={t['items']} "
        f"tracks={t['tracks']} unique_tracks={t['unique_tracks']}" + _quarantine_text(t)
    )
    return lines


def _quarantine_text(counts: Mapping[str, Any]) -> str:
    nonzero = [f"{reason}={n}" for reason, n in counts["quarantined"].items() if n]
    text = f" quarantined={counts['quarantined_total']}"
    if nonzero:
        text += f" ({', '.join(nonzero)})"
    if counts["superseded"]:
        text += f" superseded={counts['superseded']}"
    unreadable = [f"{field}={n}" for field, n in counts["unreadable_fields"].items() if n]
    if unreadable:
        text += f" unreadable_fields=({', '.join(unreadable)}: kept, stored as null)"
    return text
