"""Errors of the Spotify Web API, sorted by what a retry changes (:mod:`weekly_discovery.core.errors`).

:class:`SpotifyAccessError` and its subclasses: retrying will not help; each message tells the user
what to do. :class:`RateLimited` and :class:`SpotifyUnavailable`: a later retry may succeed.
"""

from __future__ import annotations

from weekly_discovery.core.errors import TransientError, UserError


class SpotifyAccessError(UserError, RuntimeError):
    """Base class: retrying the same call will not help."""


class ReauthorizationRequired(SpotifyAccessError):
    """The refresh token is revoked or expired (Spotify's ``invalid_grant``), or scopes are missing."""


class InvalidClient(SpotifyAccessError):
    """Spotify rejected the client id / secret of the connection."""


class QuotaExceeded(SpotifyAccessError):
    """A 429 whose body says ``QUOTA_EXCEEDED``: the app's quota is used up, not a short rate limit."""


class RateLimited(TransientError, RuntimeError):
    """Spotify asked us to wait longer than the run is willing to (Retry-After too large).

    Transient: Airflow's retry, minutes later with back-off, is the "rerun the task later" the message asks for.
    """


class Forbidden(SpotifyAccessError):
    """A 403 on a resource, e.g. a playlist the user neither owns nor collaborates on."""


class NotFound(SpotifyAccessError):
    """A 404: the id does not exist (or is not visible to this user)."""


class SpotifyUnavailable(TransientError, RuntimeError):
    """Server errors or network failures persisted through every retry: transient, the task is retried."""


REAUTHORIZE_HINT = (
    "Run `make spotify-auth` (or `python -m weekly_discovery.spotify.authorize`) to authorize again, "
    "then store the printed connection line as the Airflow connection (AIRFLOW_CONN_SPOTIFY_DEFAULT or "
    "`airflow connections add`). Spotify refresh tokens expire six months after consent."
)
