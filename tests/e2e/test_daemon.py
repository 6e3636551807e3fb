"""`run --interval`: passes in one process, the same lock, SIGTERM ends it with exit code 0,
SIGHUP re-reads the config; `log_file` in both modes; the packaging files."""

from __future__ import annotations

import configparser
import fcntl
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import SCRIPT, admin_rows, app_queries, run_scheduler

PACKAGING = Path(__file__).parents[2] / "packaging"


def start(cfg: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [SCRIPT, "run", "--interval", "200ms", f"--config={cfg}", *extra],
        env={},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def wait_for(what: Callable[[], bool], proc: subprocess.Popen[str], why: str) -> None:
    """Poll until `what` holds; a safety net of 60 s, not a timing assertion."""
    give_up = time.monotonic() + 60
    while not what():
        assert proc.poll() is None, f"daemon exited early: {proc.communicate()}"
        assert time.monotonic() < give_up, f"never saw: {why}"
        time.sleep(0.05)


def passes(path: Path) -> int:
    return sum("pass done" in line for line in lines(path))


def test_daemon_runs_passes_and_ends_on_sigterm(sandbox: Sandbox, config, tmp_path) -> None:
    log = tmp_path / "scheduler.log"
    cfg = config(log_file=str(log), log_verbosity="Info")
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    proc = start(cfg)
    try:
        wait_for(lambda: passes(log) >= 2, proc, "two passes")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out == "" and err == ""  # everything went to log_file
    text = lines(log)
    assert "daemon started: a pass every 0.2s" in text[0]
    assert "daemon stopped by SIGTERM after" in text[-1]
    assert "pass done" in text[-2]  # the pass in progress ended first
    assert any("add rule 1" in line for line in text)  # the passes did the work
    assert len(admin_rows(sandbox, "SELECT * FROM runtime_mysql_query_rules")) == 1


def test_sighup_rereads_the_config(sandbox: Sandbox, config, tmp_path) -> None:
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    cfg = config(log_file=str(first), log_verbosity="Info")
    proc = start(cfg)
    try:
        wait_for(lambda: passes(first) >= 1, proc, "a pass in the first log")
        config(log_file=str(second), log_verbosity="Info")  # same file, new content
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: passes(second) >= 1, proc, "a pass in the second log")
        assert any("configuration" in line and "re-read" in line for line in lines(second))

        Path(cfg).write_text("not = [valid\n")  # a broken config is refused, the old one kept
        proc.send_signal(signal.SIGHUP)
        wait_for(
            lambda: any("keeping the previous one" in line for line in lines(second)),
            proc,
            "the broken config refused",
        )
        count = passes(second)
        wait_for(lambda: passes(second) > count, proc, "passes going on")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0


def test_daemon_shares_the_lock_with_the_scheduler_row(sandbox: Sandbox, config, tmp_path):
    log = tmp_path / "scheduler.log"
    cfg = config(log_file=str(log), log_verbosity="Info")
    fd = os.open(str(tmp_path / "scheduler.lock"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a pass started by ProxySQL's row
    proc = start(cfg)
    try:
        wait_for(lambda: any("another run holds" in line for line in lines(log)), proc, "lock")
        assert passes(log) == 0
        os.close(fd)
        wait_for(lambda: passes(log) >= 1, proc, "a pass once the lock is free")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0


def test_bad_interval_is_a_usage_error(sandbox: Sandbox, config) -> None:
    run = run_scheduler(config(), "run", "--interval", "10 parsecs")
    assert run.code == 2 and "not an interval" in run.stderr


def test_log_file_in_scheduler_row_mode(sandbox: Sandbox, config, tmp_path) -> None:
    log = tmp_path / "row.log"
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    run = run_scheduler(config(log_file=str(log)))
    assert run.code == 0 and run.stdout == "" and run.stderr == ""
    assert any("add rule 1" in line for line in lines(log))
    log.rename(tmp_path / "row.log.1")  # what logrotate does: the next line opens a new file
    assert run_scheduler(config(log_file=str(log), log_verbosity="Info")).code == 0
    assert passes(log) == 1


def test_packaging_files() -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.read(PACKAGING / "readyset-proxysql-scheduler.service")
    service = unit["Service"]
    command = service["ExecStart"].split()
    assert command[0].endswith("/readyset_proxysql_scheduler") and command[1] == "run"
    assert "--interval" in command and any(a.startswith("--config=/") for a in command)
    assert service["KillSignal"] == "SIGTERM" and "-HUP" in service["ExecReload"]
    assert "PrivateTmp" not in service  # the lock under /tmp must be the scheduler row's
    text = (PACKAGING / "readyset-proxysql-scheduler.logrotate").read_text()
    rotate = [line.strip() for line in text.splitlines() if not line.startswith("#")]
    assert rotate[0] == "/var/log/readyset-scheduler/*.log {" and rotate[-1] == "}"
    assert "copytruncate" not in rotate  # log_file is opened per line: renaming is enough
