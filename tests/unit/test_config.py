from pathlib import Path

import pytest

from weekly_discovery.core.config import ConfigError, Model, load_config, resolve_config_path

A = "37i9dQZF1DXcBWIGoYBM5M"
B = "5ABHKGoOzxkaa28ttQV9sE"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "weekly-discovery.toml"
    path.write_text(text)
    return path


def test_valid_config_normalizes_every_form(tmp_path):
    path = write(tmp_path, f"""
[sources]
liked = ["saved_tracks", "https://open.spotify.com/playlist/{A}?si=x"]
disliked = ["spotify:playlist:{B}"]

[lake]
root = "data/lake"
""")
    config = load_config(path, env={})
    assert [(s.role, s.kind, s.spotify_id) for s in config.sources] == [
        ("liked", "saved_tracks", None),
        ("liked", "playlist", A),
        ("disliked", "playlist", B),
    ]
    assert [s.key for s in config.sources] == ["saved_tracks", f"playlist-{A}", f"playlist-{B}"]
    assert config.lake_root == str(tmp_path / "data" / "lake")  # relative to the file, not the cwd
    assert config.spotify_connection_id == "spotify_default"


def test_lake_env_overrides_the_file(tmp_path):
    path = write(tmp_path, '[sources]\nliked = ["saved_tracks"]\n')
    assert load_config(path, env={"WEEKLY_DISCOVERY_LAKE": "/srv/lake"}).lake_root == "/srv/lake"


@pytest.mark.parametrize(
    "text, expected",
    [
        ('[sources]\nlikd = ["saved_tracks"]\n', "unknown key 'likd' in [sources]"),
        ('[source]\nliked = ["saved_tracks"]\n', "unknown key 'source' in top level"),
        ('[sources]\nliked = ["saved_tracks"]\n[lake]\nrot = "x"\n', "unknown key 'rot' in [lake]"),
        ('[sources]\ndisliked = ["abc"]\n', "sources.disliked[0]: 'abc' is not a 22-character Spotify playlist id"),
        ('[sources]\nliked = ["saved_tracks", "spotify:track:' + A + '"]\n', "sources.liked[1]"),
        ('[sources]\ndisliked = ["saved_tracks"]\n', "can only be used under sources.liked"),
        ('[sources]\nliked = "saved_tracks"\n', "sources.liked must be a list of strings"),
        (f'[sources]\nliked = ["{A}"]\ncandidates = ["spotify:playlist:{A}"]\n', "already listed under sources.liked"),
        ("[sources]\n", "lists no source"),
        ("sources = [", "not valid TOML"),
    ],
)
def test_invalid_config_names_key_and_expected_form(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={})
    assert expected in str(info.value)
    assert str(tmp_path) in str(info.value)


def test_missing_file_and_missing_setting_say_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="does not exist. Create it from weekly-discovery.example.toml"):
        load_config(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="WEEKLY_DISCOVERY_CONFIG or the Airflow Variable weekly_discovery_config"):
        resolve_config_path(env={}, variable_getter=lambda key: None)


def test_config_path_from_env_then_variable(tmp_path):
    assert resolve_config_path(env={"WEEKLY_DISCOVERY_CONFIG": "/a.toml"}, variable_getter=lambda k: "/b.toml") == Path("/a.toml")
    assert resolve_config_path(env={}, variable_getter=lambda k: "/b.toml") == Path("/b.toml")


def test_example_config_in_the_repo_is_valid(repo):
    config = load_config(repo / "weekly-discovery.example.toml", env={})
    assert {s.role for s in config.sources} == {"liked", "disliked", "reference", "candidates"}
    # its [model] table documents the defaults: it must not drift from them
    assert config.model == Model()


def test_report_and_model_sections(tmp_path):
    path = write(tmp_path, """
[sources]
liked = ["saved_tracks"]
[report]
bin_width = 0.2
top_artist_min_tracks = 5
[model]
features = ["energy", "valence"]
top_n = 20
playlist_name = "My Mix"
artist_profile = false
""")
    config = load_config(path, env={})
    assert config.report.bin_width == 0.2 and config.report.top_artist_min_tracks == 5
    assert config.report.strong_correlation == 0.5
    assert config.model.features == ("energy", "valence") and config.model.top_n == 20
    assert config.model.playlist_name == "My Mix" and config.model.max_per_artist == 2
    assert config.model.artist_profile is False
    assert load_config(write(tmp_path, '[sources]\nliked = ["saved_tracks"]\n'), env={}).model.artist_profile is True


@pytest.mark.parametrize(
    "section, expected",
    [
        ("[report]\nbin_width = 0.3\n", "report.bin_width must divide 1 evenly"),
        ("[report]\nstrong_correlation = 2\n", "report.strong_correlation must be a number between 0.0 and 1.0"),
        ('[model]\nfeatures = ["energy", "colour"]\n', "model.features must be a non-empty list"),
        ("[model]\ntop_n = 0\n", "model.top_n must be a whole number between 1"),
        ("[model]\ntopn = 3\n", "unknown key 'topn' in [model]"),
        ('[model]\nartist_profile = "yes"\n', "model.artist_profile must be true or false"),
    ],
)
def test_bad_report_and_model_settings(tmp_path, section, expected):
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        load_config(write(tmp_path, '[sources]\nliked = ["saved_tracks"]\n' + section), env={})
