"""``python -m weekly_discovery.upgrade_lake``: a lake written by the pre-Delta code, upgraded in place to Delta tables.

The input is tests/lake/fixtures/pre-delta-lake.tgz: the ``lake/`` folder ``make demo`` of the pre-Delta code
(commit b82282e) wrote for two Mondays, without raw/, models/ and reports/ (those layers keep their format). The
rows each table must hold after the upgrade are read from the fixture's own files here, with pyarrow and the json
module, never through the code under test; the converted tables are read with delta-rs (and Spark).

Checked: every table opens as a Delta table with the rows of the old files (per date; the feature cache as the union
of its snapshots, one row per (track_id, fetched_ds); the album cache one row per (album_id, track_id) with its
earliest read_ds and a null position); ``_metrics.json`` files stay, byte for byte; no old data file, ``_staging/``
or ``_COMMITTED.json`` is left; a second run changes nothing; the schemas are those the new writers give the
tables, and Spark's Delta writer accepts a write into each of them; a crash at any of several points and a rerun
end in the state of an uninterrupted run; on object storage (moto's S3 server) only committed dates are converted.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.objectstore.conftest import bucket, keys, s3, s3_endpoint, s3_env  # noqa: F401 - fixtures
from weekly_discovery.lake import Lake, delta
from weekly_discovery.lake.layout import (
    ALBUM_TRACKS,
    AUDIO_FEATURES,
    BRONZE_ITEMS,
    CANDIDATES,
    DELTA_TABLES,
    PICKS,
    PUBLISHED,
    QUARANTINE_FEATURES,
    QUARANTINE_ITEMS,
    RECOMMENDATIONS,
    REMOVED_PICKS,
    SCORES,
    SILVER_TRACKS,
    TRACKS_ENRICHED,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "pre-delta-lake.tgz"
D1, D2 = "2026-11-30", "2026-12-07"
PARQUET_TABLES = (SILVER_TRACKS, TRACKS_ENRICHED, QUARANTINE_FEATURES, CANDIDATES, SCORES, RECOMMENDATIONS, PICKS,
                  REMOVED_PICKS)
DATED_TABLES = (BRONZE_ITEMS, QUARANTINE_ITEMS, PUBLISHED, *PARQUET_TABLES)
CACHES = {AUDIO_FEATURES: ("track_id", "fetched_ds"), ALBUM_TRACKS: ("album_id", "track_id")}
BRONZE_KEYS = ("source_key", "position", "page", "role", "snapshot_id", "added_at", "item_id", "item_name", "artists")
QUARANTINE_KEYS = ("reason", "detail", "source_key", "position", "page", "item_id", "item_uri", "raw")


# ---- the fixture and what it holds (read here, independently of the code under test) ----------------------------

def extract(tmp_path: Path) -> Path:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / "lake"


def data_files(root: Path) -> dict[tuple[str, str], list[Path]]:
    """(table, ds) -> the old data files of that date in the fixture."""
    found: dict[tuple[str, str], list[Path]] = {}
    for table in DELTA_TABLES:
        for folder in sorted((root / str(table)).glob("ds=*")):
            files = [p for p in sorted(folder.iterdir())
                     if p.name == "_publish.json" or not p.name.startswith(("_", "."))]
            found[(str(table), folder.name[3:])] = files
    return found


def _json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def bronze_key(row: dict) -> tuple:
    item = row.get("item") or {}
    return (row.get("source_key"), row.get("position"), row.get("page"), row.get("role"), row.get("snapshot_id"),
            row.get("added_at"), item.get("id"), item.get("name"), [a.get("id") for a in item.get("artists") or []])


def quarantine_key(row: dict) -> tuple:
    return tuple(row.get(c) for c in QUARANTINE_KEYS)


def full_row(row: dict, columns) -> tuple:
    return tuple(row.get(c) for c in columns)


def ordered(rows) -> list:
    return sorted(rows, key=repr)


def expected_state(root: Path) -> dict:
    """What each table must hold: table -> ds -> sorted row tuples (caches: table -> None -> rows), from the
    fixture's files alone."""
    want: dict[str, dict] = {}
    columns: dict[str, list[str]] = {}
    for (table, ds), files in data_files(root).items():
        if table in (str(AUDIO_FEATURES), str(ALBUM_TRACKS)):
            continue
        if table == str(BRONZE_ITEMS):
            rows = [bronze_key(r) for f in files for r in _json_lines(f)]
        elif table == str(QUARANTINE_ITEMS):
            rows = [quarantine_key(r) for f in files for r in _json_lines(f)]
        elif table == str(PUBLISHED):
            rows = [json.loads(f.read_text()) for f in files]
        else:
            tables = [pq.read_table(f) for f in files]
            names = [n for n in tables[0].column_names if n != "ds"]
            columns[table] = names
            rows = [full_row(r, names) for t in tables for r in t.to_pylist()]
        want.setdefault(table, {})[ds] = rows if table == str(PUBLISHED) else ordered(rows)

    features: dict[tuple, dict] = {}  # the newest snapshot's row of each (track_id, fetched_ds)
    albums: dict[tuple, dict] = {}  # the earliest read of each (album_id, track_id)
    for ds in (D1, D2):
        for f in data_files(root)[(str(AUDIO_FEATURES), ds)]:
            table = pq.read_table(f)
            columns[str(AUDIO_FEATURES)] = table.column_names
            for row in table.to_pylist():
                features[(row["track_id"], row["fetched_ds"])] = row
        for f in data_files(root)[(str(ALBUM_TRACKS), ds)]:
            table = pq.read_table(f)
            columns[str(ALBUM_TRACKS)] = table.column_names
            for row in table.to_pylist():
                key = (row["album_id"], row["track_id"])
                if key not in albums or row["read_ds"] < albums[key]["read_ds"]:
                    albums[key] = row
    want[str(AUDIO_FEATURES)] = {None: ordered(full_row(r, columns[str(AUDIO_FEATURES)]) for r in features.values())}
    want[str(ALBUM_TRACKS)] = {None: ordered(full_row(r, columns[str(ALBUM_TRACKS)]) for r in albums.values())}
    return {"rows": want, "columns": columns}


def actual_rows(lake: Lake, table, ds: str | None, columns: dict[str, list[str]]) -> list:
    name = str(table)
    if ds is None:
        data = delta.read(lake, table)
        return ordered(full_row(r, columns[name]) for r in data.to_pylist())
    rows = delta.read(lake, table, ds).to_pylist()
    if table == BRONZE_ITEMS:
        return ordered(bronze_key(r) for r in rows)
    if table == QUARANTINE_ITEMS:
        return ordered(quarantine_key(r) for r in rows)
    if table == PUBLISHED:
        return [json.loads(r["record"]) for r in rows]
    return ordered(full_row(r, columns[name]) for r in rows)


def check_tables(lake: Lake, want: dict) -> None:
    """Every table is a Delta table holding the expected rows of each date, and nothing else."""
    rows, columns = want["rows"], want["columns"]
    for table in DELTA_TABLES:
        assert delta.open_table(lake, table) is not None, f"{table} is not a Delta table"
        for ds, expected in rows[str(table)].items():
            assert actual_rows(lake, table, ds, columns) == expected, f"{table} ds={ds}"
        if table in CACHES:
            continue
        with_rows = sorted(ds for ds, expected in rows[str(table)].items() if expected)
        assert delta.dates(lake, table) == with_rows, table
        if str(table) in columns:  # no column besides the old ones and ds
            assert set(delta.read(lake, table).column_names) == {*columns[str(table)], "ds"}, table
    # a date the old code wrote without rows was committed all the same (quarantine/features: none quarantined)
    assert {c.get("ds") for c in delta.history(lake, QUARANTINE_FEATURES)} == {D1, D2}
    assert delta.read(lake, QUARANTINE_FEATURES).num_rows == 0
    albums = delta.read(lake, ALBUM_TRACKS)
    assert set(albums.column_names) == {*columns[str(ALBUM_TRACKS)], "position"}
    assert albums.column("position").null_count == albums.num_rows  # not in the old files
    for row in delta.read_rows(lake, PUBLISHED):
        record = json.loads(row["record"])
        assert (row["playlist_id"], row["snapshot_id"], row["tracks"]) == \
            (record["playlist_id"], record["snapshot_id"], record["tracks"])


def metrics_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("_metrics.json"))}


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))
            if p.is_file()}


def run_upgrade(lake: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "weekly_discovery.upgrade_lake", "--lake", lake, *args],
                          cwd=REPO, capture_output=True, text=True, timeout=120, env=env)


def sections(stdout: str) -> dict[str, str]:
    """The command's output by table (``<layer>/<name>: ...`` and its indented lines)."""
    found, current = {}, None
    for line in stdout.splitlines():
        head = line.split(":", 1)[0]
        if not line.startswith(" ") and head in {str(t) for t in DELTA_TABLES}:
            current = head
            found[current] = line + "\n"
        elif line.startswith(" ") and current:
            found[current] += line + "\n"
        else:
            current = None
    return found


# ---- the upgrade of a local lake ------------------------------------------------------------------------------

def rewrite(path: Path, change) -> None:
    """Replace a Parquet file of the fixture with its rows changed by ``change(rows)`` (same name, same schema)."""
    table = pq.read_table(path)
    pq.write_table(pa.Table.from_pylist(change(table.to_pylist()), schema=table.schema), path)


def test_upgrade_converts_every_table_in_place(tmp_path):
    root = extract(tmp_path)
    # the snapshots of the demo repeat their rows unchanged; make two copies of a key differ, to see which is kept:
    # the newest snapshot's row of a (track_id, fetched_ds), the earliest read of an (album_id, track_id)
    [features] = data_files(root)[(str(AUDIO_FEATURES), D1)]
    rewrite(features, lambda rows: [rows[0] | {"detail": "an older copy"}, *rows[1:]])
    [albums] = data_files(root)[(str(ALBUM_TRACKS), D2)]
    rewrite(albums, lambda rows: [rows[0] | {"read_ds": "2026-11-23", "album_name": "read first"}, *rows[1:]])
    want = expected_state(root)
    assert "an older copy" not in repr(want["rows"][str(AUDIO_FEATURES)])
    assert "read first" in repr(want["rows"][str(ALBUM_TRACKS)])
    old = [p for files in data_files(root).values() for p in files]
    metrics = metrics_files(root)
    assert len(metrics) == 10 and len(old) == 25
    # what else the old code could leave: a crashed writer's staging folder, a partition moved aside by a writer
    # that died before its replacement was renamed in (the old code put it back: so must the upgrade), Hadoop's
    # checksums beside Spark's files, a commit marker (object storage; here in a raw partition and a table's)
    (root / "_staging" / "0123abcd").mkdir(parents=True)
    (root / "_staging" / "0123abcd" / "part-00000.parquet").write_bytes(b"half a file")
    moved = root / "_staging" / "feedbeef-replaced"
    os.rename(root / "gold" / "picks" / f"ds={D2}", moved)
    (root / "_staging" / "feedbeef-replaced.json").write_text(json.dumps({"partition": f"gold/picks/ds={D2}"}))
    part = next(p for p in (root / "silver" / "tracks" / f"ds={D1}").iterdir() if p.name.startswith("part-"))
    (part.parent / f".{part.name}.crc").write_bytes(b"crc")
    (part.parent / "._SUCCESS.crc").write_bytes(b"crc")
    (part.parent / "_COMMITTED.json").write_text("{}")
    raw = root / "raw" / "spotify" / "source=saved_tracks" / f"ds={D1}"
    raw.mkdir(parents=True)
    (raw / "_manifest.json").write_text("{}")
    (raw / "page-00000.json").write_text("{}")
    (raw / "_COMMITTED.json").write_text("{}")

    done = run_upgrade(str(root))
    assert done.returncode == 0, done.stderr
    out = sections(done.stdout)
    for table in DATED_TABLES:
        for ds, rows in want["rows"][str(table)].items():
            assert f"ds={ds}: {len(rows)} rows from 1 file(s)" in out[str(table)], (table, done.stdout)
    assert f"-> {len(want['rows'][str(AUDIO_FEATURES)][None])} rows" in out[str(AUDIO_FEATURES)]
    assert f"-> {len(want['rows'][str(ALBUM_TRACKS)][None])} rows" in out[str(ALBUM_TRACKS)]
    assert "restored gold/picks/ds=2026-12-07" in done.stdout

    lake = Lake(str(root))
    check_tables(lake, want)
    assert metrics_files(root) == metrics  # kept in place, unchanged
    assert [p for p in old if p.exists()] == []
    assert not (root / "_staging").exists() and not (root / "_upgrade_lake.json").exists()
    left = [p.relative_to(root) for p in root.rglob("*") if p.is_file() and "_delta_log" not in p.parts]
    assert [p for p in left if p.name in ("_SUCCESS", "_COMMITTED.json", "_publish.json") or
            p.name.endswith(".crc")] == []
    assert {p.parent for p in left if p.suffix == ".parquet"} == {  # Delta's files only
        *(Path(str(t), f"ds={ds}") for t in DATED_TABLES for ds, rows in want["rows"][str(t)].items() if rows),
        Path(str(ALBUM_TRACKS)), Path(str(AUDIO_FEATURES))}
    assert not list((root / str(AUDIO_FEATURES)).glob("ds=*")) and not list((root / str(ALBUM_TRACKS)).glob("ds=*"))
    published = root / "gold" / "published"  # renamed: Spark's VACUUM deletes files not starting with "_"
    assert not (published / "playlist.json").exists() and json.loads((published / "_playlist.json").read_text())[
        "playlists"]
    assert sorted(p.name for p in raw.iterdir()) == ["_manifest.json", "page-00000.json"]  # only the marker went
    for table in DELTA_TABLES:
        assert {c.get("run_id") for c in delta.history(lake, table)} == {"upgrade-lake"}

    before = tree(root)
    again = run_upgrade(str(root))
    assert again.returncode == 0, again.stderr
    assert "nothing to convert" in again.stdout
    assert all(f"{t}: already a Delta table, left alone" in again.stdout for t in DELTA_TABLES)
    assert tree(root) == before


def test_a_dry_run_changes_nothing(tmp_path):
    root = extract(tmp_path)
    before = tree(root)
    done = run_upgrade(str(root), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert f"ds={D1}: 870 rows from 1 file(s) (dry run" in sections(done.stdout)[str(SILVER_TRACKS)]
    assert "would convert 13 table(s)" in done.stdout
    assert tree(root) == before


# ---- crashes -------------------------------------------------------------------------------------------------

class Crash(Exception):
    pass


def state(root: Path) -> dict:
    """What an upgraded lake holds: every table's rows (with ds), and every file that is not Delta's."""
    lake = Lake(str(root))
    tables = {}
    for table in DELTA_TABLES:
        data = delta.read(lake, table)
        tables[str(table)] = ordered(repr(sorted(r.items())) for r in data.to_pylist())
    delta_files = {Path(u).resolve() for t in DELTA_TABLES for u in delta.open_table(lake, t).file_uris()}
    others = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()
              and "_delta_log" not in p.parts and p.resolve() not in delta_files and not p.name.endswith(".parquet")}
    stray = [p for p in root.rglob("*.parquet") if "_delta_log" not in p.parts and p.resolve() not in delta_files]
    return {"tables": tables, "files": others, "stray": stray}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    """The state of the fixture's lake after one uninterrupted upgrade."""
    from weekly_discovery import upgrade_lake

    reference = extract(tmp_path_factory.mktemp("uninterrupted"))
    upgrade_lake.upgrade(Lake(str(reference)), say=lambda line: None)
    want = state(reference)
    assert want["stray"] == []
    return want


@pytest.mark.parametrize("crash", ["after a commit", "while deleting a date's files", "inside a Delta write",
                                   "inside the feature cache's merge", "inside the publish record's write"])
def test_a_crash_and_a_rerun_end_in_the_state_of_an_uninterrupted_run(tmp_path, monkeypatch, crash, uninterrupted):
    from weekly_discovery import upgrade_lake

    want = uninterrupted

    root = extract(tmp_path / "crashed")
    calls = {"n": 0}
    real_delete, real_write, real_merge = upgrade_lake._delete, delta.write_date, delta.merge

    def nth(n: int) -> bool:
        calls["n"] += 1
        return calls["n"] == n

    if crash == "after a commit":  # the 6th date is committed, its old files are not deleted yet
        monkeypatch.setattr(upgrade_lake, "_delete", lambda paths: (_ for _ in ()).throw(Crash()) if nth(6)
                            else real_delete(paths))
    elif crash == "while deleting a date's files":  # silver/tracks ds=D1: its part file goes, not its _SUCCESS
        def delete(paths):
            if nth(3):
                real_delete(paths[:1])
                raise Crash()
            return real_delete(paths)
        monkeypatch.setattr(upgrade_lake, "_delete", delete)
    elif crash == "inside a Delta write":  # data files written, the commit not: the rerun must not read them
        def write_date(lake, table, ds, data, **kwargs):
            if nth(4):
                pq.write_table(data, lake.partition(table, ds) / "part-00000-crashed-c000.snappy.parquet")
                raise Crash()
            return real_write(lake, table, ds, data, **kwargs)
        monkeypatch.setattr(delta, "write_date", write_date)
    elif crash == "inside the feature cache's merge":
        monkeypatch.setattr(delta, "merge", lambda *a, **k: (_ for _ in ()).throw(Crash()))
    else:  # gold/published, the last table: its first date committed through write_record, then a crash
        def write_date(lake, table, ds, data, **kwargs):
            real_write(lake, table, ds, data, **kwargs)
            if table == PUBLISHED:
                raise Crash()
        monkeypatch.setattr(delta, "write_date", write_date)
    with pytest.raises(Crash):
        upgrade_lake.upgrade(Lake(str(root)), say=lambda line: None)
    assert (root / "_upgrade_lake.json").is_file()
    monkeypatch.undo()

    done = run_upgrade(str(root))
    assert done.returncode == 0, done.stderr
    assert "resuming the upgrade" in done.stdout
    got = state(root)
    assert got["tables"] == want["tables"]
    assert got["files"] == want["files"]
    # only the crashed write's own file is left beside Delta's (not in the log: VACUUM deletes it)
    assert [p.name for p in got["stray"]] == (["part-00000-crashed-c000.snappy.parquet"]
                                             if crash == "inside a Delta write" else [])
    assert "nothing to convert" in run_upgrade(str(root)).stdout


# ---- the schemas the new code writes, and Spark -------------------------------------------------------------------

def log_schema(lake: Lake, table) -> tuple[list, list]:
    """(fields as (name, type, nullable), partition columns) of the table's latest metaData, read from its log."""
    schema = partitions = None
    for path in sorted((Path(str(lake.table(table))) / "_delta_log").glob("*.json")):
        for line in path.read_text().splitlines():
            action = json.loads(line) if line.strip() else {}
            if "metaData" in action:
                schema = json.loads(action["metaData"]["schemaString"])
                partitions = action["metaData"]["partitionColumns"]
    return [(f["name"], f["type"], f["nullable"]) for f in schema["fields"]], partitions


def spark_written(struct, dated: bool = True) -> tuple[list, list]:
    """What Delta's Spark writer records for a DataFrame of schema ``struct`` (``write_date``: ``ds`` replaced,
    last): every column nullable, every array's elements too (checked on a real write in new_code_schemas)."""
    from pyspark.sql.types import ArrayType, MapType, StructField, StructType

    def nullable(t):
        if isinstance(t, StructType):
            return StructType([StructField(f.name, nullable(f.dataType), True) for f in t.fields])
        if isinstance(t, ArrayType):
            return ArrayType(nullable(t.elementType), True)
        if isinstance(t, MapType):
            return MapType(nullable(t.keyType), nullable(t.valueType), True)
        return t

    fields = [(f["name"], f["type"], f["nullable"]) for f in nullable(struct).jsonValue()["fields"]
              if f["name"] != "ds"]
    return (fields + [("ds", "string", True)], ["ds"]) if dated else (fields, [])


def new_code_schemas(spark, path: Path) -> dict:
    """The schema the new code gives each table (but gold/scores and gold/recommendations, which only a scoring
    run with a trained model writes): the Spark jobs' declared schemas and the enrich job's transform (analysed on
    empty inputs, as Spark's writer records them), and tables the Python stages' writers write, empty."""
    from weekly_discovery.discover import store
    from weekly_discovery.discover.sources.base import AlbumTrack
    from weekly_discovery.enrich import transforms as tx
    from weekly_discovery.recommend.publish import history
    from weekly_discovery.recommend.publish import playlist as publish
    from weekly_discovery.recommend.publish import removals
    from weekly_discovery.spark import delta as spark_delta
    from weekly_discovery.spark import schemas

    lake = Lake(str(path))
    ds = "2026-12-14"
    store.write_candidates(lake, ds, [], {})
    store.merge_album_tracks(lake, ds, [AlbumTrack("a", "A", "x", "2020", "t", "T", ("x",), ("X",), 1, ds, 0)])
    history.write_picks(lake, ds, [])
    removals._write(lake, ds, [])
    publish.write_record(lake, ds, {"playlist_id": "p", "tracks": 0, "dry_run": False})
    # Delta's Spark writer on the most nested of the schemas (structs in arrays, NOT NULL fields): what
    # spark_written says for the others
    spark_delta.write_date(spark.createDataFrame([], schemas.BRONZE_ITEMS_SCHEMA), lake, BRONZE_ITEMS, ds)
    assert log_schema(lake, BRONZE_ITEMS) == spark_written(schemas.BRONZE_ITEMS_SCHEMA)
    enriched = tx.enrich_tracks(  # jobs/enrich.py: silver and candidates as read from their Delta tables
        tx.with_discovered(spark.createDataFrame([], schemas.TRACKS_SCHEMA),
                           spark_delta.read_date(spark, lake, CANDIDATES, ds)),
        spark.createDataFrame([], tx.CACHE_SCHEMA))
    return {
        **{table: log_schema(lake, table) for table in (CANDIDATES, ALBUM_TRACKS, PICKS, REMOVED_PICKS, PUBLISHED)},
        BRONZE_ITEMS: spark_written(schemas.BRONZE_ITEMS_SCHEMA),
        SILVER_TRACKS: spark_written(schemas.TRACKS_SCHEMA),
        QUARANTINE_ITEMS: spark_written(schemas.QUARANTINE_SCHEMA),
        QUARANTINE_FEATURES: spark_written(tx.QUARANTINE_SCHEMA),
        AUDIO_FEATURES: spark_written(tx.CACHE_SCHEMA, dated=False),
        TRACKS_ENRICHED: spark_written(enriched.schema),
    }


@contextlib.contextmanager
def delta_conf(spark, key: str, value: str):
    """A runtime setting of the shared session for a block, then its previous value back."""
    before = spark.conf.get(key, None)
    spark.conf.set(key, value)
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, before)


@pytest.mark.spark
def test_the_tables_have_the_new_writers_schemas_and_spark_writes_into_them(spark, tmp_path):
    from weekly_discovery.enrich import transforms as tx
    from weekly_discovery.spark import delta as spark_delta

    root = extract(tmp_path / "upgraded")
    want = expected_state(root)
    done = run_upgrade(str(root))
    assert done.returncode == 0, done.stderr
    lake = Lake(str(root))

    for table, schema in new_code_schemas(spark, tmp_path / "new-code").items():
        assert log_schema(lake, table) == schema, table
    for table in (SCORES, RECOMMENDATIONS):  # the old files' types, every column nullable (as Spark's writer)
        fields, partitions = log_schema(lake, table)
        assert partitions == ["ds"] and all(nullable for _, _, nullable in fields), table
        assert [name for name, _, _ in fields] == [*want["columns"][str(table)], "ds"]

    # Spark's Delta writer takes each converted table: a date rewritten with the rows Spark reads back (the log
    # replayed on one partition: the table is tiny, and the test's JVM has 2 cores)
    with delta_conf(spark, "spark.databricks.delta.snapshotPartitions", "1"):
        for table in DATED_TABLES:
            ds = max(delta.dates(lake, table), default=D2)  # the latest date with rows (gold/removed_picks: D1)
            if delta.has_date(lake, table, ds):
                spark_delta.write_date(spark_delta.read_date(spark, lake, table, ds), lake, table, ds, run="spark")
            else:  # no row to read back (no feature was quarantined): a row of the enrich job's schema
                row = {f.name: None for f in tx.QUARANTINE_SCHEMA.fields} | {"track_id": "t", "failed_fields": ["k"]}
                spark_delta.write_date(spark.createDataFrame([row], tx.QUARANTINE_SCHEMA), lake, table, ds, run="spark")
                assert delta.read_rows(lake, table, ds, ["track_id", "failed_fields"]) == \
                    [{"track_id": "t", "failed_fields": ["k"]}]
                delta.write_date(lake, table, ds, delta.read(lake, table, ds).slice(0, 0))  # as it was
            assert any(c.get("run_id") == "spark" for c in delta.history(lake, table)[:2]), table
        # the enrich job's MERGE into the feature cache (the album cache is merged by the Python discover stage)
        spark_delta.merge(spark, spark_delta.read_table(spark, lake, AUDIO_FEATURES), lake, AUDIO_FEATURES,
                          list(CACHES[AUDIO_FEATURES]), run="spark")
        assert delta.history(lake, AUDIO_FEATURES)[0]["run_id"] == "spark"
    check_tables(lake, want)  # the same rows as before, read by delta-rs


# ---- object storage ----------------------------------------------------------------------------------------

def test_upgrade_on_object_storage(s3_env, s3, bucket, tmp_path):  # noqa: F811 - fixtures
    root = extract(tmp_path)
    want = expected_state(root)
    prefix = "lake/"
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        s3.put_object(Bucket=bucket, Key=prefix + str(path.relative_to(root)), Body=path.read_bytes())
    # the old code's commit marker in every date folder it committed...
    folders = sorted({str(p.parent.relative_to(root)) for p in root.rglob("*") if p.is_file()
                      and p.parent.name.startswith("ds=")})
    for folder in folders:
        names = sorted(p.name for p in (root / folder).iterdir())
        s3.put_object(Bucket=bucket, Key=f"{prefix}{folder}/_COMMITTED.json", Body=json.dumps({"files": names}))
    # ...and none in a date whose copy was interrupted (it did not exist), nor in a model version being copied
    half = f"{prefix}silver/tracks/ds=2026-12-14/"
    part = next(p for p in (root / "silver" / "tracks" / f"ds={D2}").iterdir() if p.name.startswith("part-"))
    s3.put_object(Bucket=bucket, Key=half + part.name, Body=part.read_bytes())
    s3.put_object(Bucket=bucket, Key=half + "_metrics.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key=f"{prefix}models/like_model/version=2026-12-14/model_card.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key=f"{prefix}_staging/0123abcd/part-00000.parquet", Body=b"half")

    env = dict(os.environ)
    done = run_upgrade(f"s3://{bucket}/lake", env=env)
    assert done.returncode == 0, done.stderr
    assert "silver/tracks: old format, 2 date(s)" in done.stdout
    assert "deleted 2 file(s) of date folders without _COMMITTED.json" in done.stdout
    assert "warning: models/like_model/version=2026-12-14 has no _COMMITTED.json" in done.stdout

    lake = Lake(f"s3://{bucket}/lake")
    check_tables(lake, want)
    left = keys(s3, bucket, prefix)
    assert [k for k in left if k.endswith(("_COMMITTED.json", "_SUCCESS", "_publish.json"))] == []
    assert [k for k in left if k.startswith((half, prefix + "_staging/", prefix + "_upgrade_lake.json"))] == []
    assert sorted(k for k in left if k.endswith("_metrics.json")) == sorted(
        prefix + str(p.relative_to(root)) for p in root.rglob("_metrics.json"))
    old = {prefix + str(p.relative_to(root)) for files in data_files(root).values() for p in files}
    assert old.isdisjoint(left)

    again = run_upgrade(f"s3://{bucket}/lake", env=env)
    assert again.returncode == 0, again.stderr
    assert "nothing to convert" in again.stdout
    assert keys(s3, bucket, prefix) == left
