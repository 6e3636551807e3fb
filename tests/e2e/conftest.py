"""End-to-end fixtures: a fresh sandbox per test over the session's MariaDB, and the scheduler
run as ProxySQL runs it (its console script, exec'd with an empty environment)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rps_sandbox.mariadb import MariaDB
from rps_sandbox.sandbox import Sandbox

# The console script under test; point RPS_SCHEDULER_SCRIPT at another installation (say a
# Python 3.9 virtualenv's) to run the end-to-end tests against it.
SCRIPT = os.environ.get("RPS_SCHEDULER_SCRIPT") or str(
    Path(sys.executable).parent / "readyset_proxysql_scheduler"
)


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return (self.stdout + self.stderr).splitlines()


def run_scheduler(config: Path, *args: str, timeout: float = 60) -> Run:
    proc = subprocess.run(
        [SCRIPT, f"--config={config}", *args],
        env={},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def sandbox(mariadb: MariaDB, tmp_path: Path) -> Iterator[Sandbox]:
    sb = Sandbox(mariadb=mariadb, workdir=tmp_path / "sandbox")
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def config(sandbox: Sandbox, tmp_path: Path) -> Any:
    def make(**overrides: Any) -> Path:
        return sandbox.scheduler_config(tmp_path / "scheduler.cnf", **overrides)

    return make


def admin_rows(sandbox: Sandbox, sql: str) -> list[tuple[Any, ...]]:
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def app_queries(sandbox: Sandbox, queries: list[str], times: int = 1) -> list[Any]:
    results = []
    with sandbox.app() as conn, conn.cursor() as cur:
        for _ in range(times):
            for q in queries:
                cur.execute(q)
                results.append(cur.fetchall())
    return results


def spawn_scheduler(config: Path, stdout: Any = subprocess.DEVNULL) -> subprocess.Popen[str]:
    """Start a run in the background, as ProxySQL does (empty environment)."""
    return subprocess.Popen(
        [SCRIPT, f"--config={config}"], env={}, text=True, stdout=stdout, stderr=stdout
    )


def digest_row(digest: str, text: str, schema: str = "shop", **stats: int) -> dict[str, Any]:
    """A stats_mysql_query_digest row of the app user in the source hostgroup."""
    now = int(time.time())
    row: dict[str, Any] = dict(
        hostgroup=1,
        schemaname=schema,
        username="app",
        client_address="",
        digest=digest,
        digest_text=text,
        count_star=10,
        first_seen=now,
        last_seen=now,
        sum_time=100,
        min_time=1,
        max_time=20,
        sum_rows_affected=0,
        sum_rows_sent=10,
    )
    row.update(stats)
    return row
