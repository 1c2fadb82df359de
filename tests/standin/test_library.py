"""The demo library: deterministic, role sizes as designed, every real-world oddity present."""

from __future__ import annotations

import collections
import re
import tomllib

import pytest

from devtools.standin.library import (
    CLUSTERS,
    EDITORIAL_OWNER,
    SAVED_TRACKS,
    PlaylistEntry,
    generate_demo_library,
    scaled_library,
    write_demo_config,
)

SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def library():
    return generate_demo_library(seed=7)


def _fingerprint(lib) -> tuple:
    return (
        lib.user_id,
        tuple(lib.tracks),
        tuple(lib.saved),
        tuple((p.id, p.snapshot_id) for p in lib.playlists.values()),
        tuple(t.reccobeats_id for t in lib.tracks.values()),
        tuple(tuple(sorted(t.features.items())) for t in list(lib.tracks.values())[:50]),
    )


def test_same_seed_gives_the_same_library(library):
    assert _fingerprint(generate_demo_library(seed=7)) == _fingerprint(library)


def test_different_seed_gives_a_different_library(library):
    other = generate_demo_library(seed=8)
    assert set(other.tracks).isdisjoint(library.tracks)
    assert _fingerprint(other) != _fingerprint(library)


def test_generation_does_not_touch_the_global_random_state(library):
    import random

    random.seed(1234)
    expected = random.random()
    random.seed(1234)
    generate_demo_library(seed=3, n_tracks=300)
    assert random.random() == expected


def test_ids_look_like_spotify_and_reccobeats_ids(library):
    assert all(SPOTIFY_ID.match(track_id) for track_id in library.tracks)
    assert all(SPOTIFY_ID.match(pid) for pid in library.playlists)
    assert all(SPOTIFY_ID.match(a.id) for t in library.tracks.values() for a in t.artists)
    rb_ids = [t.reccobeats_id for t in library.tracks.values() if t.reccobeats_id]
    assert all(UUID.match(rb) for rb in rb_ids)
    assert len(set(rb_ids)) == len(rb_ids)


def test_role_sizes(library):
    playlists = library.playlists
    assert len(library.tracks) == 3000
    assert len(library.saved) == 700
    assert library.roles["liked"][0] == SAVED_TRACKS
    (liked_pl,) = library.roles["liked"][1:]
    (disliked_pl,) = library.roles["disliked"]
    (reference_pl,) = library.roles["reference"]
    discovery, death_metal = library.roles["candidates"]
    assert 100 <= len(playlists[liked_pl].items) <= 140
    assert 230 <= len(playlists[disliked_pl].items) <= 270
    assert len(library.role_track_ids("disliked")) < len(library.role_track_ids("liked"))
    assert playlists[reference_pl].name == "Today's Top Hits (my copy)"
    assert playlists[discovery].name == "Discovery Mix" and 80 <= len(playlists[discovery].items) <= 100
    assert playlists[death_metal].name == "Death Metal" and 95 <= len(playlists[death_metal].items) <= 110


def test_saved_tracks_are_newest_first(library):
    stamps = [added_at for added_at, _ in library.saved]
    assert stamps == sorted(stamps, reverse=True)


def test_role_playlists_are_owned_by_the_user_and_one_editorial_is_not(library):
    role_ids = {s for sources in library.roles.values() for s in sources if s != SAVED_TRACKS}
    assert all(library.playlists[pid].owner_id == library.user_id for pid in role_ids)
    editorial = library.editorial_playlist_ids()
    assert len(editorial) == 1 and editorial[0] not in role_ids
    assert library.playlists[editorial[0]].owner_id == EDITORIAL_OWNER


def _cluster_share(library, track_ids, clusters) -> float:
    counts = collections.Counter(library.tracks[t].cluster for t in track_ids)
    return sum(counts[c] for c in clusters) / sum(counts.values())


def test_taste_is_clustered(library):
    liked, disliked = library.role_track_ids("liked"), library.role_track_ids("disliked")
    assert _cluster_share(library, liked, {"indie-acoustic", "hip-hop", "ambient-classical"}) > 0.85
    assert _cluster_share(library, disliked, {"metal", "dance-pop"}) > 0.85
    assert _cluster_share(library, library.role_track_ids("reference"), {"dance-pop"}) == 1.0
    death_metal = library.roles["candidates"][1]
    assert _cluster_share(library, library.playlists[death_metal].track_ids(), {"metal"}) == 1.0
    assert liked.isdisjoint(disliked)


def test_some_candidates_are_already_liked(library):
    discovery = library.playlists[library.roles["candidates"][0]]
    already = set(discovery.track_ids()) & library.role_track_ids("liked")
    assert 1 <= len(already) <= 10


def test_artists_are_shared_within_clusters(library):
    per_artist = collections.Counter(t.artists[0].id for t in library.tracks.values())
    assert per_artist.most_common(1)[0][1] >= 20
    assert len(per_artist) < len(library.tracks) / 4


def test_each_oddity_is_present(library):
    kinds = collections.Counter()
    for pid in library.roles["liked"][1:] + library.roles["disliked"] + library.roles["candidates"]:
        playlist = library.playlists[pid]
        kinds.update(entry.kind for entry in playlist.items)
        track_ids = playlist.track_ids()
        assert len(track_ids) > len(set(track_ids)), f"{playlist.name} has no duplicate entry"
    assert 1 <= kinds["local"] <= 6
    assert 1 <= kinds["episode"] <= 6
    assert 1 <= kinds["null"] <= 6


def test_local_files_have_no_id_but_a_local_uri(library):
    locals_ = [e.local for p in library.playlists.values() for e in p.items if e.kind == "local"]
    assert locals_
    for local in locals_:
        assert local.uri.startswith("spotify:local:")
        assert local.uri.endswith(f":{local.duration_ms // 1000}")


def test_feature_ranges_are_valid(library):
    for track in library.tracks.values():
        f = track.features
        for name in ("danceability", "energy", "speechiness", "instrumentalness", "acousticness", "liveness", "valence"):
            assert 0.0 <= f[name] <= 1.0, (name, f[name])
        assert -60.0 <= f["loudness"] <= 0.0
        assert 50.0 <= f["tempo"] <= 200.0
        assert -1 <= f["key"] <= 11 and isinstance(f["key"], int)
        assert f["mode"] in (0, 1)
        assert 3 <= f["time_signature"] <= 7
        assert 60_000 <= track.duration_ms <= 1_200_000


def test_cluster_profiles_differ_where_it_matters(library):
    def mean(cluster, name):
        values = [t.features[name] for t in library.tracks.values() if t.cluster == cluster]
        return sum(values) / len(values)

    assert mean("metal", "energy") > 0.85 > mean("ambient-classical", "energy") + 0.5
    assert mean("ambient-classical", "instrumentalness") > 0.7 > mean("dance-pop", "instrumentalness")
    assert mean("hip-hop", "speechiness") > 0.2 > mean("indie-acoustic", "speechiness")
    assert set(CLUSTERS) == {t.cluster for t in library.tracks.values()}


def test_feature_coverage_has_gaps(library):
    tracks = library.tracks.values()
    no_spotify = [t.id for t in tracks if not t.spotify_has_features]
    no_reccobeats = [t.id for t in tracks if t.reccobeats_id is None]
    assert 0.005 * len(tracks) <= len(no_spotify) <= 0.02 * len(tracks)
    assert 1 <= len(no_reccobeats) <= 0.01 * len(tracks)
    assert set(no_spotify).isdisjoint(no_reccobeats)
    liked = library.role_track_ids("liked")
    assert liked & set(no_spotify) and liked & set(no_reccobeats)
    track_id = no_spotify[0]
    assert library.features_for(track_id) is None
    assert library.reccobeats_features_for(track_id) is not None
    assert "time_signature" not in library.reccobeats_features_for(track_id)
    assert library.reccobeats_features_for(no_reccobeats[0]) is None


def test_snapshot_changes_with_content_and_touch():
    lib = generate_demo_library(seed=11, n_tracks=300)
    playlist = lib.playlists[lib.roles["reference"][0]]
    before = playlist.snapshot_id
    playlist.items.append(PlaylistEntry.of_track(next(iter(lib.tracks)), "2026-11-21T00:00:00Z"))
    after_append = playlist.snapshot_id
    playlist.touch()
    assert len({before, after_append, playlist.snapshot_id}) == 3


def test_small_libraries_scale_down():
    lib = generate_demo_library(seed=1, n_tracks=300)
    assert len(lib.tracks) == 300
    assert len(lib.saved) == 70
    with pytest.raises(ValueError):
        generate_demo_library(n_tracks=50)


def test_scaled_library_has_exactly_n_saved_tracks():
    big = scaled_library(100_000, seed=3)
    assert len(big.saved) == 100_000
    assert len({track_id for _, track_id in big.saved}) == 100_000
    assert all(len(p.items) <= 40 for p in big.playlists.values())
    assert len(scaled_library(1_000, seed=3).saved) == 1_000


def test_write_demo_config(library, tmp_path):
    path = write_demo_config(library, tmp_path / "conf" / "weekly-discovery.toml")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Weekly Discovery configuration")
    sources = tomllib.loads(text)["sources"]
    liked_pl = library.roles["liked"][1]
    assert sources["liked"] == ["saved_tracks", f"spotify:playlist:{liked_pl}"]
    assert sources["disliked"] == [f"spotify:playlist:{library.roles['disliked'][0]}"]
    assert sources["reference"] == [f"spotify:playlist:{library.roles['reference'][0]}"]
    assert sources["candidates"] == [f"spotify:playlist:{pid}" for pid in library.roles["candidates"]]
