"""A throwaway PostgreSQL 15 cluster for tests: initdb in a temp dir, trust auth on 127.0.0.1, removed after.

``initdb`` refuses to run as root, so under root the server runs as the ``postgres`` system user
(``runuser``) in a folder that user owns; as any other user it runs as that user. Durability settings
are off (``fsync``, ``synchronous_commit``, ``full_page_writes``): the cluster lives for one test run.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.util.processes import free_port, tail

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
THROWAWAY_SETTINGS = ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                      "-c max_connections=200 -c shared_buffers=64MB")


def postgres_bin(version: str = "15") -> Path:
    """The server binaries (Debian layout); skips the test with the install command when absent."""
    preferred = Path(f"/usr/lib/postgresql/{version}/bin")
    if (preferred / "initdb").is_file():
        return preferred
    found = sorted(Path("/").glob(PG_BIN_GLOB.lstrip("/")))
    found = [p for p in found if (p / "initdb").is_file()]
    if not found:
        pytest.fail("PostgreSQL server binaries are missing: sudo apt-get install postgresql "
                    "(scripts/install-test-deps.sh, run by `make test`, installs them as root)")
    return found[-1]


@dataclass
class PostgresCluster:
    base: Path
    port: int
    bindir: Path
    user: str = "airflow"

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def log(self) -> Path:
        return self.base / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        return self.base / "sock"

    def url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def _as_owner(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        result = subprocess.run([*self._as_owner(), *args], cwd=self.base, capture_output=True, text=True,
                                timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}\n"
                               f"{tail(self.log)}")
        return result

    def start(self) -> "PostgresCluster":
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust",
                  "--encoding=UTF8", "--no-sync", "--no-instructions")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} {THROWAWAY_SETTINGS}"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")
        return self

    def create_database(self, name: str) -> None:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*self._as_owner(), str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                            "-w", "-t", "30", "stop"], cwd=self.base, capture_output=True, timeout=60)


def start_postgres() -> PostgresCluster:
    """Start a fresh cluster on a free port; the caller must :func:`remove_postgres` it."""
    bindir = postgres_bin()
    base = Path(tempfile.mkdtemp(prefix="wd-postgres-"))
    (base / "sock").mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (base, base / "sock"):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    cluster = PostgresCluster(base, free_port(), bindir)
    try:
        return cluster.start()
    except BaseException:
        remove_postgres(cluster)
        raise


def remove_postgres(cluster: PostgresCluster) -> None:
    try:
        cluster.stop()
    finally:
        shutil.rmtree(cluster.base, ignore_errors=True)
