"""The UI plugin's FastAPI app in-process, with a stand-in auth manager (the real one is exercised
against a running api-server in tests/ui): who is refused, which paths are refused, what is served."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from jwt import ExpiredSignatureError, InvalidTokenError

import weekly_discovery_reports  # plugins/, on sys.path as Airflow puts it there (tests/conftest.py)
from tests.report.conftest import make_report, write_report
from weekly_discovery.report.render import render_report

DS = "2026-11-23"


class FakeAuthManager:
    """Accepts the token "good" (a reader) and "blind" (a user who may not read the DAG)."""

    async def get_user_from_token(self, token):
        if token in ("good", "blind"):
            return token
        if token == "expired":
            raise ExpiredSignatureError("expired")
        raise InvalidTokenError("bad signature")

    def is_authorized_dag(self, *, method, user, access_entity=None, details=None):
        assert method == "GET" and details.id == "library_report"
        return user == "good"

    def get_url_login(self, **kwargs):
        return "/auth/login?next=" + kwargs.get("next_url", "")


@pytest.fixture
def client(lake, monkeypatch):
    import airflow.api_fastapi.app as api_app

    monkeypatch.setattr(api_app, "get_auth_manager", lambda: FakeAuthManager())
    monkeypatch.setenv("WEEKLY_DISCOVERY_LAKE", lake.root)
    write_report(lake, make_report(DS))
    render_report(lake, DS)
    return TestClient(weekly_discovery_reports.app)


GOOD = {"Authorization": "Bearer good"}


@pytest.mark.parametrize("path", ["/", "/api/reports", f"/reports/{DS}/", f"/reports/{DS}/report.json",
                                  "/reports/latest"])
def test_unauthenticated_requests_are_refused(client, path):
    response = client.get(path, headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert "<svg" not in response.text


def test_bad_expired_and_unauthorised_tokens(client):
    assert client.get(f"/reports/{DS}/", headers={"Authorization": "Bearer forged"}).status_code == 403
    assert client.get(f"/reports/{DS}/", headers={"Authorization": "Bearer expired"}).status_code == 401
    assert client.get(f"/reports/{DS}/", cookies={"_token": "forged"},
                      headers={"Accept": "application/json"}).status_code == 403
    assert client.get(f"/reports/{DS}/", headers={"Authorization": "Bearer blind"}).status_code == 403


def test_a_browser_without_a_session_goes_to_the_login_page(client):
    response = client.get(f"/reports/{DS}/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/login?next=")


def test_signed_in_user_gets_the_report_by_header_or_cookie(client):
    for kwargs in ({"headers": GOOD}, {"cookies": {"_token": "good"}}):
        response = client.get(f"/reports/{DS}/", **kwargs)
        assert response.status_code == 200
        assert '<section id="correlation">' in response.text
        assert "script-src" not in response.headers["content-security-policy"]  # default-src 'none': no scripts
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert client.get(f"/reports/{DS}/report.json", headers=GOOD).json()["ds"] == DS
    listing = client.get("/api/reports", headers=GOOD).json()["reports"]
    assert listing == [{"ds": DS, "latest": True, "summary": "150 tracks, 140 with features",
                        "url": f"/weekly-discovery/reports/{DS}/"}]
    page = client.get("/", headers=GOOD)
    assert f'href="reports/{DS}/"' in page.text
    latest = client.get("/reports/latest", headers=GOOD, follow_redirects=False)
    assert latest.status_code == 307 and latest.headers["location"].endswith(f"/reports/{DS}/")


@pytest.mark.parametrize("path", [
    "/reports/../../../etc/passwd",
    "/reports/..%2F..%2F..%2Fetc%2Fpasswd/",
    "/reports/%2E%2E/",
    "/reports/2026-11-23%2F..%2F..%2Fraw/",
    "/reports/2026-13-45/",
    "/reports/2026-11-24/",  # a valid date without a report
    f"/reports/{DS}/_metrics.json",
])
def test_paths_outside_the_reports_are_refused(client, path):
    response = client.get(path, headers=GOOD)
    assert response.status_code == 404
    assert "root:" not in response.text


def test_not_configured_says_what_to_set(client, monkeypatch):
    monkeypatch.delenv("WEEKLY_DISCOVERY_LAKE")
    monkeypatch.delenv("WEEKLY_DISCOVERY_CONFIG", raising=False)
    response = client.get("/", headers=GOOD)
    assert response.status_code == 503
    assert "WEEKLY_DISCOVERY_LAKE" in response.text


def test_plugin_declares_the_app_and_the_nav_entry():
    plugin = weekly_discovery_reports.WeeklyDiscoveryReportsPlugin
    assert plugin.fastapi_apps[0]["url_prefix"] == "/weekly-discovery"
    view = plugin.external_views[0]
    assert view["destination"] == "nav" and view["href"] == "/weekly-discovery/"
    assert view["url_route"] == "library-reports"
