"""Refuse placeholder and weak secrets before Airflow starts (run first by docker/airflow-init.sh).

Compose's ``${VAR:?}`` only rejects empty values, so ``.env.example`` copied unchanged would start a
stack whose JWT secret is ``change-me-jwt-secret``: anyone reaching the API could mint admin tokens.
Every other Airflow service waits for ``airflow-init`` to succeed, so a refusal here stops them all.

Rules (each names the ``.env`` key and how to make a good value; values are never printed):

- no value may still contain ``change-me`` (any case, ``-``/``_``/nothing between the words);
- ``AIRFLOW_JWT_SECRET`` and ``AIRFLOW_API_SECRET_KEY``: at least 32 characters (``token_hex(32)``
  gives 64): they sign tokens and sessions, so they must not be guessable;
- ``AIRFLOW_FERNET_KEY``: a real Fernet key, i.e. URL-safe base64 of exactly 32 bytes (the same test
  ``cryptography.fernet.Fernet`` applies; done with the standard library because this runs as root,
  whose Python does not see the packages installed for the airflow user);
- ``AIRFLOW_ADMIN_PASSWORD``: at least 12 characters;
- ``POSTGRES_PASSWORD``: at least 16 characters, letters and digits only (it goes into a database URL);
- the Spotify values (read from ``AIRFLOW_CONN_SPOTIFY_DEFAULT``): not placeholders (their format is
  Spotify's to check).

Usage: ``python check-secrets.py`` with the container's environment; exit status 1 on a refusal.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import sys
from typing import Callable, Mapping

KEY_LENGTH = 32
ADMIN_PASSWORD_LENGTH = 12
POSTGRES_PASSWORD_LENGTH = 16
PLACEHOLDER = re.compile(r"change[-_]?me", re.IGNORECASE)

TOKEN_FIX = "generate one with: python3 -c 'import secrets; print(secrets.token_hex(32))'"
FERNET_FIX = ("generate one with: python3 -c 'import base64, os; "
              "print(base64.urlsafe_b64encode(os.urandom(32)).decode())'")
ADMIN_FIX = "e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(16))'"
POSTGRES_FIX = "e.g. python3 -c 'import secrets; print(secrets.token_hex(16))'"
SPOTIFY_FIX = ("use your app's values from developer.spotify.com/dashboard and the refresh token "
               "`make spotify-auth` prints")


def _too_short(minimum: int, fix: str) -> Callable[[str, str], str | None]:
    def rule(key: str, value: str) -> str | None:
        if len(value) < minimum:
            return f"{key} in .env is too short ({len(value)} characters; at least {minimum}): {fix}"
        return None
    return rule


def _fernet_key(key: str, value: str) -> str | None:
    try:
        ok = len(base64.urlsafe_b64decode(value.encode("ascii"))) == 32
    except (binascii.Error, UnicodeEncodeError, ValueError):
        ok = False
    return None if ok else f"{key} in .env is not a Fernet key (URL-safe base64 of 32 random bytes): {FERNET_FIX}"


def _postgres_password(key: str, value: str) -> str | None:
    if not value.isascii() or not value.isalnum():
        return f"{key} in .env must be letters and digits only (it goes into the database URL): {POSTGRES_FIX}"
    return _too_short(POSTGRES_PASSWORD_LENGTH, POSTGRES_FIX)(key, value)


def _spotify_values(env: Mapping[str, str]) -> dict[str, str | None]:
    """The three Spotify values out of the connection JSON Compose built from .env."""
    raw = env.get("AIRFLOW_CONN_SPOTIFY_DEFAULT")
    try:
        conn = json.loads(raw) if raw else {}
        extra = conn.get("extra") or {}
        return {"SPOTIFY_CLIENT_ID": conn.get("login"), "SPOTIFY_CLIENT_SECRET": conn.get("password"),
                "SPOTIFY_REFRESH_TOKEN": extra.get("refresh_token")}
    except (ValueError, AttributeError):
        # a quote or backslash in a value breaks the JSON docker-compose.yml builds
        return {"SPOTIFY_CLIENT_ID": None, "SPOTIFY_CLIENT_SECRET": None, "SPOTIFY_REFRESH_TOKEN": None,
                "_broken": "yes"}


def problems(env: Mapping[str, str]) -> list[str]:
    """One line per refused value, naming its .env key; empty when every value is acceptable."""
    spotify = _spotify_values(env)
    # .env key -> (its value as the container sees it, the rule beyond "no placeholder", the fix)
    checks: dict[str, tuple[str | None, Callable[[str, str], str | None] | None, str]] = {
        "SPOTIFY_CLIENT_ID": (spotify["SPOTIFY_CLIENT_ID"], None, SPOTIFY_FIX),
        "SPOTIFY_CLIENT_SECRET": (spotify["SPOTIFY_CLIENT_SECRET"], None, SPOTIFY_FIX),
        "SPOTIFY_REFRESH_TOKEN": (spotify["SPOTIFY_REFRESH_TOKEN"], None, SPOTIFY_FIX),
        "AIRFLOW_ADMIN_PASSWORD": (env.get("AIRFLOW_ADMIN_PASSWORD"),
                                   _too_short(ADMIN_PASSWORD_LENGTH, ADMIN_FIX), ADMIN_FIX),
        "POSTGRES_PASSWORD": (env.get("POSTGRES_PASSWORD"), _postgres_password, POSTGRES_FIX),
        "AIRFLOW_JWT_SECRET": (env.get("AIRFLOW__API_AUTH__JWT_SECRET"), _too_short(KEY_LENGTH, TOKEN_FIX), TOKEN_FIX),
        "AIRFLOW_API_SECRET_KEY": (env.get("AIRFLOW__API__SECRET_KEY"), _too_short(KEY_LENGTH, TOKEN_FIX), TOKEN_FIX),
        "AIRFLOW_FERNET_KEY": (env.get("AIRFLOW__CORE__FERNET_KEY"), _fernet_key, FERNET_FIX),
    }
    found: list[str] = []
    if spotify.get("_broken"):
        found.append("AIRFLOW_CONN_SPOTIFY_DEFAULT is not valid JSON: a SPOTIFY_* value in .env holds a quote "
                     "or a backslash; " + SPOTIFY_FIX)
    for key, (value, rule, fix) in checks.items():
        if spotify.get("_broken") and key.startswith("SPOTIFY_"):
            continue
        if not value:
            found.append(f"{key} in .env is not set: {fix}")
        elif PLACEHOLDER.search(value):
            found.append(f'{key} in .env is still a placeholder (a "change-me" value from .env.example): {fix}')
        elif rule is not None and (problem := rule(key, value)):
            found.append(problem)
    return found


def main() -> int:
    found = problems(os.environ)
    if not found:
        return 0
    print("airflow-init: refusing to start Airflow with these values from .env:", file=sys.stderr)
    for line in found:
        print(f"  - {line}", file=sys.stderr)
    print("Fix .env (see .env.example), then run `docker compose up -d` again.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
