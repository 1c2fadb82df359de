"""A crash in the middle of an extraction, then a rerun of the same date: the lake is as if nothing
had happened, and no reader ever saw a partial partition.

A raw partition is written in place and exists for readers only through its manifest, written last;
a rerun deletes the earlier manifest before anything else (weekly_discovery.ingest.extract)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devtools.standin import scaled_library
from tests.ingest.conftest import DS1, DS2, StandIn, lake_contents, make_api, make_config
from weekly_discovery.ingest.extract import extract_library

CHILD = """
import json, sys
from weekly_discovery.ingest.extract import extract_library
from weekly_discovery.settings.config import load_config
from weekly_discovery.spotify.client import SpotifyAPI
from weekly_discovery.spotify.credentials import SpotifyCredentials
conn = json.loads(sys.argv[1])
creds = SpotifyCredentials.from_connection_fields("c", conn["login"], conn["password"], conn["extra"])
config = load_config(sys.argv[2], env={"WEEKLY_DISCOVERY_LAKE": sys.argv[3]})
extract_library(SpotifyAPI(creds), config.lake, config, sys.argv[4])
"""


def test_sigkill_mid_extraction_then_rerun_equals_an_uninterrupted_run(tmp_path):
    library = scaled_library(20_000, seed=11)
    with StandIn(library) as standin:
        reference = make_config(standin, tmp_path, "reference")
        extract_library(make_api(standin), reference.lake, reference, DS1)

        config = make_config(standin, tmp_path, "crashed")
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, standin.connection_json(), str(config.path), config.lake_root, DS1],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        saved = config.lake.raw_partition("saved_tracks", DS1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(list(saved.glob("page-*.json"))) >= 40:
                break
            assert child.poll() is None, "extraction finished before it could be interrupted"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()

        # what a reader sees after the crash: no partition of that source at all, never half of one
        assert not (saved / "_manifest.json").exists()
        assert len(list(saved.glob("page-*.json"))) >= 40  # the debris, without a manifest
        assert "source=saved_tracks" not in {p.parent.parent.name for p in config.lake.raw_manifests(DS1)}
        assert config.lake.previous_manifest("saved_tracks", "2026-11-23") is None

        extract_library(make_api(standin), config.lake, config, DS1)

    rerun = {k.replace("crashed", "reference"): v for k, v in lake_contents(config.lake_root).items()}
    assert rerun == lake_contents(reference.lake_root)
    manifest = json.loads((saved / "_manifest.json").read_text())
    assert manifest["item_total"] == 20_000 and len(manifest["pages"]) == 400
    # the rerun removed the debris: the partition holds its manifest and the pages it lists, nothing else
    assert sorted(p.name for p in saved.iterdir()) == ["_manifest.json"] + [p.rsplit("/", 1)[1] for p in manifest["pages"]]
    assert not Path(config.lake_root, "_staging").exists()


class Crash(Exception):
    pass


def test_a_rerun_that_dies_midway_withdraws_the_date_and_the_next_rerun_restores_it(tmp_path, monkeypatch):
    """A rerun replaces a complete partition in place: once it has started writing, the earlier
    manifest is gone (never an old manifest over new pages), other sources and other dates keep theirs."""
    library = scaled_library(2_000, seed=5)
    with StandIn(library) as standin:
        config = make_config(standin, tmp_path)
        lake = config.lake
        api = make_api(standin)
        extract_library(api, lake, config, DS1)
        extract_library(api, lake, config, DS2)
        complete = lake_contents(config.lake_root)
        saved = lake.raw_partition("saved_tracks", DS1)
        old_manifest = json.loads((saved / "_manifest.json").read_text())

        real_call, pages_read = api.call, []

        def dying_call(fn, *args, **kwargs):
            saved_page = fn.__name__ == "current_user_saved_tracks" or (
                fn.__name__ == "next" and "/me/tracks" in args[0]["next"])
            if saved_page:
                pages_read.append(fn)
                if len(pages_read) == 10:
                    raise Crash("the worker died on page 10")
            return real_call(fn, *args, **kwargs)

        monkeypatch.setattr(api, "call", dying_call)
        with pytest.raises(Crash):
            extract_library(api, lake, config, DS1)
        monkeypatch.undo()

        assert not (saved / "_manifest.json").exists()
        assert "source=saved_tracks" not in {p.parent.parent.name for p in lake.raw_manifests(DS1)}
        written = sorted(p.name for p in saved.glob("page-*.json"))
        assert written == [f"page-{i:05d}.json" for i in range(9)]  # the earlier run's 40 pages are gone
        assert len(old_manifest["pages"]) == 40
        # the other sources of DS1 and every source of DS2 are untouched
        untouched = {k: v for k, v in complete.items() if "source=saved_tracks/ds=2026-11-16/" not in k}
        assert {k: v for k, v in lake_contents(config.lake_root).items()
                if "source=saved_tracks/ds=2026-11-16/" not in k} == untouched

        extract_library(api, lake, config, DS1)
    assert lake_contents(config.lake_root) == complete
