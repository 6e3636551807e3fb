"""DDL fidelity: the admin tables carry the reference's columns, types, NOT NULL, defaults,
keys and CHECK constraints (transcribed independently from the reference, §1)."""

from __future__ import annotations

from typing import Any, Optional

import pymysql
import pytest

from rps_sandbox.proxysql import ProxySQL

from ._util import q

Cols = list[tuple[str, str, int, Optional[str]]]

SERVERS: Cols = [
    ("hostgroup_id", "INT", 1, "0"),
    ("hostname", "VARCHAR", 1, None),
    ("port", "INT", 1, "3306"),
    ("gtid_port", "INT", 1, "0"),
    ("status", "VARCHAR", 1, "'ONLINE'"),
    ("weight", "INT", 1, "1"),
    ("compression", "INT", 1, "0"),
    ("max_connections", "INT", 1, "1000"),
    ("max_replication_lag", "INT", 1, "0"),
    ("use_ssl", "INT", 1, "0"),
    ("max_latency_ms", "INT UNSIGNED", 1, "0"),
    ("comment", "VARCHAR", 1, "''"),
]
RULES: Cols = [
    ("rule_id", "INTEGER", 1, None),
    ("active", "INT", 1, "0"),
    ("username", "VARCHAR", 0, None),
    ("schemaname", "VARCHAR", 0, None),
    ("flagIN", "INT", 1, "0"),
    ("client_addr", "VARCHAR", 0, None),
    ("proxy_addr", "VARCHAR", 0, None),
    ("proxy_port", "INT", 0, None),
    ("digest", "VARCHAR", 0, None),
    ("match_digest", "VARCHAR", 0, None),
    ("match_pattern", "VARCHAR", 0, None),
    ("negate_match_pattern", "INT", 1, "0"),
    ("re_modifiers", "VARCHAR", 0, "'CASELESS'"),
    ("flagOUT", "INT", 0, None),
    ("replace_pattern", "VARCHAR", 0, None),
    ("destination_hostgroup", "INT", 0, "NULL"),
    ("cache_ttl", "INT", 0, None),
    ("cache_empty_result", "INT", 0, "NULL"),
    ("cache_timeout", "INT", 0, None),
    ("reconnect", "INT", 0, "NULL"),
    ("timeout", "INT UNSIGNED", 0, None),
    ("retries", "INT", 0, None),
    ("delay", "INT UNSIGNED", 0, None),
    ("next_query_flagIN", "INT UNSIGNED", 0, None),
    ("mirror_flagOUT", "INT UNSIGNED", 0, None),
    ("mirror_hostgroup", "INT UNSIGNED", 0, None),
    ("error_msg", "VARCHAR", 0, None),
    ("OK_msg", "VARCHAR", 0, None),
    ("sticky_conn", "INT", 0, None),
    ("multiplex", "INT", 0, None),
    ("gtid_from_hostgroup", "INT UNSIGNED", 0, None),
    ("log", "INT", 0, None),
    ("apply", "INT", 1, "0"),
    ("attributes", "VARCHAR", 1, "''"),
    ("comment", "VARCHAR", 0, None),
]
FAST: Cols = [
    ("username", "VARCHAR", 1, None),
    ("schemaname", "VARCHAR", 1, None),
    ("flagIN", "INT", 1, "0"),
    ("destination_hostgroup", "INT", 1, None),
    ("comment", "VARCHAR", 1, None),
]
USERS: Cols = [
    ("username", "VARCHAR", 1, None),
    ("password", "VARCHAR", 0, None),
    ("active", "INT", 1, "1"),
    ("use_ssl", "INT", 1, "0"),
    ("default_hostgroup", "INT", 1, "0"),
    ("default_schema", "VARCHAR", 0, None),
    ("schema_locked", "INT", 1, "0"),
    ("transaction_persistent", "INT", 1, "1"),
    ("fast_forward", "INT", 1, "0"),
    ("backend", "INT", 1, "1"),
    ("frontend", "INT", 1, "1"),
    ("max_connections", "INT", 1, "10000"),
    ("attributes", "VARCHAR", 1, "''"),
    ("comment", "VARCHAR", 1, "''"),
]
VARIABLES: Cols = [("variable_name", "VARCHAR", 1, None), ("variable_value", "VARCHAR", 1, None)]
SCHEDULER: Cols = [
    ("id", "INTEGER", 1, None),
    ("active", "INT", 1, "1"),
    ("interval_ms", "INTEGER", 1, None),
    ("filename", "VARCHAR", 1, None),
    ("arg1", "VARCHAR", 0, None),
    ("arg2", "VARCHAR", 0, None),
    ("arg3", "VARCHAR", 0, None),
    ("arg4", "VARCHAR", 0, None),
    ("arg5", "VARCHAR", 0, None),
    ("comment", "VARCHAR", 1, "''"),
]
DIGEST: Cols = (
    [("hostgroup", "INT", 0, None)]
    + [
        (name, "VARCHAR", 1, None)
        for name in ("schemaname", "username", "client_address", "digest", "digest_text")
    ]
    + [
        (name, "INTEGER", 1, None)
        for name in (
            "count_star",
            "first_seen",
            "last_seen",
            "sum_time",
            "min_time",
            "max_time",
            "sum_rows_affected",
            "sum_rows_sent",
        )
    ]
)
RULE_STATS: Cols = [("rule_id", "INTEGER", 0, None), ("hits", "INT", 1, None)]
POOL: Cols = [
    (name, typ, 0, None)
    for name, typ in (
        ("hostgroup", "INT"),
        ("srv_host", "VARCHAR"),
        ("srv_port", "INT"),
        ("status", "VARCHAR"),
        ("ConnUsed", "INT"),
        ("ConnFree", "INT"),
        ("ConnOK", "INT"),
        ("ConnERR", "INT"),
        ("MaxConnUsed", "INT"),
        ("Queries", "INT"),
        ("Queries_GTID_sync", "INT"),
        ("Bytes_data_sent", "INT"),
        ("Bytes_data_recv", "INT"),
        ("Latency_us", "INT"),
    )
]

CASES = [
    ("main", "mysql_servers", SERVERS, ["hostgroup_id", "hostname", "port"]),
    ("main", "runtime_mysql_servers", SERVERS, ["hostgroup_id", "hostname", "port"]),
    ("disk", "mysql_servers", SERVERS, ["hostgroup_id", "hostname", "port"]),
    ("main", "mysql_query_rules", RULES, ["rule_id"]),
    ("main", "runtime_mysql_query_rules", RULES, ["rule_id"]),
    ("disk", "mysql_query_rules", RULES, ["rule_id"]),
    ("main", "mysql_query_rules_fast_routing", FAST, ["username", "schemaname", "flagIN"]),
    ("main", "runtime_mysql_query_rules_fast_routing", FAST, ["username", "schemaname", "flagIN"]),
    ("disk", "mysql_query_rules_fast_routing", FAST, ["username", "schemaname", "flagIN"]),
    ("main", "mysql_users", USERS, ["username", "backend"]),
    ("main", "runtime_mysql_users", USERS, ["username", "backend"]),
    ("disk", "mysql_users", USERS, ["username", "backend"]),
    ("main", "global_variables", VARIABLES, ["variable_name"]),
    ("main", "runtime_global_variables", VARIABLES, ["variable_name"]),
    ("disk", "global_variables", VARIABLES, ["variable_name"]),
    ("stats", "global_variables", VARIABLES, ["variable_name"]),
    ("main", "scheduler", SCHEDULER, ["id"]),
    ("main", "runtime_scheduler", SCHEDULER, ["id"]),
    ("disk", "scheduler", SCHEDULER, ["id"]),
    (
        "stats",
        "stats_mysql_query_digest",
        DIGEST,
        ["hostgroup", "schemaname", "username", "client_address", "digest"],
    ),
    (
        "stats",
        "stats_mysql_query_digest_reset",
        DIGEST,
        ["hostgroup", "schemaname", "username", "client_address", "digest"],
    ),
    ("stats", "stats_mysql_query_rules", RULE_STATS, ["rule_id"]),
    ("stats", "stats_mysql_connection_pool", POOL, []),
    ("stats", "stats_mysql_connection_pool_reset", POOL, []),
]


@pytest.mark.parametrize(
    ("db", "table", "expected", "pk"), CASES, ids=[f"{c[0]}.{c[1]}" for c in CASES]
)
def test_table_info_matches_reference(
    admin: Any, db: str, table: str, expected: Cols, pk: list[str]
) -> None:
    info = q(admin, f"PRAGMA {db}.table_info({table})")
    got = [(r[1], r[2], int(r[3]), r[4]) for r in info]
    assert got == expected
    got_pk = [r[1] for r in sorted((r for r in info if int(r[5])), key=lambda r: int(r[5]))]
    assert got_pk == pk


def test_layers_hold_the_right_tables(admin: Any) -> None:
    disk = {r[0] for r in q(admin, "SHOW TABLES FROM disk")}
    assert not any(t.startswith("runtime_") for t in disk)
    assert {"mysql_servers", "mysql_users", "mysql_query_rules", "scheduler"} <= disk
    main = {r[0] for r in q(admin, "SHOW TABLES")}
    assert {"runtime_mysql_servers", "runtime_mysql_query_rules", "runtime_scheduler"} <= main
    assert [r[1] for r in q(admin, "SHOW DATABASES")] == ["main", "disk", "stats"]


def test_users_unique_username_frontend(admin: Any) -> None:
    admin.execute("INSERT INTO mysql_users (username, password) VALUES ('u', 'p')")
    with pytest.raises(pymysql.err.OperationalError) as err:
        admin.execute("INSERT INTO mysql_users (username, password, backend) VALUES ('u', 'p', 0)")
    assert err.value.args[0] == 1045
    assert "UNIQUE constraint failed" in err.value.args[1]


BAD = [
    "INSERT INTO mysql_servers (hostgroup_id, hostname) VALUES (-1, 'h')",
    "INSERT INTO mysql_servers (hostname, port) VALUES ('h', 70000)",
    "INSERT INTO mysql_servers (hostname, status) VALUES ('h', 'BROKEN')",
    "INSERT INTO mysql_servers (hostname, weight) VALUES ('h', 10000001)",
    "INSERT INTO mysql_servers (hostname, port, gtid_port) VALUES ('h', 3306, 3306)",
    "INSERT INTO mysql_query_rules (rule_id, active) VALUES (1, 2)",
    "INSERT INTO mysql_query_rules (rule_id, apply) VALUES (1, 5)",
    "INSERT INTO mysql_query_rules (rule_id, cache_ttl) VALUES (1, 0)",
    "INSERT INTO mysql_query_rules (rule_id, replace_pattern) VALUES (1, 'x')",
    "INSERT INTO mysql_query_rules (rule_id, attributes) VALUES (1, '{bad')",
    "INSERT INTO mysql_query_rules (rule_id, multiplex) VALUES (1, 3)",
    "INSERT INTO mysql_users (username, active) VALUES ('u', 7)",
    "INSERT INTO scheduler (interval_ms, filename) VALUES (99, '/bin/true')",
    "INSERT INTO mysql_query_rules_fast_routing VALUES ('u', 's', 0, -1, '')",
]


@pytest.mark.parametrize("sql", BAD)
def test_check_constraints_reject_bad_values(admin: Any, sql: str) -> None:
    with pytest.raises(pymysql.err.OperationalError) as err:
        admin.execute(sql)
    assert err.value.args[0] == 1045
    assert err.value.args[1].startswith("ProxySQL Admin Error: CHECK constraint failed")


def test_not_null_and_defaults(admin: Any) -> None:
    with pytest.raises(pymysql.err.OperationalError) as err:
        admin.execute("INSERT INTO mysql_servers (hostgroup_id) VALUES (1)")
    assert err.value.args[1] == (
        "ProxySQL Admin Error: NOT NULL constraint failed: mysql_servers.hostname"
    )
    admin.execute("INSERT INTO mysql_query_rules (match_digest) VALUES ('^SELECT')")
    row = q(admin, "SELECT rule_id, active, re_modifiers, apply, attributes FROM mysql_query_rules")
    assert row == [("1", "0", "CASELESS", "0", "")]
    admin.execute("INSERT INTO scheduler (interval_ms, filename) VALUES (1000, '/bin/true')")
    assert q(admin, "SELECT id, active, comment FROM scheduler") == [("1", "1", "")]


def test_default_variables(admin: Any) -> None:
    values = dict(q(admin, "SELECT * FROM global_variables"))
    assert values["mysql-query_digests"] == "true"
    assert values["mysql-query_digests_replace_null"] == "false"
    assert values["mysql-query_digests_max_digest_length"] == "2048"
    assert values["mysql-query_digests_groups_grouping_limit"] == "10"
    assert values["mysql-connect_timeout_server_max"] == "10000"
    assert values["mysql-mirror_max_concurrency"] == "16"
    assert values["mysql-default_schema"] == "information_schema"
    assert values["admin-admin_credentials"] == "admin:admin;radmin:radmin"
    assert values["admin-stats_credentials"] == "stats:stats"
    runtime = dict(q(admin, "SELECT * FROM runtime_global_variables"))
    assert runtime["mysql-query_digests"] == "true"
    assert set(runtime) == set(values)


def test_result_columns_are_text(proxysql: ProxySQL) -> None:
    conn = proxysql.admin()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 AS n, 'x' AS s")
            assert cur.fetchall() == (("1", "x"),)
            assert {d[1] for d in cur.description} == {pymysql.constants.FIELD_TYPE.VAR_STRING}
    finally:
        conn.close()
