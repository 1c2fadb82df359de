"""``reccobeats``: songs ReccoBeats recommends for a few of the user's liked songs (no authentication).

``GET {reccobeats_url}/v1/track/recommendation?seeds=<1-5 Spotify ids>&size=<1-100>`` answers
``{"content": [{"id": <ReccoBeats uuid>, "trackTitle", "artists": [{"id", "name", "href"}], "href":
"https://open.spotify.com/track/<Spotify id>", ...}]}``: the Spotify id is only in ``href`` (rows
without one are skipped). The service knows nothing of the user's library, so its answers include songs
the user already has: those are dropped.

**Seeds.** Each call asks about ``seeds_per_call`` liked songs. The seeds of a week are drawn without
replacement from the liked songs by weighted random sampling (Efraimidis-Spirakis: each song gets the key
``u ** (1 / w)`` for a uniform ``u``, the largest keys win), with a generator seeded by ``(seed, week)``:
the same week always asks the same questions, and each week explores other corners of the taste. A
like's weight is ``max(0.5 ** (age / like_half_life_days), min_like_weight)``, its age counted in days
from the week's date to when it was liked (unknown: the floor). So a song liked this week weighs 1, one
liked 90 days earlier 0.5 (with the default half-life), and songs liked years ago keep a chance of 0.2.
A liked song that was one of the pipeline's earlier picks (``gold/picks``: the model ranked it among
its most confident, and the user agreed by saving it) has its weight multiplied by ``hit_seed_weight``
(default 2), so the corners of the taste where the recommender is right are explored further. The
model's scores themselves are not read: they belong to the recommend stage, which runs after this one,
and its confident songs that the user confirmed are exactly these hits.

**Budget and retries.** One request of the budget per call (default 20). Every call goes through the
project's HTTP retry policy (:func:`weekly_discovery.core.retry.send`): 429 waits what Retry-After asks
(capped), 5xx and lost connections back off; a retry is not a new request of the budget. Still failing
after the retries: the run fails with a transient error (Airflow retries the task). 400/404 for one call
is recorded and the next call goes on; 401/403/410 mean the service is unusable from here: the source
stops (``off``).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import random
from typing import Any, Sequence

from weekly_discovery.core.errors import UserError
from weekly_discovery.core.retry import RetryPolicy, send
from weekly_discovery.core.spotify_ids import InvalidSpotifyId, parse_spotify_id
from weekly_discovery.discover.library import LikedTrack
from weekly_discovery.discover.sources.base import (
    STATUS_BUDGET,
    STATUS_OFF,
    BudgetExhausted,
    Candidate,
    CandidateCollector,
    RawAnswer,
    SourceContext,
    SourceResult,
)
from weekly_discovery.settings.config import Discover

log = logging.getLogger(__name__)

NAME = "reccobeats"
ENDPOINT = "/v1/track/recommendation"
RECCOBEATS_POLICY = RetryPolicy(max_attempts=6, max_retry_after_s=120.0)
"""ReccoBeats publishes no rate limits: a few attempts, and no Retry-After longer than two minutes."""


def like_weight(like: LikedTrack, week: dt.date, settings: Discover, hit: bool = False) -> float:
    """How strongly a liked song is drawn as a seed in ``week`` (see the module docstring)."""
    if like.added_at is None:
        weight = settings.min_like_weight
    else:
        age_days = max(0, (week - like.added_at.date()).days)
        weight = max(0.5 ** (age_days / settings.like_half_life_days), settings.min_like_weight)
    return weight * settings.hit_seed_weight if hit else weight


def draw_seeds(likes: Sequence[LikedTrack], ds: str, seed: int, settings: Discover, calls: int,
               hits: frozenset[str] = frozenset()) -> list[list[str]]:
    """The seed songs of each call this week: ``calls`` lists of ``seeds_per_call`` distinct liked songs.

    ``hits``: the liked songs that were earlier picks (weighted up, see the module docstring).
    """
    week = dt.date.fromisoformat(ds)
    rng = random.Random(f"discover:{NAME}:{seed}:{ds}")
    keyed = sorted(
        ((rng.random() ** (1.0 / like_weight(like, week, settings, like.track_id in hits)), like.track_id)
         for like in sorted(likes, key=lambda l: l.track_id)),
        reverse=True,
    )
    per_call = settings.seeds_per_call
    chosen = [track_id for _, track_id in keyed[: calls * per_call]]
    return [chosen[i:i + per_call] for i in range(0, len(chosen), per_call)]


class ReccoBeatsSource:
    name = NAME

    def __init__(self, settings: Discover):
        self.settings = settings

    def gather(self, context: SourceContext) -> SourceResult:
        import requests

        settings, budget, clients = context.settings, context.budget, context.clients
        session = clients.reccobeats or requests.Session()
        policy = clients.reccobeats_policy or RECCOBEATS_POLICY
        url = settings.reccobeats_url + ENDPOINT
        likes = context.library.liked_tracks
        calls = min(budget.remaining, math.ceil(len(likes) / settings.seeds_per_call))
        result = SourceResult()
        collector = CandidateCollector(NAME, context.library.known)
        for seeds in draw_seeds(likes, context.ds, context.seed, settings, calls, context.library.hits):
            params = {"seeds": ",".join(seeds), "size": settings.recommendations_per_call}
            try:
                budget.spend()
            except BudgetExhausted as exc:
                result.status, result.note = STATUS_BUDGET, str(exc)
                break
            response = send(session, "GET", url, policy=policy, service="ReccoBeats", sleep=clients.sleep,
                            params=params, headers={"Accept": "application/json"})
            status = response.status_code
            result.answers.append(RawAnswer(ENDPOINT, params, status, response.content))
            if status in (401, 403, 410):
                result.status = STATUS_OFF
                result.note = f"ReccoBeats answers {status} at {url}: check discover.reccobeats_url"
                break
            if status != 200:
                log.warning("ReccoBeats answered %d for seeds %s; going on with the next call", status, params["seeds"])
                continue
            for row in _content(response, url):
                track_id = _spotify_id(row.get("href"))
                if track_id is None:
                    continue
                artists = [a for a in row.get("artists") or [] if isinstance(a, dict)]
                collector.offer(Candidate(
                    track_id=track_id, source=NAME, name=row.get("trackTitle"),
                    artist_ids=tuple(_spotify_id(a.get("href"), "artist") for a in artists),
                    artist_names=tuple(a.get("name") for a in artists),
                    seed_track_ids=tuple(seeds), reccobeats_id=row.get("id"),
                ))
        return collector.into(result)


def _content(response: Any, url: str) -> list[dict[str, Any]]:
    try:
        content = response.json().get("content")
    except (ValueError, AttributeError):
        content = None
    if not isinstance(content, list):
        raise UserError(f"ReccoBeats at {url} answered without a 'content' list: is discover.reccobeats_url right?")
    return [row for row in content if isinstance(row, dict)]


def _spotify_id(href: Any, kind: str = "track") -> str | None:
    """The Spotify id in an ``open.spotify.com/<kind>/<id>`` link, or None."""
    if not isinstance(href, str) or "open.spotify.com" not in href:
        return None
    try:
        return parse_spotify_id(href, kind)
    except InvalidSpotifyId:
        return None


def build(settings: Discover) -> ReccoBeatsSource:
    return ReccoBeatsSource(settings)
