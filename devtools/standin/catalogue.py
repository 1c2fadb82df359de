"""A generated track catalogue in the layout of Kaggle's "Spotify 1.2M+ Songs" ``tracks_features.csv``.

The ``catalog`` discovery source reads such a file (see docs/discovery.md). This writes one, seeded
(the same seed and size give the same bytes), fast enough for the real scale: 1.2M rows in seconds
(numpy draws every column at once, pyarrow writes the CSV).

Songs are drawn from the demo library's taste clusters (:data:`devtools.standin.library.CLUSTERS`,
same feature means and spreads), so a model trained on a demo library finds songs it likes and songs
it does not. Columns and their forms are the Kaggle file's: ``artists`` and ``artist_ids`` are Python
list literals (``['Ada Berg']``, ``['Ada Berg', 'Milo Hale']`` for a featured artist), ``explicit`` is
``True``/``False``, ``time_signature`` a float (``4.0``), ``release_date`` ``YYYY-MM-DD``.

Given a ``library``, every track the stand-in knows comes first, with its own features (a real
catalogue holds many of the user's songs: the pipeline must drop them), then the generated rows.
:func:`add_to_library` makes the generated rows tracks of the stand-in too, so the demo can publish
a catalogue pick to its playlist.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from devtools.standin.library import (
    BASE62,
    CLUSTERS,
    UNIT_FEATURES,
    Album,
    Artist,
    DemoLibrary,
    Track,
)

COLUMNS = (
    "id", "name", "album", "album_id", "artists", "artist_ids", "track_number", "disc_number", "explicit",
    "danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness", "instrumentalness",
    "liveness", "valence", "tempo", "duration_ms", "time_signature", "year", "release_date",
)
"""The Kaggle file's columns, in its order."""
KAGGLE_ROWS = 1_204_025  # rows of the Kaggle file
FEATURED_SHARE = 0.1  # songs with a second (featured) artist
TRACKS_PER_ARTIST = 8  # on average

_ADJ = np.array(["Paper", "Quiet", "Golden", "Velvet", "Electric", "Hollow", "Silver", "Wild", "Lucky", "Northern",
                 "Neon", "Gentle", "Broken", "Bright", "Lonely", "Secret", "Slow", "Crystal"])
_NOUN = np.array(["River", "Harbor", "Lantern", "Comet", "Garden", "Mirror", "Echo", "Fox", "Window", "Ocean",
                  "Summer", "Ghost", "Satellite", "Meadow", "Signal", "Valley", "Engine", "Tide"])
_FIRST = np.array(["Ada", "Milo", "Nora", "Jonas", "Lena", "Theo", "Mira", "Felix", "Iris", "Oskar", "Zoe", "Ravi",
                   "Elif", "Kai", "Sofia", "Dante", "Yara", "Hugo", "Maya", "Leon"])
_LAST = np.array(["Lindqvist", "Moreau", "Okafor", "Hale", "Berg", "Castillo", "Novak", "Reyes", "Kim", "Fischer",
                  "Santos", "Dubois", "Ahmed", "Walsh", "Tanaka", "Rossi"])
_ID_BYTES = np.frombuffer(BASE62.encode("ascii"), dtype=np.uint8)


@dataclass(frozen=True)
class CatalogueFile:
    path: Path
    rows: int
    from_library: int  # rows that are tracks of the library (first in the file)


def _ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` 22-character base62 ids (numpy bytes)."""
    codes = rng.integers(0, len(BASE62), size=(n, 22), dtype=np.uint8)
    return np.ascontiguousarray(_ID_BYTES[codes]).view("S22").ravel()


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _text(values: np.ndarray) -> pa.Array:
    return pa.array(values).cast(pa.string())


def _pad2(values: np.ndarray) -> pa.Array:
    return pc.utf8_lpad(pa.array(values).cast(pa.string()), 2, "0")


def generated_rows(n: int, seed: int = 7) -> pa.Table:
    """``n`` generated catalogue rows (the Kaggle columns, as text or numbers), drawn from the taste clusters."""
    rng = np.random.default_rng(seed)
    names = list(CLUSTERS)
    profiles = [CLUSTERS[c] for c in names]
    cluster = rng.integers(0, len(names), n)

    # artists: each belongs to one cluster (index % clusters), a song's artist is one of its cluster's
    n_artists = max(len(names), n // TRACKS_PER_ARTIST)
    per_cluster = max(1, n_artists // len(names))
    artist = cluster + len(names) * rng.integers(0, per_cluster, n)
    n_artists = len(names) * per_cluster
    artist_ids = _text(_ids(rng, n_artists))
    artist_forms = rng.integers(0, 3, n_artists)
    first, last = _FIRST[rng.integers(0, len(_FIRST), n_artists)], _LAST[rng.integers(0, len(_LAST), n_artists)]
    adj, noun = _ADJ[rng.integers(0, len(_ADJ), n_artists)], _NOUN[rng.integers(0, len(_NOUN), n_artists)]
    artist_names = np.where(artist_forms == 0, np.char.add(np.char.add(first, " "), last),
                            np.where(artist_forms == 1, np.char.add(np.char.add("The ", adj), np.char.add(" ", noun)),
                                     np.char.add(np.char.add(first, " & the "), noun)))
    artist_names = pa.array(artist_names)
    a_name, a_id = pc.take(artist_names, pa.array(artist)), pc.take(artist_ids, pa.array(artist))
    featured = rng.random(n) < FEATURED_SHARE
    guest = cluster + len(names) * rng.integers(0, per_cluster, n)
    g_name, g_id = pc.take(artist_names, pa.array(guest)), pc.take(artist_ids, pa.array(guest))
    featured &= guest != artist
    mask = pa.array(featured)
    artists = pc.if_else(mask, _join("['", a_name, "', '", g_name, "']"), _join("['", a_name, "']"))
    artist_id_lists = pc.if_else(mask, _join("['", a_id, "', '", g_id, "']"), _join("['", a_id, "']"))

    # albums: up to four per artist
    album = artist * 4 + rng.integers(0, 4, n)
    album_keys, album_of = np.unique(album, return_inverse=True)
    n_albums = len(album_keys)
    album_ids = pc.take(_text(_ids(rng, n_albums)), pa.array(album_of))
    album_names = pc.take(pa.array(np.char.add(np.char.add(_ADJ[rng.integers(0, len(_ADJ), n_albums)], " "),
                                               _NOUN[rng.integers(0, len(_NOUN), n_albums)])), pa.array(album_of))
    year = rng.integers(1960, 2021, n)
    release = _join(_text(year), "-", _pad2(rng.integers(1, 13, n)), "-", _pad2(rng.integers(1, 29, n)))
    titles = np.char.add(np.char.add(_ADJ[rng.integers(0, len(_ADJ), 200)], " "), _NOUN[rng.integers(0, len(_NOUN), 200)])
    title = pc.take(pa.array(titles), pa.array(rng.integers(0, len(titles), n)))

    means = np.array([[p.unit[f][0] for f in UNIT_FEATURES] for p in profiles])[cluster]
    spreads = np.array([[p.unit[f][1] for f in UNIT_FEATURES] for p in profiles])[cluster]
    unit = np.round(np.clip(means + spreads * rng.standard_normal((n, len(UNIT_FEATURES))), 0.0, 1.0), 4)

    def drawn(attr: str, low: float, high: float) -> np.ndarray:
        mean = np.array([getattr(p, attr)[0] for p in profiles])[cluster]
        sd = np.array([getattr(p, attr)[1] for p in profiles])[cluster]
        return np.clip(mean + sd * rng.standard_normal(n), low, high)

    major = np.array([p.major_p for p in profiles])[cluster]
    explicit = rng.random(n) < np.array([p.explicit_p for p in profiles])[cluster]
    key = np.where(rng.random(n) < 0.01, -1, rng.integers(0, 12, n))
    columns = {
        "id": _text(_ids(rng, n)), "name": title, "album": album_names, "album_id": album_ids,
        "artists": artists, "artist_ids": artist_id_lists,
        "track_number": pa.array(rng.integers(1, 13, n)), "disc_number": pa.array(np.ones(n, dtype=np.int64)),
        "explicit": pc.if_else(pa.array(explicit), "True", "False"),
        **{f: pa.array(unit[:, i]) for i, f in enumerate(UNIT_FEATURES)},
        "key": pa.array(key), "loudness": pa.array(np.round(drawn("loudness", -60.0, 0.0), 3)),
        "mode": pa.array((rng.random(n) < major).astype(np.int64)),
        "tempo": pa.array(np.round(drawn("tempo", 50.0, 200.0), 3)),
        "duration_ms": pa.array((drawn("duration_s", 60, 1200) * 1000).astype(np.int64)),
        "time_signature": pa.array(rng.choice(np.array([4.0, 3.0, 5.0, 7.0]), n, p=[0.90, 0.07, 0.02, 0.01])),
        "year": pa.array(year), "release_date": release,
    }
    return pa.table({name: columns[name] for name in COLUMNS})


def _list_literal(values: list[str]) -> str:
    return "[" + ", ".join(repr(v) for v in values) + "]"  # Python's repr, as the Kaggle file has it


def library_rows(library: DemoLibrary) -> pa.Table:
    """Every track the stand-in knows, as catalogue rows with its own features (in id order)."""
    rows = [library.tracks[i] for i in sorted(library.tracks)]
    columns = {
        "id": [t.id for t in rows], "name": [t.name for t in rows], "album": [t.album.name for t in rows],
        "album_id": [t.album.id for t in rows], "artists": [_list_literal([a.name for a in t.artists]) for t in rows],
        "artist_ids": [_list_literal([a.id for a in t.artists]) for t in rows],
        "track_number": [t.track_number for t in rows], "disc_number": [1] * len(rows),
        "explicit": [str(t.explicit) for t in rows],
        **{f: [float(t.features[f]) for t in rows] for f in (*UNIT_FEATURES, "loudness", "tempo")},
        "key": [int(t.features["key"]) for t in rows], "mode": [int(t.features["mode"]) for t in rows],
        "duration_ms": [t.duration_ms for t in rows],
        "time_signature": [float(t.features["time_signature"]) for t in rows],
        "year": [int(t.album.release_date[:4]) for t in rows], "release_date": [t.album.release_date for t in rows],
    }
    return pa.table({name: columns[name] for name in COLUMNS})


def catalogue_table(n_rows: int, seed: int = 7, library: DemoLibrary | None = None) -> pa.Table:
    """The library's tracks (if given) then generated rows: ``max(n_rows, library size)`` rows in all."""
    known = library_rows(library) if library is not None else None
    generated = generated_rows(max(0, n_rows - (known.num_rows if known is not None else 0)), seed)
    if known is None:
        return generated
    return pa.concat_tables([known.cast(generated.schema), generated])


def write_catalogue(path: str | Path, n_rows: int, seed: int = 7, library: DemoLibrary | None = None
                    ) -> CatalogueFile:
    """Write the catalogue CSV (header line, fields quoted where needed, as Kaggle's); return what was written."""
    table = catalogue_table(n_rows, seed, library)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, str(path), pacsv.WriteOptions(quoting_style="needed"))
    return CatalogueFile(path, table.num_rows, len(library.tracks) if library is not None else 0)


def add_to_library(library: DemoLibrary, table: pa.Table) -> int:
    """Make the catalogue's rows the stand-in does not know tracks of it (so a catalogue pick can be added to a
    playlist); ReccoBeats does not know them (no ``reccobeats_id``), so its answers are unchanged. Returns
    how many were added."""
    import ast

    added = 0
    artists: dict[str, Artist] = {}
    albums: dict[str, Album] = {}
    for r in table.to_pylist():
        if r["id"] in library.tracks:
            continue
        names, ids = ast.literal_eval(r["artists"]), ast.literal_eval(r["artist_ids"])
        who = [artists.setdefault(i, Artist(i, name)) for i, name in zip(ids, names)]
        album = albums.setdefault(r["album_id"], Album(r["album_id"], r["album"], r["release_date"], (who[0],)))
        album.total_tracks += 1
        features = {f: r[f] for f in (*UNIT_FEATURES, "loudness", "tempo")}
        features.update(key=int(r["key"]), mode=int(r["mode"]), time_signature=int(r["time_signature"]))
        library.tracks[r["id"]] = Track(r["id"], r["name"], who, album, int(r["duration_ms"]), features,
                                        explicit=r["explicit"] == "True", track_number=int(r["track_number"]))
        added += 1
    return added


DEMO_ROWS = 20_000  # the demo's catalogue: big enough to matter, small enough for the demo's time budget


def demo_catalogue(library: DemoLibrary, path: str | Path, n_rows: int = DEMO_ROWS, seed: int = 7) -> CatalogueFile:
    """The demo's catalogue beside its library: written to ``path``, and its new songs made tracks of the
    stand-in (:func:`add_to_library`), so that a catalogue pick can be published."""
    table = catalogue_table(n_rows, seed, library)
    from_library = len(library.tracks)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, str(path), pacsv.WriteOptions(quoting_style="needed"))
    add_to_library(library, table)
    return CatalogueFile(path, table.num_rows, from_library)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a generated catalogue CSV in the Kaggle layout.")
    parser.add_argument("path")
    parser.add_argument("--rows", type=int, default=KAGGLE_ROWS)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    written = write_catalogue(args.path, args.rows, args.seed)
    print(f"{written.rows:,} rows in {written.path} ({written.path.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
