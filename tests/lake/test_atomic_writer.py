"""The project's one atomic file writer, weekly_discovery.lake.write_atomic (locally; tests/objectstore covers S3)."""

from __future__ import annotations

import json
import os

import pytest

from weekly_discovery.lake import write_atomic, write_json


def test_replaces_the_content_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "latest.json"
    path.write_bytes(b"old")
    assert write_atomic(str(path), b"new") == path
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path, monkeypatch):
    path = tmp_path / "champion.json"
    path.write_bytes(b"old")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["champion.json"]


def test_another_writer_s_temporary_file_is_never_touched(tmp_path):
    """Two renders of the same page at once: each writes its own temporary file, the last rename wins."""
    other = tmp_path / ".index.html.tmp"  # the name a fixed-name writer would use for index.html
    other.write_bytes(b"half of the other writer's page")
    write_atomic(tmp_path / "index.html", b"<html>")
    assert other.read_bytes() == b"half of the other writer's page"
    assert (tmp_path / "index.html").read_bytes() == b"<html>"


def test_write_json_is_indented_key_sorted_with_a_final_newline(tmp_path):
    path = write_json(tmp_path / "card.json", {"b": 1, "a": [1, 2]})
    assert path.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    assert json.loads(path.read_text()) == {"a": [1, 2], "b": 1}
