"""The run-time helpers every DAG's tasks share: one partition rule, one fail-fast rule.

(The folder is not named ``airflow``: with the tests' import mode it would shadow the real package.)
"""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace

import pytest

from weekly_discovery.airflow.assets import ENRICHED_TRACKS, SILVER_TRACKS
from weekly_discovery.airflow.runtime import Partition, fail_fast_on_user_errors, resolve_partition
from weekly_discovery.core.errors import TransientError, UserError

RUN_AFTER = dt.datetime(2026, 11, 25, 6, tzinfo=dt.timezone.utc)


def event(ds, lake_root, minute=0):
    return SimpleNamespace(extra={"ds": ds, "lake_root": lake_root},
                           timestamp=dt.datetime(2026, 11, 23, 7, minute, tzinfo=dt.timezone.utc))


def context(events=None, params=None, logical_date=None, asset=ENRICHED_TRACKS):
    return {"params": params or {}, "triggering_asset_events": {asset: events or []},
            "logical_date": logical_date, "dag_run": SimpleNamespace(run_after=RUN_AFTER)}


def config(lake_root):
    return SimpleNamespace(lake_root=lake_root)


def test_date_from_the_newest_triggering_event(tmp_path, caplog):
    lake = str(tmp_path / "a")
    ctx = context([event("2026-11-16", lake), event("2026-11-23", lake, 5)])
    with caplog.at_level(logging.INFO):
        assert resolve_partition(ctx, config(lake)) == ("2026-11-23", lake, "from the tracks_enriched event")
    assert "several events triggered this run (2026-11-16, 2026-11-23)" in caplog.text


def test_an_event_naming_another_lake_is_refused(tmp_path):
    # Issue 12 item 3: whoever can create an asset event must not be able to point the run (and the owner's
    # Spotify token) at another lake.
    config_lake, event_lake = str(tmp_path / "a"), str(tmp_path / "b")
    with pytest.raises(UserError, match=r"names the lake .*/b'.*configured lake is .*/a'"):
        resolve_partition(context([event("2026-11-23", event_lake)]), config(config_lake))
    # the same folder written differently is the same lake
    assert resolve_partition(context([event("2026-11-23", config_lake + "/")]), config(config_lake)).lake_root \
        == config_lake


def test_the_event_names_its_own_asset(tmp_path):
    lake = str(tmp_path)
    assert resolve_partition(context([event("2026-11-16", lake)], asset=SILVER_TRACKS), config(lake)) \
        == Partition("2026-11-16", lake, "from the silver_tracks event")


def test_an_explicit_ds_param_wins_over_the_event_then_the_event_over_the_run_date(tmp_path):
    lake, other = str(tmp_path), str(tmp_path / "elsewhere")
    logical = dt.datetime(2026, 11, 9, 6, tzinfo=dt.timezone.utc)
    both = context([event("2026-11-23", other)], {"ds": "2026-11-02"}, logical_date=logical)
    assert resolve_partition(both, config(lake)) == ("2026-11-02", lake, "from the ds param")  # the config's lake
    no_param = context([event("2026-11-23", lake)], {"ds": None}, logical_date=logical)
    assert resolve_partition(no_param, config(lake)) == ("2026-11-23", lake, "from the tracks_enriched event")
    assert resolve_partition(context(logical_date=logical), config(lake)) == ("2026-11-09", lake, "from the run date")


def test_ds_param_wins_then_the_run_date(tmp_path):
    lake = str(tmp_path)
    assert resolve_partition(context([event("2026-11-23", lake)], {"ds": "2026-11-02"}), config(lake))[0] \
        == "2026-11-02"
    assert resolve_partition(context(), config(lake)) == ("2026-11-25", lake, "from the run date")
    with pytest.raises(ValueError):
        resolve_partition(context([event("../../x", lake)]), config(lake))


def test_run_date_is_the_utc_date_of_the_logical_date_else_run_after(tmp_path):
    lake = str(tmp_path)
    logical = dt.datetime(2026, 11, 9, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert resolve_partition(context(logical_date=logical), config(lake)).ds == "2026-11-10"
    assert resolve_partition(context([SimpleNamespace(extra={})]), config(lake)).ds == "2026-11-25"


def test_a_malformed_date_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="partition date must look like 2026-11-23"):
        resolve_partition(context(params={"ds": "23.11.2026"}), config(str(tmp_path)))


def test_user_errors_fail_the_task_without_retry_with_their_message(caplog):
    from airflow.sdk.exceptions import AirflowFailException

    class NoLabelledRows(UserError):
        pass

    with pytest.raises(AirflowFailException, match="^no labelled rows: add liked songs$"):
        with fail_fast_on_user_errors():
            raise NoLabelledRows("no labelled rows: add liked songs")
    assert "no labelled rows: add liked songs" in caplog.text


@pytest.mark.parametrize("error", [TransientError("HTTP 503"), ConnectionError("reset"), KeyError("x")])
def test_transient_and_unexpected_errors_propagate_so_airflow_retries(error):
    with pytest.raises(type(error)) as raised:
        with fail_fast_on_user_errors():
            raise error
    assert raised.value is error


def test_every_former_fail_fast_class_still_fails_fast():
    """The classes the hand-kept lists named (runtime and two ``_user_errors_fail_fast`` copies)."""
    from airflow.sdk.exceptions import AirflowFailException

    from weekly_discovery.enrich.cache import FeatureInputError
    from weekly_discovery.enrich.providers.base import ProviderError
    from weekly_discovery.ingest.extract import SourcesUnreadable
    from weekly_discovery.lake.layout import LakeError
    from weekly_discovery.recommend.publish.playlist import PublishInputError
    from weekly_discovery.settings.config import ConfigError
    from weekly_discovery.spotify.credentials import CredentialsError
    from weekly_discovery.spotify.errors import Forbidden, InvalidClient, QuotaExceeded, ReauthorizationRequired

    for cls in (ConfigError, CredentialsError, LakeError, SourcesUnreadable, FeatureInputError, ProviderError,
                PublishInputError, ReauthorizationRequired, InvalidClient, QuotaExceeded, Forbidden):
        with pytest.raises(AirflowFailException, match="the fix"):
            with fail_fast_on_user_errors():
                raise cls("the fix")


def test_spotify_unavailable_and_rate_limits_are_retried():
    from weekly_discovery.enrich.providers.base import ProviderUnavailable
    from weekly_discovery.spotify.errors import RateLimited, SpotifyUnavailable

    for cls in (SpotifyUnavailable, RateLimited, ProviderUnavailable):
        with pytest.raises(cls):
            with fail_fast_on_user_errors():
                raise cls("later")
