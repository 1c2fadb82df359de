"""``make ui`` in a real browser: trigger the chain in the Airflow UI, read a task's log and the report, stop.

Starts ``python -m devtools.ui`` (what ``make ui`` runs) on a fresh home and a free port, reads the address
and the generated password it prints, and in Debian's chromium (selenium, headless):

- signs in, opens ``spotify_ingest`` and presses *Trigger*, then *Trigger* in the dialog (its "Unpause on
  trigger" box left ticked, as a person leaves it);
- waits, over the REST API v2 with a JWT from ``/auth/token``, until ``weekly_recommendations`` has succeeded
  on an asset event (the chain went ingest -> discover -> enrich -> weekly through the Assets);
- opens the ``extract`` task of the ingest run in the UI and finds its progress lines in the Logs tab;
- opens *Browse > Library reports*, the week's report, and checks "This week's picks" with a reason per pick;
- sends SIGINT (Ctrl-C) and checks that the command ends and nothing it started still runs or listens.

Screenshots go to ``test-artifacts/make-ui-*.png``. The trigger runs one chain: ``make ui`` starts the weekly
schedule at its own start (``WEEKLY_DISCOVERY_START_DATE``), so unpausing ``spotify_ingest`` schedules next
Monday and not last Monday's slot as well; the test checks that no scheduled run appeared.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil
import pytest

from tests.ui.conftest import sign_in
from tests.util.processes import free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
DAGS = ("spotify_ingest", "spotify_discover", "spotify_enrich", "library_report", "weekly_recommendations")
START_TIMEOUT = 300
CHAIN_TIMEOUT = 30 * 60  # the whole chain on a shared 2-core machine
STOP_TIMEOUT = 90
POLL = 2  # seconds between REST polls: one cheap request
TOKEN_AGE = 300  # seconds a JWT is reused for (Airflow's expire after a day by default)


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class MakeUi:
    process: subprocess.Popen
    output: Path
    home: Path
    base: str
    password: str
    standin_port: int

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def call(self, method: str, path: str, body=None, token: str | None = None, raw: bool = False):
        request = urllib.request.Request(self.base + path, method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json", "Accept": "application/json",
                                                  **({"Authorization": f"Bearer {token}"} if token else {})})
        with urllib.request.urlopen(request, timeout=30) as response:
            data = response.read().decode()
        return data if raw else json.loads(data)

    def token(self) -> str:
        return self.call("POST", "/auth/token", {"username": "admin", "password": self.password})["access_token"]

    def descendants(self) -> set[tuple[int, float]]:
        """(pid, start time) of every process below the command now."""
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return set()
        found = set()
        for child in children:
            try:
                found.add((child.pid, child.create_time()))
            except psutil.NoSuchProcess:
                pass
        return found


def listening_ports(processes: set[tuple[int, float]]) -> set[int]:
    ports = set()
    for pid, _ in processes:
        try:
            for conn in psutil.Process(pid).net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    ports.add(conn.laddr.port)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return ports


def alive(processes: set[tuple[int, float]]) -> list[str]:
    left = []
    for pid, started in processes:
        try:
            process = psutil.Process(pid)
            if process.create_time() == started and process.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{pid} {' '.join(process.cmdline())[:200]}")
        except psutil.NoSuchProcess:
            pass
    return left


def with_home(airflow_home: Path) -> list[str]:
    """Processes whose environment holds this AIRFLOW_HOME (task processes that left their group)."""
    found = []
    for process in psutil.process_iter(["pid"]):
        try:
            if process.pid != os.getpid() and process.environ().get("AIRFLOW_HOME") == str(airflow_home):
                found.append(f"{process.pid} {' '.join(process.cmdline())[:200]}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found


@pytest.fixture
def make_ui(tmp_path):
    home, port = tmp_path / "demo", free_port()
    output = tmp_path / "make-ui.out"
    with output.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "devtools.ui", "--home", str(home), "--port", str(port)],
                                   cwd=REPO, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "Ctrl-C stops everything." not in output.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"make ui did not come up (exit {process.poll()}):\n{output.read_text()[-5000:]}")
            time.sleep(1)
        text = output.read_text()
        base = re.search(r"Airflow UI: (http://\S+?)/?$", text, re.M).group(1)
        password = re.search(r"sign in as admin with password (\S+)", text).group(1)
        standin_port = int(re.search(r"stand-in at http://127\.0\.0\.1:(\d+)", text).group(1))
        yield MakeUi(process, output, home, base, password, standin_port)
    finally:
        if process.poll() is None:  # the test failed before its own Ctrl-C
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        print(output.read_text(errors="replace")[-3000:])


def runs(ui: MakeUi, token: str, dag_id: str) -> list[dict]:
    return ui.call("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=run_after", token=token)["dag_runs"]


def failed_logs(ui: MakeUi, token: str, dag_id: str, run_id: str) -> str:
    out = []
    tis = ui.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", token=token)["task_instances"]
    for ti in tis:
        if ti["state"] not in ("success", "skipped") and ti.get("try_number"):
            log = ui.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/"
                                 f"{ti['try_number']}?full_content=true", token=token)
            content = log.get("content")
            lines = [str(e.get("event", e)) if isinstance(e, dict) else str(e)
                     for e in (content if isinstance(content, list) else [content])]
            out.append(f"--- {dag_id}.{ti['task_id']} ({ti['state']}) ---\n" + "\n".join(lines[-60:]))
    return "\n".join(out)


def test_make_ui_runs_the_chain_from_the_trigger_button_and_stops_cleanly(make_ui, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    ui = make_ui
    ARTIFACTS.mkdir(exist_ok=True)
    wait = WebDriverWait(browser, 90)
    seen = ui.descendants()
    token = ui.token()
    assert {dag: runs(ui, token, dag) for dag in DAGS} == {dag: [] for dag in DAGS}  # a fresh home: no runs
    dags = {d["dag_id"]: d for d in ui.call("GET", "/api/v2/dags?limit=100", token=token)["dags"]}
    assert {dag: dags[dag]["is_paused"] for dag in DAGS} == {
        "spotify_ingest": True, "spotify_discover": False, "spotify_enrich": False, "library_report": False,
        "weekly_recommendations": False}

    # sign in, open the ingest DAG and trigger it as a person does
    browser.get(f"{ui.base}/dags/spotify_ingest")
    sign_in(browser, wait, ui.password)
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid=trigger-dag-button]"))).click()
    wait.until(ec.presence_of_element_located((By.XPATH, "//*[contains(text(), 'Unpause spotify_ingest on trigger')]")))
    time.sleep(1)
    browser.save_screenshot(str(ARTIFACTS / "make-ui-trigger.png"))
    browser.find_elements(By.XPATH, "//button[normalize-space()='Trigger']")[-1].click()  # the dialog's own
    wait.until(ec.presence_of_element_located((By.XPATH, "//*[contains(text(), 'Dag Run Triggered')]")))
    manual = [r for r in runs(ui, token, "spotify_ingest") if r["run_type"] == "manual"]
    assert len(manual) == 1, manual
    browser.save_screenshot(str(ARTIFACTS / "make-ui-triggered.png"))
    # the tab is left, as a person leaves it while the chain runs: the DAG page would re-render on every
    # refresh of its running DAG run (~25 CPU s of chromium and the API server on a 2-core machine)
    browser.get("about:blank")

    # the chain runs through the Assets; fail at once if a run fails
    deadline = time.monotonic() + CHAIN_TIMEOUT
    weekly, token_at = None, time.monotonic()
    while weekly is None:
        if time.monotonic() - token_at > TOKEN_AGE:  # tokens expire: a fresh one now and then
            token, token_at = ui.token(), time.monotonic()
        every = ui.call("GET", "/api/v2/dags/~/dagRuns?limit=100&order_by=run_after", token=token)["dag_runs"]
        for run in every:  # every DAG's runs in one request
            assert run["state"] != "failed", failed_logs(ui, token, run["dag_id"], run["dag_run_id"])
        weekly = next((r for r in every if r["dag_id"] == "weekly_recommendations" and r["state"] == "success"),
                      None)
        seen |= ui.descendants()
        assert ui.process.poll() is None, ui.text()[-3000:]
        assert time.monotonic() < deadline, f"weekly_recommendations did not succeed in {CHAIN_TIMEOUT}s"
        time.sleep(POLL)
    assert weekly["run_type"] == "asset_triggered", weekly
    for dag in ("spotify_discover", "spotify_enrich"):
        assert any(r["state"] == "success" and r["run_type"] == "asset_triggered" for r in runs(ui, token, dag))

    # one press, one chain: the trigger's run only, and the weekly schedule waits for next Monday
    ingest_runs = runs(ui, token, "spotify_ingest")
    assert [(r["run_type"], r["state"]) for r in ingest_runs] == [("manual", "success")], ingest_runs
    ingest = ingest_runs[0]
    details = ui.call("GET", "/api/v2/dags/spotify_ingest", token=token)
    next_run = datetime.fromisoformat(details["next_dagrun_run_after"])
    assert (next_run.weekday(), next_run.hour, next_run.minute) == (0, 6, 0), next_run  # Monday 06:00 UTC
    assert datetime.fromisoformat(ingest["run_after"]) < next_run, (next_run, ingest)
    assert len(runs(ui, token, "weekly_recommendations")) == 1

    # one task's log in the UI: the extract task of the ingest run, with its progress lines
    browser.get(f"{ui.base}/dags/spotify_ingest/runs/{ingest['dag_run_id']}/tasks/extract")
    wait.until(lambda b: re.search(r"saved_tracks: page 1 of \d+, 50 of \d+ items",
                                   b.find_element(By.TAG_NAME, "body").text))
    browser.save_screenshot(str(ARTIFACTS / "make-ui-task-log.png"))

    # the report with this week's picks: the report DAG renders it again on the weekly DAG's event
    def report_with_picks():
        fresh = ui.token()
        listing = ui.call("GET", "/weekly-discovery/api/reports", token=fresh)["reports"]
        for report in listing:
            page = ui.call("GET", f"/weekly-discovery/reports/{report['ds']}/", token=fresh, raw=True)
            if 'class="picks"' in page:
                return report["ds"]
        return None

    ds = None
    while ds is None:
        ds = report_with_picks()
        seen |= ui.descendants()
        assert time.monotonic() < deadline, "no report with the week's picks"
        time.sleep(0 if ds else POLL)

    # Browse > Library reports, then the week's report, inside the Airflow UI
    browser.get(f"{ui.base}/dags")
    wait.until(ec.element_to_be_clickable((By.XPATH, "//button[normalize-space()='Browse']"))).click()
    wait.until(ec.element_to_be_clickable((By.XPATH, "//a[normalize-space()='Library reports']"))).click()
    frame = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "iframe")))
    browser.switch_to.frame(frame)
    wait.until(ec.element_to_be_clickable((By.LINK_TEXT, ds))).click()
    picks = wait.until(ec.presence_of_element_located((By.ID, "picks")))
    assert "This week\u2019s picks" in picks.find_element(By.TAG_NAME, "h2").text
    rows = picks.find_elements(By.CSS_SELECTOR, "table.picks tbody tr")
    assert rows
    reasons = [row.find_element(By.CSS_SELECTOR, "td.reason").text.strip() for row in rows]
    assert all(reasons), reasons
    browser.execute_script("arguments[0].scrollIntoView()", picks)
    browser.switch_to.default_content()
    time.sleep(1)
    browser.save_screenshot(str(ARTIFACTS / "make-ui-report.png"))

    # Ctrl-C: everything it started ends, nothing listens any more
    seen |= ui.descendants()
    ports = listening_ports(seen) | {int(ui.base.rsplit(":", 1)[1]), ui.standin_port}
    assert len(seen) >= 4, seen
    ui.process.send_signal(signal.SIGINT)
    assert ui.process.wait(timeout=STOP_TIMEOUT) == 0, ui.text()[-3000:]
    assert "stopped." in ui.text()
    assert alive(seen) == []
    assert with_home(ui.home / "airflow") == []
    assert [port for port in sorted(ports) if listening(port)] == []
