"""SIGKILL in the middle of an extraction, then a rerun of the same date: the lake is as if
nothing had happened, and no reader ever saw a partial partition."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from devtools.standin import scaled_library
from tests.ingest.conftest import DS1, StandIn, lake_contents, make_api, make_config
from weekly_discovery.ingest.extract import extract_library

CHILD = """
import json, sys
from weekly_discovery.core.config import load_config
from weekly_discovery.ingest.extract import extract_library
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
        staging = Path(config.lake_root, "_staging")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            staged_pages = list(staging.glob("*/page-*.json")) if staging.exists() else []
            if len(staged_pages) >= 40:
                break
            assert child.poll() is None, "extraction finished before it could be interrupted"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()

        # what a reader sees after the crash: no partition of that source at all, never half of one
        saved = config.lake.raw_partition("saved_tracks", DS1)
        assert not saved.exists()
        assert len(list(staging.glob("*/page-*.json"))) >= 40  # the debris stays in _staging only

        extract_library(make_api(standin), config.lake, config, DS1)

    rerun = {k.replace("crashed", "reference"): v for k, v in lake_contents(config.lake_root).items()}
    assert rerun == lake_contents(reference.lake_root)
    manifest = json.loads((saved / "_manifest.json").read_text())
    assert manifest["item_total"] == 20_000 and len(manifest["pages"]) == 400
