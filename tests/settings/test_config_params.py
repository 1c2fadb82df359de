"""Config.with_params: a manual run's Airflow Params applied on top of the config file, checked once."""

from __future__ import annotations

from pathlib import Path

import pytest

from weekly_discovery.settings.config import Config, ConfigError, Model, Source


def config(**model) -> Config:
    return Config(path=Path("/etc/wd.toml"), sources=(Source(role="liked", kind="saved_tracks"),),
                  lake_root="/srv/lake", model=Model(**model))


def test_params_override_top_n_and_playlist_name():
    base = config(top_n=30, playlist_name="Weekly Discovery")
    changed = base.with_params({"top_n": 12, "playlist_name": "  Friday Mix  ", "dry_run": True, "ds": "2026-01-05"})
    assert (changed.model.top_n, changed.model.playlist_name) == (12, "Friday Mix")
    # the rest is the config's, and the original is untouched (frozen, a new object)
    assert changed.model.max_per_artist == "auto" and changed.sources == base.sources and changed.lake_root == "/srv/lake"
    assert (base.model.top_n, base.model.playlist_name) == (30, "Weekly Discovery")


@pytest.mark.parametrize("params", [{}, {"top_n": None, "playlist_name": None}, {"top_n": "", "playlist_name": ""}])
def test_missing_or_empty_params_keep_the_config(params):
    changed = config(top_n=7, playlist_name="Mine").with_params(params)
    assert (changed.model.top_n, changed.model.playlist_name) == (7, "Mine")


def test_a_whole_float_top_n_becomes_an_int():
    top_n = config().with_params({"top_n": 25.0}).model.top_n
    assert top_n == 25 and type(top_n) is int


@pytest.mark.parametrize("value", [0, 10_001, -3, 2.5, True, "30", float("nan"), float("inf"), [5]])
def test_bad_top_n_param(value):
    with pytest.raises(ConfigError) as info:
        config().with_params({"top_n": value})
    assert str(info.value) == f"the top_n param must be a whole number between 1 and 10000, got {value!r}"


@pytest.mark.parametrize("value", ["   ", "x" * 101, 42, ["a"]])
def test_bad_playlist_name_param(value):
    with pytest.raises(ConfigError) as info:
        config().with_params({"playlist_name": value})
    assert str(info.value) == (
        f"the playlist_name param must be a non-empty name of at most 100 characters, got {value!r}")


def test_limits_are_inclusive():
    assert config().with_params({"top_n": 1}).model.top_n == 1
    assert config().with_params({"top_n": 10_000}).model.top_n == 10_000
    assert config().with_params({"playlist_name": "x" * 100}).model.playlist_name == "x" * 100
