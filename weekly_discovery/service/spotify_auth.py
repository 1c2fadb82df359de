"""``make spotify-auth``: authorize your Spotify account and store the connection ``make run`` uses.

    python -m weekly_discovery.service.spotify_auth --client-id ID   # the secret is asked for (or $SPOTIFY_CLIENT_SECRET)

Runs the consent flow (:func:`weekly_discovery.spotify.authorize.authorize`) and stores the Airflow connection
``spotify_default`` (client id, secret, refresh token, and ``authorized_at``: when consent was given) in the run
home's credential store, ``<home>/secrets/connections.json`` (0600; :mod:`weekly_discovery.service.home`).
Running it again replaces the connection (a refresh token expires six months after consent). Nothing secret
is printed; ``--print-export`` prints the ``export AIRFLOW_CONN_SPOTIFY_DEFAULT=...`` line instead of storing,
for those who keep connections in environment variables.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import UTC, datetime

from weekly_discovery.service.home import resolve_home, store_connection
from weekly_discovery.spotify.authorize import (
    DEFAULT_CONNECTION_ID,
    DEFAULT_PORT,
    TOKEN_LIFETIME,
    AuthorizationFailed,
    authorize,
)
from weekly_discovery.spotify.credentials import DEFAULT_API_BASE_URL, DEFAULT_AUTHORIZE_URL, DEFAULT_TOKEN_URL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make spotify-auth", description=__doc__.split("\n\n")[0])
    parser.add_argument("--client-id", default=os.environ.get("SPOTIFY_CLIENT_ID"),
                        help="your app's client id (or $SPOTIFY_CLIENT_ID)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="loopback port of the redirect URI")
    parser.add_argument("--no-browser", action="store_true", help="only print the address to open")
    parser.add_argument("--connection-id", default=DEFAULT_CONNECTION_ID,
                        help="the Airflow connection to store (the config's [spotify] connection_id)")
    parser.add_argument("--print-export", action="store_true",
                        help="print an `export AIRFLOW_CONN_...` line (it holds the secret and the token) instead "
                             "of storing the connection in the run home")
    parser.add_argument("--authorize-url", default=DEFAULT_AUTHORIZE_URL, help=argparse.SUPPRESS)
    parser.add_argument("--token-url", default=DEFAULT_TOKEN_URL, help=argparse.SUPPRESS)
    parser.add_argument("--api-base-url", default=DEFAULT_API_BASE_URL, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.client_id:
        parser.error("no client id: pass --client-id or set SPOTIFY_CLIENT_ID "
                     "(create an app on developer.spotify.com/dashboard first)")
    client_secret = os.environ.get("SPOTIFY_CLIENT_SECRET") or getpass.getpass("Client secret: ")
    try:
        credentials = authorize(
            args.client_id, client_secret, port=args.port, authorize_url=args.authorize_url,
            token_url=args.token_url, api_base_url=args.api_base_url, open_browser=not args.no_browser,
            announce=lambda text: print(text, file=sys.stderr),
        )
    except AuthorizationFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.print_export:
        env_name = "AIRFLOW_CONN_" + args.connection_id.upper()
        print("Authorized. Store this connection (it holds secrets; keep it out of logs and the repo):", file=sys.stderr)
        print(f"export {env_name}='{credentials.connection_uri_json()}'")
        return 0
    now = datetime.now(UTC).replace(microsecond=0)
    store = resolve_home().connections_file
    store_connection(store, args.connection_id, credentials.connection_fields(authorized_at=now.isoformat()))
    print(f"Authorized. Stored the connection {args.connection_id} in {store} (readable only by you); "
          "`make run` uses it.")
    print(f"Spotify refresh tokens expire six months after consent: run `make spotify-auth` again before "
          f"{(now + TOKEN_LIFETIME).date().isoformat()} (`make status` reminds you).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
