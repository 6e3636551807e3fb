"""LOAD / SAVE in every spelling, the three layers, restarts, SET, multi-statements, probes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pymysql
import pytest

from rps_sandbox.proxysql import ProxySQL
from rps_sandbox.wire import ServerThread

from ._util import q

MODULES = [
    "MYSQL SERVERS",
    "MYSQL USERS",
    "MYSQL QUERY RULES",
    "MYSQL VARIABLES",
    "ADMIN VARIABLES",
    "SCHEDULER",
]
TO_RUNTIME = ["LOAD {} TO RUNTIME", "LOAD {} TO RUN", "LOAD {} FROM MEMORY", "LOAD {} FROM MEM"]
TO_MEMORY = ["SAVE {} TO MEMORY", "SAVE {} TO MEM", "SAVE {} FROM RUNTIME", "SAVE {} FROM RUN"]
FROM_DISK = ["LOAD {} TO MEMORY", "LOAD {} TO MEM", "LOAD {} FROM DISK"]
TO_DISK = ["SAVE {} FROM MEMORY", "SAVE {} FROM MEM", "SAVE {} TO DISK"]


def _rule(admin: Any, rule_id: int, active: int = 1, hg: int = 5) -> None:
    admin.execute(
        "INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup, "
        "apply) VALUES (%s, %s, '^SELECT', %s, 1)",
        (rule_id, active, hg),
    )


@pytest.mark.parametrize("spelling", TO_RUNTIME)
def test_every_to_runtime_spelling(admin: Any, spelling: str) -> None:
    _rule(admin, 1)
    admin.execute("INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (3, 'h', 1)")
    admin.execute("INSERT INTO scheduler (interval_ms, filename) VALUES (1000, '/bin/true')")
    admin.execute("INSERT INTO mysql_users (username, password) VALUES ('u', 'p')")
    admin.execute(
        "UPDATE global_variables SET variable_value='123' "
        "WHERE variable_name='mysql-connect_timeout_server_max'"
    )
    admin.execute(
        "UPDATE global_variables SET variable_value='false' "
        "WHERE variable_name='admin-hash_passwords'"
    )
    for module in MODULES:
        # Mixed case and extra whitespace / semicolons are normalised away.
        admin.execute("  " + spelling.format(module).lower().replace(" ", "  \n") + " ; ")
    assert q(admin, "SELECT rule_id FROM runtime_mysql_query_rules") == [("1",)]
    assert q(admin, "SELECT hostname FROM runtime_mysql_servers") == [("h",)]
    assert q(admin, "SELECT filename FROM runtime_scheduler") == [("/bin/true",)]
    assert len(q(admin, "SELECT * FROM runtime_mysql_users WHERE username='u'")) == 2
    rv = dict(q(admin, "SELECT * FROM runtime_global_variables"))
    assert rv["mysql-connect_timeout_server_max"] == "123"
    assert rv["admin-hash_passwords"] == "false"


@pytest.mark.parametrize("spelling", TO_MEMORY)
def test_every_to_memory_spelling(admin: Any, spelling: str) -> None:
    _rule(admin, 1)
    admin.execute("INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (3, 'h', 1)")
    admin.execute("INSERT INTO scheduler (interval_ms, filename) VALUES (1000, '/bin/true')")
    admin.execute("INSERT INTO mysql_users (username, password) VALUES ('u', 'p')")
    for module in MODULES:
        admin.execute(f"LOAD {module} TO RUNTIME")
    for table in ("mysql_query_rules", "mysql_servers", "scheduler", "mysql_users"):
        admin.execute(f"DELETE FROM {table}")  # noqa: S608
    admin.execute(
        "UPDATE global_variables SET variable_value='77' "
        "WHERE variable_name='mysql-connect_timeout_server_max'"
    )
    for module in MODULES:
        admin.execute(spelling.format(module))
    assert q(admin, "SELECT rule_id FROM mysql_query_rules") == [("1",)]
    assert q(admin, "SELECT hostname FROM mysql_servers") == [("h",)]
    assert q(admin, "SELECT filename FROM scheduler") == [("/bin/true",)]
    assert q(admin, "SELECT username, frontend, backend FROM mysql_users") == [("u", "1", "1")]
    assert q(
        admin,
        "SELECT variable_value FROM global_variables "
        "WHERE variable_name='mysql-connect_timeout_server_max'",
    ) == [("10000",)]


@pytest.mark.parametrize(("save", "load"), list(zip(TO_DISK, FROM_DISK)))
def test_every_disk_spelling(admin: Any, save: str, load: str) -> None:
    _rule(admin, 1)
    admin.execute("INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (3, 'h', 1)")
    admin.execute("INSERT INTO scheduler (interval_ms, filename) VALUES (1000, '/bin/true')")
    admin.execute("INSERT INTO mysql_users (username, password) VALUES ('u', 'p')")
    admin.execute(
        "UPDATE global_variables SET variable_value='4321' "
        "WHERE variable_name='mysql-connect_timeout_server_max'"
    )
    admin.execute(
        "UPDATE global_variables SET variable_value='true' WHERE variable_name='admin-read_only'"
    )
    for module in MODULES:
        admin.execute(save.format(module))
    assert q(admin, "SELECT rule_id FROM disk.mysql_query_rules") == [("1",)]
    assert q(admin, "SELECT hostname FROM disk.mysql_servers") == [("h",)]
    assert q(admin, "SELECT filename FROM disk.scheduler") == [("/bin/true",)]
    assert q(admin, "SELECT username FROM disk.mysql_users") == [("u",)]
    assert q(
        admin,
        "SELECT variable_value FROM disk.global_variables WHERE variable_name IN "
        "('mysql-connect_timeout_server_max', 'admin-read_only') ORDER BY variable_name",
    ) == [("true",), ("4321",)]
    for table in ("mysql_query_rules", "mysql_servers", "scheduler", "mysql_users"):
        admin.execute(f"DELETE FROM {table}")  # noqa: S608
    admin.execute("DELETE FROM global_variables WHERE variable_name LIKE 'mysql-%'")
    for module in MODULES:
        admin.execute(load.format(module))
    assert q(admin, "SELECT rule_id FROM mysql_query_rules") == [("1",)]
    assert q(admin, "SELECT hostname FROM mysql_servers") == [("h",)]
    assert q(admin, "SELECT filename FROM scheduler") == [("/bin/true",)]
    assert q(admin, "SELECT username FROM mysql_users") == [("u",)]
    assert q(
        admin,
        "SELECT variable_value FROM global_variables "
        "WHERE variable_name='mysql-connect_timeout_server_max'",
    ) == [("4321",)]


def test_variables_disk_copy_reports_rows(admin: Any) -> None:
    admin.execute("SAVE MYSQL VARIABLES TO DISK")
    assert admin.rowcount > 10


def test_memory_is_not_live_until_load(admin: Any) -> None:
    _rule(admin, 10)
    admin.execute("INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (3, 'h', 1)")
    assert q(admin, "SELECT * FROM runtime_mysql_query_rules") == []
    assert q(admin, "SELECT * FROM runtime_mysql_servers") == []
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    assert q(admin, "SELECT rule_id FROM runtime_mysql_query_rules") == [("10",)]
    assert q(admin, "SELECT * FROM runtime_mysql_servers") == []
    # Writing a runtime table is pointless: the next read regenerates it.
    admin.execute("DELETE FROM runtime_mysql_query_rules")
    assert q(admin, "SELECT rule_id FROM runtime_mysql_query_rules") == [("10",)]


def test_disk_only_after_save_survives_restart(tmp_path: Path, server_thread: ServerThread) -> None:
    datadir = tmp_path / "pdata"
    first = ProxySQL(datadir, server_thread=server_thread).start()
    try:
        with first.admin() as conn, conn.cursor() as cur:
            _rule(cur, 1)
            cur.execute(
                "INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (3, 'h', 1)"
            )
            cur.execute("SET mysql-connect_timeout_server_max = 777")
            cur.execute("SAVE MYSQL QUERY RULES TO DISK")
            cur.execute("SAVE MYSQL VARIABLES TO DISK")
            _rule(cur, 2)  # memory only
            cur.execute("LOAD MYSQL QUERY RULES TO RUNTIME")  # runtime only, not disk
            # servers never saved to disk
    finally:
        first.stop()
    second = ProxySQL(datadir, server_thread=server_thread).start()
    try:
        with second.admin() as conn, conn.cursor() as cur:
            assert q(cur, "SELECT rule_id FROM mysql_query_rules") == [("1",)]
            # disk -> memory -> runtime at start
            assert q(cur, "SELECT rule_id FROM runtime_mysql_query_rules") == [("1",)]
            assert q(cur, "SELECT * FROM mysql_servers") == []
            assert q(
                cur,
                "SELECT variable_value FROM runtime_global_variables "
                "WHERE variable_name='mysql-connect_timeout_server_max'",
            ) == [("777",)]
    finally:
        second.stop()


def test_save_query_rules_to_memory_loses_inactive_rules(admin: Any) -> None:
    _rule(admin, 1, active=1)
    _rule(admin, 2, active=0)
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    assert q(admin, "SELECT rule_id FROM runtime_mysql_query_rules") == [("1",)]
    admin.execute("SAVE MYSQL QUERY RULES TO MEMORY")
    assert q(admin, "SELECT rule_id FROM mysql_query_rules") == [("1",)]


def test_rule_digest_rerendered_at_runtime(admin: Any) -> None:
    admin.execute(
        "INSERT INTO mysql_query_rules (rule_id, active, digest, apply) "
        "VALUES (1, 1, '0x00000000000000ab', 1)"
    )
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    assert q(admin, "SELECT digest FROM runtime_mysql_query_rules") == [("0x00000000000000AB",)]


def test_save_servers_to_memory_turns_shunned_into_online(admin: Any, proxysql: ProxySQL) -> None:
    admin.execute(
        "INSERT INTO mysql_servers (hostgroup_id, hostname, port, status) VALUES "
        "(1, 'a', 1, 'SHUNNED'), (1, 'b', 1, 'OFFLINE_SOFT'), (1, 'c', 1, 'online')"
    )
    admin.execute("LOAD MYSQL SERVERS TO RUNTIME")
    assert q(admin, "SELECT hostname, status FROM runtime_mysql_servers") == [
        ("a", "SHUNNED"),
        ("b", "OFFLINE_SOFT"),
        ("c", "ONLINE"),
    ]
    proxysql.set_server_status(1, "c", 1, "SHUNNED")  # as ProxySQL's own auto-shunning would
    assert q(admin, "SELECT status FROM runtime_mysql_servers WHERE hostname='c'") == [("SHUNNED",)]
    admin.execute("SAVE MYSQL SERVERS TO MEMORY")
    assert q(admin, "SELECT hostname, status FROM mysql_servers ORDER BY hostname") == [
        ("a", "ONLINE"),
        ("b", "OFFLINE_SOFT"),
        ("c", "ONLINE"),
    ]


def test_load_servers_unshuns_and_removes(admin: Any, proxysql: ProxySQL) -> None:
    admin.execute(
        "INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (1, 'a', 1), (1, 'b', 1)"
    )
    admin.execute("LOAD MYSQL SERVERS TO RUNTIME")
    proxysql.set_server_status(1, "a", 1, "SHUNNED")
    admin.execute("DELETE FROM mysql_servers WHERE hostname='b'")
    admin.execute("LOAD MYSQL SERVERS TO RUNTIME")
    assert q(admin, "SELECT hostname, status FROM runtime_mysql_servers") == [("a", "ONLINE")]


def test_runtime_users_split_frontend_backend(admin: Any) -> None:
    admin.execute(
        "INSERT INTO mysql_users (username, password, default_hostgroup) VALUES ('u', 'p', 2)"
    )
    admin.execute("LOAD MYSQL USERS TO RUNTIME")
    rows = q(
        admin,
        "SELECT username, frontend, backend, default_hostgroup FROM runtime_mysql_users "
        "ORDER BY frontend",
    )
    assert rows == [("u", "0", "1", "2"), ("u", "1", "0", "2")]


def test_only_first_statement_of_a_packet_runs(proxysql: ProxySQL) -> None:
    conn = proxysql.admin(client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO mysql_query_rules (rule_id, active, apply) VALUES (1, 1, 1); "
                "LOAD MYSQL QUERY RULES TO RUNTIME"
            )
            assert q(cur, "SELECT rule_id FROM mysql_query_rules") == [("1",)]
            assert q(cur, "SELECT * FROM runtime_mysql_query_rules") == []
            cur.execute("SELECT 'a;b' AS x; SELECT 2")
            assert cur.fetchall() == (("a;b",),)
    finally:
        conn.close()


def test_set_rewrites_to_update_and_needs_load(admin: Any) -> None:
    admin.execute("SET mysql-connect_timeout_server_max = 500")
    assert admin.rowcount == 1
    assert q(
        admin,
        "SELECT variable_value FROM global_variables "
        "WHERE variable_name='mysql-connect_timeout_server_max'",
    ) == [("500",)]
    assert q(
        admin,
        "SELECT variable_value FROM runtime_global_variables "
        "WHERE variable_name='mysql-connect_timeout_server_max'",
    ) == [("10000",)]
    admin.execute("LOAD MYSQL VARIABLES TO RUNTIME")
    assert q(
        admin,
        "SELECT variable_value FROM runtime_global_variables "
        "WHERE variable_name='mysql-connect_timeout_server_max'",
    ) == [("500",)]
    # unquoted strings are inserted verbatim -> a SQLite error
    with pytest.raises(pymysql.err.OperationalError) as err:
        admin.execute("SET mysql-default_schema = shop")
    assert err.value.args == (1045, "ProxySQL Admin Error: no such column: shop")
    # unknown variable: an OK, nothing changes
    admin.execute("SET mysql-no_such_thing = 1")
    assert (
        q(admin, "SELECT * FROM global_variables WHERE variable_name='mysql-no_such_thing'") == []
    )
    with pytest.raises(pymysql.err.OperationalError):
        admin.execute("SET mysql-init_connect = 'x'")


def test_load_variables_rejects_bad_and_unknown(admin: Any) -> None:
    admin.execute("SET mysql-query_digests_max_digest_length = 5")  # below 16
    admin.execute("SET mysql-query_digests = 'maybe'")
    admin.execute("INSERT INTO global_variables VALUES ('mysql-bogus', '1')")
    admin.execute("LOAD MYSQL VARIABLES TO RUNTIME")
    values = dict(q(admin, "SELECT * FROM global_variables WHERE variable_name LIKE 'mysql-%'"))
    assert values["mysql-query_digests_max_digest_length"] == "2048"
    assert values["mysql-query_digests"] == "true"
    assert "mysql-bogus" not in values


def test_client_probes(admin: Any) -> None:
    assert q(admin, "select @@version_comment limit 1") == [("(ProxySQL Admin Module)",)]
    assert q(admin, "SELECT @@version")[0][0].startswith("2.7")
    for ok in ("BEGIN", "COMMIT", "ROLLBACK", "SET NAMES utf8mb4", "SET AUTOCOMMIT=1", "USE main"):
        admin.execute(ok)


def test_sqlite_errors_are_admin_errors(admin: Any) -> None:
    with pytest.raises(pymysql.err.OperationalError) as err:
        admin.execute("SELECT * FROM nowhere")
    assert err.value.args == (1045, "ProxySQL Admin Error: no such table: nowhere")


def test_statements_are_recorded(proxysql: ProxySQL, admin: Any) -> None:
    proxysql.reset_statements()
    admin.execute("SELECT 1")
    admin.execute("LOAD MYSQL SERVERS TO RUNTIME")
    assert proxysql.statements == ["SELECT 1", "LOAD MYSQL SERVERS TO RUNTIME"]


def test_rule_hits_reset_on_load(admin: Any, proxysql: ProxySQL) -> None:
    _rule(admin, 1)
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    proxysql.runtime.rules[0].hits = 5
    assert q(admin, "SELECT * FROM stats_mysql_query_rules") == [("1", "5")]
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    assert q(admin, "SELECT * FROM stats_mysql_query_rules") == [("1", "0")]
