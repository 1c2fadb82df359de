"""Defect 8: a report page must not be able to send the report view elsewhere.

A lake writer can put ``<meta http-equiv="refresh" content="0; url=...">`` in a report's index.html; the
CSP blocked scripts and forms but not that navigation. With ``sandbox`` (and no ``allow-scripts``) the
browser ignores the refresh; ``allow-popups`` keeps the report's "open in a new tab"/Spotify links.
"""

from __future__ import annotations

from tests.report.test_plugin import DS, GOOD, client  # noqa: F401 - client is a fixture
from weekly_discovery.report.paths import report_file

REFRESH = '<!doctype html><meta http-equiv="refresh" content="0; url=https://evil.example/">'


def sandbox_of(response) -> list[str]:
    """The sandbox directive's tokens (``[]`` for a bare ``sandbox``), or fail when there is none."""
    directives = [d.split() for d in response.headers["content-security-policy"].split(";")]
    sandbox = [d for d in directives if d and d[0] == "sandbox"]
    assert sandbox, response.headers["content-security-policy"]
    return sandbox[0][1:]


def test_a_report_with_a_meta_refresh_is_served_sandboxed(client, lake):  # noqa: F811
    report_file(lake, DS, "index.html").write_text(REFRESH)

    response = client.get(f"/reports/{DS}/", headers=GOOD)

    assert response.status_code == 200 and 'http-equiv="refresh"' in response.text
    # no allow-scripts: what makes the browser ignore the meta refresh; no allow-top-navigation, no allow-forms.
    # Same origin keeps the session cookie on the links inside the UI's iframe; popups open the new-tab links.
    assert sorted(sandbox_of(response)) == ["allow-popups", "allow-popups-to-escape-sandbox", "allow-same-origin"]
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_every_plugin_page_is_sandboxed(client):  # noqa: F811
    for path in ("/", f"/reports/{DS}/report.json", "/reports/2026-11-24/", "/api/reports"):
        assert "allow-scripts" not in sandbox_of(client.get(path, headers=GOOD)), path
