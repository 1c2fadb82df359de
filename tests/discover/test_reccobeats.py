"""The reccobeats source against the stand-in ReccoBeats over real HTTP."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from devtools.standin import FaultConfig, StandIn, generate_demo_library
from tests.discover.kit import sid
from weekly_discovery.core.errors import TransientError
from weekly_discovery.core.retry import GaveUp, WaitTooLong
from weekly_discovery.discover.library import LikedTrack, UserLibrary
from weekly_discovery.discover.sources.base import Clients, RequestBudget, SourceContext
from weekly_discovery.discover.sources.reccobeats import (
    ReccoBeatsSource,
    _spotify_id,
    draw_seeds,
    like_weight,
)
from weekly_discovery.settings.config import Discover

ROUTE = "GET /reccobeats/v1/track/recommendation"
UTC = dt.timezone.utc


def demo_library_view(demo) -> UserLibrary:
    """The demo library as the discover stage sees it: Liked Songs with their dates, every role known."""
    likes = tuple(sorted(
        (LikedTrack(t, demo.tracks[t].artists[0].id, demo.tracks[t].artists[0].name,
                    dt.datetime.fromisoformat(at.replace("Z", "+00:00"))) for at, t in demo.saved),
        key=lambda like: like.track_id))
    known = frozenset().union(*(demo.role_track_ids(r) for r in ("liked", "disliked", "reference")))
    return UserLibrary(frozenset(t.track_id for t in likes), frozenset(demo.role_track_ids("disliked")), known, likes, ())


@pytest.fixture(scope="module")
def demo():
    return generate_demo_library(seed=7)


def run(standin, library, *, budget=20, ds="2026-11-23", seed=1, waits=None, **settings):
    s = Discover(reccobeats_url=standin.reccobeats_url, **settings)
    waits = [] if waits is None else waits
    context = SourceContext(ds=ds, seed=seed, library=library, settings=s, budget=RequestBudget("reccobeats", budget),
                            clients=Clients(sleep=waits.append))
    return ReccoBeatsSource(s).gather(context), context.budget


def test_stays_within_its_budget_and_drops_songs_the_user_has(demo):
    library = demo_library_view(demo)
    with StandIn(demo) as standin:
        result, budget = run(standin, library, budget=3, recommendations_per_call=50)
        assert standin.count(ROUTE) == 3 and budget.used == 3
    assert len(result.answers) == 3
    offered = {row["href"].rsplit("/", 1)[1] for a in result.answers for row in json.loads(a.body)["content"]}
    assert offered & library.known, "the stand-in answers include songs the user already has"
    ids = [c.track_id for c in result.candidates]
    assert ids and not set(ids) & library.known
    assert len(ids) == len(set(ids)) == result.found - len(offered & library.known)
    assert all(len(c.seed_track_ids) == 5 and set(c.seed_track_ids) <= library.liked for c in result.candidates)


def test_429_is_retried_after_retry_after_within_one_request_of_the_budget(demo):
    library = demo_library_view(demo)
    faults = FaultConfig(script={"/reccobeats/v1/track": [429, 429]}, retry_after=7)
    waits = []
    with StandIn(demo, faults=faults) as standin:
        result, budget = run(standin, library, budget=1, waits=waits)
        assert standin.count(ROUTE) == 3 and standin.count(ROUTE, status=429) == 2
    assert waits == [7.0, 7.0]  # Retry-After: 7, honoured through the shared retry policy
    assert budget.used == 1 and result.status == "done" and [a.status for a in result.answers] == [200]


def test_a_service_that_keeps_failing_fails_the_run_as_transient(demo):
    library = demo_library_view(demo)
    with StandIn(demo, faults=FaultConfig(script={"/reccobeats/v1/track": [503] * 6})) as standin:
        with pytest.raises(GaveUp, match="ReccoBeats kept failing \\(HTTP 503\\) through 6 attempts") as failure:
            run(standin, library, budget=5)
        assert standin.count(ROUTE) == 6
    assert isinstance(failure.value, TransientError)


def test_a_retry_after_longer_than_allowed_is_not_slept(demo):
    library = demo_library_view(demo)
    waits = []
    with StandIn(demo, faults=FaultConfig(script={"/reccobeats/v1/track": [429]}, retry_after=3600)) as standin:
        with pytest.raises(WaitTooLong, match="longer than the 120s"):
            run(standin, library, budget=5, waits=waits)
    assert waits == []


def test_an_unusable_service_stops_the_source(demo):
    library = demo_library_view(demo)
    with StandIn(demo, faults=FaultConfig(script={"/reccobeats/v1/track": [403]})) as standin:
        result, budget = run(standin, library, budget=5)
        assert standin.count(ROUTE) == 1
    assert (result.status, budget.used, result.candidates) == ("off", 1, [])
    assert "discover.reccobeats_url" in result.note


def likes(n: int, newest: dt.datetime) -> list[LikedTrack]:
    return [LikedTrack(sid(f"t{i:03d}"), None, None, newest - dt.timedelta(days=10 * i)) for i in range(n)]


def test_seeds_are_the_same_for_the_same_week_and_seed_and_differ_across_weeks():
    settings = Discover()
    pool = likes(200, dt.datetime(2026, 11, 20, tzinfo=UTC))
    week1 = draw_seeds(pool, "2026-11-23", 7, settings, calls=4)
    assert draw_seeds(list(reversed(pool)), "2026-11-23", 7, settings, calls=4) == week1  # input order does not matter
    assert [len(call) for call in week1] == [5, 5, 5, 5]
    assert len({s for call in week1 for s in call}) == 20  # drawn without replacement
    assert draw_seeds(pool, "2026-11-30", 7, settings, calls=4) != week1
    assert draw_seeds(pool, "2026-11-23", 8, settings, calls=4) != week1


def test_recent_likes_weigh_more_but_old_ones_keep_a_chance():
    settings = Discover()  # half-life 90 days, floor 0.2
    week = dt.date(2026, 11, 23)
    at = lambda days: LikedTrack(sid("x"), None, None, dt.datetime(2026, 11, 23, tzinfo=UTC) - dt.timedelta(days=days))
    assert like_weight(at(0), week, settings) == 1.0
    assert like_weight(at(90), week, settings) == 0.5
    assert like_weight(at(180), week, settings) == 0.25
    assert like_weight(at(1000), week, settings) == 0.2
    assert like_weight(LikedTrack(sid("x"), None, None, None), week, settings) == 0.2
    # 200 likes, one every 10 days. By the weights, the 20 newest (3..193 days old: sum of 0.5 ** (age / 90)
    # ~ 10.4) against the 180 older (nearly all at the 0.2 floor: ~36) hold ~22% of the weight, against the
    # 10% a uniform draw would give them: over 40 seeds of 20 draws each, their share of seeds is near 22%.
    pool = likes(200, dt.datetime(2026, 11, 20, tzinfo=UTC))
    newest = {like.track_id for like in pool[:20]}
    drawn = [s for seed in range(40) for call in draw_seeds(pool, "2026-11-23", seed, settings, calls=4) for s in call]
    assert 0.17 < sum(s in newest for s in drawn) / len(drawn) < 0.28


def test_budget_limits_the_calls_and_few_likes_need_few_calls(demo):
    library = demo_library_view(demo)
    small = UserLibrary(library.liked, library.disliked, library.known, library.liked_tracks[:7], ())
    with StandIn(demo) as standin:
        result, budget = run(standin, small, budget=20)
        assert standin.count(ROUTE) == 2  # 7 liked songs: calls of 5 and 2 seeds
    assert budget.used == 2
    assert sorted(len(a.params["seeds"].split(",")) for a in result.answers) == [2, 5]


@pytest.mark.parametrize("href, expected", [
    (f"https://open.spotify.com/track/{sid('a1')}", sid("a1")),
    (f"https://open.spotify.com/intl-de/track/{sid('a1')}?si=abc", sid("a1")),
    (f"https://open.spotify.com/album/{sid('a1')}", None),
    ("https://example.com/track/x", None),
    (None, None),
])
def test_the_spotify_id_comes_from_href(href, expected):
    assert _spotify_id(href) == expected


def test_a_call_refused_with_400_is_kept_and_the_next_call_goes_on(demo):
    library = demo_library_view(demo)
    with StandIn(demo, faults=FaultConfig(script={"/reccobeats/v1/track": [400]})) as standin:
        result, budget = run(standin, library, budget=2)
        assert standin.count(ROUTE) == 2
    assert [a.status for a in result.answers] == [400, 200]
    assert budget.used == 2 and result.status == "done" and result.candidates
    assert {c.seed_track_ids for c in result.candidates} == {tuple(result.answers[1].params["seeds"].split(","))}


def test_a_liked_song_that_was_an_earlier_pick_weighs_hit_seed_weight_times_more():
    settings = Discover()  # hit_seed_weight 2
    week = dt.date(2026, 11, 23)
    at = lambda days: LikedTrack(sid("x"), None, None, dt.datetime(2026, 11, 23, tzinfo=UTC) - dt.timedelta(days=days))
    assert like_weight(at(90), week, settings, hit=True) == 1.0
    assert like_weight(at(1000), week, settings, hit=True) == 0.4
    assert like_weight(at(90), week, Discover(hit_seed_weight=1), hit=True) == 0.5
    # 200 likes all at the 0.2 floor, 20 of them hits (0.4): the hits hold 8 / (8 + 36) ~ 18% of the weight,
    # against 10% uniformly; over 40 seeds of 20 draws each, their share of seeds is near 18%.
    pool = likes(200, dt.datetime(2023, 1, 1, tzinfo=UTC))
    hits = frozenset(like.track_id for like in pool[::10])
    drawn = [s for seed in range(40)
             for call in draw_seeds(pool, "2026-11-23", seed, settings, calls=4, hits=hits) for s in call]
    assert 0.14 < sum(s in hits for s in drawn) / len(drawn) < 0.23
    plain = [s for seed in range(40) for call in draw_seeds(pool, "2026-11-23", seed, settings, calls=4) for s in call]
    assert sum(s in hits for s in plain) / len(plain) < 0.13
