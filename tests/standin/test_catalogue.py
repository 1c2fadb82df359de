"""The generated catalogue: the Kaggle file's layout, seeded, the library's songs first, publishable in the demo."""

from __future__ import annotations

import ast
import csv
import hashlib

from devtools.standin import generate_demo_library
from devtools.standin.catalogue import COLUMNS, demo_catalogue, write_catalogue

HEADER = ("id,name,album,album_id,artists,artist_ids,track_number,disc_number,explicit,danceability,energy,key,"
          "loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms,"
          "time_signature,year,release_date")


def test_the_columns_are_kaggles_and_a_seed_gives_the_same_file(tmp_path):
    assert ",".join(COLUMNS) == HEADER
    a, b, c = (write_catalogue(tmp_path / name, 300, seed=seed) for name, seed in (("a.csv", 1), ("b.csv", 1), ("c.csv", 2)))
    digest = [hashlib.sha256(w.path.read_bytes()).hexdigest() for w in (a, b, c)]
    assert digest[0] == digest[1] != digest[2]
    with a.path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == a.rows == 300 and list(rows[0]) == list(COLUMNS)
    for r in rows:
        assert len(r["id"]) == 22 and r["id"].isalnum()
        names, ids = ast.literal_eval(r["artists"]), ast.literal_eval(r["artist_ids"])  # Python list literals
        assert 1 <= len(names) == len(ids) <= 2
        assert 0.0 <= float(r["energy"]) <= 1.0 and -60.0 <= float(r["loudness"]) <= 0.0
        assert r["explicit"] in ("True", "False") and int(r["year"]) == int(r["release_date"][:4])


def test_the_demo_catalogue_holds_the_library_and_its_new_songs_become_standin_tracks(tmp_path):
    library = generate_demo_library(seed=7, n_tracks=400)
    known = dict(library.tracks)
    written = demo_catalogue(library, tmp_path / "tracks_features.csv", n_rows=1000)
    assert (written.rows, written.from_library) == (1000, 400)
    with written.path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    first = min(known)  # the library's tracks come first, in id order, with their own features
    assert rows[0]["id"] == first and float(rows[0]["energy"]) == known[first].features["energy"]
    assert len(library.tracks) == 1000  # 600 new songs the stand-in can now put in a playlist
    new = library.tracks[rows[-1]["id"]]
    assert new.reccobeats_id is None and new.name == rows[-1]["name"]  # ReccoBeats does not know them
