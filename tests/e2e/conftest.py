"""End-to-end fixtures: a fresh sandbox per test over the session's MariaDB, and the scheduler
run as ProxySQL runs it (its console script, exec'd with an empty environment)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rps_sandbox.mariadb import MariaDB
from rps_sandbox.sandbox import Sandbox

SCRIPT = str(Path(sys.executable).parent / "readyset_proxysql_scheduler")


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
