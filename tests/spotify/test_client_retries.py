"""The Spotify client and its token refresh under the shared retry policy, against the stand-in over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.standin import FaultConfig, StandIn, generate_demo_library
from devtools.standin.server import DROP_CONNECTION
from weekly_discovery.spotify.client import RetryPolicy, SpotifyAPI
from weekly_discovery.spotify.credentials import SpotifyCredentials
from weekly_discovery.spotify.errors import InvalidClient, RateLimited, SpotifyUnavailable

CREATE = "POST /v1/me/playlists"


@pytest.fixture(scope="module")
def library():
    return generate_demo_library(seed=7, n_tracks=200)


def make_api(standin: StandIn, **kwargs: Any) -> SpotifyAPI:
    conn = json.loads(standin.connection_json())
    creds = SpotifyCredentials.from_connection_fields("spotify_default", conn["login"], conn["password"], conn["extra"])
    kwargs.setdefault("sleep", lambda seconds: None)
    return SpotifyAPI(creds, **kwargs)


@pytest.mark.parametrize("lost", [503, DROP_CONNECTION])
def test_creating_a_playlist_is_not_repeated_when_its_answer_is_lost(library, lost):
    with StandIn(library, faults=FaultConfig(lose_answers={CREATE: [lost]})) as standin:
        api = make_api(standin)
        with pytest.raises(SpotifyUnavailable, match="not safe to repeat"):
            api.call(api.sp.current_user_playlist_create, "Weekly Discovery", public=False, idempotent=False)
        assert standin.count(CREATE) == 1  # one playlist was created; a blind retry would have made two


def test_creating_a_playlist_is_retried_after_a_429(library):
    with StandIn(library, faults=FaultConfig(script={CREATE: [429]}, retry_after=2)) as standin:
        sleeps: list[float] = []
        api = make_api(standin, sleep=sleeps.append)
        created = api.call(api.sp.current_user_playlist_create, "Weekly Discovery", public=False, idempotent=False)
        assert created["name"] == "Weekly Discovery"
        assert standin.count(CREATE) == 2 and sleeps == [2.0]


def test_a_read_is_retried_after_a_5xx(library):
    with StandIn(library, faults=FaultConfig(script={"GET /v1/me": [503, 502]})) as standin:
        api = make_api(standin)
        assert api.call(api.sp.me)["id"]
        assert standin.count("GET /v1/me") == 3 and api.stats["retries"] == 2


def test_a_retry_after_beyond_the_cap_fails_at_once_as_rate_limited(library):
    with StandIn(library, faults=FaultConfig(script={"GET /v1/me": [429]}, retry_after=3600)) as standin:
        api = make_api(standin, policy=RetryPolicy(max_retry_after_s=300), sleep=lambda s: pytest.fail("slept"))
        with pytest.raises(RateLimited, match="asked to wait 3600s .* longer than the 300s .* rerun the task later"):
            api.call(api.sp.me)


def test_token_endpoint_5xx_is_retried(library):
    with StandIn(library, faults=FaultConfig(script={"POST /api/token": [503, 500]})) as standin:
        api = make_api(standin)
        assert api.call(api.sp.me)["id"]
        assert standin.count("POST /api/token") == 3


def test_token_endpoint_other_4xx_fails_at_once_naming_the_setting(library):
    # before the shared policy, a 404 of the token endpoint was retried six times
    with StandIn(library, faults=FaultConfig(script={"POST /api/token": [404]})) as standin:
        api = make_api(standin, sleep=lambda s: pytest.fail("slept"))
        with pytest.raises(InvalidClient, match="answered 404: check the token_url"):
            api.call(api.sp.me)
        assert standin.count("POST /api/token") == 1


def test_token_endpoint_that_keeps_failing_says_where_and_why(library):
    with StandIn(library, faults=FaultConfig(script={"POST /api/token": [503] * 10})) as standin:
        api = make_api(standin)
        with pytest.raises(SpotifyUnavailable, match="Could not refresh the Spotify access token at .*/api/token: "
                                                     ".*kept failing \\(HTTP 503\\) through 6 attempts"):
            api.call(api.sp.me)
        assert standin.count("POST /api/token") == 6
