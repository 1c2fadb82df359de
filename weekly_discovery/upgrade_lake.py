"""Upgrade a lake written before Delta Lake (issue 28) to the Delta format, in place.

    python -m weekly_discovery.upgrade_lake --lake /srv/weekly-discovery/lake [--dry-run]
    make upgrade-lake LAKE=/srv/weekly-discovery/lake

Pause the DAGs first: nothing else may write the lake while it runs.

Before Delta, every derived table was a folder of ``ds=<date>`` folders, each a complete copy of that date
written into ``_staging/`` and renamed into place (on object storage copied, then marked with
``_COMMITTED.json``; a folder without the marker did not exist): Parquet ``part-*`` files, NDJSON ``part-*.json``
for ``bronze/items`` and ``quarantine/items``, ``_publish.json`` for ``gold/published``, and the two caches
(``silver/audio_features``, ``silver/album_tracks``) as a full snapshot per date. This command turns each such
table into the Delta table the new code reads and writes (:mod:`weekly_discovery.lake.delta`):

* a dated table: each date is written with ``delta.write_date`` (``gold/published``: with the publish step's own
  ``write_record``), with the column names and types the new writer of that table produces (the Spark jobs'
  declared schemas, every column nullable as Delta's Spark writer records them; the Python writers' Arrow
  schemas; for ``silver/tracks_enriched``, ``gold/scores`` and ``gold/recommendations``, which the Spark jobs
  derive, the old files' own types, which the same transforms wrote);
* the feature cache: one table of the union of every snapshot's rows, one row per (``track_id``,
  ``fetched_ds``) (a key in several snapshots keeps the newest snapshot's row: what the next run would have
  read), written with ``delta.merge``;
* the album cache: one table of the union of every snapshot, one row per (``album_id``, ``track_id``) with its
  earliest ``read_ds``; ``position`` (new) is null, the old files did not record it (the reader orders such rows by track number).

The old files a date was read from are deleted once that date's commit is in; ``_metrics.json`` files stay where
they are (the new format keeps them at the same path). Then ``_staging/`` and every ``_COMMITTED.json`` of the
lake are removed. A table that is already a Delta table is left alone, so a second run changes nothing.

A crash and a rerun end in the same state: before changing anything the command writes its plan (every old
file to convert, by table and date) to ``_upgrade_lake.json`` at the lake root; a rerun resumes from it, skips
the dates whose commit is in the table's history (commits of this command carry the run id ``upgrade-lake``)
and deletes what is left of their old files; the plan is deleted last. A date is read only from the files the
plan lists, so files of an interrupted Delta write are never taken for old data.

Object storage works the same way (lake paths are :class:`~weekly_discovery.lake.storage.ObjectPath`, delta-rs
gets the lake's credentials): only committed dates (with ``_COMMITTED.json``) are converted; the files of a
date folder without the marker, which the old code did not count, are deleted.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weekly_discovery.core.errors import USER_ERROR_EXIT, UserError
from weekly_discovery.lake import (
    Lake,
    ObjectPath,
    Table,
    arrow_source,
    delta,
    parse_ds,
    read_json,
    rmtree,
    write_atomic,
    write_json,
)
from weekly_discovery.lake.layout import (
    ALBUM_TRACKS,
    AUDIO_FEATURES,
    BRONZE_ITEMS,
    CANDIDATES,
    DELTA_TABLES,
    LIKE_MODEL,
    PICKS,
    PUBLISHED,
    QUARANTINE_FEATURES,
    QUARANTINE_ITEMS,
    RECOMMENDATIONS,
    REMOVED_PICKS,
    REPORTS,
    SCORES,
    SILVER_TRACKS,
    TRACKS_ENRICHED,
)

if TYPE_CHECKING:
    import pyarrow as pa

RUN = "upgrade-lake"
"""The run id of every commit this command makes (``DESCRIBE HISTORY`` shows it; a rerun finds its dates by it)."""
PLAN_FILE = "_upgrade_lake.json"
"""At the lake root while an upgrade is under way: what it converts, so a rerun after a crash resumes it."""
STAGING = "_staging"  # the pre-Delta code's staging area at the lake root
COMMIT_MARKER = "_COMMITTED.json"  # the pre-Delta code's commit marker (object storage)
SUCCESS = "_SUCCESS"  # Spark's marker in a job's output folder
OLD_RECORD = "_publish.json"  # gold/published/ds=<date>/_publish.json: the pre-Delta publish record
PARQUET, NDJSON, RECORD = "parquet", "ndjson", "record"
DATED, FEATURE_CACHE, ALBUM_CACHE = "dated", "feature cache", "album cache"
_DATE_FOLDER = re.compile(r"^ds=(\d{4}-\d{2}-\d{2})$")
_JSON_BLOCK = 64 << 20  # pyarrow's JSON reader needs each line within one block; a quarantined page is ~100 KB


class UpgradeError(UserError, RuntimeError):
    """The lake holds something the upgrade cannot convert safely; the message says what and what to do."""


# ---- what each table was and becomes --------------------------------------------------------------------

def _spark_schema(struct: Any) -> "pa.Schema":
    """A Spark job's declared schema as the Delta table records it: Delta's Spark writer makes every column
    nullable (and every array's elements), whatever the DataFrame said."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return _nullable(to_arrow_schema(struct, timezone="UTC"))


def _nullable(schema: "pa.Schema") -> "pa.Schema":
    import pyarrow as pa

    def kind(t: "pa.DataType") -> "pa.DataType":
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            item = pa.field(t.value_field.name, kind(t.value_type), True)
            return pa.large_list(item) if pa.types.is_large_list(t) else pa.list_(item)
        if pa.types.is_struct(t):
            return pa.struct([pa.field(f.name, kind(f.type), True) for f in t])
        if pa.types.is_map(t):
            return pa.map_(kind(t.key_type), kind(t.item_type))
        return t

    return pa.schema([pa.field(f.name, kind(f.type), True) for f in schema])


def _bronze_schema() -> "pa.Schema":
    from weekly_discovery.spark.schemas import BRONZE_ITEMS_SCHEMA

    return _spark_schema(BRONZE_ITEMS_SCHEMA)


def _quarantine_items_schema() -> "pa.Schema":
    from weekly_discovery.spark.schemas import QUARANTINE_SCHEMA

    return _spark_schema(QUARANTINE_SCHEMA)


def _tracks_schema() -> "pa.Schema":
    from weekly_discovery.spark.schemas import TRACKS_SCHEMA

    return _spark_schema(TRACKS_SCHEMA)


def _feature_cache_schema() -> "pa.Schema":
    from weekly_discovery.enrich.transforms import CACHE_SCHEMA

    return _spark_schema(CACHE_SCHEMA)


def _quarantine_features_schema() -> "pa.Schema":
    from weekly_discovery.enrich.transforms import QUARANTINE_SCHEMA

    return _spark_schema(QUARANTINE_SCHEMA)


def _candidates_schema() -> "pa.Schema":
    from weekly_discovery.discover import store

    return store._candidates_schema()  # what discover's write_candidates passes to delta.write_date


def _album_tracks_schema() -> "pa.Schema":
    from weekly_discovery.discover import store

    return store._album_tracks_schema()  # what discover's merge_album_tracks passes to delta.merge


def _picks_schema() -> "pa.Schema":
    from weekly_discovery.recommend.publish.history import pick_schema

    return pick_schema()


def _removed_schema() -> "pa.Schema":
    from weekly_discovery.recommend.publish.removals import removed_schema

    return removed_schema()


@dataclass(frozen=True)
class Spec:
    """How one table was stored before Delta and the schema its new writer gives it."""

    table: Table
    files: str  # PARQUET | NDJSON | RECORD
    schema: Callable[[], "pa.Schema"] | None  # None: the old files' own types (a Spark job's derived output)
    kind: str = DATED  # DATED | FEATURE_CACHE | ALBUM_CACHE


SPECS: tuple[Spec, ...] = (
    Spec(BRONZE_ITEMS, NDJSON, _bronze_schema),
    Spec(SILVER_TRACKS, PARQUET, _tracks_schema),
    Spec(QUARANTINE_ITEMS, NDJSON, _quarantine_items_schema),
    Spec(AUDIO_FEATURES, PARQUET, _feature_cache_schema, FEATURE_CACHE),
    Spec(TRACKS_ENRICHED, PARQUET, None),
    Spec(QUARANTINE_FEATURES, PARQUET, _quarantine_features_schema),
    Spec(CANDIDATES, PARQUET, _candidates_schema),
    Spec(ALBUM_TRACKS, PARQUET, _album_tracks_schema, ALBUM_CACHE),
    Spec(SCORES, PARQUET, None),
    Spec(RECOMMENDATIONS, PARQUET, None),
    Spec(PICKS, PARQUET, _picks_schema),
    Spec(REMOVED_PICKS, PARQUET, _removed_schema),
    Spec(PUBLISHED, RECORD, None),
)
assert {s.table for s in SPECS} == set(DELTA_TABLES), "every Delta table needs a Spec"
_SPEC_BY_NAME = {str(s.table): s for s in SPECS}


# ---- the plan ------------------------------------------------------------------------------------------

@dataclass
class TablePlan:
    """One old-format table: its dates and the files each is read from, and what else to delete."""

    table: str  # "silver/tracks"
    dates: dict[str, list[str]] = field(default_factory=dict)  # ds -> data file names in ds=<ds>/
    junk: dict[str, list[str]] = field(default_factory=dict)  # ds -> files to delete with that date's data
    uncommitted: list[str] = field(default_factory=list)  # files of date folders the old code did not count
    schema: str | None = None  # the target Arrow schema, serialized (so a resumed run writes the same)

    @property
    def spec(self) -> Spec:
        return _SPEC_BY_NAME[self.table]

    def target(self) -> "pa.Schema":
        import pyarrow as pa

        return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(self.schema)))


@dataclass
class Plan:
    created: str
    tables: list[TablePlan]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"created": self.created, "warnings": self.warnings,
                "tables": [t.__dict__ for t in self.tables]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Plan":
        return cls(data["created"], [TablePlan(**t) for t in data["tables"]], list(data.get("warnings") or []))


def _files_under(folder: Path | ObjectPath) -> list[str]:
    """Every file under ``folder``, as paths relative to it (``/``-separated), sorted."""
    if isinstance(folder, ObjectPath):
        return sorted(str(p.relative_to(folder)) for p, _ in folder.walk_files())
    found = []
    for parent, _, names in os.walk(folder):
        for name in names:
            found.append(os.path.relpath(os.path.join(parent, name), folder).replace(os.sep, "/"))
    return sorted(found)


def _scan(lake: Lake, spec: Spec) -> TablePlan | None:
    """The old-format dates of a table that is not a Delta table yet (None: nothing old in it)."""
    folder = lake.table(spec.table)
    by_date: dict[str, list[str]] = {}
    for relative in _files_under(folder):
        parts = relative.split("/")
        match = _DATE_FOLDER.match(parts[0])
        if not match:
            continue  # the table's own files (gold/published/playlist.json), a _delta_log without a commit
        if len(parts) != 2:
            if parts[1].startswith(("_", ".")):
                continue  # a writer's temporary folder (Spark's _temporary): not data, left where it is
            raise UpgradeError(f"{folder}/{relative}: a folder inside a date folder, which the pre-Delta code never "
                               "wrote; move it out of the lake and run the upgrade again")
        by_date.setdefault(parse_ds(match.group(1)), []).append(parts[1])
    plan = TablePlan(str(spec.table))
    for ds, names in sorted(by_date.items()):
        if lake.on_object_storage and COMMIT_MARKER not in names:
            plan.uncommitted += [f"ds={ds}/{name}" for name in names]  # did not exist for the old code
            continue
        data, junk = _classify(spec, folder, ds, names)
        if data:
            plan.dates[ds] = data
        if junk:
            plan.junk[ds] = junk
    if not plan.dates and not plan.junk and not plan.uncommitted:
        return None
    return plan


def _classify(spec: Spec, folder: Path | ObjectPath, ds: str, names: list[str]) -> tuple[list[str], list[str]]:
    """(data files, files to delete with them) of one old date folder; ``_metrics.json`` and other files
    that start with ``_`` are kept."""
    data, junk, kept = [], [], []
    for name in names:
        if spec.files == RECORD and name == OLD_RECORD:
            data.append(name)
        elif name in (SUCCESS, COMMIT_MARKER):
            junk.append(name)
        elif name.startswith("."):
            (junk if name.endswith(".crc") else kept).append(name)  # Hadoop's checksums of Spark's files
        elif name.startswith("_"):
            kept.append(name)  # _metrics.json: the new format keeps it here
        elif spec.files == PARQUET and name.endswith(".parquet") or spec.files == NDJSON and (
                name.endswith(".json") or name.endswith(".json.gz")):
            data.append(name)
        else:
            raise UpgradeError(f"{folder}/ds={ds}/{name}: not a file the pre-Delta code wrote for {spec.table}; "
                               "move it out of the lake and run the upgrade again")
    junk = [n for n in junk if not (n.startswith(".") and n[1:-len(".crc")] in kept)]  # a kept file's checksum
    return sorted(data), sorted(junk)


def _marker_warnings(lake: Lake) -> list[str]:
    """On object storage: the model versions and report dates without a commit marker. The old code did not
    count them (an interrupted write, maybe incomplete); the new code looks only for their last file."""
    if not lake.on_object_storage:
        return []
    folders: dict[str, set[str]] = {}
    for relative in _files_under(lake.path()):
        parts = relative.split("/")
        for i, part in enumerate(parts[:-1]):
            if part.startswith(("ds=", "version=")):
                folders.setdefault("/".join(parts[:i + 1]), set()).add("/".join(parts[i + 1:]))
                break
    if not any(COMMIT_MARKER in names for names in folders.values()):
        return []  # no marker anywhere: not a lake the pre-Delta code wrote on object storage
    return [f"{folder} has no {COMMIT_MARKER}: the pre-Delta code did not count it (an interrupted write?); "
            "check it, or delete it and rerun its date"
            for folder, names in sorted(folders.items())
            if COMMIT_MARKER not in names and folder.split("/")[0] in (LIKE_MODEL.layer, REPORTS.layer)]


def make_plan(lake: Lake, say: Callable[[str], None] = print) -> Plan:
    """Scan the lake: the old-format tables, what each date is read from (nothing is changed)."""
    plans = []
    for spec in SPECS:
        folder = lake.table(spec.table)
        if delta.exists(lake, spec.table):
            say(f"{spec.table}: already a Delta table, left alone")
            continue
        if not folder.is_dir():
            continue
        plan = _scan(lake, spec)
        if plan is None:
            say(f"{spec.table}: no old-format data, nothing to convert")
            continue
        plan.schema = base64.b64encode(_target_schema(lake, plan).serialize().to_pybytes()).decode()
        plans.append(plan)
    return Plan(dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), plans,
                _marker_warnings(lake))


def _target_schema(lake: Lake, plan: TablePlan) -> "pa.Schema":
    """The schema the table gets: its new writer's; for a Spark job's derived output, the old files' own types
    (unified across dates, every column nullable as Delta's Spark writer records them). Checks the old Parquet
    files' columns against it, before anything is written."""
    import pyarrow as pa

    spec = plan.spec
    old = [_parquet_schema(lake, spec.table, ds, name) for ds, names in plan.dates.items() for name in names] \
        if spec.files == PARQUET else []
    if spec.schema is not None:
        target = spec.schema()
    elif spec.files == RECORD:
        from weekly_discovery.recommend.publish.playlist import published_schema

        target = published_schema()
    elif old:
        target = _nullable(pa.unify_schemas(old, promote_options="permissive"))
    else:
        raise UpgradeError(f"{spec.table}: no old file to take the schema from")
    for schema in old:
        extra = [name for name in schema.names if name not in target.names and name != delta.DS]
        if extra:
            raise UpgradeError(
                f"{spec.table}: the old files have column(s) {', '.join(extra)} that the new format of the table "
                "does not have; nothing was changed. Upgrade with the code that matches this lake's files, or "
                "delete the table's folder and rerun its dates from the raw layer")
    return target


def _parquet_schema(lake: Lake, table: Table, ds: str, name: str) -> "pa.Schema":
    import pyarrow.parquet as pq

    source, filesystem = arrow_source(lake.partition(table, ds) / name)
    return pq.ParquetFile(source, filesystem=filesystem).schema_arrow


# ---- reading the old files -------------------------------------------------------------------------------

def _read(lake: Lake, plan: TablePlan, ds: str, target: "pa.Schema") -> "pa.Table":
    """One date's rows from the files the plan lists, in the target schema (a ``ds`` column only if it has one)."""
    import pyarrow as pa

    folder = lake.partition(plan.spec.table, ds)
    parts = [_read_file(folder / name, plan.spec, target) for name in plan.dates[ds]]
    parts = [_conform(part, target, ds) for part in parts]
    return pa.concat_tables(parts) if parts else target.empty_table()


def _read_file(path: Path | ObjectPath, spec: Spec, target: "pa.Schema") -> "pa.Table":
    import pyarrow as pa
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    if not path.is_file():
        raise UpgradeError(f"{path} is listed in the upgrade's plan ({PLAN_FILE}) but is gone, and its date was "
                           "not converted yet: restore the file, or delete the table's folder and rerun its dates "
                           "from the raw layer (then run the upgrade again)")
    source, filesystem = arrow_source(path)
    if spec.files == PARQUET:
        return pq.read_table(source, filesystem=filesystem)
    body = path.read_bytes()
    if path.name.endswith(".gz"):
        import gzip

        body = gzip.decompress(body)
    if not body.strip():
        return target.empty_table()
    schema = target if delta.DS in target.names else pa.schema([*target, pa.field(delta.DS, pa.string())])
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    try:
        return pj.read_json(pa.BufferReader(body), parse_options=options,
                            read_options=pj.ReadOptions(block_size=_JSON_BLOCK))
    except pa.ArrowInvalid as exc:
        raise UpgradeError(f"{path}: does not fit the new schema of {spec.table} ({exc}); nothing of this date "
                           "was written") from exc


def _conform(data: "pa.Table", target: "pa.Schema", ds: str) -> "pa.Table":
    """``data`` with the target's columns, in its order and types (a column the old files lack is null; a ``ds``
    column is the date). Casts are safe: a value that does not fit fails rather than changes."""
    import pyarrow as pa

    columns = []
    for f in target:
        if f.name == delta.DS:
            columns.append(pa.array([ds] * data.num_rows, f.type))
        elif f.name in data.column_names:
            columns.append(data.column(f.name).cast(f.type, safe=True))
        else:
            columns.append(pa.nulls(data.num_rows, f.type))
    return pa.Table.from_arrays(columns, schema=target)


def _first_per_key(data: "pa.Table", keys: Sequence[str], then: Sequence[tuple[str, str]]) -> "pa.Table":
    """One row per ``keys``: the first in the order ``then`` (nulls last) among the rows of the same key."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if data.num_rows < 2:
        return data
    data = data.sort_by([(k, "ascending") for k in keys] + list(then))
    same = None
    for key in keys:
        column = data.column(key).combine_chunks()
        a, b = column.slice(1), column.slice(0, len(column) - 1)
        equal = pc.or_kleene(pc.equal(a, b), pc.and_(pc.is_null(a), pc.is_null(b))).fill_null(False)
        same = equal if same is None else pc.and_(same, equal)
    return data.filter(pa.concat_arrays([pa.array([True]), pc.invert(same)]))


# ---- converting ----------------------------------------------------------------------------------------------

@dataclass
class Summary:
    tables: int = 0
    dates: int = 0
    rows: int = 0
    deleted: int = 0


def _upgrade_commits(lake: Lake, table: Table) -> list[dict[str, Any]]:
    return [c for c in delta.history(lake, table) if c.get("run_id") == RUN]


def _delete(paths: Sequence[Path | ObjectPath]) -> int:
    for path in paths:
        path.unlink(missing_ok=True)
    return len(paths)


def _tidy(folder: Path | ObjectPath) -> None:
    """Remove an emptied local date folder (object stores have no folders)."""
    if isinstance(folder, Path):
        try:
            folder.rmdir()
        except OSError:
            pass  # not empty: the date's Delta files, its _metrics.json


def _convert_dated(lake: Lake, plan: TablePlan, dry_run: bool, say: Callable[[str], None], summary: Summary) -> None:
    table = plan.spec.table
    target = plan.target()
    done = {c.get(delta.DS) for c in _upgrade_commits(lake, table)}
    for ds in sorted(set(plan.dates) | set(plan.junk)):
        folder = lake.partition(table, ds)
        names = plan.dates.get(ds, [])
        if names and ds not in done:
            if plan.spec.files == RECORD:
                records = [json.loads((folder / name).read_bytes()) for name in names]
                rows = len(records)
                if not dry_run:
                    from weekly_discovery.recommend.publish.playlist import write_record

                    write_record(lake, ds, records[0])  # a date's one record; its commit's run id: RUN_ENV
            else:
                data = _read(lake, plan, ds, target)
                rows = data.num_rows
                if not dry_run:
                    delta.write_date(lake, table, ds, data, run=RUN)
            summary.dates += 1
            summary.rows += rows
            say(f"  ds={ds}: {rows} rows from {len(names)} file(s)"
                + (" (dry run: nothing written)" if dry_run else " -> committed, old files deleted"))
        elif names:
            say(f"  ds={ds}: converted by an earlier run; its old files deleted")
        if not dry_run:
            summary.deleted += _delete([folder / n for n in names + plan.junk.get(ds, [])])
            _tidy(folder)


def _newest_per_key(lake: Lake, plan: TablePlan, target: "pa.Schema", keys: Sequence[str],
                    say: Callable[[str], None]) -> "pa.Table":
    """The union of the snapshots' rows, one per ``keys``: the newest snapshot's. Read one snapshot at a time,
    newest first, keeping the rows of keys not seen yet: a year of weekly full snapshots is ~52 times the
    cache, its distinct rows about once."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kept: list[pa.Table] = []
    seen = pa.array([], pa.string())
    for ds in sorted(plan.dates, reverse=True):
        data = _read(lake, plan, ds, target)
        key = pc.binary_join_element_wise(*[pc.fill_null(data.column(k).cast(pa.string()), "\x01") for k in keys],
                                          "\x00")
        new = pc.invert(pc.is_in(key, value_set=seen)) if len(seen) else pa.array([True] * data.num_rows)
        fresh = _first_per_key(data.filter(new), keys, [])  # a key twice in one snapshot: once
        kept.append(fresh)
        seen = pa.concat_arrays([seen, pc.unique(key.filter(new))]) if fresh.num_rows else seen
        say(f"  snapshot ds={ds}: {data.num_rows} rows from {len(plan.dates[ds])} file(s), {fresh.num_rows} kept")
    return pa.concat_tables(kept) if kept else target.empty_table()


def _convert_cache(lake: Lake, plan: TablePlan, dry_run: bool, say: Callable[[str], None], summary: Summary) -> None:
    import pyarrow as pa

    spec, table = plan.spec, plan.spec.table
    if _upgrade_commits(lake, table):
        say("  converted by an earlier run; its old snapshots deleted")
    else:
        target = plan.target()
        if spec.kind == FEATURE_CACHE:
            from weekly_discovery.enrich.cache import CACHE_KEYS

            keys, update_when = list(CACHE_KEYS), None
            rows = _newest_per_key(lake, plan, target, keys, say)
            how = "one per (track_id, fetched_ds), the newest snapshot's"
        else:
            from weekly_discovery.discover.store import ALBUM_TRACK_KEYS, EARLIER_READ

            keys, update_when = list(ALBUM_TRACK_KEYS), EARLIER_READ
            snapshots = []  # album track lists: a few thousand rows a snapshot, read all at once
            for order, ds in enumerate(sorted(plan.dates)):
                data = _read(lake, plan, ds, target)
                say(f"  snapshot ds={ds}: {data.num_rows} rows from {len(plan.dates[ds])} file(s)")
                snapshots.append(data.append_column("_snapshot", pa.array([order] * data.num_rows, pa.int32())))
            union = pa.concat_tables(snapshots) if snapshots else target.empty_table()
            rows = _first_per_key(union, keys, [("read_ds", "ascending"), ("_snapshot", "ascending")])
            rows = rows.drop_columns(["_snapshot"]) if "_snapshot" in rows.column_names else rows
            how = "one per (album_id, track_id), its earliest read_ds; position null (not in the old files)"
        if not dry_run and rows.num_rows:
            delta.merge(lake, table, rows, keys, run=RUN, update_when=update_when)
        summary.dates += len(plan.dates)
        summary.rows += rows.num_rows
        say(f"  -> {rows.num_rows} rows ({how})"
            + (" (dry run: nothing written)" if dry_run else "; old snapshots deleted"))
    if not dry_run:
        for ds in sorted(set(plan.dates) | set(plan.junk)):
            folder = lake.partition(table, ds)
            summary.deleted += _delete([folder / n for n in plan.dates.get(ds, []) + plan.junk.get(ds, [])])
            _tidy(folder)


def _restore_moved_aside(lake: Lake, say: Callable[[str], None]) -> None:
    """A local old partition moved aside into ``_staging/<uuid>-replaced`` by a writer that died before its
    replacement was in place is the date's last complete version: the old code put it back, so does this."""
    if lake.on_object_storage:
        return
    root = Path(lake.root)
    for note in sorted((root / STAGING).glob("*-replaced.json")):
        moved = note.with_suffix("")
        try:
            final = (root / read_json(note)["partition"]).resolve()
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if moved.is_dir() and not final.exists() and final.is_relative_to(root):
            final.parent.mkdir(parents=True, exist_ok=True)
            os.rename(moved, final)
            say(f"restored {final.relative_to(root)} from {STAGING}/ (its writer died before replacing it)")


def _remove_markers_and_staging(lake: Lake, dry_run: bool, say: Callable[[str], None]) -> None:
    staging = lake.path(STAGING)
    if staging.is_dir():
        say(f"{'would remove' if dry_run else 'removed'} {STAGING}/ (the old code's staging area)")
        if not dry_run:
            rmtree(staging)
    markers = [r for r in _files_under(lake.path()) if r.split("/")[-1] == COMMIT_MARKER]
    if markers:
        say(f"{'would remove' if dry_run else 'removed'} {len(markers)} {COMMIT_MARKER} file(s) "
            "(the old code's commit markers; the new format does not use them)")
        if not dry_run:
            _delete([lake.absolute(r) for r in markers])


OLD_PLAYLIST_FILE = "playlist.json"  # gold/published/: a file Spark's VACUUM would delete; now "_playlist.json"


def _rename_playlist_file(lake: Lake, dry_run: bool, say: Callable[[str], None]) -> None:
    from weekly_discovery.recommend.publish.playlist import PLAYLIST_FILE

    old, new = lake.table(PUBLISHED) / OLD_PLAYLIST_FILE, lake.table(PUBLISHED) / PLAYLIST_FILE
    if not old.is_file():
        return
    say(f"{'would rename' if dry_run else 'renamed'} {PUBLISHED}/{OLD_PLAYLIST_FILE} to {PLAYLIST_FILE} "
        "(a name Delta's VACUUM leaves alone)")
    if not dry_run:
        if not new.is_file():
            write_atomic(new, old.read_bytes())
        old.unlink()


def upgrade(lake: Lake, *, dry_run: bool = False, say: Callable[[str], None] = print) -> Summary:
    """Convert every old-format table of ``lake`` to Delta (see the module docstring); returns what was done."""
    before = os.environ.get(delta.RUN_ENV)
    os.environ[delta.RUN_ENV] = RUN  # commits made through a stage's own writer (write_record) carry it too
    try:
        return _upgrade(lake, dry_run, say)
    finally:
        if before is None:
            os.environ.pop(delta.RUN_ENV, None)
        else:
            os.environ[delta.RUN_ENV] = before


def _upgrade(lake: Lake, dry_run: bool, say: Callable[[str], None]) -> Summary:
    if not lake.on_object_storage and not Path(lake.root).is_dir():
        raise UpgradeError(f"no lake at {lake.root}")
    plan_path = lake.path(PLAN_FILE)
    summary = Summary()
    if plan_path.is_file():
        plan = Plan.from_json(read_json(plan_path))
        say(f"resuming the upgrade of {lake.root} planned at {plan.created} ({PLAN_FILE})")
    else:
        say(f"upgrading {lake.root} to Delta tables" + (" (dry run: nothing is changed)" if dry_run else ""))
        if not dry_run:
            _restore_moved_aside(lake, say)
        plan = make_plan(lake, say)
        if plan.tables and not dry_run:
            write_json(plan_path, plan.to_json())  # before any change: a rerun resumes from it
    for warning in plan.warnings:
        say(f"warning: {warning}")
    for table_plan in plan.tables:
        spec = table_plan.spec
        dates = len(table_plan.dates)
        say(f"{spec.table}: old format, {dates} date(s)" if spec.kind == DATED
            else f"{spec.table}: old format ({spec.kind}, a full snapshot per date), {dates} snapshot(s)")
        if table_plan.uncommitted:
            say(f"  {'would delete' if dry_run else 'deleted'} {len(table_plan.uncommitted)} file(s) of date folders "
                f"without {COMMIT_MARKER} (the old code did not count them): "
                + ", ".join(sorted({u.split('/')[0] for u in table_plan.uncommitted})))
            if not dry_run:
                folder = lake.table(spec.table)
                summary.deleted += _delete([folder / u for u in table_plan.uncommitted])
        if spec.kind == DATED:
            _convert_dated(lake, table_plan, dry_run, say, summary)
        else:
            _convert_cache(lake, table_plan, dry_run, say, summary)
        summary.tables += 1
    _remove_markers_and_staging(lake, dry_run, say)
    _rename_playlist_file(lake, dry_run, say)
    if not dry_run:
        plan_path.unlink(missing_ok=True)
    if not plan.tables:
        say("nothing to convert: every table of the lake is a Delta table already (or absent)")
    else:
        say(f"{'would convert' if dry_run else 'converted'} {summary.tables} table(s), {summary.dates} date(s), "
            f"{summary.rows} rows" + ("" if dry_run else f"; deleted {summary.deleted} old file(s)"))
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m weekly_discovery.upgrade_lake",
        description="Upgrade a lake written before Delta Lake to Delta tables, in place (pause the DAGs first).")
    parser.add_argument("--lake", default=os.environ.get("WEEKLY_DISCOVERY_LAKE"),
                        help="the lake's folder or URI (default: $WEEKLY_DISCOVERY_LAKE)")
    parser.add_argument("--dry-run", action="store_true", help="say what would be converted; change nothing")
    args = parser.parse_args(argv)
    if not args.lake:
        parser.error("--lake is required (or set WEEKLY_DISCOVERY_LAKE)")
    try:
        upgrade(Lake(args.lake), dry_run=args.dry_run, say=lambda line: print(line, flush=True))
    except UserError as exc:
        print(f"upgrade-lake: error: {exc}", file=sys.stderr)
        return USER_ERROR_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main())
