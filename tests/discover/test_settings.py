"""The [discover] table (settings.config.Discover): documented defaults, and messages that name the key to fix."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pydantic import ValidationError

from weekly_discovery.discover.sources import SOURCE_NAMES
from weekly_discovery.settings.config import DISCOVER_SOURCES, ConfigError, Discover, load_config

LIKED = '[sources]\nliked = ["saved_tracks"]\n'


def load(tmp_path: Path, text: str):
    path = tmp_path / "weekly-discovery.toml"
    path.write_text(LIKED + text, encoding="utf-8")
    return load_config(path, env={})


def test_defaults():
    s = Discover()
    assert s.sources == ("reccobeats", "artists", "playlists")
    assert s.budgets == {"reccobeats": 20, "artists": 150, "playlists": 0, "catalog": 0}
    assert s.catalog is None  # the catalogue is the user's download: off until they name one
    assert (s.seeds_per_call, s.recommendations_per_call, s.top_artists) == (5, 100, 10)
    assert (s.albums_page_size, s.album_tracks_page_size, s.album_groups) == (10, 50, "album,single")
    assert (s.like_half_life_days, s.min_like_weight) == (90.0, 0.2)
    assert s.reccobeats_url == "https://api.reccobeats.com"
    assert s.novelty_weeks == 12


def test_the_config_layer_names_every_source_the_stage_has():
    assert DISCOVER_SOURCES == SOURCE_NAMES


def test_a_file_without_discover_table_gets_the_defaults_and_no_candidate_playlist_is_needed(tmp_path):
    config = load(tmp_path, "")
    assert config.discover == Discover()
    assert config.sources_in("candidates") == ()


def test_the_table_is_read_from_the_file(tmp_path):
    config = load(tmp_path, '[discover]\nsources = ["artists"]\nnovelty_weeks = 4\n[discover.budgets]\nartists = 40\n')
    assert config.discover.sources == ("artists",)
    assert config.discover.novelty_weeks == 4
    assert config.discover.budget("artists") == 40


def test_a_budget_given_for_one_source_keeps_the_others_defaults():
    assert Discover(budgets={"artists": 40}).budgets == {"reccobeats": 20, "artists": 40, "playlists": 0, "catalog": 0}


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Discover().top_artists = 3


@pytest.mark.parametrize("text, message", [
    ('sources = ["reccobeats", "lastfm"]', "discover.sources must be a list of distinct names from reccobeats, "
                                          "artists, playlists, catalog (in the order to ask them), got ['reccobeats', 'lastfm']"),
    ('sources = ["artists", "artists"]', "discover.sources must be a list of distinct names"),
    ("budgets = {lastfm = 3}", "unknown key 'lastfm' in [discover.budgets]; expected one of: artists, catalog, "
                               "playlists, reccobeats"),
    ("budgets = {artists = -1}", "discover.budgets must be a table of source name -> requests per week"),
    ("seeds_per_call = 6", "discover.seeds_per_call must be a whole number between 1 and 5, got 6"),
    ("recommendations_per_call = 101", "discover.recommendations_per_call must be a whole number between 1 and 100"),
    ("album_tracks_page_size = 51", "discover.album_tracks_page_size must be a whole number between 1 and 50"),
    ('album_groups = "album,bootleg"', "discover.album_groups must be a comma-separated list of album, single"),
    ('reccobeats_url = "api.reccobeats.com"', "discover.reccobeats_url must be an http(s) URL"),
    ("novelty_weeks = -1", "discover.novelty_weeks must be a whole number between 0 and 520, got -1"),
    ("top_k = 3", "unknown key 'top_k' in [discover]"),
])
def test_invalid_settings_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"[discover]\n{text}\n")
    assert message in str(caught.value)


@pytest.mark.parametrize("kwargs", [
    {"sources": ("reccobeats", "lastfm")}, {"budgets": {"artists": -1}}, {"seeds_per_call": 6},
    {"album_groups": "album,bootleg"}, {"reccobeats_url": "api.reccobeats.com"}, {"top_k": 3},
])
def test_settings_built_in_code_are_checked_too(kwargs):
    with pytest.raises(ValidationError):
        Discover(**kwargs)


def test_the_catalog_source_needs_a_file_and_the_message_says_which_key(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, '[discover]\nsources = ["artists", "catalog"]\n')
    assert ('discover.sources lists "catalog" but discover.catalog is not set; add catalog = "<path of your '
            'tracks_features.csv>" under [discover]') in str(caught.value)


def test_a_relative_catalogue_path_is_beside_the_config_file_and_a_uri_is_kept(tmp_path):
    config = load(tmp_path, '[discover]\nsources = ["catalog"]\ncatalog = "data/tracks_features.csv"\n')
    assert config.discover.sources == ("catalog",)
    assert config.discover.catalog == str(tmp_path / "data" / "tracks_features.csv")
    assert load(tmp_path, '[discover]\ncatalog = "s3a://b/tracks.csv"\n').discover.catalog == "s3a://b/tracks.csv"


def test_an_empty_catalogue_path_names_the_key(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, '[discover]\ncatalog = ""\n')
    assert "discover.catalog must be the path or URI of your catalogue CSV file, got ''" in str(caught.value)
