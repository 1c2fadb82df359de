"""``make spotify-auth`` then ``make run`` as a user runs them, against the Spotify stand-in, with a real browser.

One run of the services covers ``make run`` and what ``make ui`` shares with it (the four services,
sign-in, the Trigger button, a task's log, the report in the UI, a clean stop):

- the config is checked before anything starts: a wrong key, or no stored connection, is one message and exit 2;
- ``make spotify-auth`` (twice: the second replaces the first) against the stand-in's authorize and token
  endpoints, the consent page opened in chromium as a person opens the printed address; the connection lands
  in the run home's store (0600) and nothing secret is printed;
- ``make run`` with a config naming the stand-in (the connection's ``api_base_url``) and no lake: the lake goes
  in the run home. The schedule is moved, not the run triggered: the DAGs start a week before the latest
  Monday slot, so that slot is a missed Monday the scheduler runs on its own (catchup=False: once). The
  chain publishes the playlist; a second ``make run`` says one is running; the extract task's log and the
  report with the week's picks are read in the UI; ``make status`` says what ran;
- Ctrl-C (SIGINT to the process group, as a terminal sends it): everything it started ends;
- ``make run`` again on the same home: the runs, the lake and the playlist's week are there, no second
  scheduled run of the same week, the password is the same; *Trigger* in the UI starts a manual run;
- ``make stop`` while that run's tasks work: everything ends, nothing listens;
- no file of the run home but the store, and no output, holds the client secret or a refresh token.

Screenshots go to ``test-artifacts/make-run-*.png``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from devtools.standin import StandIn, generate_demo_library
from devtools.standin.library import ROLES
from tests.ui.conftest import sign_in
from tests.util.processes import free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
DAGS = ("spotify_ingest", "spotify_discover", "spotify_enrich", "library_report", "weekly_recommendations")
START_TIMEOUT = 300
CHAIN_TIMEOUT = 30 * 60  # the whole chain on a shared 2-core machine
STOP_TIMEOUT = 120
POLL = 2
TOKEN_AGE = 300
READY = "Ctrl-C or `make stop` stops everything"


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def descendants(pid: int) -> set[tuple[int, float]]:
    """(pid, start time) of every process below ``pid`` now."""
    try:
        children = psutil.Process(pid).children(recursive=True)
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


def make(target: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", target, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


def latest_monday_slot(now: datetime) -> datetime:
    """The last Monday 06:00 UTC at or before ``now`` (the weekly schedule's latest slot)."""
    slot = (now - timedelta(days=now.weekday())).replace(hour=6, minute=0, second=0, microsecond=0)
    return slot if slot <= now else slot - timedelta(days=7)


@dataclass
class MakeRun:
    """One ``make run`` in its own process group, its output in a file."""

    process: subprocess.Popen
    output: Path
    base: str = ""
    password: str = ""
    ready_at: datetime | None = None

    @classmethod
    def start(cls, output: Path, env: dict[str, str], config: Path, port: int) -> "MakeRun":
        with output.open("w") as out:
            process = subprocess.Popen(["make", "--no-print-directory", "run", f"CONFIG={config}",
                                        f"RUN_ARGS=--port {port}"], cwd=REPO, env=env, stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        run = cls(process, output)
        deadline = time.monotonic() + START_TIMEOUT
        while READY not in run.text():
            if process.poll() is not None or time.monotonic() > deadline:
                run.kill()
                pytest.fail(f"make run did not come up (exit {process.poll()}):\n{run.text()[-5000:]}")
            time.sleep(1)
        run.ready_at = datetime.now(UTC)
        text = run.text()
        run.base = re.search(r"Airflow UI: (http://\S+?)/?$", text, re.M).group(1)
        password_file = Path(re.search(r"sign in as admin with the password in (\S+)", text).group(1))
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        run.password = json.loads(password_file.read_text())["admin"]
        return run

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

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

    def runs(self, token: str, dag_id: str) -> list[dict]:
        return self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=run_after",
                         token=token)["dag_runs"]


def failed_logs(run: MakeRun, token: str, dag_id: str, run_id: str) -> str:
    out = []
    tis = run.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", token=token)["task_instances"]
    for ti in tis:
        if ti["state"] not in ("success", "skipped") and ti.get("try_number"):
            log = run.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/"
                                  f"{ti['try_number']}?full_content=true", token=token)
            content = log.get("content")
            lines = [str(e.get("event", e)) if isinstance(e, dict) else str(e)
                     for e in (content if isinstance(content, list) else [content])]
            out.append(f"--- {dag_id}.{ti['task_id']} ({ti['state']}) ---\n" + "\n".join(lines[-60:]))
    return "\n".join(out)


def write_config(library, standin: StandIn, path: Path) -> Path:
    """The person's config: their sources, everything else on the stand-in; no [lake]: the run home keeps it."""
    lines = ["[sources]"]
    lines += [f"{role} = {json.dumps(list(library.role_sources(role)))}"
              for role in ROLES if role not in ("candidates", "disliked")]
    lines += ["", "[enrichment]", 'providers = ["spotify", "reccobeats"]',
              f'reccobeats_url = "{standin.reccobeats_url}"',
              "", "[model]", 'grid = "quick"',
              "", "[discover]", 'sources = ["reccobeats", "artists"]', f'reccobeats_url = "{standin.reccobeats_url}"']
    path.write_text("\n".join(lines) + "\n")
    return path


def spotify_auth(browser, env: dict[str, str], standin: StandIn) -> str:
    """``make spotify-auth`` with the consent page opened in the browser; returns its whole output."""
    args = (f"AUTH_ARGS=--no-browser --port {free_port()} --authorize-url {standin.authorize_url} "
            f"--token-url {standin.token_url} --api-base-url {standin.api_base_url}")
    process = subprocess.Popen(["make", "--no-print-directory", "spotify-auth", args], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    for line in process.stdout:
        out.append(line)
        if line.strip().startswith("http://"):
            browser.get(line.strip())  # the stand-in consents and redirects to the command's loopback server
            assert "Weekly Discovery is authorized" in browser.find_element("tag name", "body").text
            break
    out.append(process.stdout.read())
    assert process.wait(timeout=60) == 0, "".join(out)
    return "".join(out)


def test_spotify_auth_then_make_run_publishes_on_schedule_survives_a_restart_and_stops_cleanly(tmp_path, browser):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    ARTIFACTS.mkdir(exist_ok=True)
    wait = WebDriverWait(browser, 90, ignored_exceptions=(StaleElementReferenceException,))  # pages re-render
    home = tmp_path / "home"
    secret = "cs-" + secrets.token_hex(16)
    library = generate_demo_library(seed=7)
    standin = StandIn(library, client_id="wd-app-" + secrets.token_hex(4), client_secret=secret,
                      audio_features="forbidden").start()
    try:
        config = write_config(library, standin, tmp_path / "weekly-discovery.toml")
        now = datetime.now(UTC)
        slot = latest_monday_slot(now)
        env = {**os.environ, "WEEKLY_DISCOVERY_HOME": str(home), "SPOTIFY_CLIENT_ID": standin.client_id,
               "SPOTIFY_CLIENT_SECRET": secret,
               # the schedule moved so that the latest Monday is one the machine missed (it was "off")
               "WEEKLY_DISCOVERY_START_DATE": (slot - timedelta(days=7)).isoformat()}
        env.pop("WEEKLY_DISCOVERY_CONFIG", None)
        env.pop("WEEKLY_DISCOVERY_LAKE", None)
        outputs: list[str] = []

        # the config is checked before anything starts
        bad = tmp_path / "bad.toml"
        bad.write_text(config.read_text().replace("[model]", "[model]\ngird = \"quick\""))
        wrong = subprocess.run([sys.executable, "-m", "weekly_discovery.service", "run", "--config", str(bad)],
                               cwd=REPO, env=env, capture_output=True, text=True, timeout=120)  # what make runs
        assert wrong.returncode == 2 and "unknown key 'gird' in [model]" in wrong.stderr, wrong
        missing = make("run", f"CONFIG={config}", env=env)
        assert missing.returncode == 2, missing  # make's own code for a failed command
        assert "no Spotify connection 'spotify_default'" in missing.stderr and "make spotify-auth" in missing.stderr
        assert not (home / "airflow").exists() and not (home / "run.lock").exists()
        outputs += [wrong.stdout + wrong.stderr, missing.stdout + missing.stderr]

        # make spotify-auth, twice: the second consent replaces the first
        store = home / "secrets" / "connections.json"
        tokens = []
        for _ in range(2):
            said = spotify_auth(browser, env, standin)
            outputs.append(said)
            assert f"Stored the connection spotify_default in {store}" in said
            assert "export" not in said
            stored = json.loads(store.read_text())
            assert list(stored) == ["spotify_default"]
            extra = json.loads(stored["spotify_default"]["extra"])
            tokens.append(extra["refresh_token"])
        assert stat.S_IMODE(store.stat().st_mode) == 0o600 and stat.S_IMODE(store.parent.stat().st_mode) == 0o700
        assert tokens[0] != tokens[1] and standin.refresh_token not in tokens
        assert stored["spotify_default"]["login"] == standin.client_id
        assert stored["spotify_default"]["password"] == secret
        assert extra["api_base_url"] == standin.api_base_url and extra["token_url"] == standin.token_url
        assert abs(datetime.fromisoformat(extra["authorized_at"]) - datetime.now(UTC)) < timedelta(minutes=5)

        # make run: the services come up, every DAG unpaused; the missed Monday runs on its own
        port = free_port()
        first = MakeRun.start(tmp_path / "make-run-1.out", env, config, port)
        try:
            seen = descendants(first.process.pid)
            token = first.token()
            dags = {d["dag_id"]: d for d in first.call("GET", "/api/v2/dags?limit=100", token=token)["dags"]}
            assert {dag: dags[dag]["is_paused"] for dag in DAGS} == {dag: False for dag in DAGS}
            second = make("run", f"CONFIG={config}", f"RUN_ARGS=--port {free_port()}", env=env)
            assert second.returncode == 2 and "already running" in second.stderr, second
            assert re.search(r"pid \d+, UI at " + re.escape(first.base), second.stderr), second.stderr

            deadline = time.monotonic() + CHAIN_TIMEOUT
            weekly, token_at = None, time.monotonic()
            while weekly is None:
                if time.monotonic() - token_at > TOKEN_AGE:
                    token, token_at = first.token(), time.monotonic()
                every = first.call("GET", "/api/v2/dags/~/dagRuns?limit=100&order_by=run_after", token=token)
                for run in every["dag_runs"]:
                    assert run["state"] != "failed", failed_logs(first, token, run["dag_id"], run["dag_run_id"])
                weekly = next((r for r in every["dag_runs"]
                               if r["dag_id"] == "weekly_recommendations" and r["state"] == "success"), None)
                seen |= descendants(first.process.pid)
                assert first.process.poll() is None, first.text()[-3000:]
                assert time.monotonic() < deadline, f"weekly_recommendations did not succeed in {CHAIN_TIMEOUT}s"
                time.sleep(POLL)

            # one scheduled run for the missed Monday, the chain through the Assets, one weekly run
            ingest_runs = first.runs(token, "spotify_ingest")
            assert [(r["run_type"], r["state"]) for r in ingest_runs] == [("scheduled", "success")], ingest_runs
            ingest = ingest_runs[0]
            assert datetime.fromisoformat(ingest["logical_date"]) == slot, (ingest, slot)
            for dag in ("spotify_discover", "spotify_enrich", "weekly_recommendations"):
                assert [(r["run_type"], r["state"]) for r in first.runs(token, dag)] == [
                    ("asset_triggered", "success")], dag
            assert weekly["run_type"] == "asset_triggered", weekly
            details = first.call("GET", "/api/v2/dags/spotify_ingest", token=token)
            next_run = datetime.fromisoformat(details["next_dagrun_run_after"])
            assert (next_run.weekday(), next_run.hour, next_run.minute) == (0, 6, 0), next_run  # Monday 06:00 UTC
            assert next_run == slot + timedelta(days=7), (next_run, slot)
            assert datetime.fromisoformat(ingest["run_after"]) < next_run, (next_run, ingest)

            # published: the stand-in's "Weekly Discovery" playlist holds the picks
            playlists = [p for p in library.playlists.values() if p.name == "Weekly Discovery"]
            assert len(playlists) == 1 and playlists[0].track_ids(), playlists

            # one task's log in the UI: the extract task of the scheduled run, with its progress lines
            browser.get(f"{first.base}/dags/spotify_ingest/runs/{ingest['dag_run_id']}/tasks/extract")
            sign_in(browser, wait, first.password)
            wait.until(lambda b: re.search(r"saved_tracks: page 1 of \d+, 50 of \d+ items",
                                           b.find_element(By.TAG_NAME, "body").text))
            browser.save_screenshot(str(ARTIFACTS / "make-run-task-log.png"))

            # the report with this week's picks (the report DAG renders it again on the weekly DAG's event)
            def report_with_picks():
                fresh = first.token()
                for report in first.call("GET", "/weekly-discovery/api/reports", token=fresh)["reports"]:
                    page = first.call("GET", f"/weekly-discovery/reports/{report['ds']}/", token=fresh, raw=True)
                    if 'class="picks"' in page:
                        return report["ds"]
                return None

            ds = None
            while ds is None:
                ds = report_with_picks()
                seen |= descendants(first.process.pid)
                assert time.monotonic() < deadline, "no report with the week's picks"
                time.sleep(0 if ds else POLL)
            assert ds == slot.date().isoformat()
            browser.get(f"{first.base}/dags")
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
            browser.switch_to.default_content()
            browser.save_screenshot(str(ARTIFACTS / "make-run-report.png"))

            status = make("status", f"CONFIG={config}", env=env)
            assert status.returncode == 0, status
            assert re.search(r"running, pid \d+, UI at " + re.escape(first.base), status.stdout), status.stdout
            assert re.search(r"spotify_ingest\s+success\s+scheduled\s+for " + slot.strftime("%a %Y-%m-%d 06:00"),
                             status.stdout), status.stdout
            assert f"holds the week of {ds}" in status.stdout, status.stdout
            assert f"lake {home / 'lake'}" in status.stdout  # no [lake] in the config: the run home keeps it
            assert f"next scheduled run: spotify_ingest at {next_run.strftime('%a %Y-%m-%d %H:%M')}" in status.stdout
            assert "Spotify refresh token given today" in status.stdout, status.stdout
            outputs.append(status.stdout + status.stderr)

            # Ctrl-C, as a terminal sends it to the foreground group: everything it started ends
            seen |= descendants(first.process.pid)
            ports = listening_ports(seen) | {port}
            assert len(seen) >= 4, seen
            os.killpg(first.process.pid, signal.SIGINT)
            first.process.wait(timeout=STOP_TIMEOUT)
            assert "SIGINT: stopping Airflow" in first.text() and "\nstopped.\n" in first.text(), \
                first.text()[-3000:]
            assert alive(seen) == []
            assert with_home(home / "airflow") == []
            assert [p for p in sorted(ports) if listening(p)] == []
        finally:
            first.kill()
            outputs.append(first.text())

        # make run again: the state survived; no second scheduled run of the same week; Trigger; make stop
        again = MakeRun.start(tmp_path / "make-run-2.out", env, config, port)
        try:
            assert again.password == first.password
            token = again.token()
            seen = descendants(again.process.pid)
            browser.get(f"{again.base}/dags/spotify_ingest")
            sign_in(browser, wait, again.password)
            wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid=trigger-dag-button]"))).click()
            time.sleep(1)
            browser.save_screenshot(str(ARTIFACTS / "make-run-trigger.png"))
            browser.find_elements(By.XPATH, "//button[normalize-space()='Trigger']")[-1].click()  # the dialog's own
            wait.until(ec.presence_of_element_located((By.XPATH, "//*[contains(text(), 'Dag Run Triggered')]")))
            browser.get("about:blank")
            ingest_runs = again.runs(token, "spotify_ingest")
            assert [r["run_type"] for r in ingest_runs if r["run_type"] == "manual"] == ["manual"], ingest_runs
            assert [(r["run_type"], r["state"], r["logical_date"]) for r in ingest_runs if r["run_type"] != "manual"
                    ] == [("scheduled", "success", ingest["logical_date"])], ingest_runs
            assert [r["state"] for r in again.runs(token, "weekly_recommendations")] == ["success"]
            def heartbeat() -> datetime:
                health = again.call("GET", "/api/v2/monitor/health")
                return datetime.fromisoformat(health["scheduler"]["latest_scheduler_heartbeat"])

            while heartbeat() < again.ready_at + timedelta(seconds=10):  # the scheduler has looked at the DAGs
                time.sleep(1)                                            # since it came back
            scheduled = [r for r in again.runs(token, "spotify_ingest") if r["run_type"] == "scheduled"]
            assert [r["dag_run_id"] for r in scheduled] == [ingest["dag_run_id"]], scheduled
            assert again.call("GET", "/api/v2/dags/spotify_ingest", token=token)["next_dagrun_run_after"] == \
                details["next_dagrun_run_after"]

            # make stop while the manual run's tasks work: everything ends, nothing else
            manual = next(r for r in ingest_runs if r["run_type"] == "manual")
            tasks = f"/api/v2/dags/spotify_ingest/dagRuns/{manual['dag_run_id']}/taskInstances"
            busy = time.monotonic() + 120
            while not any(t["state"] == "running" for t in again.call("GET", tasks, token=token)["task_instances"]):
                assert time.monotonic() < busy, again.call("GET", tasks, token=token)
                time.sleep(1)
            seen |= descendants(again.process.pid)
            ports = listening_ports(seen) | {port}
            stopped = make("stop", env=env)
            assert stopped.returncode == 0 and stopped.stdout.rstrip().endswith("stopped."), stopped
            assert again.process.wait(timeout=STOP_TIMEOUT) == 0, again.text()[-3000:]
            assert "SIGTERM: stopping Airflow" in again.text() and again.text().rstrip().endswith("stopped.")
            assert alive(seen) == []
            assert with_home(home / "airflow") == []
            assert [p for p in sorted(ports) if listening(p)] == []
        finally:
            again.kill()
            outputs.append(again.text())

        after = make("status", f"CONFIG={config}", env=env)
        assert "not running" in after.stdout and f"holds the week of {ds}" in after.stdout, after.stdout
        assert make("stop", env=env).stdout.startswith("Weekly Discovery is not running")
        outputs.append(after.stdout + after.stderr)
    finally:
        standin.stop()

    # the secret and the tokens are in the store and nowhere else: not in any output, file or log of the home
    needles = [secret.encode(), *(t.encode() for t in tokens)]
    assert [n for n in needles if any(n in text.encode() for text in outputs)] == []
    holding = [str(path.relative_to(home)) for path in sorted(home.rglob("*"))
               if path.is_file() and path != store and any(n in path.read_bytes() for n in needles)]
    assert holding == []
    assert secret.encode() in store.read_bytes() and tokens[1].encode() in store.read_bytes()
