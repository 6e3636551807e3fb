"""Health check: each Readyset status in each era → the status in runtime_mysql_servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import admin_rows, app_queries, run_scheduler


def status(sb: Sandbox, index: int = 0) -> str:
    port = sb.readyset[index].port
    rows = admin_rows(
        sb, f"SELECT status FROM runtime_mysql_servers WHERE hostgroup_id = 99 AND port = {port}"
    )
    return str(rows[0][0])


CASES = [
    ("B", "online", "ONLINE"),
    ("B", "snapshot", "SHUNNED"),
    ("B", "unreachable", "SHUNNED"),
    ("C", "online", "ONLINE"),
    ("C", "snapshot", "SHUNNED"),
    ("C", "maintenance", "OFFLINE_SOFT"),
    ("C", "unreachable", "SHUNNED"),
    ("D", "maintenance", "OFFLINE_SOFT"),
    ("E", "online", "ONLINE"),
    ("E", "snapshot", "SHUNNED"),
    ("E", "maintenance", "OFFLINE_SOFT"),
    ("E", "down", "SHUNNED"),
]


@pytest.mark.parametrize(("era", "condition", "expected"), CASES)
def test_status_mapping(mariadb, tmp_path: Path, era: str, condition: str, expected: str) -> None:
    with Sandbox(mariadb=mariadb, workdir=tmp_path / "sb", era=era) as sb:
        rs = sb.readyset[0]
        if condition == "snapshot":
            rs.snapshot_for(60)
        elif condition == "maintenance":
            rs.enter_maintenance()
        elif condition == "unreachable":
            rs.upstream_unreachable = True
        elif condition == "down":
            rs.connect_behaviour = "refuse"
        cfg = sb.scheduler_config(tmp_path / "s.cnf", operation_mode="HealthCheck")
        run = run_scheduler(cfg)
        assert run.code == 0, run.lines
        assert status(sb) == expected
        # Health states are not saved to disk: a restart starts from the configured status.
        disk = admin_rows(sb, "SELECT status FROM disk.mysql_servers WHERE hostgroup_id = 99")
        assert disk == [("ONLINE",)]


def test_recovers_to_online_and_writes_only_changes(sandbox: Sandbox, config) -> None:
    rs = sandbox.readyset[0]
    cfg = config(operation_mode="HealthCheck")
    rs.snapshot_for(60)
    assert run_scheduler(cfg).code == 0
    assert status(sandbox) == "SHUNNED"
    sandbox.proxysql.statements.clear()
    assert run_scheduler(cfg).lines == []
    assert not any("LOAD MYSQL SERVERS" in s.upper() for s in sandbox.proxysql.statements)
    rs.snapshot_for(0)
    assert run_scheduler(cfg).code == 0
    assert status(sandbox) == "ONLINE"


def test_offline_hard_and_manual_offline_soft_are_left_alone(mariadb, tmp_path: Path) -> None:
    with Sandbox(mariadb=mariadb, workdir=tmp_path / "sb", readysets=2) as sb:
        for rs in sb.readyset:
            rs.snapshot_for(60)
        with sb.admin() as conn, conn.cursor() as cur:
            for rs, wanted in zip(sb.readyset, ("OFFLINE_HARD", "OFFLINE_SOFT")):
                cur.execute(f"UPDATE mysql_servers SET status = '{wanted}' WHERE port = {rs.port}")
            cur.execute("LOAD MYSQL SERVERS TO RUNTIME")
        run = run_scheduler(sb.scheduler_config(tmp_path / "s.cnf"))
        assert run.code == 0
        assert status(sb, 0) == "OFFLINE_HARD"
        assert status(sb, 1) == "OFFLINE_SOFT"


def test_maintenance_mode_set_by_us_is_lifted_by_us(sandbox: Sandbox, config) -> None:
    rs = sandbox.readyset[0]
    cfg = config(operation_mode="HealthCheck")
    rs.enter_maintenance()
    assert run_scheduler(cfg).code == 0
    assert status(sandbox) == "OFFLINE_SOFT"
    rs.exit_maintenance()
    assert run_scheduler(cfg).code == 0
    assert status(sandbox) == "ONLINE"


def test_hung_host_ends_in_time_and_is_named(mariadb, tmp_path: Path) -> None:
    with Sandbox(mariadb=mariadb, workdir=tmp_path / "sb", readysets=2) as sb:
        sb.readyset[1].connect_behaviour = "hang"
        cfg = sb.scheduler_config(
            tmp_path / "s.cnf", operation_mode="HealthCheck", connect_timeout_s=1, pass_timeout_s=3
        )
        run = run_scheduler(cfg, timeout=20)
        assert run.code == 0, run.lines
        assert status(sb, 0) == "ONLINE"
        assert status(sb, 1) == "SHUNNED"
        assert any(str(sb.readyset[1].port) in line for line in run.lines)


def test_seed_single_host_form(sandbox: Sandbox, config) -> None:
    """The seed's readyset_host/readyset_port: checked even without 'readyset' in the comment."""
    rs = sandbox.readyset[0]
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute(f"UPDATE mysql_servers SET comment = 'cache' WHERE port = {rs.port}")
        cur.execute("LOAD MYSQL SERVERS TO RUNTIME")
    rs.snapshot_for(60)
    cfg = config(operation_mode="HealthCheck", readyset_host="127.0.0.1", readyset_port=rs.port)
    assert run_scheduler(cfg).code == 0
    assert status(sandbox) == "SHUNNED"
    # Without the seed keys the same server is not a Readyset host: nothing is checked.
    rs.snapshot_for(0)
    run = run_scheduler(config(operation_mode="HealthCheck"))
    assert any("no Readyset host" in line for line in run.lines)
    assert status(sandbox) == "SHUNNED"


def test_query_discovery_mode_trusts_runtime_status(sandbox: Sandbox, config) -> None:
    """Health is someone else's job in QueryDiscovery mode (e.g. ProxySQL 3's own monitor)."""
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    sandbox.readyset[0].snapshot_for(60)  # would be SHUNNED by a health check
    run = run_scheduler(config(operation_mode="QueryDiscovery"))
    assert run.code == 0, run.lines
    assert status(sandbox) == "ONLINE"
    assert len(admin_rows(sandbox, "SELECT * FROM runtime_mysql_query_rules")) == 1


def test_a_refused_login_is_a_setup_error_not_a_health_verdict(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    assert run_scheduler(config()).code == 0
    rules = admin_rows(sandbox, "SELECT rule_id, active FROM runtime_mysql_query_rules")
    caches = [c.name for c in sandbox.readyset[0].caches()]
    assert rules and caches

    app_queries(sandbox, ["SELECT name FROM customers WHERE id IN (1, 2)"], times=2)
    run = run_scheduler(config(readyset_password="rotated-yesterday"))
    assert run.code == 1
    assert any(
        "[ERROR]" in line
        and f"Readyset 127.0.0.1:{sandbox.readyset[0].port} refused the scheduler's login" in line
        and "readyset_user" in line
        and "readyset_password" in line
        for line in run.lines
    ), run.lines
    # the application's traffic through ProxySQL does not use these credentials: nothing moves
    assert status(sandbox) == "ONLINE"
    assert admin_rows(sandbox, "SELECT rule_id, active FROM runtime_mysql_query_rules") == rules
    assert [c.name for c in sandbox.readyset[0].caches()] == caches
    assert any("no discovery this pass" in line for line in run.lines), run.lines
