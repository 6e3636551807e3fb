"""Faults: slow, hung and failing Readyset hosts, killed runs, and no Readyset at all.

After each fault the next normal pass converges: no rule routes to a host set that lacks its
cache, no duplicate rule, no cache left that no rule uses, statuses right.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from rps_sandbox.proxysql import AdminFault
from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import admin_rows, app_queries, run_scheduler, spawn_scheduler

QUERY = "SELECT id, name, email FROM customers WHERE id = 7"
RULES = "SELECT rule_id, active, digest, destination_hostgroup FROM runtime_mysql_query_rules"


def converged(sb: Sandbox, expected_rules: int) -> None:
    rules = admin_rows(sb, RULES)
    assert len(rules) == expected_rules
    assert len({r[2] for r in rules}) == len(rules), "duplicate rule"
    names = {f"d_{r[2]}_shop" for r in rules}
    for rs in sb.readyset:
        assert {c.name for c in rs.caches()} == names


def test_slow_readyset_still_gets_its_cache(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, [QUERY], times=2)
    sandbox.readyset[0].query_delay = 0.3
    run = run_scheduler(config())
    assert run.code == 0, run.lines
    converged(sandbox, 1)


def test_readyset_hanging_mid_query_ends_the_pass_in_time(mariadb, tmp_path: Path) -> None:
    with Sandbox(mariadb=mariadb, workdir=tmp_path / "sb", readysets=2) as sb:
        app_queries(sb, [QUERY], times=2)
        sb.readyset[1].query_delay = 60
        cfg = sb.scheduler_config(
            tmp_path / "s.cnf", query_timeout_s=1, connect_timeout_s=1, pass_timeout_s=3
        )
        started = time.monotonic()
        run = run_scheduler(cfg, timeout=30)
        assert time.monotonic() - started < 30
        assert any(str(sb.readyset[1].port) in line for line in run.lines)
        sb.readyset[1].query_delay = 0
        assert run_scheduler(cfg).code == 0
        converged(sb, 1)


def test_transient_explain_error_is_retried(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, [QUERY], times=2)
    rs = sandbox.readyset[0]
    rs.fail_explain = "Error during RPC (dry_run): connection reset"
    run = run_scheduler(config())
    assert run.code == 1
    assert admin_rows(sandbox, RULES) == []
    rs.fail_explain = None
    assert run_scheduler(config()).code == 0
    converged(sandbox, 1)


def test_create_cache_failing_on_one_of_three_hosts(mariadb, tmp_path: Path) -> None:
    with Sandbox(mariadb=mariadb, workdir=tmp_path / "sb", readysets=3) as sb:
        app_queries(sb, [QUERY], times=2)
        sb.readyset[1].fail_create_cache = "Error during RPC (extend_recipe): worker down"
        cfg = sb.scheduler_config(tmp_path / "s.cnf")
        run = run_scheduler(cfg)
        assert run.code == 1
        # Nothing half-applied: no rule, and the caches made on the other hosts are dropped.
        converged(sb, 0)
        sb.readyset[1].fail_create_cache = None
        assert run_scheduler(cfg).code == 0
        converged(sb, 1)


def kill_when(proc: subprocess.Popen[str], seen: callable, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not seen():
        assert proc.poll() is None, "the run ended before the point of interest"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_killed_between_cache_and_rule(mariadb, tmp_path: Path) -> None:
    with Sandbox(mariadb=mariadb, workdir=tmp_path / "sb", readysets=2) as sb:
        app_queries(sb, [QUERY], times=2)
        cfg = sb.scheduler_config(tmp_path / "s.cnf")
        for rs in sb.readyset:
            rs.query_delay = 0.5
        proc = spawn_scheduler(cfg)
        kill_when(
            proc,
            lambda: any(s.upper().startswith("CREATE CACHE") for s in sb.readyset[0].statements),
        )
        assert admin_rows(sb, RULES) == []
        for rs in sb.readyset:
            rs.query_delay = 0
        assert run_scheduler(cfg).code == 0
        converged(sb, 1)
        assert run_scheduler(cfg).code == 0
        converged(sb, 1)


def test_lock_of_a_killed_run_does_not_block(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, [QUERY], times=2)
    cfg = config()
    sandbox.readyset[0].query_delay = 1
    proc = spawn_scheduler(cfg)
    kill_when(proc, lambda: len(sandbox.readyset[0].statements) > 0)
    sandbox.readyset[0].query_delay = 0
    run = run_scheduler(cfg)
    assert run.code == 0
    assert not any("another run holds" in line for line in run.lines)
    converged(sandbox, 1)


def test_no_readyset_left_application_keeps_answers(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, [QUERY], times=2)
    cfg = config()
    assert run_scheduler(cfg).code == 0
    rs = sandbox.readyset[0]
    before = rs.hits
    app_queries(sandbox, ["SELECT id, name, email FROM customers WHERE id = 8"])
    assert rs.hits == before + 1

    rs.connect_behaviour = "refuse"
    run = run_scheduler(cfg)
    assert run.code == 0
    assert any("deactivate rule" in line for line in run.lines)
    assert [r[1] for r in admin_rows(sandbox, RULES)] == []  # inactive rules leave runtime
    assert admin_rows(sandbox, "SELECT active FROM mysql_query_rules") == [("0",)]
    # The application is answered by the source hostgroup, not held for Readyset.
    rows = app_queries(sandbox, ["SELECT id, name, email FROM customers WHERE id = 9"])
    assert rows[0][0][0] == 9

    rs.connect_behaviour = "accept"
    run = run_scheduler(cfg)
    assert run.code == 0 and any("activate rule" in line for line in run.lines)
    before = rs.hits
    app_queries(sandbox, ["SELECT id, name, email FROM customers WHERE id = 10"])
    assert rs.hits == before + 1


def test_rule_deactivated_by_a_person_stays_off(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, [QUERY], times=2)
    cfg = config()
    assert run_scheduler(cfg).code == 0
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute("UPDATE mysql_query_rules SET active = 0")
        cur.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    assert run_scheduler(cfg).code == 0
    assert admin_rows(sandbox, "SELECT active FROM mysql_query_rules") == [("0",)]


def test_deleted_rule_leaves_no_orphan_cache(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, [QUERY], times=2)
    cfg = config(number_of_queries=1)
    assert run_scheduler(cfg).code == 0
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM mysql_query_rules")
        # A person's rule now covers the digest: the scheduler must not re-add its own.
        digest = sandbox.readyset[0].caches()[0].name.split("_")[1]
        cur.execute(
            "INSERT INTO mysql_query_rules (rule_id, active, digest, destination_hostgroup, apply)"
            f" VALUES (500, 1, '{digest}', 1, 1)"
        )
        cur.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    run = run_scheduler(cfg)
    assert run.code == 0
    assert any("drop cache" in line for line in run.lines)
    assert sandbox.readyset[0].caches() == []


def test_killed_between_insert_and_load(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, [QUERY], times=2)
    cfg = config()
    fault = AdminFault("LOAD MYSQL QUERY RULES", seconds=30)
    sandbox.proxysql.admin_faults.append(fault)
    proc = spawn_scheduler(cfg)
    kill_when(proc, lambda: fault.hits > 0)
    sandbox.proxysql.admin_faults.clear()
    # The rule is in memory but not live.
    assert len(admin_rows(sandbox, "SELECT * FROM mysql_query_rules")) == 1
    assert admin_rows(sandbox, RULES) == []
    run = run_scheduler(cfg)
    assert run.code == 0
    assert any("interrupted run" in line for line in run.lines)
    converged(sandbox, 1)


def test_admin_connection_dropped_mid_pass(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, [QUERY], times=2)
    cfg = config()
    sandbox.proxysql.admin_faults.append(AdminFault("INSERT INTO mysql_query_rules", "drop"))
    run = run_scheduler(cfg)
    assert run.code == 1
    assert len(run.lines) >= 1 and "ProxySQL admin statement failed" in run.lines[-1]
    assert "Traceback" not in "\n".join(run.lines)
    sandbox.proxysql.admin_faults.clear()
    assert run_scheduler(cfg).code == 0
    converged(sandbox, 1)


def test_admin_dropped_while_the_readyset_hosts_answer(sandbox: Sandbox, config) -> None:
    """The digest sample is read while the health check runs: a failure there ends the pass
    before any status or rule is written, in one line, and the next pass converges."""
    app_queries(sandbox, [QUERY], times=2)
    cfg = config()
    assert run_scheduler(cfg).code == 0
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute(
            f"UPDATE mysql_servers SET status = 'SHUNNED' WHERE port = {sandbox.readyset[0].port}"
        )
        cur.execute("LOAD MYSQL SERVERS TO RUNTIME")
    fault = AdminFault("SELECT hostgroup, digest, schemaname", "drop")
    sandbox.proxysql.admin_faults.append(fault)
    run = run_scheduler(cfg)
    assert fault.hits == 1
    assert run.code == 1
    assert "ProxySQL admin statement failed" in run.lines[-1]
    assert "Traceback" not in "\n".join(run.lines)
    status = admin_rows(sandbox, "SELECT status FROM runtime_mysql_servers WHERE hostgroup_id = 99")
    assert status == [("SHUNNED",)]  # not set ONLINE by half a pass
    sandbox.proxysql.admin_faults.clear()
    assert run_scheduler(cfg).code == 0
    converged(sandbox, 1)


def test_only_readyset_set_offline_soft_by_hand_counts_as_none(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, [QUERY], times=2)
    cfg = config()
    assert run_scheduler(cfg).code == 0
    port = sandbox.readyset[0].port
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute(f"UPDATE mysql_servers SET status = 'OFFLINE_SOFT' WHERE port = {port}")
        cur.execute("LOAD MYSQL SERVERS TO RUNTIME")
    run = run_scheduler(cfg)
    assert run.code == 0
    # The person's status stays, and our rule stops sending queries to an empty hostgroup.
    rows = admin_rows(sandbox, f"SELECT status FROM runtime_mysql_servers WHERE port = {port}")
    assert rows == [("OFFLINE_SOFT",)]
    assert admin_rows(sandbox, "SELECT active FROM mysql_query_rules") == [("0",)]


def test_host_down_when_a_cache_was_made_gets_it_before_traffic(mariadb, tmp_path: Path) -> None:
    with Sandbox(mariadb=mariadb, workdir=tmp_path / "sb", readysets=2) as sb:
        app_queries(sb, [QUERY], times=2)
        cfg = sb.scheduler_config(tmp_path / "s.cnf")
        sb.readyset[1].connect_behaviour = "refuse"
        assert run_scheduler(cfg).code == 0
        assert len(sb.readyset[0].caches()) == 1 and sb.readyset[1].caches() == []
        sb.readyset[1].connect_behaviour = "accept"
        run = run_scheduler(cfg)
        assert run.code == 0
        text = "\n".join(run.lines)
        assert text.index("create cache") < text.index("SHUNNED -> ONLINE")
        converged(sb, 1)


def test_show_caches_failing_on_the_health_thread_leaves_the_verdict(
    sandbox: Sandbox, config
) -> None:
    app_queries(sandbox, [QUERY], times=2)
    cfg = config()
    assert run_scheduler(cfg).code == 0
    rules = admin_rows(sandbox, RULES)
    rs = sandbox.readyset[0]
    rs.fail_show_caches = "Error during RPC (list_caches): connection reset"
    run = run_scheduler(cfg)
    # healthy it is: ONLINE stays, the rules stay; the caches it could not list are named
    status = admin_rows(sandbox, "SELECT status FROM runtime_mysql_servers WHERE hostgroup_id = 99")
    assert status == [("ONLINE",)]
    assert admin_rows(sandbox, RULES) == rules
    assert any("cannot list caches on" in line and "connection reset" in line for line in run.lines)
    rs.fail_show_caches = None
    assert run_scheduler(cfg).code == 0
    converged(sandbox, 1)
