import pytest

from weekly_discovery.core.spotify_ids import InvalidSpotifyId, parse_spotify_id

ID = "37i9dQZF1DXcBWIGoYBM5M"


@pytest.mark.parametrize(
    "ref",
    [
        ID,
        f"  {ID}\n",
        f"spotify:playlist:{ID}",
        f"spotify:user:someone:playlist:{ID}",
        f"https://open.spotify.com/playlist/{ID}",
        f"https://open.spotify.com/playlist/{ID}?si=8f7a6b5c4d3e2f10",
        f"https://open.spotify.com/intl-de/playlist/{ID}",
        f"open.spotify.com/playlist/{ID}",
    ],
)
def test_accepted_forms_normalize_to_the_bare_id(ref):
    assert parse_spotify_id(ref, "playlist") == ID


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "37i9dQZF1DXcBWIGoYBM5",  # 21 chars
        "37i9dQZF1DXcBWIGoYBM5M1",  # 23 chars
        "../../etc/passwd000000",  # 22 chars, not base62
        f"spotify:track:{ID}",  # wrong kind
        f"https://open.spotify.com/album/{ID}",
        f"https://evil.example/playlist/{ID}",
        f"https://open.spotify.com.evil.example/playlist/{ID}",
        f"spotify:playlist:{ID}/../x",
    ],
)
def test_rejected_forms_name_the_expected_ones(ref):
    with pytest.raises(InvalidSpotifyId) as info:
        parse_spotify_id(ref, "playlist")
    assert "spotify:playlist:" in str(info.value) and "open.spotify.com/playlist/" in str(info.value)


def test_track_kind():
    assert parse_spotify_id(f"spotify:track:{ID}", "track") == ID
