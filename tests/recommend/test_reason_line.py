"""The one-line reason of a pick, per source, with the expected lines written by hand."""

from __future__ import annotations

import pytest

from weekly_discovery.recommend.scoring.reasons import MAX_REASON_CHARS, clean_text, reason_line

CLOSE = [{"track_id": "a", "name": "Digital Love", "artist_names": ["Daft Punk"], "distance": 0.4},
         {"track_id": "b", "name": "Around the World", "artist_names": ["Daft Punk", "Other"], "distance": 0.6},
         {"track_id": "c", "name": "Veridis Quo", "artist_names": [], "distance": 0.9},
         {"track_id": "d", "name": "Fourth", "artist_names": ["Nobody"], "distance": 1.2}]


def test_reccobeats_names_its_seed_songs():
    line = reason_line("reccobeats", {"seed_names": ["One More Time", "Aerodynamic"]}, 0.8712, CLOSE[:2])
    assert line == ("ReccoBeats, from One More Time and Aerodynamic; 87% like; "
                    "close to Digital Love (Daft Punk), Around the World (Daft Punk)")


def test_reccobeats_with_many_seeds_or_only_their_ids():
    assert reason_line("reccobeats", {"seed_names": ["A", "B", "C", "D"]}, None, []) == \
        "ReccoBeats, from A, B and 2 more"
    assert reason_line("reccobeats", {"seed_track_ids": ["x", "y", "z"]}, 0.5, []) == \
        "ReccoBeats, from 3 of your liked songs; 50% like"
    assert reason_line("reccobeats", {}, 0.5, []) == "ReccoBeats; 50% like"


def test_artists_says_how_many_of_their_songs_the_user_has():
    line = reason_line("artists", {"seed_artist_name": "Björk", "artist_liked_count": 14, "album_name": "Post"},
                       0.64, CLOSE)
    # at most three liked songs; one without an artist is named alone
    assert line == ("new from Björk (Post), 14 songs in your library; 64% like; "
                    "close to Digital Love (Daft Punk), Around the World (Daft Punk), Veridis Quo")
    assert reason_line("artists", {"seed_artist_name": "Low", "artist_liked_count": 1}, None, []) == \
        "new from Low, 1 song in your library"


def test_catalogue_and_playlists():
    assert reason_line("catalog", {"catalogue": "/home/me/tracks_features.csv"}, 0.904, CLOSE[:1]) == \
        "from your catalogue; 90% like; close to Digital Love (Daft Punk)"
    assert reason_line("playlists", {"playlist_name": "Fresh Finds"}, 0.999, []) == \
        "from your playlist Fresh Finds; 100% like"
    assert reason_line("playlists", {}, float("nan"), []) == "from one of your playlists"


def test_control_characters_are_dropped_and_the_line_is_bounded():
    line = reason_line("playlists", {"playlist_name": "Bad\x00\x1b[31m\nname\u202e"}, 0.5,
                       [{"name": "x" * 500, "artist_names": ["Y\tZ"]}])
    assert line.startswith("from your playlist Bad[31m name; 50% like; close to xxx")
    assert "\x00" not in line and "\x1b" not in line and "\n" not in line and "\u202e" not in line
    assert len(line) <= MAX_REASON_CHARS
    assert "x" * 60 not in line and "x" * 59 + "\u2026" in line  # one name is cut at 60 characters


@pytest.mark.parametrize("value, expected", [(None, ""), ("  a \n\t b ", "a b"), ("\x7fok\x85", "ok"),
                                             ("abcdef", "abcdef")])
def test_clean_text(value, expected):
    assert clean_text(value) == expected


def test_clean_text_cuts_with_an_ellipsis():
    assert clean_text("abcdef", limit=4) == "abc\u2026"
