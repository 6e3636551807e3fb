"""`install` / `uninstall`: the scheduler row, checked field by field against ProxySQL's table
(reference proxysql.md §1.6, §5), then executed exactly as ProxySQL executes it.

The ProxySQL emulator stores the scheduler table but does not run it, so the test does what
ProxySQL's scheduler does with the row: execve(filename, [filename, arg1]) with an empty
environment and no shell.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import SCRIPT, admin_rows, app_queries, run_scheduler

COLUMNS = "id, active, interval_ms, filename, arg1, arg2, arg3, arg4, arg5, comment"


def rows(sb: Sandbox, table: str) -> list[tuple[object, ...]]:
    return admin_rows(sb, f"SELECT {COLUMNS} FROM {table} ORDER BY id")


def test_install_writes_the_row_proxysql_execs_and_it_runs_a_pass(sandbox: Sandbox, config):
    cfg = config()
    run = run_scheduler(cfg, "install")
    assert run.code == 0, run.lines
    assert "LOAD SCHEDULER TO RUNTIME;" in run.lines
    assert "SAVE SCHEDULER TO DISK;" in run.lines
    assert any(line.startswith("INSERT INTO scheduler") for line in run.lines)

    (row,) = rows(sandbox, "main.scheduler")
    ident, active, interval, filename, arg1, *rest, comment = row
    assert int(str(ident)) >= 1
    assert str(active) == "1"
    assert int(str(interval)) == 10000 and 100 <= int(str(interval)) <= 100000000
    assert filename == os.path.realpath(SCRIPT)
    assert os.path.isabs(str(filename)) and os.access(str(filename), os.X_OK)
    assert arg1 == f"--config={os.path.realpath(cfg)}"
    assert rest == [None, None, None, None]  # ProxySQL passes args only up to the first NULL
    assert comment == "readyset_proxysql_scheduler"
    assert rows(sandbox, "runtime_scheduler") == [row]
    assert rows(sandbox, "disk.scheduler") == [row]

    # What ProxySQL's scheduler does with the row: execve, empty environment, no shell.
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    done = subprocess.run([str(filename), str(arg1)], env={}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert admin_rows(sandbox, "SELECT digest FROM runtime_mysql_query_rules")
    assert sandbox.readyset[0].caches()


def test_install_again_updates_the_one_row(sandbox: Sandbox, config):
    cfg = config()
    assert run_scheduler(cfg, "install").code == 0
    (first,) = rows(sandbox, "main.scheduler")

    run = run_scheduler(cfg, "install", "--interval-ms", "5000")
    assert run.code == 0, run.lines
    assert any(line.startswith("UPDATE scheduler SET") for line in run.lines)
    (second,) = rows(sandbox, "runtime_scheduler")
    assert second[0] == first[0] and int(str(second[2])) == 5000

    loads = len([s for s in sandbox.proxysql.statements if "LOAD SCHEDULER" in s.upper()])
    run = run_scheduler(cfg, "install")  # unchanged: the interval is kept, nothing is sent
    assert run.code == 0 and "nothing to do" in run.stdout
    assert len([s for s in sandbox.proxysql.statements if "LOAD SCHEDULER" in s.upper()]) == loads
    assert rows(sandbox, "main.scheduler") == [second]


def test_install_adopts_a_row_written_by_hand(sandbox: Sandbox, config):
    cfg = config()
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO scheduler (active, interval_ms, filename, arg1) VALUES"
            " (0, 20000, '/opt/old/readyset_proxysql_scheduler', %s)",
            (f"--config={cfg} --dry-run",),
        )
        cur.execute(
            "INSERT INTO scheduler (active, interval_ms, filename, arg1) VALUES"
            " (1, 3000, '/usr/bin/other-job', '--config=/etc/other.cnf')"
        )
    run = run_scheduler(cfg, "install")
    assert run.code == 0, run.lines
    mine, other = rows(sandbox, "runtime_scheduler")
    assert str(mine[1]) == "1" and int(str(mine[2])) == 20000
    assert mine[4] == f"--config={os.path.realpath(cfg)}"  # --dry-run is gone
    assert other[3] == "/usr/bin/other-job"  # another job is left alone


def test_install_dry_run_prints_and_sends_nothing(sandbox: Sandbox, config):
    cfg = config()
    sent = len(sandbox.proxysql.statements)
    run = run_scheduler(cfg, "install", "--dry-run")
    assert run.code == 0
    assert any(line.startswith("INSERT INTO scheduler") for line in run.lines)
    assert rows(sandbox, "main.scheduler") == []
    assert not any(
        s.upper().startswith(("INSERT", "LOAD", "SAVE")) for s in sandbox.proxysql.statements[sent:]
    )


def test_bad_interval_is_a_usage_error(sandbox: Sandbox, config):
    run = run_scheduler(config(), "install", "--interval-ms", "50")
    assert run.code == 2 and "100..100000000" in run.stderr


def test_uninstall_removes_the_row(sandbox: Sandbox, config):
    cfg = config()
    assert run_scheduler(cfg, "install").code == 0
    run = run_scheduler(cfg, "uninstall")
    assert run.code == 0, run.lines
    assert any(line.startswith("DELETE FROM scheduler WHERE id = ") for line in run.lines)
    for table in ("main.scheduler", "runtime_scheduler", "disk.scheduler"):
        assert rows(sandbox, table) == []
    again = run_scheduler(cfg, "uninstall")
    assert again.code == 0 and "no scheduler row" in again.stdout


def test_uninstall_purge_removes_rules_caches_and_state(sandbox: Sandbox, config, tmp_path):
    state = tmp_path / "s.state.json"
    cfg = config(state_file=str(state))
    with sandbox.admin() as conn, conn.cursor() as cur:  # a user's rule must stay
        cur.execute(
            "INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup,"
            " apply) VALUES (500, 1, '^UPDATE', 1, 1)"
        )
        cur.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    assert run_scheduler(cfg, "install").code == 0
    assert run_scheduler(cfg).code == 0
    assert sandbox.readyset[0].caches() and state.exists()
    assert len(admin_rows(sandbox, "SELECT * FROM runtime_mysql_query_rules")) == 2

    dry = run_scheduler(cfg, "uninstall", "--purge", "--dry-run")
    assert dry.code == 0 and any(line.startswith("DROP CACHE d_0x") for line in dry.lines)
    assert sandbox.readyset[0].caches() and state.exists()

    run = run_scheduler(cfg, "uninstall", "--purge")
    assert run.code == 0, run.lines
    assert "LOAD MYSQL QUERY RULES TO RUNTIME;" in run.lines
    assert any(line.startswith("DROP CACHE d_0x") for line in run.lines)
    for table in ("mysql_query_rules", "runtime_mysql_query_rules", "disk.mysql_query_rules"):
        assert [str(r[0]) for r in admin_rows(sandbox, f"SELECT rule_id FROM {table}")] == ["500"]
    assert sandbox.readyset[0].caches() == []
    assert not state.exists()
    assert rows(sandbox, "runtime_scheduler") == []


def test_install_refuses_a_file_that_is_not_executable(sandbox: Sandbox, config, tmp_path):
    # `python -m` from an interpreter without the console script beside it
    cfg = config()
    fake = tmp_path / "readyset_proxysql_scheduler"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o644)
    code = (
        "import sys; sys.argv[0] = sys.argv.pop(1);"
        " from readyset_proxysql_scheduler.cli import main; raise SystemExit(main())"
    )
    python = Path(SCRIPT).with_name("python")
    done = subprocess.run(
        [str(python), "-c", code, str(fake), f"--config={cfg}", "install"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "is not executable: chmod +x" in done.stderr
    assert rows(sandbox, "main.scheduler") == []
