"""Every derived table of the lake is a Delta table; this module reads and writes them without a JVM.

A table lives at ``<layer>/<name>/`` (``lake.table(SILVER_TRACKS)``) with its ``_delta_log``. Dated tables
are partitioned by a ``ds`` column: a run of a date replaces that date only (a predicate overwrite, Spark's
``replaceWhere``), in one commit that carries the date and the run's id (``DESCRIBE HISTORY`` shows them).
Caches and histories that are not dated (the feature cache, the album cache) are single tables updated
with ``MERGE``.

Python-side stages (discover, publish, removals, the report plugin, the demo) use delta-rs (the
``deltalake`` package) through the functions here; Spark jobs use Delta Lake's Spark connector
(:mod:`weekly_discovery.spark.delta`). Both write the same protocol (reader 1, writer 2), so every table
is readable by both, which a test checks table by table.

A run's small summary (``_metrics.json``) stays a JSON file in the date's folder,
``lake.partition(TABLE, ds) / METRICS``: Delta ignores files whose names start with ``_`` and ``VACUUM``
leaves them alone. It is written after the table's commit.

On object storage the lake promises one writer at a time (one Airflow deployment per lake): delta-rs
writes S3 without a lock provider (``AWS_S3_ALLOW_UNSAFE_RENAME``); docs/deploy.md says what several
writers would need.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from weekly_discovery.lake import storage
from weekly_discovery.lake.layout import Lake, Table, parse_ds

if TYPE_CHECKING:
    import pyarrow as pa
    from deltalake import DeltaTable

log = logging.getLogger(__name__)

DS = "ds"
RUN_ENV = "WEEKLY_DISCOVERY_RUN_ID"
APP_ID = "weekly-discovery"
KEEP_VERSIONS_DAYS = 30
"""Default of ``[lake] keep_versions_days``: VACUUM deletes files a table stopped using more than this many days
ago. Time travel reaches back as far; the dates themselves stay until a user deletes them."""


AIRFLOW_RUN_ENV = "AIRFLOW_CTX_DAG_RUN_ID"  # set by Airflow in every task's process (and so in its spark-submit's)
AIRFLOW_DAG_ENV = "AIRFLOW_CTX_DAG_ID"


def run_id(explicit: str | None = None) -> str:
    """The run a commit belongs to: ``explicit``, else ``$WEEKLY_DISCOVERY_RUN_ID`` (the DAGs' Spark jobs get it),
    else the Airflow run of this task's process, else ``"manual"``."""
    return explicit or os.environ.get(RUN_ENV) or os.environ.get(AIRFLOW_RUN_ENV) or "manual"


def commit_info(ds: str | None, run: str | None = None, operation: str | None = None) -> dict[str, str]:
    """What each commit records beside Delta's own fields: the app, the run's id (and DAG), the date it wrote."""
    info = {"app": APP_ID, "run_id": run_id(run)}
    if os.environ.get(AIRFLOW_DAG_ENV):
        info["dag_id"] = os.environ[AIRFLOW_DAG_ENV]
    if ds is not None:
        info[DS] = parse_ds(ds)
    if operation:
        info["step"] = operation
    return info


# ---- where a table is, for delta-rs ---------------------------------------------------------------

def table_uri(lake: Lake, table: Table) -> str:
    """The table's location as delta-rs names it (a local path, ``s3://``, ``gs://``, ``abfss://``)."""
    path = str(lake.table(table))
    if path.startswith("s3a://"):
        return "s3://" + path[len("s3a://"):]
    return path


def storage_options(lake: Lake, env: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """delta-rs settings for an object-store lake, from the same place as the rest of the lake's
    (:func:`weekly_discovery.lake.storage.s3_settings`: the lake's Airflow connection, else the environment)."""
    if not lake.on_object_storage or not lake.root.startswith("s3a://"):
        return None
    settings = storage.s3_settings(env)
    options = {"AWS_S3_ALLOW_UNSAFE_RENAME": "true"}  # one writer per lake (module docstring)
    if settings.endpoint:
        options["AWS_ENDPOINT_URL"] = settings.endpoint
        if settings.endpoint.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    if settings.region:
        options["AWS_REGION"] = settings.region
    if settings.access_key:
        options["AWS_ACCESS_KEY_ID"] = settings.access_key
        options["AWS_SECRET_ACCESS_KEY"] = settings.secret_key or ""
    if settings.session_token:
        options["AWS_SESSION_TOKEN"] = settings.session_token
    return options


def open_table(lake: Lake, table: Table) -> "DeltaTable | None":
    """The table at its latest version, or None when nothing was ever written to it."""
    from deltalake import DeltaTable

    uri, options = table_uri(lake, table), storage_options(lake)
    if not DeltaTable.is_deltatable(uri, storage_options=options):
        return None
    return DeltaTable(uri, storage_options=options)


def exists(lake: Lake, table: Table) -> bool:
    return open_table(lake, table) is not None


# ---- reading --------------------------------------------------------------------------------------

def read(lake: Lake, table: Table, ds: str | None = None, columns: Sequence[str] | None = None,
         filters: Sequence[tuple[str, str, Any]] | None = None) -> "pa.Table | None":
    """The table's rows (one date's with ``ds``), or None when the table does not exist.

    A date's rows come without the ``ds`` column unless ``columns`` names it. ``filters`` are
    ``(column, op, value)`` triples ANDed together (``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``)."""
    dt = open_table(lake, table)
    if dt is None:
        return None
    partition_columns = set(dt.metadata().partition_columns)
    pushed = [f for f in (filters or []) if f[0] in partition_columns]  # pruned by delta-rs
    later = [f for f in (filters or []) if f[0] not in partition_columns]  # applied here, after the read
    if ds is not None:
        pushed.append((DS, "=", parse_ds(ds)))
    wanted = list(columns) if columns is not None else None
    if wanted is None and ds is not None:
        wanted = [f.name for f in dt.schema().fields if f.name != DS]
    reading = wanted if wanted is None or not later else list(dict.fromkeys([*wanted, *(f[0] for f in later)]))
    # filters=, not partitions=: the dataset path of deltalake 1.6.6 aborts the interpreter at exit
    data = _plain_types(dt.to_pyarrow_table(filters=pushed or None, columns=reading))
    if later:
        data = data.filter(_expression(later))
        if wanted is not None:
            data = data.select(wanted)
    return data


def _plain_types(data: "pa.Table") -> "pa.Table":
    """Strings as ``string``: files MERGE rewrote come back as ``string_view``, which pyarrow's compute
    functions and pandas do not all take."""
    import pyarrow as pa

    def plain(kind: "pa.DataType") -> "pa.DataType":
        if kind == pa.string_view():
            return pa.string()
        if kind == pa.binary_view():
            return pa.binary()
        if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_list_view(kind):
            return pa.list_(plain(kind.value_type))
        if pa.types.is_struct(kind):
            return pa.struct([pa.field(f.name, plain(f.type), f.nullable) for f in kind])
        return kind

    schema = pa.schema([pa.field(f.name, plain(f.type), f.nullable) for f in data.schema])
    return data if schema == data.schema else data.cast(schema)


def _expression(filters: Sequence[tuple[str, str, Any]]) -> Any:
    import pyarrow.compute as pc

    ops = {"=": "__eq__", "==": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__",
           ">=": "__ge__"}
    expression = None
    for column, op, value in filters:
        field = pc.field(column)
        term = field.isin(list(value)) if op == "in" else getattr(field, ops[op])(value)
        expression = term if expression is None else expression & term
    return expression


def newest_per_key(lake: Lake, table: Table, key: str, version: str, columns: Sequence[str],
                   filters: Sequence[tuple[str, str, Any]]) -> "pa.Table | None":
    """Per ``key`` value, the row with the greatest ``version`` among those ``filters`` keep (a cache "as of" a
    date: ``filters=[("fetched_ds", "<", ds)]``); ``columns`` of it, sorted by ``key``. None: no table."""
    import pyarrow as pa
    import pyarrow.compute as pc

    wanted = list(dict.fromkeys([key, *columns]))
    data = read(lake, table, columns=list(dict.fromkeys([*wanted, version])), filters=filters)
    if data is None:
        return None
    if data.num_rows:
        data = data.sort_by([(key, "ascending"), (version, "descending")])
        keys = data.column(key).combine_chunks()
        first = pc.not_equal(keys.slice(1), keys.slice(0, len(keys) - 1)).fill_null(True)
        data = data.filter(pa.concat_arrays([pa.array([True]), first]))
    return data.select(wanted)


def read_rows(lake: Lake, table: Table, ds: str | None = None, columns: Sequence[str] | None = None,
              filters: Sequence[tuple[str, str, Any]] | None = None) -> list[dict[str, Any]]:
    """:func:`read` as a list of dicts; no rows when the table does not exist."""
    data = read(lake, table, ds, columns, filters)
    return [] if data is None else data.to_pylist()


def dates(lake: Lake, table: Table) -> list[str]:
    """The dates that have rows in a dated table, oldest first (none when the table does not exist)."""
    dt = open_table(lake, table)
    if dt is None:
        return []
    return sorted({part[DS] for part in _partitions(dt)})


def has_date(lake: Lake, table: Table, ds: str) -> bool:
    return parse_ds(ds) in dates(lake, table)


def _partitions(dt: "DeltaTable") -> list[dict[str, str]]:
    import pyarrow as pa

    actions = pa.table(dt.get_add_actions(flatten=True))  # an arro3 table, read through the Arrow C interface
    column = f"partition.{DS}"
    return [{DS: value} for value in actions.column(column).to_pylist()] if column in actions.column_names else []


def history(lake: Lake, table: Table) -> list[dict[str, Any]]:
    """The table's commits, newest first, each with its ``run_id`` and ``ds`` when this project wrote it."""
    dt = open_table(lake, table)
    return [] if dt is None else [_with_user_metadata(c) for c in dt.history()]


def _with_user_metadata(commit: dict[str, Any]) -> dict[str, Any]:
    """Spark writes the commit info as ``userMetadata`` (a JSON string); delta-rs as top-level keys."""
    text = commit.get("userMetadata")
    if isinstance(text, str) and text.startswith("{"):
        try:
            return {**json.loads(text), **commit}
        except ValueError:
            pass
    return commit


# ---- writing --------------------------------------------------------------------------------------

def write_date(lake: Lake, table: Table, ds: str, data: "pa.Table", *, run: str | None = None) -> None:
    """Replace one date of a dated table with ``data`` (its rows; a ``ds`` column, if any, must say ``ds``),
    in one commit.

    Other dates are never touched; a rerun of the date gives the same rows. An empty ``data`` leaves the
    date without rows. The table is created on its first write, partitioned by ``ds``."""
    import pyarrow as pa
    from deltalake import write_deltalake

    ds = parse_ds(ds)
    if DS in data.column_names:  # rows that carry their date: it must be this one
        if any(value != ds for value in data.column(DS).unique().to_pylist()):
            raise ValueError(f"{table}: rows of another date than ds={ds} in a write of that date")
        data = data.drop_columns([DS])
    data = data.append_column(DS, pa.array([ds] * data.num_rows, type=pa.string()))
    write_deltalake(
        table_uri(lake, table), data, partition_by=[DS], mode="overwrite", predicate=f"{DS} = '{ds}'",
        storage_options=storage_options(lake),
        commit_properties=_commit_properties(commit_info(ds, run)),
    )
    log.debug("wrote %s ds=%s: %d rows", table, ds, data.num_rows)


def merge(lake: Lake, table: Table, data: "pa.Table", keys: Sequence[str], *, ds: str | None = None,
          run: str | None = None, update_when: str | None = None) -> dict[str, Any]:
    """Upsert ``data`` into an undated table by ``keys`` in one ``MERGE`` commit; the table is created by
    the first call. ``update_when`` (a SQL predicate over ``s.`` source and ``t.`` target columns) limits
    which matched rows are updated. Returns delta-rs's metrics (rows inserted, updated...)."""
    from deltalake import write_deltalake

    properties = _commit_properties(commit_info(ds, run, "merge"))
    dt = open_table(lake, table)
    if dt is None:
        write_deltalake(table_uri(lake, table), data, mode="append", storage_options=storage_options(lake),
                        commit_properties=properties)
        return {"num_target_rows_inserted": data.num_rows}
    predicate = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    merger = dt.merge(data, predicate=predicate, source_alias="s", target_alias="t",
                      commit_properties=properties)
    return (merger.when_matched_update_all(predicate=update_when)
            .when_not_matched_insert_all().execute())


def _commit_properties(info: dict[str, str]) -> Any:
    """delta-rs writes ``custom_metadata`` as keys of the commit info; Spark's ``DESCRIBE HISTORY`` shows only
    Delta's own fields, so the same facts also go in ``userMetadata`` as JSON, where Spark puts them."""
    from deltalake import CommitProperties

    return CommitProperties(custom_metadata={**info, "userMetadata": json.dumps(info, sort_keys=True)})


def vacuum(lake: Lake, table: Table, keep_days: float = KEEP_VERSIONS_DAYS) -> list[str]:
    """Delete the files the table stopped using more than ``keep_days`` ago; returns what was deleted."""
    dt = open_table(lake, table)
    if dt is None:
        return []
    return dt.vacuum(retention_hours=int(keep_days * 24), dry_run=False, enforce_retention_duration=False)
