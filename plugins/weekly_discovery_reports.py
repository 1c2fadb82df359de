"""Airflow UI plugin: the weekly library reports, listed by date and served to signed-in users.

Mounts a small FastAPI app on the api-server under ``/weekly-discovery`` and adds *Browse > Library
reports* to the UI's navigation (an ``external_views`` entry, shown in an iframe at
``/plugin/library-reports``). Routes (all need a signed-in Airflow user)::

    GET /weekly-discovery/                          the list of reports, newest first
    GET /weekly-discovery/reports/latest            redirect to the newest report
    GET /weekly-discovery/reports/<YYYY-MM-DD>/     one report's index.html
    GET /weekly-discovery/reports/<YYYY-MM-DD>/report.json   its numbers
    GET /weekly-discovery/api/reports               the list as JSON

**Who may see them.** The request must carry an Airflow JWT, as the core REST API does: an
``Authorization: Bearer`` header, else the UI's ``_token`` cookie. It is validated by Airflow's own
auth manager (``get_user_from_token``: signature, expiry, revocation), and the user must be allowed to
read the ``library_report`` DAG. A browser without a valid session is redirected to the login page;
an API client gets 401 (no or expired token) or 403 (invalid token, or no access).

**Which files.** The lake is resolved on every request, by the pipeline's own rules
(``$WEEKLY_DISCOVERY_LAKE``, else the config file of ``$WEEKLY_DISCOVERY_CONFIG`` or the Airflow Variable
``weekly_discovery_config``). A date must be ``YYYY-MM-DD``; the resolved path must stay inside
``reports/library`` (no ``..``, no symlink out). Pages are sent with a Content-Security-Policy that
allows no scripts at all and sandboxes them (no forms, no redirect by ``<meta http-equiv="refresh">``).

Imports of Airflow's API internals and of the pipeline happen inside requests, so loading the plugin
(in every Airflow process) stays cheap.
"""

from __future__ import annotations

import html
import logging
from typing import Any
from urllib.parse import urlsplit

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

log = logging.getLogger(__name__)

URL_PREFIX = "/weekly-discovery"  # also weekly_discovery.report.paths.UI_PREFIX
URL_ROUTE = "library-reports"
REPORT_DAG_ID = "library_report"
COOKIE = "_token"  # airflow.api_fastapi.auth.managers.base_auth_manager.COOKIE_NAME_JWT_TOKEN
SECURITY_HEADERS = {
    # sandbox: no scripts, forms, top navigation or <meta http-equiv="refresh"> (a lake writer could send the
    # view elsewhere with one). allow-same-origin (harmless without scripts): in an opaque origin the links
    # in the UI's iframe lose the session cookie; allow-popups*: the "new tab" and Spotify links.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; "
                               "sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _api_root() -> str:
    """The path of ``[api] base_url`` (empty when Airflow is served at /)."""
    try:
        from airflow.configuration import conf

        return urlsplit(conf.get("api", "base_url", fallback="") or "/").path.rstrip("/")
    except Exception:  # noqa: BLE001 - plugin loading must not fail over this
        return ""


class Refused(Exception):
    """The request may not see reports: ``status`` 401 or 403, ``reason`` said to the client."""

    def __init__(self, status: int, reason: str, *, login: bool = True):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.login = login  # a browser is sent to the login page (no point for a signed-in user without access)


app = FastAPI(title="Weekly Discovery library reports", docs_url=None, redoc_url=None, openapi_url=None)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and "authorization" not in request.headers


@app.exception_handler(Refused)
async def _refused(request: Request, exc: Refused) -> Response:
    if exc.login and _wants_html(request):
        try:
            from airflow.api_fastapi.app import get_auth_manager

            return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)), status_code=303)
        except Exception:  # noqa: BLE001 - no auth manager (not in the api-server): plain refusal below
            log.debug("no login URL available", exc_info=True)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
    return JSONResponse({"detail": exc.reason}, status_code=exc.status, headers={**SECURITY_HEADERS, **headers})


def _token(request: Request) -> str | None:
    """The explicit ``Authorization: Bearer`` credential wins over the session cookie (as in the core API)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.cookies.get(COOKIE) or None


async def check_token(token: str) -> Any:
    """The Airflow user of a JWT, if the auth manager accepts it and the user may read the report DAG."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
    from jwt import ExpiredSignatureError, InvalidTokenError

    manager = get_auth_manager()
    try:
        user = await manager.get_user_from_token(token)
    except ExpiredSignatureError:
        raise Refused(401, "Token expired: sign in to Airflow again") from None
    except InvalidTokenError:
        raise Refused(403, "Invalid token") from None
    if not manager.is_authorized_dag(method="GET", details=DagDetails(id=REPORT_DAG_ID), user=user):
        raise Refused(403, f"You may not read the {REPORT_DAG_ID} DAG, so not its reports", login=False)
    return user


async def signed_in_user(request: Request) -> Any:
    """FastAPI dependency: the signed-in Airflow user, or :class:`Refused`."""
    token = _token(request)
    if not token:
        raise Refused(401, "Not authenticated: sign in to Airflow")
    return await check_token(token)


def _lake():
    from weekly_discovery.report.paths import resolve_lake

    def variable(key: str) -> str | None:
        try:
            from airflow.models import Variable

            return Variable.get(key, default_var=None)
        except Exception:  # noqa: BLE001 - no Variable means "not configured", said below
            return None

    return resolve_lake(variable_getter=variable)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    css = ("body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1e1e1e}"
           "header{background:#121212;color:#fff;padding:16px 28px}h1{margin:0;font-size:21px}"
           "main{max-width:900px;margin:0 auto;padding:16px 24px}table{border-collapse:collapse;background:#fff}"
           "th,td{padding:7px 14px;border-bottom:1px solid #e3e5e8;text-align:left}th{background:#f0f1f3}"
           "a{color:#0b6bcb}.tag{background:#1db954;color:#fff;border-radius:8px;padding:1px 7px;font-size:12px}"
           ".msg{background:#fff;border:1px solid #e3e5e8;border-radius:8px;padding:12px 16px}")
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{css}</style></head>'
            f"<body><header><h1>{html.escape(title)}</h1></header><main>{body}</main></body></html>")
    return HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)


def _not_configured(exc: Exception) -> HTMLResponse:
    return _page("Library reports", f'<p class="msg">{html.escape(str(exc))}</p>', status=503)


def _reports(lake) -> list[dict[str, Any]]:
    from weekly_discovery.lake import read_json
    from weekly_discovery.report.paths import REPORT_JSON, describe, list_reports, read_latest, report_dir

    latest = read_latest(lake)
    out = []
    for ds in list_reports(lake):
        try:
            summary = describe(read_json(report_dir(lake, ds) / REPORT_JSON))
        except (OSError, ValueError):
            summary = ""
        out.append({"ds": ds, "latest": ds == latest, "summary": summary})
    return out


@app.get("/", response_class=HTMLResponse, name="report_list")
def report_list(request: Request, user: Any = Depends(signed_in_user)) -> Response:
    from weekly_discovery.settings.config import ConfigError

    try:
        lake = _lake()
    except ConfigError as exc:
        return _not_configured(exc)
    reports = _reports(lake)
    if not reports:
        body = ('<p class="msg">No report yet. The <code>library_report</code> DAG writes one after each enrichment '
                "(or trigger it by hand).</p>")
    else:
        rows = "".join(
            f'<tr><td><a href="reports/{r["ds"]}/">{r["ds"]}</a>'
            + (' <span class="tag">latest</span>' if r["latest"] else "")
            + f'</td><td>{html.escape(r["summary"])}</td><td><a href="reports/{r["ds"]}/" target="_blank" '
              'rel="noopener">open in a new tab</a></td></tr>'
            for r in reports)
        body = (f"<p>{len(reports)} report(s), newest first.</p><table><thead><tr><th>week of</th><th>library</th>"
                f"<th></th></tr></thead><tbody>{rows}</tbody></table>")
    return _page("Library reports", body)


@app.get("/api/reports", name="report_list_json")
def report_list_json(user: Any = Depends(signed_in_user)) -> Response:
    from weekly_discovery.settings.config import ConfigError

    try:
        lake = _lake()
    except ConfigError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers=SECURITY_HEADERS)
    reports = [{**r, "url": f"{_api_root()}{URL_PREFIX}/reports/{r['ds']}/"} for r in _reports(lake)]
    return JSONResponse({"reports": reports}, headers=SECURITY_HEADERS)


@app.get("/reports/latest", name="latest_report")
@app.get("/reports/latest/", include_in_schema=False)
def latest_report(request: Request, user: Any = Depends(signed_in_user)) -> Response:
    from weekly_discovery.report.paths import read_latest
    from weekly_discovery.settings.config import ConfigError

    try:
        ds = read_latest(_lake())
    except ConfigError as exc:
        return _not_configured(exc)
    if ds is None:
        return _page("Library reports", '<p class="msg">No report yet.</p>', status=404)
    return RedirectResponse(str(request.url_for("report_page", ds=ds)), status_code=307)


def _report_response(ds: str, name: str) -> Response:
    from weekly_discovery.lake import LakeError
    from weekly_discovery.report.paths import report_file
    from weekly_discovery.settings.config import ConfigError

    try:
        lake = _lake()
    except ConfigError as exc:
        return _not_configured(exc)
    try:
        path = report_file(lake, ds, name)
    except LakeError:
        return _page("Not found", '<p class="msg">No such report: dates look like 2026-11-23.</p>', status=404)
    if not path.is_file():
        return _page("Not found", f'<p class="msg">No report for {html.escape(ds)}.</p>', status=404)
    body = path.read_bytes()
    media = "text/html; charset=utf-8" if name.endswith(".html") else "application/json"
    return Response(body, media_type=media, headers=SECURITY_HEADERS)


@app.get("/reports/{ds}", include_in_schema=False)
def report_without_slash(ds: str, request: Request, user: Any = Depends(signed_in_user)) -> Response:
    return RedirectResponse(str(request.url_for("report_page", ds=ds)), status_code=307)


@app.get("/reports/{ds}/", name="report_page")
def report_page(ds: str, user: Any = Depends(signed_in_user)) -> Response:
    return _report_response(ds, "index.html")


@app.get("/reports/{ds}/report.json", name="report_json")
def report_json(ds: str, user: Any = Depends(signed_in_user)) -> Response:
    return _report_response(ds, "report.json")


class WeeklyDiscoveryReportsPlugin(AirflowPlugin):
    name = "weekly_discovery_reports"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Weekly Discovery library reports"}]
    external_views = [{
        "name": "Library reports",
        "href": f"{_api_root()}{URL_PREFIX}/",
        "destination": "nav",
        "category": "browse",
        "url_route": URL_ROUTE,
    }]
