"""How many requests ingest and enrichment cost, against the minimum and the 2016 approach.

    .venv/bin/python -m benchmarks.api_requests [--sizes 1000 10000 100000]

(``benchmarks.run`` calls :func:`measure` for its API table; this CLI prints that table alone.)

Per library size n (``scaled_library(n)``: n Liked Songs plus five small playlists), against the
stand-in over real HTTP with the real clients:

1. ingest: :func:`weekly_discovery.ingest.extract.extract_library` with the real ``SpotifyAPI`` (spotipy);
2. enrichment: the real fetch step (:func:`weekly_discovery.enrich.fetch.fetch_features`, provider
   chain ``spotify, reccobeats``) twice: with Spotify's ``/audio-features`` allowed ("ok": Spotify answers,
   ReccoBeats only for the ~1% Spotify has no features for) and forbidden as for apps registered since
   27 Nov 2024 (one 403, then ReccoBeats, 40 ids a call);
3. an unchanged weekly rerun: ingest and enrichment of the next date.

The silver tracks the fetch step reads are written from the library's sources (what normalize
produces from those pages), and the feature-cache rows the rerun starts from are built from the fetch
step's raw batches (status per id, merged into ``silver/audio_features`` as the enrich job merges them),
so no Spark job runs here (Delta tables are written with delta-rs).

Minimum: 1 (/me) + ceil(saved/50) pages + per playlist 1 metadata call and ceil(items/50) pages, plus
ceil(ids/100) feature calls (Spotify), or ceil(ids/40) (ReccoBeats). The 2016 approach: the same pages,
then one ``/audio-features/{id}`` call per track (n_ids calls).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from devtools.standin import StandIn, scaled_library, write_demo_config
from weekly_discovery.enrich.cache import CACHE_KEYS
from weekly_discovery.enrich.fetch import fetch_features, read_manifests
from weekly_discovery.enrich.providers.base import ProviderContext, is_api_provider, provider_module
from weekly_discovery.ingest.extract import extract_library
from weekly_discovery.lake import AUDIO_FEATURES, SILVER_TRACKS, delta
from weekly_discovery.lake.layout import Lake
from weekly_discovery.settings.config import load_config
from weekly_discovery.spotify.client import SpotifyAPI
from weekly_discovery.spotify.credentials import SpotifyCredentials

DS, NEXT_DS = "2026-11-16", "2026-11-23"


def api_for(standin: StandIn) -> SpotifyAPI:
    conn = json.loads(standin.connection_json())
    return SpotifyAPI(SpotifyCredentials.from_connection_fields("bench", conn["login"], conn["password"], conn["extra"]))


def write_config(library, standin: StandIn, path: Path, lake_root: Path) -> Path:
    write_demo_config(library, path)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"\n[lake]\nroot = \"{lake_root}\"\n\n[enrichment]\nproviders = [\"spotify\", \"reccobeats\"]\n"
                 f"reccobeats_url = \"{standin.reccobeats_url}\"\n")
    return path


def library_ids(library, sources) -> list[tuple[str, str, str]]:
    """(track_id, role, source_key) of every configured source's tracks, each track once per source."""
    rows = []
    for source in sources:
        if source.kind == "saved_tracks":
            ids = [t for _, t in library.saved]
        else:
            ids = library.playlists[source.spotify_id].track_ids()
        for track_id in dict.fromkeys(ids):
            rows.append((track_id, source.role, source.key))
    return rows


def write_silver(lake: Lake, ds: str, rows: list[tuple[str, str, str]]) -> None:
    """Date ``ds`` of ``silver/tracks``, with only the columns the fetch step reads."""
    track_id, role, key = zip(*rows)
    delta.write_date(lake, SILVER_TRACKS, ds,
                     pa.table({"track_id": list(track_id), "role": list(role), "source_key": list(key)}))


def write_cache_from_batches(lake: Lake, ds: str, chain: tuple[str, ...]) -> dict[str, int]:
    """The feature-cache rows of ``ds`` as the enrich job would merge them (status per asked id; the columns
    the fetch step reads)."""
    asked: set[str] = set()
    answered: set[str] = set()
    for name, manifest in read_manifests(lake, ds, [p for p in chain if is_api_provider(p)]).items():
        module = provider_module(name)
        folder = lake.raw_features_partition(name, ds)
        for batch in manifest.get("batches", []):
            ids = json.loads((folder / batch["request"]).read_text())["ids"]
            asked.update(ids)
            answered.update(module.parse_body((folder / batch["body"]).read_bytes(), ids))
    ids = sorted(asked)
    text = pa.string()
    delta.merge(lake, AUDIO_FEATURES, pa.table({
        "track_id": pa.array(ids, text),
        "status": pa.array(["ok" if i in answered else "missing" for i in ids], text),
        "fetched_ds": pa.array([ds] * len(ids), text),
        "providers_asked": pa.array([",".join(chain)] * len(ids), text),
    }), CACHE_KEYS, ds=ds)
    return {"ok": len(answered), "missing": len(asked - answered)}


def _enrich(standin: StandIn, api: SpotifyAPI, lake: Lake, ds: str, enrichment) -> dict[str, int]:
    standin.reset_counts()
    fetch_features(lake, ds, enrichment, ProviderContext(enrichment, spotify_api=lambda: api))
    return {"spotify": standin.count("/v1/audio-features"), "reccobeats": standin.count("/reccobeats"),
            "spotify_403": standin.count("/v1/audio-features", status=403)}


def _ingest(standin: StandIn, api: SpotifyAPI, lake: Lake, config, ds: str) -> int:
    standin.reset_counts()
    extract_library(api, lake, config, ds)
    return standin.count("/v1/")


def measure(n: int, workdir: Path, seed: int = 5) -> dict:
    """Requests of ingest + enrichment for ``scaled_library(n)`` (see the module docstring)."""
    started = time.monotonic()
    library = scaled_library(n, seed=seed)
    generated_s = time.monotonic() - started
    root = workdir / f"api-{n}"
    lake_ok, lake_off = Lake(str(root / "lake-ok")), Lake(str(root / "lake-forbidden"))
    with StandIn(library) as standin:
        config = load_config(write_config(library, standin, root / "config.toml", root / "lake-ok"))
        enrichment = config.enrichment
        api = api_for(standin)
        rows = library_ids(library, config.sources)
        n_ids = len({r[0] for r in rows})
        playlists = [s for s in config.sources if s.kind == "playlist"]
        pages_min = 1 + math.ceil(len(library.saved) / 50) + sum(
            1 + max(1, math.ceil(len(library.playlists[s.spotify_id].items) / 50)) for s in playlists)

        t0 = time.monotonic()
        ingest = _ingest(standin, api, lake_ok, config, DS)
        ingest_s = time.monotonic() - t0
        write_silver(lake_ok, DS, rows)
        for layer in ("raw", "silver"):  # the forbidden run starts from the same ingest
            shutil.copytree(Path(lake_ok.root, layer), Path(lake_off.root, layer))

        t0 = time.monotonic()
        ok = _enrich(standin, api, lake_ok, DS, enrichment)
        ok_s = time.monotonic() - t0
        write_cache_from_batches(lake_ok, DS, enrichment.providers)
        rerun_ingest = _ingest(standin, api, lake_ok, config, NEXT_DS)
        write_silver(lake_ok, NEXT_DS, rows)
        rerun_ok = _enrich(standin, api, lake_ok, NEXT_DS, enrichment)

        standin.audio_features = "forbidden"  # as for every app registered since 27 Nov 2024
        t0 = time.monotonic()
        off = _enrich(standin, api, lake_off, DS, enrichment)
        off_s = time.monotonic() - t0
        write_cache_from_batches(lake_off, DS, enrichment.providers)
        rerun_ingest_off = _ingest(standin, api, lake_off, config, NEXT_DS)
        write_silver(lake_off, NEXT_DS, rows)
        rerun_off = _enrich(standin, api, lake_off, NEXT_DS, enrichment)
    shutil.rmtree(root, ignore_errors=True)
    return {
        "n": n, "ids": n_ids, "sources": len(config.sources), "generate_s": round(generated_s, 1),
        "ingest": ingest, "ingest_min": pages_min, "ingest_s": round(ingest_s, 1),
        "ok": ok, "ok_min": math.ceil(n_ids / 100), "ok_s": round(ok_s, 1),
        "forbidden": off, "forbidden_min": math.ceil(n_ids / 40), "forbidden_s": round(off_s, 1),
        "approach_2016": pages_min + n_ids,
        "rerun_ok": {"ingest": rerun_ingest, **rerun_ok},
        "rerun_forbidden": {"ingest": rerun_ingest_off, **rerun_off},
    }


def table_lines(results: list[dict]) -> list[str]:
    lines = [
        "| liked songs | distinct tracks | ingest requests (minimum) | enrich, Spotify features allowed: Spotify + ReccoBeats (minimum) "
        "| enrich, Spotify features forbidden: 403 + ReccoBeats (minimum) | ingest + enrich, allowed / forbidden "
        "| 2016 approach (one feature call per track) | unchanged weekly rerun: ingest + enrich | seconds: ingest, enrich ok, forbidden |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        ok, off = r["ok"], r["forbidden"]
        total_ok = r["ingest"] + ok["spotify"] + ok["reccobeats"]
        total_off = r["ingest"] + off["spotify"] + off["reccobeats"]
        ro, rf = r["rerun_ok"], r["rerun_forbidden"]
        rerun = (f"{ro['ingest']} + {ro['spotify'] + ro['reccobeats']} / "
                 f"{rf['ingest']} + {rf['spotify'] + rf['reccobeats']}")
        lines.append(
            f"| {r['n']:,} | {r['ids']:,} | {r['ingest']:,} ({r['ingest_min']:,}) "
            f"| {ok['spotify']:,} + {ok['reccobeats']:,} ({r['ok_min']:,}) "
            f"| {off['spotify_403']} + {off['reccobeats']:,} ({r['forbidden_min']:,}) "
            f"| {total_ok:,} / {total_off:,} (min {r['ingest_min'] + r['ok_min']:,} / "
            f"{r['ingest_min'] + r['forbidden_min']:,}) "
            f"| {r['approach_2016']:,} ({r['approach_2016'] / max(total_off, 1):.0f}x forbidden) "
            f"| {rerun} | {r['ingest_s']:.0f}, {r['ok_s']:.0f}, {r['forbidden_s']:.0f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(n, Path(tmp)) for n in args.sizes]
    print("\n".join(table_lines(results)))


if __name__ == "__main__":
    main()
