"""A real browser opens the library report through the Airflow UI plugin on a running api-server.

Starts ``airflow api-server`` (simple auth manager with one user, ``admin``, and its password) on a free
port with a fresh AIRFLOW_HOME and this repo's plugins folder, writes two rendered reports into a lake,
and then:

- over HTTP: the plugin refuses requests without a token (401, or a redirect to the login page for a
  browser), with a forged one (403), and paths that try to leave the reports folder (404); it serves
  the report with a JWT from ``/auth/token``; ``/api/v2/plugins`` lists the app and the nav entry;
- in Debian's chromium (selenium, headless): asks for the report, is sent to Airflow's login page, signs
  in there, opens *Browse > Library reports* at ``/plugin/library-reports``, follows the link in the iframe to
  the report, checks every section and its SVG charts, the absence of console errors, and saves
  screenshots to ``test-artifacts/`` (report-list.png: the list in the Airflow UI; report.png: the report
  inside the Airflow UI; report-page.png: the whole page on its own).

The api-server is stopped in the fixture's teardown, also when a test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.report.conftest import (
    EVIL,
    make_report,
    write_library,
    write_model_outputs,
    write_picks,
    write_report,
)
from tests.ui.conftest import sign_in
from tests.util.processes import free_port
from weekly_discovery.lake.layout import Lake
from weekly_discovery.report.render import render_report

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
DS, OLDER = "2026-11-23", "2026-11-16"
PASSWORD = "ui-test-password-4711"
SECTIONS = ["feature-ranges", "top-artists", "correlation", "coverage", "model", "picks", "reaction"]


def _lower(headers) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


class Http:
    """Tiny urllib client: (status, lower-cased headers, body), redirects not followed."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(self._NoRedirect)

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, str]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, _lower(response.headers), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, _lower(exc.headers), exc.read().decode()


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Lake:
    lake = Lake(str(tmp_path_factory.mktemp("ui") / "lake"))
    write_report(lake, make_report(OLDER, label="Plain playlist"))
    render_report(lake, OLDER)
    write_report(lake, make_report(DS))
    write_model_outputs(lake, DS)
    # last week's picks, one of them saved since; this week's, one named like an attack
    write_picks(lake, OLDER, [(1, "a" * 22, "Kept", ["Ann"], "reccobeats", 0.9, "ReccoBeats, from X"),
                              (2, "b" * 22, "Skipped", ["Bo"], "artists", 0.8, "new from Bo")])
    write_picks(lake, DS, [(1, "T" * 22, EVIL, [EVIL], "catalog", 0.87, f"from your catalogue; close to {EVIL}")])
    write_library(lake, DS, [("a" * 22, "liked", "saved_tracks")])
    render_report(lake, DS)
    return lake


@pytest.fixture(scope="module")
def api_server(lake, tmp_path_factory):
    """``airflow api-server`` on 127.0.0.1:<free port>; yields its base URL; always stopped."""
    home = Path(tempfile.mkdtemp(prefix="wd-ui-airflow-"))
    dags = home / "dags"
    dags.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        # not "all admins": that mode signs every request in (a middleware adds an admin token), so
        # nothing could be refused
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}/",
        "AIRFLOW__API_AUTH__JWT_SECRET": "weekly-discovery-ui-test-secret-0123456789",
        "WEEKLY_DISCOVERY_LAKE": lake.root,
    }
    env.pop("WEEKLY_DISCOVERY_CONFIG", None)
    (home / "passwords.json").write_text(json.dumps({"admin": PASSWORD}))
    airflow = str(Path(sys.executable).parent / "airflow")
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
    log_path = home / "api-server.log"
    log = open(log_path, "w")
    process = subprocess.Popen([airflow, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                               env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"api-server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(base + "/api/v2/monitor/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"api-server not healthy after 180 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(1)
        yield base
    finally:
        _stop(process)
        log.close()
        if os.environ.get("KEEP_UI_TEST_HOME"):
            print(f"api-server home kept at {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the api-server's process group (uvicorn and its worker), then SIGKILL what is left."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def token(api_server) -> str:
    request = urllib.request.Request(api_server + "/auth/token", method="POST",
                                     data=json.dumps({"username": "admin", "password": PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access_token"]


# ------------------------------------------------------------------------------------------------
# HTTP
# ------------------------------------------------------------------------------------------------


def test_unauthenticated_and_forged_requests_are_refused(api_server):
    http = Http(api_server)
    report = f"/weekly-discovery/reports/{DS}/"
    for path in ("/weekly-discovery/", report, f"{report}report.json", "/weekly-discovery/api/reports"):
        status, _, body = http.get(path, {"Accept": "application/json"})
        assert status == 401, (path, status, body[:300])
        assert "<svg" not in body
    status, headers, _ = http.get(report, {"Accept": "text/html"})
    assert status == 303 and "/auth/login?next=" in headers["location"]  # a browser goes to the login page
    status, _, _ = http.get(report, {"Authorization": "Bearer not.a.jwt", "Accept": "application/json"})
    assert status == 403
    forged = "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl"
    status, _, _ = http.get(report, {"Cookie": f"_token={forged}", "Accept": "application/json"})
    assert status == 403


def test_signed_in_requests_get_the_report_and_no_path_escapes(api_server, token):
    http = Http(api_server)
    auth = {"Authorization": f"Bearer {token}"}
    status, headers, body = http.get(f"/weekly-discovery/reports/{DS}/", auth)
    assert status == 200, body[:500]
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert EVIL not in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    for path in ("/weekly-discovery/reports/..%2F..%2F..%2Fetc%2Fpasswd/",
                 "/weekly-discovery/reports/%2e%2e/%2e%2e/raw/",
                 f"/weekly-discovery/reports/{DS}%2F..%2F..%2F..%2F/",
                 "/weekly-discovery/reports/2026-02-30/"):
        status, _, body = http.get(path, auth)
        assert status == 404, (path, status)
        assert "root:" not in body
    status, _, body = http.get("/weekly-discovery/api/reports", auth)
    assert [r["ds"] for r in json.loads(body)["reports"]] == [DS, OLDER]


def test_the_nav_entry_is_registered(api_server, token):
    status, _, body = Http(api_server).get("/api/v2/plugins", {"Authorization": f"Bearer {token}"})
    assert status == 200, body[:500]
    plugins = {p["name"]: p for p in json.loads(body)["plugins"]}
    plugin = plugins["weekly_discovery_reports"]
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/weekly-discovery"
    view = plugin["external_views"][0]
    assert (view["name"], view["destination"], view["url_route"], view["href"]) == (
        "Library reports", "nav", "library-reports", "/weekly-discovery/")


# ------------------------------------------------------------------------------------------------
# the browser
# ------------------------------------------------------------------------------------------------


def severe(entries: list[dict]) -> list[str]:
    return [e["message"] for e in entries if e.get("level") == "SEVERE"]


def test_browser_opens_the_report_through_the_airflow_ui(api_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    ARTIFACTS.mkdir(exist_ok=True)
    wait = WebDriverWait(browser, 60)
    # not signed in: the report sends the browser to Airflow's login page; sign in there
    browser.get(f"{api_server}/weekly-discovery/reports/{DS}/")
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[name=username]")))
    assert "/auth/login" in browser.current_url
    assert not browser.find_elements(By.ID, "model")
    sign_in(browser, wait, PASSWORD)
    wait.until(ec.presence_of_element_located((By.ID, "model")))  # back on the report, signed in
    assert browser.current_url.endswith(f"/weekly-discovery/reports/{DS}/")
    assert any(c["name"] == "_token" for c in browser.get_cookies()), "login did not set the session cookie"

    # the UI's own page for the plugin: Browse > Library reports
    browser.get(f"{api_server}/plugin/library-reports")
    frame = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "iframe")))
    assert frame.get_attribute("src").endswith("/weekly-discovery/")
    browser.switch_to.frame(frame)
    link = wait.until(ec.element_to_be_clickable((By.LINK_TEXT, DS)))
    assert browser.find_element(By.LINK_TEXT, OLDER)
    assert "latest" in browser.find_element(By.TAG_NAME, "tbody").text.split("\n")[0]
    browser.switch_to.default_content()
    browser.save_screenshot(str(ARTIFACTS / "report-list.png"))
    browser.switch_to.frame(frame)
    link.click()
    wait.until(ec.presence_of_element_located((By.ID, "model")))
    ui_page = browser.page_source
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    browser.switch_to.default_content()
    time.sleep(1)  # let the UI settle before the picture
    browser.save_screenshot(str(ARTIFACTS / "report.png"))
    ui_errors = [m for m in severe(browser.get_log("browser")) if "weekly-discovery" in m]
    assert ui_errors == []
    assert len(charts) >= 7 + 7 * 3 + 1
    assert "&lt;img src=x onerror=alert(1)&gt;" in ui_page

    # the page on its own, in full, with the console checked from a clean log
    browser.get_log("browser")
    browser.get(f"{api_server}/weekly-discovery/reports/{DS}/")
    wait.until(ec.presence_of_element_located((By.ID, "model")))
    for section in SECTIONS:
        element = browser.find_element(By.ID, section)
        assert element.find_element(By.TAG_NAME, "h2").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#feature-ranges svg.chart.bars")) == 7
    assert len(browser.find_elements(By.CSS_SELECTOR, "#feature-ranges svg.chart.pie path")) > 7 * 3
    assert len(browser.find_elements(By.CSS_SELECTOR, "#correlation svg.heatmap rect.cell")) == 11 * 11
    heat = browser.find_element(By.CSS_SELECTOR, "#correlation svg.heatmap")
    assert heat.size["width"] > 300 and heat.size["height"] > 300  # actually laid out, not collapsed
    assert "energy and loudness: 0.86" in browser.find_element(By.ID, "correlation").text
    assert "12 of 50" in browser.find_element(By.ID, "model").text
    assert "from your catalogue; close to <img src=x onerror=alert(1)>" in browser.find_element(By.ID, "picks").text
    assert "1 of 2 (50%)" in browser.find_element(By.ID, "reaction").text
    trend = browser.find_element(By.CSS_SELECTOR, "#reaction svg.chart.trend")
    assert trend.size["width"] > 300  # laid out
    assert not browser.find_elements(By.CSS_SELECTOR, "main img, main script")  # the payload stayed text
    assert browser.execute_script("return document.scripts.length") == 0
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1440, min(height + 40, 12000))
    browser.save_screenshot(str(ARTIFACTS / "report-page.png"))
    browser.set_window_size(1440, 1000)
    assert severe(browser.get_log("browser")) == []
    browser.find_element(By.LINK_TEXT, "All reports").click()  # back to the plugin's list
    wait.until(ec.presence_of_element_located((By.LINK_TEXT, OLDER)))
    assert browser.current_url.endswith("/weekly-discovery/")
