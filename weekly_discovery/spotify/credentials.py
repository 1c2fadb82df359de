"""Spotify credentials as stored in an Airflow connection (default id ``spotify_default``).

login = client id, password = client secret, extra = {"refresh_token", "api_base_url"?, "token_url"?,
"authorized_at"?}. The optional URLs point the pipeline at a proxy or at the local stand-in used by tests and the
demo; ``authorized_at`` (ISO 8601) is when consent was given: Spotify's refresh tokens expire six months later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from weekly_discovery.core.errors import UserError

DEFAULT_API_BASE_URL = "https://api.spotify.com/v1/"
DEFAULT_TOKEN_URL = "https://accounts.spotify.com/api/token"
DEFAULT_AUTHORIZE_URL = "https://accounts.spotify.com/authorize"


class CredentialsError(UserError, ValueError):
    """The connection lacks a field; the message names the field and how to set it."""


@dataclass(frozen=True)
class SpotifyCredentials:
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    api_base_url: str = DEFAULT_API_BASE_URL
    token_url: str = DEFAULT_TOKEN_URL

    @classmethod
    def from_connection_fields(
        cls, conn_id: str, login: str | None, password: str | None, extra: str | dict[str, Any] | None
    ) -> "SpotifyCredentials":
        if isinstance(extra, str):
            try:
                extra = json.loads(extra) if extra.strip() else {}
            except json.JSONDecodeError:
                raise CredentialsError(f"connection {conn_id!r}: extra is not valid JSON") from None
        extra = extra or {}
        missing = [
            name
            for name, value in (
                ("login (client id)", login),
                ("password (client secret)", password),
                ('extra "refresh_token"', extra.get("refresh_token")),
            )
            if not value
        ]
        if missing:
            raise CredentialsError(
                f"Airflow connection {conn_id!r} lacks {', '.join(missing)}. Run `make spotify-auth`: it stores "
                "the connection for `make run` (README, 'Use it with your Spotify account')."
            )
        api_base_url = extra.get("api_base_url") or DEFAULT_API_BASE_URL
        if not api_base_url.endswith("/"):
            api_base_url += "/"
        return cls(
            client_id=login,
            client_secret=password,
            refresh_token=extra["refresh_token"],
            api_base_url=api_base_url,
            token_url=extra.get("token_url") or DEFAULT_TOKEN_URL,
        )

    def connection_fields(self, authorized_at: str | None = None) -> dict[str, Any]:
        """The Airflow connection as a dict (``extra`` as a JSON string), as Airflow's local-filesystem
        secrets backend reads it; ``authorized_at``: when consent was given (contains secrets: never log)."""
        extra: dict[str, str] = {"refresh_token": self.refresh_token}
        if self.api_base_url != DEFAULT_API_BASE_URL:
            extra["api_base_url"] = self.api_base_url
        if self.token_url != DEFAULT_TOKEN_URL:
            extra["token_url"] = self.token_url
        if authorized_at:
            extra["authorized_at"] = authorized_at
        return {"conn_type": "generic", "login": self.client_id, "password": self.client_secret,
                "extra": json.dumps(extra)}

    def connection_uri_json(self) -> str:
        """The JSON form Airflow accepts in ``AIRFLOW_CONN_<ID>`` (contains secrets: print, never log)."""
        fields = self.connection_fields()
        return json.dumps(fields | {"extra": json.loads(fields["extra"])})
