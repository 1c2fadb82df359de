"""A local stand-in for the Spotify Web API, its accounts service and ReccoBeats, over real HTTP.

Tests, demos and benchmarks point the real client (spotipy, requests) at this server instead of
api.spotify.com, so every request goes through the same code path as in production: OAuth refresh,
paging by ``next`` links, 401 on expired tokens, 403 on playlists the user does not own, 429 with
``Retry-After``, the quota 429 with ``reason: QUOTA_EXCEEDED``, the null/local/episode items the
real API returns, "deleting" a playlist as Spotify does it (an unfollow: the playlist still answers
GET, only /me/playlists stops listing it), and writes whose answer is lost after they took effect
(``FaultConfig.lose_answers``). Response shapes follow ``shared/data/spotify-web-api-openapi.yml``;
where the real API departs from that spec (null items, local files with null ids, null audio-features
entries), the stand-in does what the real API does.

Only the standard library is used (``http.server.ThreadingHTTPServer``), so the stand-in runs in any
environment the pipeline runs in.
"""

from __future__ import annotations

import base64
import binascii
import collections
import json
import logging
import random
import re
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, NamedTuple
from urllib.parse import parse_qs, urlencode, urlsplit

from devtools.standin.library import (
    BASE62,
    Album,
    Artist,
    DemoLibrary,
    Episode,
    LocalFile,
    Playlist,
    PlaylistEntry,
    Track,
    utc_now_iso,
)

logger = logging.getLogger(__name__)

DEFAULT_SCOPES = (
    "user-library-read",
    "playlist-read-private",
    "playlist-read-collaborative",
    "playlist-modify-private",
    "playlist-modify-public",
)
WRITE_SCOPES = frozenset({"playlist-modify-private", "playlist-modify-public"})
MAX_ITEMS_LIMIT = 50  # /me/tracks, /me/playlists, /playlists/{id}/items
MAX_LEGACY_TRACKS_LIMIT = 100  # deprecated /playlists/{id}/tracks
MAX_AUDIO_FEATURE_IDS = 100
MAX_RECCOBEATS_IDS = 40
MAX_URIS_PER_WRITE = 100
MAX_ARTIST_ALBUMS_LIMIT = 10  # development-mode apps since Feb 2026: more is 400 "Invalid limit"
MAX_ALBUM_TRACKS_LIMIT = 50
MAX_RECCOBEATS_SEEDS = 5
MAX_RECCOBEATS_SIZE = 100
MAX_LIBRARY_URIS = 40  # /me/library/contains
DROP_CONNECTION = 0
"""A ``FaultConfig.lose_answers`` status: close the connection without answering (a lost answer or timeout)."""
_ID_RE = re.compile(r"[0-9A-Za-z]{22}")


@dataclass
class FaultConfig:
    """Failures the stand-in injects, so retry/backoff/re-auth paths get exercised.

    Order of precedence for a request: ``script`` (exact statuses, in order, for requests whose
    route matches a key such as ``"GET /v1/me/tracks"`` or ``"/reccobeats"``), then
    ``quota_exceeded`` (every /v1 request), then ``fail_first_n`` (the first n requests of each
    /v1 or /reccobeats route), then ``fail_rate`` (random, from ``random.Random(seed)``).
    The token endpoint only sees scripted faults and, when ``token_faults`` is on, ``fail_rate``
    faults as 503 (the accounts service has no Retry-After contract).

    ``lose_answers`` (same keys as ``script``) fails requests *after* carrying them out: the next
    request of a matching route that succeeds gets the listed status instead of its answer, or no
    answer at all for :data:`DROP_CONNECTION` (the connection closes, as on a timeout). That is the
    case a client must not blindly retry: a POST whose answer is lost may already have been applied.
    """

    seed: int = 0
    fail_rate: float = 0.0
    fail_statuses: tuple[int, ...] = (429, 503)
    retry_after: int = 1
    token_ttl: int = 3600
    quota_exceeded: bool = False
    quota_retry_after: int = 3600
    fail_first_n: int = 0
    script: dict[str, list[int]] = field(default_factory=dict)
    token_faults: bool = True
    lose_answers: dict[str, list[int]] = field(default_factory=dict)


class RequestRecord(NamedTuple):
    method: str
    route: str  # template, e.g. "/v1/playlists/{playlist_id}/items"; the raw path if no route matched
    path: str
    status: int


class ApiError(Exception):
    """An error response. Web API errors use the spec's ErrorObject; the accounts service uses
    OAuth's ``{"error": code, "error_description": text}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        reason: str | None = None,
        headers: dict[str, str] | None = None,
        oauth_error: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.reason = status, message, reason
        self.headers = headers or {}
        self.oauth_error = oauth_error

    def body(self) -> dict[str, Any]:
        if self.oauth_error:
            return {"error": self.oauth_error, "error_description": self.message}
        error: dict[str, Any] = {"status": self.status, "message": self.message}
        if self.reason:
            error["reason"] = self.reason
        return {"error": error}


@dataclass
class _AccessToken:
    scopes: frozenset[str]
    issued: float
    ttl: int


@dataclass
class _RefreshGrant:
    scopes: frozenset[str]
    revoked: bool = False


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    params: dict[str, str]
    headers: Any
    body: bytes
    base: str  # "http://host:port" as the client addressed us
    token: _AccessToken | None = None

    @property
    def api(self) -> str:
        return f"{self.base}/v1"

    def json(self) -> Any:
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise ApiError(400, "Error parsing JSON.") from None


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    kind: str  # "token", "authorize", "api" or "reccobeats": which faults and auth apply
    handler: str
    pattern: re.Pattern[str]

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


def _route(method: str, template: str, kind: str, handler: str) -> _Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return _Route(method, template, kind, handler, re.compile(f"^{regex}$"))


_ROUTES = (
    _route("POST", "/api/token", "token", "_token"),
    _route("GET", "/authorize", "authorize", "_authorize"),
    _route("GET", "/v1/me", "api", "_me"),
    _route("GET", "/v1/me/tracks", "api", "_saved_tracks"),
    _route("GET", "/v1/me/playlists", "api", "_my_playlists"),
    _route("GET", "/v1/me/library/contains", "api", "_library_contains"),
    _route("POST", "/v1/me/playlists", "api", "_create_playlist"),
    _route("GET", "/v1/users/{user_id}/playlists", "api", "_user_playlists"),
    _route("POST", "/v1/users/{user_id}/playlists", "api", "_create_playlist_for_user"),
    _route("GET", "/v1/playlists/{playlist_id}", "api", "_playlist"),
    _route("GET", "/v1/playlists/{playlist_id}/items", "api", "_playlist_items"),
    _route("GET", "/v1/playlists/{playlist_id}/followers/contains", "api", "_follows_playlist"),
    _route("PUT", "/v1/playlists/{playlist_id}/followers", "api", "_follow_playlist"),
    _route("DELETE", "/v1/playlists/{playlist_id}/followers", "api", "_unfollow_playlist"),
    _route("PUT", "/v1/playlists/{playlist_id}/items", "api", "_replace_items"),
    _route("POST", "/v1/playlists/{playlist_id}/items", "api", "_add_items"),
    _route("GET", "/v1/playlists/{playlist_id}/tracks", "api", "_playlist_items_legacy"),
    _route("PUT", "/v1/playlists/{playlist_id}/tracks", "api", "_replace_items"),
    _route("POST", "/v1/playlists/{playlist_id}/tracks", "api", "_add_items"),
    _route("GET", "/v1/audio-features", "api", "_audio_features"),
    _route("GET", "/v1/artists/{artist_id}/albums", "api", "_artist_albums"),
    _route("GET", "/v1/albums/{album_id}/tracks", "api", "_album_tracks"),
    _route("GET", "/reccobeats/v1/audio-features", "reccobeats", "_reccobeats_features"),
    _route("GET", "/reccobeats/v1/track/recommendation", "reccobeats", "_reccobeats_recommendation"),
)


def _route_matches(route_key: str, prefix: str) -> bool:
    """``prefix`` may name the method (``"GET /v1/me"``) or only the path (``"/v1/me"``)."""
    return route_key.startswith(prefix) or route_key.split(" ", 1)[1].startswith(prefix)


class StandIn:
    """The stand-in server. ``library`` is live: tests may edit it while the server runs.

    Use as ``with StandIn(generate_demo_library()) as api: ...`` or ``api = StandIn(lib).start()``.
    """

    def __init__(
        self,
        library: DemoLibrary,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultConfig | None = None,
        client_id: str = "demo-client",
        client_secret: str = "demo-secret",
        refresh_token: str = "demo-refresh-token",
        audio_features: str = "ok",
        scopes: str | Iterable[str] = DEFAULT_SCOPES,
    ) -> None:
        if audio_features not in ("ok", "forbidden"):
            raise ValueError(f"audio_features must be 'ok' or 'forbidden', got {audio_features!r}")
        self.library = library
        self.host, self._requested_port = host, port
        self.faults = faults or FaultConfig()
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.audio_features = audio_features
        self.last_authorize_scopes: list[str] | None = None

        self._lock = threading.RLock()
        self._fault_rng = random.Random(self.faults.seed)
        self._script = {prefix: collections.deque(statuses) for prefix, statuses in self.faults.script.items()}
        self._lost = {prefix: collections.deque(statuses) for prefix, statuses in self.faults.lose_answers.items()}
        self._route_hits: collections.Counter[str] = collections.Counter()
        self._log: list[RequestRecord] = []
        self._access_tokens: dict[str, _AccessToken] = {}
        self._refresh_grants = {refresh_token: _RefreshGrant(_scope_set(scopes))}
        self._auth_codes: dict[str, tuple[str, frozenset[str]]] = {}
        self._id_rng = random.Random(f"standin-ids-{library.seed}")
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> StandIn:
        handler = type("BoundHandler", (_Handler,), {"standin": self})
        self._server = _Server((self.host, self._requested_port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="standin", daemon=True
        )
        self._thread.start()
        logger.info("standin listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_connections()  # keep-alive connections would otherwise outlive the server
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> StandIn:
        return self.start() if self._server is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the stand-in is not running; call start() first")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}/v1/"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/api/token"

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}/authorize"

    @property
    def reccobeats_url(self) -> str:
        return f"{self.base_url}/reccobeats"

    def connection_json(self) -> str:
        """The Airflow connection (``AIRFLOW_CONN_...`` JSON form) that points at this stand-in."""
        return json.dumps(
            {
                "conn_type": "generic",
                "login": self.client_id,
                "password": self.client_secret,
                "extra": {
                    "refresh_token": self.refresh_token,
                    "api_base_url": self.api_base_url,
                    "token_url": self.token_url,
                },
            }
        )

    # -- request accounting --------------------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, route template) of every request so far, failed ones and token calls included."""
        with self._lock:
            return [(r.method, r.route) for r in self._log]

    @property
    def request_log(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def count(self, route_prefix: str | None = None, *, status: int | None = None) -> int:
        """Requests whose ``"METHOD /template"`` (or template) starts with ``route_prefix``.

        Note that ``"GET /v1/playlists/{playlist_id}"`` is also a prefix of ``.../items``.
        """
        with self._lock:
            return sum(
                1
                for r in self._log
                if (route_prefix is None or _route_matches(f"{r.method} {r.route}", route_prefix))
                and (status is None or r.status == status)
            )

    def reset_counts(self) -> None:
        with self._lock:
            self._log.clear()

    # -- test controls -------------------------------------------------------------------------

    def issue_access_token(self, scopes: str | Iterable[str] | None = None) -> str:
        """An access token as a refresh would give (default: the refresh token's scopes)."""
        grant_scopes = self._refresh_grants[self.refresh_token].scopes if scopes is None else _scope_set(scopes)
        return self._new_access_token(grant_scopes)

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired, without waiting ``token_ttl``."""
        with self._lock:
            for token in self._access_tokens.values():
                token.issued = float("-inf")

    def revoke_refresh_token(self, token: str | None = None) -> None:
        """Revoke one refresh token (default: every one): later refreshes get ``invalid_grant``."""
        with self._lock:
            for value, grant in self._refresh_grants.items():
                if token is None or value == token:
                    grant.revoked = True

    def touch_playlist(self, playlist_id: str) -> str:
        """Give a playlist a new snapshot_id without changing its items; return the new id."""
        with self._lock:
            playlist = self.library.playlists[playlist_id]
            playlist.touch()
            return playlist.snapshot_id

    # -- dispatch ------------------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> tuple[int, Any, dict[str, str]]:
        split = urlsplit(handler.path)
        path = split.path.rstrip("/") or "/"
        query = {key: values[0] for key, values in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length > 0 else b""
        if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
            handler.close_connection = True  # unsupported: the unread body must not be taken for a request
        host = handler.headers.get("Host") or f"{self.host}:{self.port}"

        route, params, path_known = None, {}, False
        for candidate in _ROUTES:
            match = candidate.pattern.match(path)
            if match:
                path_known = True
                if candidate.method == handler.command:
                    route, params = candidate, match.groupdict()
                    break
        route_key = route.key if route else f"{handler.command} {path}"
        request = _Request(handler.command, path, query, params, handler.headers, body, f"http://{host}")

        headers: dict[str, str] = {}
        try:
            if route is None:
                raise ApiError(405, "Method not allowed") if path_known else ApiError(404, "Service not found")
            fault = self._injected_fault(route, route_key)
            if fault is not None:
                raise fault
            if route.kind == "api":
                request.token = self._authenticate(request)
            status, payload = getattr(self, route.handler)(request)
            lost = self._lost_answer(route_key)
            if lost == DROP_CONNECTION:
                status, payload = DROP_CONNECTION, None
            elif lost is not None:
                raise self._fault_error(lost, route.kind)
            if isinstance(payload, _Redirect):
                headers["Location"], payload = payload.location, None
        except ApiError as error:
            status, payload, headers = error.status, error.body(), error.headers
        with self._lock:
            self._log.append(RequestRecord(handler.command, route.template if route else path, path, status))
        return status, payload, headers

    def _injected_fault(self, route: _Route, route_key: str) -> ApiError | None:
        faults = self.faults
        with self._lock:
            for prefix, statuses in self._script.items():
                if statuses and _route_matches(route_key, prefix):
                    return self._fault_error(statuses.popleft(), route.kind)
            if route.kind == "token":
                if faults.token_faults and faults.fail_rate > 0 and self._fault_rng.random() < faults.fail_rate:
                    return self._fault_error(503, "token")
                return None
            if route.kind not in ("api", "reccobeats"):
                return None
            if faults.quota_exceeded and route.kind == "api":
                return ApiError(
                    429, "API quota exceeded", reason="QUOTA_EXCEEDED",
                    headers={"Retry-After": str(faults.quota_retry_after)},
                )
            if faults.fail_first_n:
                seen = self._route_hits[route_key]
                self._route_hits[route_key] += 1
                if seen < faults.fail_first_n:
                    return self._fault_error(faults.fail_statuses[seen % len(faults.fail_statuses)], route.kind)
            if faults.fail_rate > 0 and self._fault_rng.random() < faults.fail_rate:
                return self._fault_error(self._fault_rng.choice(faults.fail_statuses), route.kind)
        return None

    def _lost_answer(self, route_key: str) -> int | None:
        """The scripted status that replaces the answer of a request that was carried out, if any."""
        with self._lock:
            for prefix, statuses in self._lost.items():
                if statuses and _route_matches(route_key, prefix):
                    return statuses.popleft()
        return None

    def _fault_error(self, status: int, kind: str) -> ApiError:
        phrase = HTTPStatus(status).phrase
        if kind in ("token", "authorize"):
            return ApiError(status, phrase, oauth_error="server_error" if status >= 500 else "invalid_request")
        if status == 429:
            return ApiError(429, "API rate limit exceeded", headers={"Retry-After": str(self.faults.retry_after)})
        return ApiError(status, phrase)

    def _authenticate(self, request: _Request) -> _AccessToken:
        header = request.headers.get("Authorization") or ""
        if not header.startswith("Bearer "):
            raise ApiError(401, "No token provided")
        with self._lock:
            token = self._access_tokens.get(header[len("Bearer "):].strip())
        if token is None:
            raise ApiError(401, "Invalid access token")
        if time.monotonic() - token.issued >= token.ttl:
            raise ApiError(401, "The access token expired")
        return token

    @staticmethod
    def _require_scope(request: _Request, any_of: Iterable[str]) -> None:
        assert request.token is not None
        if not request.token.scopes & set(any_of):
            raise ApiError(403, "Insufficient client scope")

    # -- accounts service ----------------------------------------------------------------------

    def _new_access_token(self, scopes: frozenset[str]) -> str:
        value = "BQ" + secrets.token_urlsafe(48)
        with self._lock:
            self._access_tokens[value] = _AccessToken(scopes, time.monotonic(), self.faults.token_ttl)
        return value

    def _client_credentials(self, request: _Request, form: dict[str, str]) -> tuple[str, str]:
        header = request.headers.get("Authorization") or ""
        if header.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
                return client_id, secret
            except (binascii.Error, UnicodeDecodeError):
                raise ApiError(400, "Invalid client", oauth_error="invalid_client") from None
        return form.get("client_id", ""), form.get("client_secret", "")

    def _token(self, request: _Request) -> tuple[int, Any]:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        if self._client_credentials(request, form) != (self.client_id, self.client_secret):
            raise ApiError(400, "Invalid client", oauth_error="invalid_client")
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            with self._lock:
                grant = self._refresh_grants.get(form.get("refresh_token", ""))
            if grant is None:
                raise ApiError(400, "Invalid refresh token", oauth_error="invalid_grant")
            if grant.revoked:
                raise ApiError(400, "Refresh token revoked", oauth_error="invalid_grant")
            return 200, self._token_response(grant.scopes)
        if grant_type == "authorization_code":
            with self._lock:
                issued = self._auth_codes.pop(form.get("code", ""), None)
            if issued is None:
                raise ApiError(400, "Invalid authorization code", oauth_error="invalid_grant")
            redirect_uri, scopes = issued
            if form.get("redirect_uri") != redirect_uri:
                raise ApiError(400, "Invalid redirect URI", oauth_error="invalid_grant")
            refresh_token = "AQ" + secrets.token_urlsafe(48)
            with self._lock:
                self._refresh_grants[refresh_token] = _RefreshGrant(scopes)
            return 200, self._token_response(scopes) | {"refresh_token": refresh_token}
        raise ApiError(400, f"Unsupported grant type: {grant_type}", oauth_error="unsupported_grant_type")

    def _token_response(self, scopes: frozenset[str]) -> dict[str, Any]:
        return {
            "access_token": self._new_access_token(scopes),
            "token_type": "Bearer",
            "expires_in": self.faults.token_ttl,
            "scope": " ".join(sorted(scopes)),
        }

    def _authorize(self, request: _Request) -> tuple[int, Any]:
        """An auto-consenting user: redirect straight back with a code for the requested scopes."""
        query = request.query
        if query.get("client_id") != self.client_id:
            raise ApiError(400, "Invalid client", oauth_error="invalid_client")
        if query.get("response_type") != "code":
            raise ApiError(400, "response_type must be code", oauth_error="unsupported_response_type")
        redirect_uri = query.get("redirect_uri")
        if not redirect_uri:
            raise ApiError(400, "Invalid redirect URI", oauth_error="invalid_request")
        scopes = query.get("scope", "").replace(",", " ").split()
        code = secrets.token_urlsafe(32)
        with self._lock:
            self.last_authorize_scopes = scopes
            self._auth_codes[code] = (redirect_uri, frozenset(scopes))
        answer = {"code": code} | ({"state": query["state"]} if "state" in query else {})
        separator = "&" if "?" in redirect_uri else "?"
        return 302, _Redirect(f"{redirect_uri}{separator}{urlencode(answer)}")

    # -- Web API: user and library -------------------------------------------------------------

    def _me(self, request: _Request) -> tuple[int, Any]:
        lib = self.library
        user = _user_ref(request, lib.user_id, lib.display_name)
        return 200, user | {
            "account_id": f"acc-{lib.user_id}",
            "followers": {"href": None, "total": 3},
            "images": [],
        }

    def _saved_tracks(self, request: _Request) -> tuple[int, Any]:
        self._require_scope(request, {"user-library-read"})
        with self._lock:
            saved = self.library.saved
            render = _Renderer(request, self.library)
            return 200, _page(
                request, "/v1/me/tracks", len(saved),
                lambda start, stop: [
                    {"added_at": added_at, "track": render.track(self.library.tracks[track_id])}
                    for added_at, track_id in saved[start:stop]
                ],
            )

    def _listed_playlists(self, request: _Request, owner_id: str | None) -> tuple[int, Any]:
        with self._lock:
            # Most recently created/followed first, like the Spotify app's library view.
            # The user's own list holds what they follow (a deleted playlist is an unfollowed one);
            # another user's list is theirs, whatever this user follows. Private playlists need the
            # playlist-read-private scope, collaborative ones playlist-read-collaborative.
            scopes = request.token.scopes if request.token else frozenset()
            playlists = [p for p in reversed(self.library.playlists.values())
                         if (p.followed if owner_id is None else p.owner_id == owner_id)
                         and (p.public or "playlist-read-private" in scopes or p.collaborative)
                         and (not p.collaborative or "playlist-read-collaborative" in scopes)]
            render = _Renderer(request, self.library)
            return 200, _page(
                request, request.path, len(playlists),
                lambda start, stop: [render.playlist_simplified(p) for p in playlists[start:stop]],
            )

    def _my_playlists(self, request: _Request) -> tuple[int, Any]:
        return self._listed_playlists(request, None)

    def _user_playlists(self, request: _Request) -> tuple[int, Any]:
        user_id = request.params["user_id"]
        return self._listed_playlists(request, None if user_id == self.library.user_id else user_id)

    # -- Web API: playlists --------------------------------------------------------------------

    def _find_playlist(self, request: _Request) -> Playlist:
        playlist_id = request.params["playlist_id"]
        if not _ID_RE.fullmatch(playlist_id):
            raise ApiError(400, "Invalid base62 id")
        playlist = self.library.playlists.get(playlist_id)
        if playlist is None:
            raise ApiError(404, "Resource not found")
        return playlist

    def _follows_playlist(self, request: _Request) -> tuple[int, Any]:
        """Deprecated ``/playlists/{id}/followers/contains``: ``[true]`` while the user follows it."""
        with self._lock:
            playlist = self._find_playlist(request)
            asked = request.query.get("ids") or self.library.user_id
            return 200, [asked == self.library.user_id and playlist.followed]

    def _set_followed(self, request: _Request, followed: bool) -> tuple[int, Any]:
        self._require_scope(request, WRITE_SCOPES)
        with self._lock:
            self._find_playlist(request).followed = followed
        return 200, None

    def _follow_playlist(self, request: _Request) -> tuple[int, Any]:
        return self._set_followed(request, True)

    def _unfollow_playlist(self, request: _Request) -> tuple[int, Any]:
        """What deleting a playlist in the Spotify app does: the playlist stays, unlisted."""
        return self._set_followed(request, False)

    def _library_contains(self, request: _Request) -> tuple[int, Any]:
        """``/me/library/contains?uris=``: followed playlists and saved tracks; other kinds answer false."""
        self._require_scope(request, {"user-library-read", "user-follow-read", "playlist-read-private"})
        uris = [u for u in (request.query.get("uris") or "").split(",") if u]
        if not uris:
            raise ApiError(400, "Missing required parameter: uris")
        if len(uris) > MAX_LIBRARY_URIS:
            raise ApiError(400, f"Too many uris: at most {MAX_LIBRARY_URIS}")
        answers = []
        with self._lock:
            saved = {track_id for _, track_id in self.library.saved}
            for uri in uris:
                parts = uri.split(":")
                if len(parts) != 3 or parts[0] != "spotify" or not _ID_RE.fullmatch(parts[2]):
                    raise ApiError(400, f"Invalid uri: {uri}")
                if parts[1] == "playlist":
                    playlist = self.library.playlists.get(parts[2])
                    answers.append(playlist is not None and playlist.followed)
                else:
                    answers.append(parts[1] == "track" and parts[2] in saved)
        return 200, answers

    def _may_access_items(self, playlist: Playlist) -> bool:
        # Since Feb 2026 only owners and collaborators may read or change a playlist's items.
        return playlist.owner_id == self.library.user_id or playlist.collaborative

    def _playlist(self, request: _Request) -> tuple[int, Any]:
        with self._lock:
            playlist = self._find_playlist(request)
            render = _Renderer(request, self.library)
            body = render.playlist_simplified(playlist)
            body["followers"] = {"href": None, "total": 0}
            if self._may_access_items(playlist):
                body["items"] = body["tracks"] = self._first_page(request, playlist, render)
            else:
                # Metadata stays readable; the items are withheld like /items withholds them.
                body.pop("items")
                body.pop("tracks")
            return 200, _select_fields(body, request.query.get("fields"))

    @staticmethod
    def _items_page(
        request: _Request, playlist: Playlist, render: _Renderer, path: str, **paging: Any
    ) -> dict[str, Any]:
        keep = {k: request.query[k] for k in ("market", "additional_types") if k in request.query}
        items = playlist.items
        return _page(
            request, path, len(items),
            lambda start, stop: [render.entry(entry, playlist) for entry in items[start:stop]],
            keep=keep, **paging,
        )

    def _first_page(self, request: _Request, playlist: Playlist, render: _Renderer) -> dict[str, Any]:
        """The page a playlist object embeds: its ``next`` link continues on /items."""
        return self._items_page(
            request, playlist, render, f"/v1/playlists/{playlist.id}/items", fixed_limit=MAX_ITEMS_LIMIT, offset=0
        )

    def _items(self, request: _Request, max_limit: int) -> tuple[int, Any]:
        _int_param(request.query, "limit", 20, 1, max_limit)  # a bad limit is a 400 before any lookup
        with self._lock:
            playlist = self._find_playlist(request)
            if not self._may_access_items(playlist):
                raise ApiError(403, "Forbidden")
            render = _Renderer(request, self.library)
            page = self._items_page(request, playlist, render, request.path, max_limit=max_limit)
            return 200, _select_fields(page, request.query.get("fields"))

    def _playlist_items(self, request: _Request) -> tuple[int, Any]:
        return self._items(request, MAX_ITEMS_LIMIT)

    def _playlist_items_legacy(self, request: _Request) -> tuple[int, Any]:
        return self._items(request, MAX_LEGACY_TRACKS_LIMIT)

    def _create_playlist(self, request: _Request) -> tuple[int, Any]:
        self._require_scope(request, WRITE_SCOPES)
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
            raise ApiError(400, "Missing required field: name")
        with self._lock:
            playlist = Playlist(
                id=self._new_id(),
                name=body["name"],
                owner_id=self.library.user_id,
                description=str(body.get("description") or ""),
                public=bool(body.get("public", True)),
                collaborative=bool(body.get("collaborative", False)),
                owner_display_name=self.library.display_name,
            )
            self.library.playlists[playlist.id] = playlist
            render = _Renderer(request, self.library)
            page = self._first_page(request, playlist, render)
            created = render.playlist_simplified(playlist)
            created |= {"followers": {"href": None, "total": 0}, "items": page, "tracks": page}
        logger.debug("created playlist %s (%r)", playlist.id, playlist.name)
        return 201, created

    def _create_playlist_for_user(self, request: _Request) -> tuple[int, Any]:
        if request.params["user_id"] != self.library.user_id:
            raise ApiError(403, "You cannot create a playlist for another user")
        return self._create_playlist(request)

    def _new_id(self) -> str:
        while True:
            candidate = "".join(self._id_rng.choices(BASE62, k=22))
            if candidate not in self.library.playlists and candidate not in self.library.tracks:
                return candidate

    def _writable_playlist(self, request: _Request) -> Playlist:
        self._require_scope(request, WRITE_SCOPES)
        playlist = self._find_playlist(request)
        if not self._may_access_items(playlist):
            raise ApiError(403, "Forbidden")
        return playlist

    def _uris_and_position(self, request: _Request) -> tuple[list[str] | None, int | None]:
        """URIs come from the query (comma list) or the body (``{"uris": [...]}`` or a bare list,
        which is what spotipy's playlist_add_items sends); the query wins, as in the real API."""
        body = request.json()
        position: Any = request.query.get("position")
        if isinstance(body, dict) and position is None:
            position = body.get("position")
        if "uris" in request.query:
            uris: Any = [u for u in request.query["uris"].split(",") if u]
        elif isinstance(body, list):
            uris = body
        elif isinstance(body, dict) and "uris" in body:
            uris = body["uris"]
        else:
            uris = None
        if uris is not None and (not isinstance(uris, list) or not all(isinstance(u, str) for u in uris)):
            raise ApiError(400, "uris must be a list of Spotify URIs")
        if uris is not None and len(uris) > MAX_URIS_PER_WRITE:
            raise ApiError(400, f"You can add a maximum of {MAX_URIS_PER_WRITE} tracks per request.")
        if position is not None:
            try:
                position = int(position)
            except (TypeError, ValueError):
                raise ApiError(400, "Invalid position") from None
        return uris, position

    def _entries_for(self, uris: list[str]) -> list[PlaylistEntry]:
        added_at, added_by, entries = utc_now_iso(), self.library.user_id, []
        for uri in uris:
            parts = uri.split(":")
            if len(parts) != 3 or parts[0] != "spotify" or parts[1] not in ("track", "episode"):
                raise ApiError(400, f"Invalid track uri: {uri}")
            if not _ID_RE.fullmatch(parts[2]):
                raise ApiError(400, "Invalid base62 id")
            if parts[1] == "track" and parts[2] in self.library.tracks:
                entries.append(PlaylistEntry.of_track(parts[2], added_at, added_by))
            elif parts[1] == "episode" and parts[2] in self.library.episodes:
                entries.append(PlaylistEntry("episode", added_at, episode=self.library.episodes[parts[2]], added_by=added_by))
            else:
                raise ApiError(400, "Payload contains a non-existing ID")
        return entries

    def _replace_items(self, request: _Request) -> tuple[int, Any]:
        with self._lock:
            playlist = self._writable_playlist(request)
            uris, _ = self._uris_and_position(request)
            if uris is None:
                raise ApiError(400, "The stand-in supports replacing items (uris), not reordering them")
            playlist.items[:] = self._entries_for(uris)
            playlist.touch()
            return 200, {"snapshot_id": playlist.snapshot_id}

    def _add_items(self, request: _Request) -> tuple[int, Any]:
        with self._lock:
            playlist = self._writable_playlist(request)
            uris, position = self._uris_and_position(request)
            if not uris:
                raise ApiError(400, "No uris provided")
            entries = self._entries_for(uris)
            if position is None:
                position = len(playlist.items)
            if not 0 <= position <= len(playlist.items):
                raise ApiError(400, "Index out of bounds")
            playlist.items[position:position] = entries
            playlist.touch()
            return 201, {"snapshot_id": playlist.snapshot_id}

    # -- audio features ------------------------------------------------------------------------

    def _audio_features(self, request: _Request) -> tuple[int, Any]:
        if self.audio_features == "forbidden":  # apps registered after 27 Nov 2024
            raise ApiError(403, "Forbidden")
        ids = _ids_param(request.query, MAX_AUDIO_FEATURE_IDS)
        with self._lock:
            render = _Renderer(request, self.library)
            return 200, {"audio_features": [render.audio_features(track_id) for track_id in ids]}

    def _reccobeats_features(self, request: _Request) -> tuple[int, Any]:
        ids = _ids_param(request.query, MAX_RECCOBEATS_IDS)
        content, seen = [], set()
        with self._lock:
            for track_id in ids:
                features = self.library.reccobeats_features_for(track_id)
                if features is None or track_id in seen:
                    continue  # ReccoBeats silently omits ids it does not know
                seen.add(track_id)
                content.append(
                    {"id": self.library.reccobeats_id(track_id), "href": f"https://open.spotify.com/track/{track_id}"}
                    | features
                )
        return 200, {"content": content}

    # -- discovery: artists' albums, album tracks, ReccoBeats recommendations --------------------

    def _artist_albums(self, request: _Request) -> tuple[int, Any]:
        """``/artists/{id}/albums``: at most 10 a page for development-mode apps, ``include_groups`` filter."""
        _int_param(request.query, "limit", 5, 1, MAX_ARTIST_ALBUMS_LIMIT)  # 400 "Invalid limit" above 10
        artist_id = request.params["artist_id"]
        if not _ID_RE.fullmatch(artist_id):
            raise ApiError(400, "Invalid base62 id")
        groups = {g for g in (request.query.get("include_groups") or "album,single,compilation,appears_on").split(",") if g}
        with self._lock:
            if not self.library.has_artist(artist_id):
                raise ApiError(404, "Resource not found")
            albums = [a for a in self.library.artist_albums(artist_id) if a.album_type in groups]
            render = _Renderer(request, self.library)
            keep = {k: request.query[k] for k in ("include_groups", "market") if k in request.query}
            return 200, _page(
                request, request.path, len(albums),
                lambda start, stop: [render.album(a) | {"album_group": a.album_type} for a in albums[start:stop]],
                max_limit=MAX_ARTIST_ALBUMS_LIMIT, keep=keep,
            )

    def _album_tracks(self, request: _Request) -> tuple[int, Any]:
        """``/albums/{id}/tracks``: SimplifiedTrackObjects, at most 50 a page."""
        _int_param(request.query, "limit", 20, 1, MAX_ALBUM_TRACKS_LIMIT)
        album_id = request.params["album_id"]
        if not _ID_RE.fullmatch(album_id):
            raise ApiError(400, "Invalid base62 id")
        with self._lock:
            tracks = self.library.album_tracks(album_id)
            if not tracks:
                raise ApiError(404, "Resource not found")
            render = _Renderer(request, self.library)
            keep = {k: request.query[k] for k in ("market",) if k in request.query}
            return 200, _page(
                request, request.path, len(tracks),
                lambda start, stop: [_simplified_track(render, t) for t in tracks[start:stop]],
                max_limit=MAX_ALBUM_TRACKS_LIMIT, keep=keep,
            )

    def _reccobeats_recommendation(self, request: _Request) -> tuple[int, Any]:
        """ReccoBeats ``/v1/track/recommendation?seeds=<1-5 Spotify or ReccoBeats ids>&size=<1-100>``."""
        seeds = [s.strip() for s in request.query.get("seeds", "").split(",") if s.strip()]
        if not 1 <= len(seeds) <= MAX_RECCOBEATS_SEEDS:
            raise ApiError(400, f"seeds must name 1 to {MAX_RECCOBEATS_SEEDS} tracks")
        size = _int_param(request.query, "size", 10, 1, MAX_RECCOBEATS_SIZE)
        with self._lock:
            by_reccobeats_id = {t.reccobeats_id: t.id for t in self.library.tracks.values() if t.reccobeats_id}
            spotify_ids = [by_reccobeats_id.get(s, s) for s in seeds]
            content = [self._reccobeats_track(track_id) for track_id in self.library.recommendations(spotify_ids, size)]
        return 200, {"content": content}

    def _reccobeats_track(self, track_id: str) -> dict[str, Any]:
        """One recommended track as ReccoBeats sends it: its own ids, the Spotify link only in ``href``."""
        track = self.library.tracks[track_id]
        return {
            "id": track.reccobeats_id,
            "trackTitle": track.name,
            "artists": [
                {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, a.id)), "name": a.name,
                 "href": f"https://open.spotify.com/artist/{a.id}"}
                for a in track.artists
            ],
            "durationMs": track.duration_ms,
            "isrc": f"QZ{track.id[:10].upper()}",
            "ean": None,
            "upc": None,
            "href": f"https://open.spotify.com/track/{track.id}",
            "availableCountries": [],
            "popularity": 0,
        }


# --------------------------------------------------------------------------------------------------
# Rendering: library objects -> API JSON
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Redirect:
    location: str


def _scope_set(scopes: str | Iterable[str]) -> frozenset[str]:
    return frozenset(scopes.split() if isinstance(scopes, str) else scopes)


def _int_param(query: dict[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid {name}") from None
    if value < low or (high is not None and value > high):
        raise ApiError(400, f"Invalid {name}")
    return value


def _ids_param(query: dict[str, str], maximum: int) -> list[str]:
    ids = [i.strip() for i in query.get("ids", "").split(",") if i.strip()]
    if not ids:
        raise ApiError(400, "invalid request: missing ids")
    if len(ids) > maximum:
        raise ApiError(400, f"Too many ids requested (maximum {maximum})")
    return ids


def _page(
    request: _Request,
    path: str,
    total: int,
    render: Callable[[int, int], list[Any]],
    *,
    max_limit: int = MAX_ITEMS_LIMIT,
    fixed_limit: int | None = None,
    offset: int | None = None,
    keep: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A PagingObject with absolute ``href``/``next``/``previous`` URLs on the host the client used."""
    limit = fixed_limit or _int_param(request.query, "limit", 20, 1, max_limit)
    if offset is None:
        offset = _int_param(request.query, "offset", 0, 0, None)

    def url(at: int) -> str:
        return f"{request.base}{path}?{urlencode({'offset': at, 'limit': limit} | (keep or {}))}"

    return {
        "href": url(offset),
        "items": render(offset, offset + limit),
        "limit": limit,
        "next": url(offset + limit) if offset + limit < total else None,
        "offset": offset,
        "previous": url(max(0, offset - limit)) if offset > 0 else None,
        "total": total,
    }


def _select_fields(body: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Loose ``fields`` support: keep the named top-level keys (sub-selections return whole values)."""
    if not fields:
        return body
    names, depth, current = set(), 0, ""
    for char in fields + ",":
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            name = re.split(r"[.(]", current.strip(), maxsplit=1)[0]
            if name and not name.startswith("!"):
                names.add(name)
            current = ""
            continue
        current += char
    return {k: v for k, v in body.items() if k in names} if names else body


def _user_ref(request: _Request, user_id: str, display_name: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {
        "external_urls": {"spotify": f"https://open.spotify.com/user/{user_id}"},
        "href": f"{request.api}/users/{user_id}",
        "id": user_id,
        "type": "user",
        "uri": f"spotify:user:{user_id}",
    }
    if display_name is not None:
        ref["display_name"] = display_name
    return ref


class _Renderer:
    """Turns library objects into the JSON the real API sends, with hrefs on this server."""

    def __init__(self, request: _Request, library: DemoLibrary) -> None:
        self.request, self.library, self.api = request, library, request.api

    def artist(self, artist: Artist) -> dict[str, Any]:
        return {
            "external_urls": {"spotify": f"https://open.spotify.com/artist/{artist.id}"},
            "href": f"{self.api}/artists/{artist.id}",
            "id": artist.id,
            "name": artist.name,
            "type": "artist",
            "uri": artist.uri,
        }

    def album(self, album: Album) -> dict[str, Any]:
        return {
            "album_type": album.album_type,
            "total_tracks": album.total_tracks,
            # Spotify emptied this for development-mode apps (Feb 2026); the spec still requires it.
            "available_markets": [],
            "external_urls": {"spotify": f"https://open.spotify.com/album/{album.id}"},
            "href": f"{self.api}/albums/{album.id}",
            "id": album.id,
            "images": _images(album.id),
            "name": album.name,
            "release_date": album.release_date,
            "release_date_precision": "day",
            "type": "album",
            "uri": album.uri,
            "artists": [self.artist(a) for a in album.artists],
        }

    def track(self, track: Track) -> dict[str, Any]:
        return {
            "album": self.album(track.album),
            "artists": [self.artist(a) for a in track.artists],
            "disc_number": 1,
            "duration_ms": track.duration_ms,
            "explicit": track.explicit,
            "external_ids": {"isrc": f"QZ{track.id[:10].upper()}"},
            "external_urls": {"spotify": f"https://open.spotify.com/track/{track.id}"},
            "href": f"{self.api}/tracks/{track.id}",
            "id": track.id,
            "is_local": False,
            "is_playable": True,
            "name": track.name,
            "preview_url": None,
            "track_number": track.track_number,
            "type": "track",
            "uri": track.uri,
        }

    @staticmethod
    def local_track(local: LocalFile) -> dict[str, Any]:
        """A local file as the real API sends it: a track object whose ids and links are null."""
        return {
            "album": {
                "album_type": None, "total_tracks": 0, "available_markets": [], "external_urls": {},
                "href": None, "id": None, "images": [], "name": local.album, "release_date": None,
                "release_date_precision": None, "type": "album", "uri": None, "artists": [],
            },
            "artists": [
                {"external_urls": {}, "href": None, "id": None, "name": local.artist, "type": "artist", "uri": None}
            ],
            "disc_number": 0,
            "duration_ms": local.duration_ms,
            "explicit": False,
            "external_ids": {},
            "external_urls": {},
            "href": None,
            "id": None,
            "is_local": True,
            "name": local.name,
            "preview_url": None,
            "track_number": 0,
            "type": "track",
            "uri": local.uri,
        }

    def episode(self, episode: Episode) -> dict[str, Any]:
        show = {
            "available_markets": [],
            "copyrights": [],
            "description": f"{episode.show_name}, a podcast by {episode.publisher}.",
            "html_description": f"<p>{episode.show_name}, a podcast by {episode.publisher}.</p>",
            "explicit": False,
            "external_urls": {"spotify": f"https://open.spotify.com/show/{episode.show_id}"},
            "href": f"{self.api}/shows/{episode.show_id}",
            "id": episode.show_id,
            "images": _images(episode.show_id),
            "is_externally_hosted": False,
            "languages": ["en"],
            "media_type": "audio",
            "name": episode.show_name,
            "publisher": episode.publisher,
            "total_episodes": 120,
            "type": "show",
            "uri": f"spotify:show:{episode.show_id}",
        }
        return {
            "audio_preview_url": None,
            "description": f"Episode of {episode.show_name}.",
            "html_description": f"<p>Episode of {episode.show_name}.</p>",
            "duration_ms": episode.duration_ms,
            "explicit": False,
            "external_urls": {"spotify": f"https://open.spotify.com/episode/{episode.id}"},
            "href": f"{self.api}/episodes/{episode.id}",
            "id": episode.id,
            "images": _images(episode.id),
            "is_externally_hosted": False,
            "is_playable": True,
            "languages": ["en"],
            "name": episode.name,
            "release_date": episode.release_date,
            "release_date_precision": "day",
            "type": "episode",
            "uri": episode.uri,
            "show": show,
        }

    def entry(self, entry: PlaylistEntry, playlist: Playlist) -> dict[str, Any]:
        """A PlaylistTrackObject with ``item`` and its deprecated twin ``track`` (same object)."""
        item: dict[str, Any] | None
        if entry.kind == "track":
            item = self.track(self.library.tracks[entry.track_id])
        elif entry.kind == "episode":
            item = self.episode(entry.episode)
        elif entry.kind == "local":
            item = self.local_track(entry.local)
        else:
            item = None  # removed or unavailable content
        return {
            "added_at": entry.added_at,
            "added_by": _user_ref(self.request, entry.added_by or playlist.owner_id),
            "is_local": entry.kind == "local",
            "item": item,
            "track": item,
        }

    def playlist_simplified(self, playlist: Playlist) -> dict[str, Any]:
        items_ref = {"href": f"{self.api}/playlists/{playlist.id}/items", "total": len(playlist.items)}
        return {
            "collaborative": playlist.collaborative,
            "description": playlist.description,
            "external_urls": {"spotify": f"https://open.spotify.com/playlist/{playlist.id}"},
            "href": f"{self.api}/playlists/{playlist.id}",
            "id": playlist.id,
            "images": _images(playlist.id, sized=False),
            "name": playlist.name,
            "owner": _user_ref(self.request, playlist.owner_id, playlist.owner_display_name),
            "public": playlist.public,
            "snapshot_id": playlist.snapshot_id,
            "items": items_ref,
            "tracks": dict(items_ref),
            "type": "playlist",
            "uri": playlist.uri,
        }

    def audio_features(self, track_id: str) -> dict[str, Any] | None:
        features = self.library.features_for(track_id)
        if features is None:
            return None  # the real API answers null for unknown ids and tracks it has no analysis for
        return features | {
            "analysis_url": f"{self.api}/audio-analysis/{track_id}",
            "id": track_id,
            "track_href": f"{self.api}/tracks/{track_id}",
            "type": "audio_features",
            "uri": f"spotify:track:{track_id}",
        }


def _simplified_track(render: _Renderer, track: Track) -> dict[str, Any]:
    """A SimplifiedTrackObject (album track lists): a track object without album, ids or popularity."""
    full = render.track(track)
    return {k: v for k, v in full.items() if k not in ("album", "external_ids", "popularity")}


def _images(object_id: str, *, sized: bool = True) -> list[dict[str, Any]]:
    url = f"https://i.scdn.co/image/ab67616d0000b273{object_id.lower()}"
    if not sized:  # playlist mosaics come without dimensions
        return [{"url": url, "height": None, "width": None}]
    return [{"url": url, "height": 640, "width": 640}, {"url": url + "-300", "height": 300, "width": 300}]


# --------------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 handler; all logic lives in :class:`StandIn`."""

    standin: StandIn
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait for an ACK between
    timeout = 60  # idle keep-alive connections end after a minute
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def _serve(self) -> None:
        try:
            status, payload, headers = self.standin._handle(self)
        except Exception:  # a bug in the stand-in must still produce an answer, and a log line
            logger.exception("stand-in failed on %s %s", self.command, self.path)
            status, payload, headers = 500, ApiError(500, "Stand-in internal error").body(), {}
        if status == DROP_CONNECTION:
            self.close_connection = True  # a lost answer: no status line, the client sees the connection end
            return
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s %s", self.address_string(), format % args)
