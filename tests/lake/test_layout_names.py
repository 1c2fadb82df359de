"""The lake owns its names: every table and file name is declared once in weekly_discovery.lake.layout."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import weekly_discovery.lake as lake_api
from weekly_discovery.lake import (
    LIKE_MODEL,
    REPORTS,
    SILVER_TRACKS,
    TABLES,
    TRACKS_ENRICHED,
    BatchFile,
    Lake,
    LakeError,
    Table,
    batch_file_name,
    parse_batch_file_name,
)
from weekly_discovery.lake.layout import BATCH_BODY_PATTERN, BATCH_REQUEST_PATTERN, LAYERS

REPO = Path(__file__).resolve().parents[2]
DS = "2026-11-23"


# ---- batch file names ------------------------------------------------------------------------------

@pytest.mark.parametrize("index, request_, name", [
    (0, False, "batch-00000.json"),
    (7, True, "batch-00007.request.json"),
    (12345, False, "batch-12345.json"),
    (123456, True, "batch-123456.request.json"),  # more than five digits still round-trips
])
def test_batch_file_names_by_hand_and_round_trip(index, request_, name):
    assert batch_file_name(index, request=request_) == name
    assert parse_batch_file_name(name) == BatchFile(index, request_)


@pytest.mark.parametrize("name", [
    "_manifest.json", ".batch-00001.json.tmp", "batch-1.json", "batch-00001.request.json.tmp", "batch-00001.txt",
    "xbatch-00001.json",
])
def test_other_files_are_not_batches(name):
    assert parse_batch_file_name(name) is None


@pytest.mark.parametrize("index", [-1, 1.0, "3", True])
def test_batch_index_must_be_a_non_negative_integer(index):
    with pytest.raises(LakeError, match="batch index"):
        batch_file_name(index)


def test_the_spark_patterns_match_what_batch_file_name_writes():
    import re

    assert re.fullmatch(BATCH_BODY_PATTERN, batch_file_name(42)).group(1) == "00042"
    assert re.fullmatch(BATCH_REQUEST_PATTERN, batch_file_name(42, request=True)).group(1) == "00042"
    assert re.fullmatch(BATCH_BODY_PATTERN, batch_file_name(42, request=True)) is None


# ---- tables ----------------------------------------------------------------------------------------

def test_tables_are_distinct_and_print_as_their_folder():
    assert len({(t.layer, t.name) for t in TABLES}) == len(TABLES)
    assert str(SILVER_TRACKS) == "silver/tracks" and str(REPORTS) == "reports/library"


def test_a_table_with_an_unknown_layer_or_bad_name_fails_when_declared():
    with pytest.raises(LakeError, match="unknown layer 'silverr'"):
        Table("silverr", "tracks")
    with pytest.raises(LakeError, match="invalid table name '../x'"):
        Table("gold", "../x")


def test_partition_takes_a_table_and_keeps_the_older_layer_name_form(tmp_path):
    lake = Lake(str(tmp_path))
    expected = tmp_path.resolve() / "silver" / "tracks_enriched" / f"ds={DS}"
    assert lake.partition(TRACKS_ENRICHED, DS) == expected
    assert lake.partition("silver", "tracks_enriched", DS) == expected
    assert lake.table(LIKE_MODEL) == lake.table("models", "like_model") == tmp_path.resolve() / "models" / "like_model"
    assert lake.version(LIKE_MODEL, DS) == tmp_path.resolve() / "models" / "like_model" / f"version={DS}"
    with pytest.raises(TypeError, match="lake.partition\\(TABLE, ds\\)"):
        lake.partition(TRACKS_ENRICHED)
    with pytest.raises(LakeError, match="partition date"):
        lake.partition(TRACKS_ENRICHED, "2026-13-01")


def test_the_package_re_exports_what_stages_use():
    for name in ("Lake", "LakeError", "PartitionDate", "parse_ds", "read_json", "MANIFEST", "METRICS",
                 "write_json", "write_atomic", "arrow_source", "SILVER_TRACKS", "batch_file_name"):
        assert name in lake_api.__all__ and hasattr(lake_api, name)


# ---- nobody else spells them -----------------------------------------------------------------------

def _python_files() -> list[Path]:
    files = []
    for top in ("weekly_discovery", "jobs", "devtools", "plugins", "dags"):
        for folder, _, names in os.walk(REPO / top):
            if "__pycache__" in folder or Path(folder).is_relative_to(REPO / "weekly_discovery" / "lake"):
                continue
            files += [Path(folder, n) for n in names if n.endswith(".py")]
    return sorted(files)


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def layout_literals(source: str) -> list[str]:
    """Places in ``source`` that name a table or a batch file by hand."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("partition", "table", "version", "Table") and node.args and _literal(node.args[0]) in LAYERS:
                found.append(f"line {node.lineno}: {called}({node.args[0].value!r}, ...)")
        elif isinstance(node, ast.Tuple) and len(node.elts) >= 2:
            first, second = _literal(node.elts[0]), _literal(node.elts[1])
            if first in LAYERS and second is not None:
                found.append(f"line {node.lineno}: ({first!r}, {second!r})")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" not in node.value:
            if node.value.lstrip("^").startswith("batch-") or node.value.startswith(tuple(f"{l}/" for l in LAYERS)):
                found.append(f"line {node.lineno}: {node.value!r}")
    return found


def test_the_grep_finds_the_forms_it_forbids():
    source = (
        'lake.partition("silver", "tracks", ds)\n'
        'TABLE = ("models", "like_model")\n'
        'name = f"batch-{i:05d}.json"\n'
        'pattern = r"^batch-(\\d+)\\.json$"\n'
        'lake.table("gold", "published")\n'
        'path = "gold/recommendations"\n'
    )
    assert len(layout_literals(source)) == 6
    assert layout_literals('lake.partition(SILVER_TRACKS, ds)\nx = {"reports": 1}\nhead, _, tail = s.partition(":")\n') == []


def test_no_module_outside_the_lake_spells_a_table_or_batch_file_name():
    offenders = {}
    for path in _python_files():
        found = layout_literals(path.read_text())
        if found:
            offenders[str(path.relative_to(REPO))] = found
    assert offenders == {}, "use the Table constants and batch_file_name() of weekly_discovery.lake instead"
