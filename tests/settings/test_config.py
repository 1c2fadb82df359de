import dataclasses
from pathlib import Path

import pytest

from weekly_discovery.settings.config import ConfigError, Discover, Model, load_config, resolve_config_path

A = "37i9dQZF1DXcBWIGoYBM5M"
B = "5ABHKGoOzxkaa28ttQV9sE"
LIKED = '[sources]\nliked = ["saved_tracks"]\n'


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
    # and its [discover] table the discovery defaults
    assert config.discover == Discover()


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
    assert config.model.playlist_name == "My Mix" and config.model.max_per_artist == "auto"
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


# --- cases the hand-written checks let through as raw exceptions, and the schema's own guarantees ---


def test_a_folder_given_as_the_path_says_so(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, env={})
    assert str(info.value) == (
        f"Configuration file {tmp_path} is a folder, not a file. Point WEEKLY_DISCOVERY_CONFIG at the TOML file "
        f"itself (e.g. {tmp_path / 'weekly-discovery.toml'}).")


def test_a_file_that_is_not_utf8_says_so(tmp_path):
    path = tmp_path / "weekly-discovery.toml"
    path.write_bytes('[model]\nplaylist_name = "Café"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert str(info.value) == f"config {path}: not UTF-8 text (byte 28 is b'\\xe9'); save the file as UTF-8"


FEATURES_FORM = (
    "model.features must be a non-empty list of distinct names from danceability, energy, speechiness, "
    "instrumentalness, acousticness, liveness, valence, loudness, tempo, key, mode, time_signature, duration_ms")


@pytest.mark.parametrize(
    "text, expected",
    [
        # a table inside the list used to escape as TypeError (unhashable type: 'dict')
        (LIKED + '[model]\nfeatures = [{name = "energy"}]\n', f"{FEATURES_FORM}, got [{{'name': 'energy'}}]"),
        (LIKED + '[model]\nfeatures = ["energy", "energy"]\n', f"{FEATURES_FORM}, got ['energy', 'energy']"),
        (LIKED + "[model]\ntop_n = 10001\n", "model.top_n must be a whole number between 1 and 10000, got 10001"),
        (LIKED + "[model]\ntop_n = 12.0\n", "model.top_n must be a whole number between 1 and 10000, got 12.0"),
        (LIKED + "[model]\nseed = true\n", "model.seed must be a whole number between 0 and 2147483647, got True"),
        (LIKED + "[model]\nfolds = 1\n", "model.folds must be a whole number between 2 and 20, got 1"),
        (LIKED + "[model]\nthreshold = inf\n", "model.threshold must be a number between 0.0 and 1.0, got inf"),
        (LIKED + '[model]\ngrid = "fast"\n', "model.grid must be one of default, quick, got 'fast'"),
        (LIKED + '[model]\nplaylist_name = "   "\n',
         "model.playlist_name must be a non-empty name of at most 100 characters, got '   '"),
        ("model = 3\n" + LIKED, "[model] must be a table"),
        (LIKED + "[report]\ntop_artist_min_tracks = -1\n",
         "report.top_artist_min_tracks must be a whole number between 0 and 10000, got -1"),
        (LIKED + '[spotify]\nconnection_id = ""\n',
         "spotify.connection_id must be an Airflow connection id (string), got ''"),
        (LIKED + '[spotify]\nconn_id = "x"\n', "unknown key 'conn_id' in [spotify]; expected one of: connection_id"),
        (LIKED + "[lake]\nroot = 3\n", "lake.root must be a folder path or an object-store URI (string), got 3"),
        (LIKED + "reference = [3]\n", "sources.reference must be a list of strings, got [3]"),
    ],
)
def test_every_key_is_checked_by_the_schema(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={})
    assert str(info.value) == f"config {tmp_path / 'weekly-discovery.toml'}: {expected}"


def test_an_empty_file_asks_for_a_source(tmp_path):
    with pytest.raises(ConfigError, match=r'\[sources\] lists no source; add at least liked = \["saved_tracks"\]'):
        load_config(write(tmp_path, ""), env={})


def test_a_playlist_name_is_stripped(tmp_path):
    path = write(tmp_path, '[sources]\nliked = ["saved_tracks"]\n[model]\nplaylist_name = "  My Mix "\n')
    assert load_config(path, env={}).model.playlist_name == "My Mix"


def test_objects_built_in_code_are_checked_too():
    # the rules live on the fields, so a test or a job building these directly gets the same checks
    with pytest.raises(ValueError, match="top_n"):
        Model(top_n=0)
    with pytest.raises(ValueError, match="colour"):
        Model(features=("energy", "colour"))
    with pytest.raises(ValueError, match="topn"):
        Model(topn=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        Model().top_n = 3  # type: ignore[misc]
    assert dataclasses.replace(Model(), top_n=5) == Model(top_n=5)
