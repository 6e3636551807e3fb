"""The command as ProxySQL runs it: flags, empty environment, lock, config errors, dry run."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

import pytest

from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import SCRIPT, admin_rows, app_queries, run_scheduler

TABLES = [
    "mysql_servers",
    "runtime_mysql_servers",
    "mysql_query_rules",
    "runtime_mysql_query_rules",
    "disk.mysql_query_rules",
    "disk.mysql_servers",
]
LOG_LINE = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[(INFO|NOTE|WARNING|ERROR)\] Readyset\[\d+\]: "


def snapshot(sb: Sandbox) -> dict[str, object]:
    state: dict[str, object] = {t: admin_rows(sb, f"SELECT * FROM {t}") for t in TABLES}
    state["caches"] = [sorted(c.name for c in rs.caches()) for rs in sb.readyset]
    return state


def test_help_and_version() -> None:
    out = subprocess.run([SCRIPT, "--help"], capture_output=True, text=True, env={})
    assert out.returncode == 0 and "--config" in out.stdout and "--dry-run" in out.stdout
    out = subprocess.run([SCRIPT, "--version"], capture_output=True, text=True, env={})
    assert out.returncode == 0 and out.stdout.startswith("readyset_proxysql_scheduler ")
    dashed = Path(SCRIPT).with_name("readyset-proxysql-scheduler")
    out = subprocess.run([str(dashed), "--version"], capture_output=True, text=True, env={})
    assert out.returncode == 0


def test_usage_error_exits_2() -> None:
    out = subprocess.run([SCRIPT], capture_output=True, text=True, env={})
    assert out.returncode == 2 and "--config" in out.stderr


@pytest.mark.parametrize(
    "argv", [["statsu"], ["statsu", "--config", "x.cnf"], ["--config=x.cnf", "statsu"]]
)
def test_a_misspelt_command_is_named(argv: list[str]) -> None:
    out = subprocess.run([SCRIPT, *argv], capture_output=True, text=True, env={})
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        "readyset_proxysql_scheduler: unknown command 'statsu' (commands: status, doctor,"
        " install, uninstall, run; a pass takes only --config and --dry-run)"
    ]


def test_dry_run_changes_nothing_and_lists_the_plan(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    sandbox.readyset[0].snapshot_for(0)
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute(
            f"UPDATE mysql_servers SET status = 'SHUNNED' WHERE port = {sandbox.readyset[0].port}"
        )
        cur.execute("LOAD MYSQL SERVERS TO RUNTIME")
    before = snapshot(sandbox)
    run = run_scheduler(config(), "--dry-run")
    assert run.code == 0, run.lines
    assert snapshot(sandbox) == before
    text = "\n".join(run.lines)
    assert "dry run: would set Readyset" in text
    assert "dry run: would create cache d_0x" in text
    assert "dry run: would add rule 1" in text
    assert "dry run: would load MYSQL QUERY RULES" in text
    assert not any(
        "LOAD" in s.upper() or "SAVE" in s.upper() or "INSERT" in s.upper() or "UPDATE" in s.upper()
        for s in sandbox.proxysql.statements[-20:]
        if "scheduler" not in s
    )


def test_second_concurrent_run_exits_0_and_touches_nothing(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    cfg = config()
    lock = str(Path(cfg).parent / "scheduler.lock")
    before = snapshot(sandbox)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        run = run_scheduler(cfg)
    finally:
        os.close(fd)
    assert run.code == 0
    assert len(run.lines) == 1 and "another run holds" in run.lines[0]
    assert snapshot(sandbox) == before


def test_options_in_one_argument_and_empty_environment(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    cfg = config()
    before = snapshot(sandbox)
    out = subprocess.run(
        [SCRIPT, f"--config={cfg} --dry-run"], capture_output=True, text=True, env={}
    )
    assert out.returncode == 0, out.stderr
    # Both options were understood: the run planned work and did none of it.
    assert "dry run: would add rule" in out.stdout
    assert snapshot(sandbox) == before
    # a scheduler row's empty arg2..arg5 come as empty arguments
    out = subprocess.run(
        [SCRIPT, f"--config={cfg}", "--dry-run", "", ""], capture_output=True, text=True, env={}
    )
    assert out.returncode == 0, out.stderr
    assert "dry run: would add rule" in out.stdout


def test_unusable_lock_file_exits_1_with_one_line(sandbox: Sandbox, config, tmp_path) -> None:
    run = run_scheduler(config(lock_file=str(tmp_path / "missing-dir" / "x.lock")))
    assert run.code == 1
    assert len(run.lines) == 1 and "cannot open lock file" in run.lines[0]


def test_unreadable_state_file_is_replaced_with_a_warning(
    sandbox: Sandbox, config, tmp_path
) -> None:
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    state = tmp_path / "broken.state.json"
    state.write_text("{ not json")
    run = run_scheduler(config(state_file=str(state)))
    assert run.code == 0
    assert any("[WARNING]" in line and "starting afresh" in line for line in run.lines)
    assert len(admin_rows(sandbox, "SELECT * FROM runtime_mysql_query_rules")) == 1
    assert '"queries"' in state.read_text()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("proxysql_port = 'x'\n", "key 'proxysql_port'"),
        ("nonsense = 1\n", "unknown key 'nonsense'"),
        ("= broken\n", "invalid TOML"),
    ],
)
def test_config_errors_exit_2_with_one_line(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.cnf"
    path.write_text(text)
    run = run_scheduler(path)
    assert run.code == 2
    assert len(run.lines) == 1
    assert str(path) in run.lines[0] and fragment in run.lines[0]


def test_missing_config_file(tmp_path: Path) -> None:
    run = run_scheduler(tmp_path / "absent.cnf")
    assert run.code == 2 and "file not found" in run.lines[0]


def test_log_format_and_secrets(sandbox: Sandbox, config) -> None:
    import re

    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    cfg = config(log_verbosity="Info")
    cfg.chmod(0o644)
    run = run_scheduler(cfg)
    assert run.code == 0
    assert run.lines
    for line in run.lines:
        assert re.match(LOG_LINE, line), line
        assert "app-secret" not in line
    assert any("readable by other users" in line and str(cfg) in line for line in run.lines)


def test_admin_down_exits_1_with_one_line(sandbox: Sandbox, config) -> None:
    cfg = config(proxysql_port=1)
    run = run_scheduler(cfg)
    assert run.code == 1
    assert len(run.lines) == 1 and "cannot connect to ProxySQL admin" in run.lines[0]
    assert "Traceback" not in run.stderr
