"""The in-memory digest map seen through stats_mysql_query_digest(_reset), at scale."""

from __future__ import annotations

import time
from typing import Any

from rps_sandbox.proxysql import ProxySQL

from ._util import q


def _rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "hostgroup": 1,
            "schemaname": "shop",
            "username": "app",
            "digest": f"0x{i:016X}",
            "digest_text": f"SELECT * FROM t{i} WHERE id = ?",  # noqa: S608
            "count_star": i % 50 + 1,
            "sum_time": 1000 + i,
        }
        for i in range(n)
    ]


def test_injected_rows_are_read_and_ranked(proxysql: ProxySQL, admin: Any) -> None:
    proxysql.add_digest_rows(_rows(20_000))
    admin.execute(
        "INSERT INTO mysql_query_rules (rule_id, active, digest, destination_hostgroup, apply) "
        "VALUES (1, 1, '0x0000000000004E1F', 2, 1)"
    )
    start = time.perf_counter()
    top = q(
        admin,
        "SELECT digest, count_star FROM stats_mysql_query_digest WHERE digest NOT IN "
        "(SELECT digest FROM mysql_query_rules WHERE digest IS NOT NULL) "
        "ORDER BY sum_time DESC LIMIT 2",
    )
    assert time.perf_counter() - start < 2
    assert top == [("0x0000000000004E1E", "49"), ("0x0000000000004E1D", "48")]
    assert q(admin, "SELECT COUNT(*) FROM stats.stats_mysql_query_digest") == [("20000",)]


def test_reset_read_also_fills_plain_table_when_both_named(proxysql: ProxySQL, admin: Any) -> None:
    proxysql.add_digest_rows(_rows(3))
    both = q(
        admin,
        "SELECT (SELECT COUNT(*) FROM stats_mysql_query_digest_reset), "
        "(SELECT COUNT(*) FROM stats_mysql_query_digest)",
    )
    assert both == [("3", "3")]
    assert q(admin, "SELECT COUNT(*) FROM stats_mysql_query_digest") == [("0",)]


def test_save_digest_to_disk_resets(proxysql: ProxySQL, admin: Any) -> None:
    proxysql.add_digest_rows(_rows(3))
    admin.execute("SAVE MYSQL DIGEST TO DISK")
    assert q(admin, "SELECT COUNT(*) FROM stats_mysql_query_digest") == [("0",)]


def test_same_object_restarts_with_saved_config(proxysql: ProxySQL, admin: Any) -> None:
    admin.execute("INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (1, 'a', 1)")
    admin.execute("SAVE MYSQL SERVERS TO DISK")
    proxysql.add_digest_rows(_rows(2))
    port = proxysql.admin_port
    proxysql.stop()
    proxysql.start()
    assert proxysql.admin_port == port
    conn = proxysql.admin()
    try:
        with conn.cursor() as cur:
            assert q(cur, "SELECT hostname FROM runtime_mysql_servers") == [("a",)]
            assert q(cur, "SELECT COUNT(*) FROM stats_mysql_query_digest") == [("0",)]
    finally:
        conn.close()
