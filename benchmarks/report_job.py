"""How long the library report job takes on a big library: a generated 1M-row tracks_enriched table.

    .venv/bin/python benchmarks/report_job.py [--rows 1000000] [--master local[2]] [--keep]

Writes date 2026-11-23 of the tracks_enriched Delta table (delta-rs, one commit, with its ``_metrics.json``
beside it, as the enrich job writes it) with realistic audio features (energy drives loudness up and
acousticness down, danceability around 0.6, speechiness and instrumentalness skewed to 0, key/mode/tempo
as in real exports), roles liked 40% / disliked 15% / reference 25% (5 playlists) / candidates 20%,
artists drawn from a long tail, 5% of liked tracks also in a liked playlist, and feature status ok
95% / missing 3% / quarantined 1% / pending 1%. Then it runs the real ``spark-submit jobs/report.py``
on it and prints the wall time, the job's own step timings, and the size of report.json.
The data is seeded: every run generates the same table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from weekly_discovery.lake import TRACKS_ENRICHED, delta
from weekly_discovery.lake.layout import Lake

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: benchmarks.generate (the enrich job's columns) is imported
    sys.path.insert(0, str(REPO))
JOB = REPO / "jobs" / "report.py"
DS = "2026-11-23"
ALPHABET = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))


def spotify_ids(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct-looking 22-character base62 ids."""
    chars = ALPHABET[rng.integers(0, len(ALPHABET), size=(n, 22))]
    return ["".join(row) for row in chars]


def features(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    energy = rng.beta(4, 2.5, n)
    return {
        "danceability": rng.beta(5, 3.2, n),
        "energy": energy,
        "speechiness": rng.beta(1.2, 12, n),
        "instrumentalness": rng.beta(0.35, 3.5, n),
        "acousticness": np.clip(1 - energy + rng.normal(0, 0.15, n), 0, 1),
        "liveness": rng.beta(1.5, 8, n),
        "valence": np.clip(0.25 + 0.45 * energy + rng.normal(0, 0.18, n), 0, 1),
        "loudness": np.clip(-22 + 18 * energy + rng.normal(0, 1.8, n), -60, 3),
        "tempo": np.clip(rng.normal(121, 28, n), 40, 230),
        "key": rng.integers(-1, 12, n).astype(np.int32),
        "mode": rng.integers(0, 2, n).astype(np.int32),
        "time_signature": rng.choice(np.array([3, 4, 5], dtype=np.int32), n, p=[0.08, 0.9, 0.02]),
    }


def generate(lake: Lake, rows: int, seed: int = 20161107) -> int:
    """Write the table's date (see the module docstring); returns the size of its data files, from the log."""
    from benchmarks.generate import conform, enriched_schema
    from weekly_discovery.report.freshness import date_files

    rng = np.random.default_rng(seed)
    role_names = np.array(["liked", "disliked", "reference", "candidates"])
    roles = role_names[rng.choice(4, rows, p=[0.40, 0.15, 0.25, 0.20])]
    playlist_ids = spotify_ids(rng, 12)
    source_key = np.where(roles == "liked", "saved_tracks", "")
    source_name = np.where(roles == "liked", "Liked Songs", "")
    for role, ids in (("disliked", playlist_ids[:2]), ("reference", playlist_ids[2:7]),
                      ("candidates", playlist_ids[7:11])):
        mask = roles == role
        pick = rng.integers(0, len(ids), mask.sum())
        source_key[mask] = np.array([f"playlist-{i}" for i in ids])[pick]
        source_name[mask] = np.array([f"{role.title()} playlist {k + 1}" for k in range(len(ids))])[pick]
    track_ids = np.array(spotify_ids(rng, rows))
    # 5% of the liked tracks also in a liked playlist: those rows replace candidate rows, so the table
    # keeps exactly `rows` rows
    liked_rows = np.flatnonzero(roles == "liked")
    dup = rng.choice(liked_rows, len(liked_rows) // 20, replace=False)
    overwrite = rng.choice(np.flatnonzero(roles == "candidates"), len(dup), replace=False)
    track_ids[overwrite] = track_ids[dup]
    roles[overwrite], source_key[overwrite] = "liked", f"playlist-{playlist_ids[11]}"
    source_name[overwrite] = "My favourites"

    n_artists = max(100, rows // 20)
    artist_ids = np.array(spotify_ids(rng, n_artists))
    artist_of = np.minimum((rng.pareto(1.2, rows) * 100).astype(np.int64), n_artists - 1)  # a long tail
    status = np.array(["ok", "missing", "quarantined", "pending"])[rng.choice(4, rows, p=[0.95, 0.03, 0.01, 0.01])]
    ok = status == "ok"
    values = features(rng, rows)
    columns = {
        "track_id": pa.array(track_ids),
        "track_uri": pa.array(np.char.add("spotify:track:", track_ids)),
        "name": pa.array(np.char.add("Song ", np.arange(rows).astype(str))),
        "artist_ids": pa.array([[a] for a in artist_ids[artist_of]], pa.list_(pa.string())),
        "artist_names": pa.array([[f"Artist {a}"] for a in artist_of], pa.list_(pa.string())),
        "primary_artist_id": pa.array(artist_ids[artist_of]),
        "primary_artist_name": pa.array(np.char.add("Artist ", artist_of.astype(str))),
        "album_id": pa.array(artist_ids[artist_of]),
        "album_name": pa.array(np.char.add("Album ", (artist_of % 997).astype(str))),
        "album_release_date": pa.array(np.full(rows, "2020-01-01")),
        "duration_ms": pa.array(rng.integers(90_000, 420_000, rows).astype(np.int64)),
        "explicit": pa.array(rng.random(rows) < 0.1),
        "added_at": pa.array(np.full(rows, np.datetime64("2026-11-01T10:00:00", "us")), pa.timestamp("us", tz="UTC")),
        "role": pa.array(roles),
        "source_key": pa.array(source_key),
        "source_id": pa.array([None if k == "saved_tracks" else k[9:] for k in source_key], pa.string()),
        "source_name": pa.array(source_name),
        "snapshot_id": pa.array(np.full(rows, None), pa.string()),
        "position": pa.array(np.arange(rows, dtype=np.int32)),
    }
    for name, v in values.items():
        columns[name] = pa.array(v, mask=~ok)
    columns["feature_source"] = pa.array(np.where(ok, "reccobeats", None), pa.string())
    columns["feature_status"] = pa.array(status)
    delta.write_date(lake, TRACKS_ENRICHED, DS, conform(columns, enriched_schema()))  # the enrich job's columns
    folder = lake.partition(TRACKS_ENRICHED, DS)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_metrics.json").write_text(json.dumps({"ds": DS, "providers_in_order": ["reccobeats"],
                                                      "gates": {"checked": rows, "quarantined": int((~ok).sum())}}))
    return sum(f["size"] for f in date_files(lake, TRACKS_ENRICHED, DS).values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--keep", action="store_true", help="keep the generated lake (its path is printed)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="wd-report-bench-"))
    lake = Lake(str(workdir / "lake"))
    try:
        started = time.monotonic()
        size = generate(lake, args.rows)
        print(f"generated {args.rows:,} rows ({size / 1e6:.0f} MB Parquet) in {time.monotonic() - started:.1f} s")

        venv_bin = Path(sys.executable).parent
        import pyspark

        env = {**os.environ, "SPARK_HOME": os.environ.get("SPARK_HOME", str(Path(pyspark.__file__).parent)),
               "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
               "SPARK_LOCAL_IP": "127.0.0.1", "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
        config = workdir / "weekly-discovery.toml"  # the job's settings: the defaults of [report] and [model]
        config.write_text(f'[sources]\nliked = ["saved_tracks"]\n\n[lake]\nroot = "{lake.root}"\n', encoding="utf-8")
        command = [str(venv_bin / "spark-submit"), "--master", args.master, "--conf", "spark.ui.enabled=false",
                   str(JOB), "--lake", lake.root, "--ds", DS, "--config", str(config)]
        started = time.monotonic()
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
        output = result.stdout + result.stderr
        for line in output.splitlines():
            if "weekly_discovery" in line and " INFO " in line:
                print("  " + line.split(": ", 1)[-1])
        if result.returncode != 0:
            print(output[-4000:])
            raise SystemExit(f"the report job failed (exit {result.returncode})")
        from weekly_discovery.report.paths import REPORT_JSON, report_dir

        report = report_dir(lake, DS) / REPORT_JSON
        print(f"report.json: {report.stat().st_size / 1e3:.0f} KB")
        print(f"spark-submit jobs/report.py on {args.rows:,} rows, --master {args.master}: {wall:.1f} s wall")
        if args.keep:
            print(f"lake kept at {lake.root}")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
