"""The [enrichment] section of the config file: defaults, every key, and the messages for mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from weekly_discovery.core.vocabulary import FEATURE_COLUMNS
from weekly_discovery.settings.config import ConfigError, Enrichment, FeatureFile, load_config

SOURCES = '[sources]\nliked = ["saved_tracks"]\n'


def load(tmp_path: Path, enrichment: str):
    path = tmp_path / "weekly-discovery.toml"
    # top-level keys must precede the first table in TOML
    path.write_text(SOURCES + enrichment if enrichment.lstrip().startswith("[") or not enrichment else enrichment + SOURCES)
    return load_config(path, env={})


def test_defaults_without_the_section(tmp_path):
    assert load(tmp_path, "").enrichment == Enrichment(
        providers=("spotify", "reccobeats"), reccobeats_url="https://api.reccobeats.com", missing_retry_days=30,
        min_coverage=None, file=None)  # unset: the per-role default floors (enrich/coverage.py, issue 12)


def test_every_key(tmp_path):
    enrichment = load(tmp_path, """
[enrichment]
providers = ["file", "reccobeats", "spotify"]
reccobeats_url = "http://127.0.0.1:8080/reccobeats/"
missing_retry_days = 0
min_coverage = 0.9

[enrichment.file]
path = "data/tracks_features.csv"

[enrichment.file.columns]
id = "track_id"
danceability = "dance"
""").enrichment
    assert enrichment.providers == ("file", "reccobeats", "spotify")
    assert enrichment.reccobeats_url == "http://127.0.0.1:8080/reccobeats"  # trailing slash dropped
    assert (enrichment.missing_retry_days, enrichment.min_coverage) == (0, 0.9)
    assert isinstance(enrichment.min_coverage, float)
    assert enrichment.file == FeatureFile(
        path=str(tmp_path / "data" / "tracks_features.csv"),  # relative to the config file
        format="csv",
        columns={"id": "track_id", "danceability": "dance",
                 **{name: name for name in FEATURE_COLUMNS if name != "danceability"}},
    )


def test_file_format_from_the_extension_and_absolute_paths_kept(tmp_path):
    enrichment = load(tmp_path, '[enrichment]\nproviders = ["file"]\n[enrichment.file]\npath = "/srv/f.parquet"\n'
                      ).enrichment
    assert (enrichment.file.path, enrichment.file.format) == ("/srv/f.parquet", "parquet")
    assert enrichment.file.columns["id"] == "id"


def test_integer_min_coverage_is_accepted(tmp_path):
    assert load(tmp_path, "[enrichment]\nmin_coverage = 1\n").enrichment.min_coverage == 1.0


@pytest.mark.parametrize("text, expected", [
    ('[enrichment]\nprovider = ["spotify"]\n', "unknown key 'provider' in [enrichment]"),
    ('[enrichment]\nproviders = []\n', "enrichment.providers must be a non-empty list of distinct names"),
    ('[enrichment]\nproviders = ["spotify", "spotify"]\n', "enrichment.providers must be a non-empty list"),
    ('[enrichment]\nproviders = ["acousticbrainz"]\n', "from spotify, reccobeats, file (in the order to ask them)"),
    ('[enrichment]\nproviders = "spotify"\n', "enrichment.providers must be a non-empty list"),
    # a table or list inside the list used to crash with TypeError (unhashable) instead of saying this
    ('[enrichment]\nproviders = [["spotify"]]\n', "enrichment.providers must be a non-empty list"),
    ('[enrichment]\nproviders = [{name = "spotify"}]\n', "enrichment.providers must be a non-empty list"),
    ('[enrichment]\nreccobeats_url = "api.reccobeats.com"\n', "enrichment.reccobeats_url must be an http(s) URL"),
    ('[enrichment]\nmissing_retry_days = -1\n', "missing_retry_days must be a whole number of days >= 0"),
    ('[enrichment]\nmissing_retry_days = 1.5\n', "missing_retry_days must be a whole number of days >= 0"),
    ('[enrichment]\nmissing_retry_days = true\n', "missing_retry_days must be a whole number of days >= 0"),
    ('[enrichment]\nmin_coverage = 90\n', "min_coverage must be a share between 0 and 1 (e.g. 0.9)"),
    ('[enrichment]\nmin_coverage = nan\n', "min_coverage must be a share between 0 and 1"),
    ('[enrichment]\nmin_coverage = "90%"\n', "min_coverage must be a share between 0 and 1"),
    ('[enrichment]\nproviders = ["file"]\n', 'lists "file" but there is no [enrichment.file] table'),
    ('[enrichment.file]\npath = ""\n', "enrichment.file.path must be the path of your CSV or Parquet file"),
    ('[enrichment.file]\npath = "f.json"\nformat = "json"\n', 'enrichment.file.format must be "csv" or "parquet"'),
    ('[enrichment.file]\npath = "f.csv"\nsep = ";"\n', "unknown key 'sep' in [enrichment.file]"),
    ('[enrichment.file]\npath = "f.csv"\n[enrichment.file.columns]\ndanceabilty = "d"\n',
     "unknown key 'danceabilty' in [enrichment.file.columns]"),
    ('[enrichment.file]\npath = "f.csv"\n[enrichment.file.columns]\nid = 3\n',
     "enrichment.file.columns must map our names to the file's column names"),
    ("enrichment = 3\n", "[enrichment] must be a table"),
])
def test_mistakes_name_the_key_and_the_expected_form(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    assert expected in str(info.value)
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("url", [
    "https://alice:hunter2@api.reccobeats.com/",
    "https://hunter2@api.reccobeats.com",
    "http://alice:hunter2@127.0.0.1:8080/reccobeats",
])
def test_credentials_in_the_reccobeats_url_are_refused_without_echoing_them(tmp_path, url):
    # the URL lands in the lake's request files: a password there would be stored in clear
    with pytest.raises(ConfigError) as info:
        load(tmp_path, f'[enrichment]\nreccobeats_url = "{url}"\n')
    message = str(info.value)
    assert "enrichment.reccobeats_url must not carry a user name or password (user:pass@)" in message
    assert "ReccoBeats needs no credentials; write 'http" in message and "@" not in message.split("write")[1]
    assert "hunter2" not in message


def test_the_reccobeats_fix_names_the_url_without_credentials(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, '[enrichment]\nreccobeats_url = "https://u:p@api.reccobeats.com"\n')
    assert str(info.value).endswith("; write 'https://api.reccobeats.com'")


@pytest.mark.parametrize("text, expected", [
    ('[enrichment]\nreccobeats_url = "http://"\n', "enrichment.reccobeats_url must be an http(s) URL, got 'http://'"),
    ('[enrichment]\nfile = 3\n', "[enrichment.file] must be a table"),
    ('[enrichment.file]\nformat = "csv"\n',
     "enrichment.file.path is missing; it must be the path of your CSV or Parquet file"),
    ('[enrichment.file]\npath = "f.csv"\ncolumns = 3\n',
     "enrichment.file.columns must map our names to the file's column names, got 3"),
])
def test_more_mistakes(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    assert str(info.value) == f"config {tmp_path / 'weekly-discovery.toml'}: {expected}"


def test_feature_file_built_in_code_gets_the_same_defaults():
    # jobs and tests build FeatureFile directly (positional, like the dataclass it was): same rules apply
    feature_file = FeatureFile("/srv/f.parquet")
    assert (feature_file.format, feature_file.columns["id"], feature_file.columns["tempo"]) == ("parquet", "id", "tempo")
    assert FeatureFile("/srv/f.csv", "csv", {"id": "track_id"}).columns["id"] == "track_id"
    with pytest.raises(ValueError, match="danceabilty"):
        FeatureFile("/srv/f.csv", "csv", {"danceabilty": "d"})
