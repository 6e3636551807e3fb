"""Admin credentials: local-only `admin`, remote `radmin`, bad passwords, read-only stats."""

from __future__ import annotations

from typing import Any

import pymysql
import pytest

from rps_sandbox.proxysql import ProxySQL

from ._util import q


def test_admin_only_connects_locally(proxysql: ProxySQL) -> None:
    with pytest.raises(pymysql.err.OperationalError) as err:
        proxysql.admin(bind_address="127.0.0.2")
    assert err.value.args == (1040, "User 'admin' can only connect locally")


def test_stats_only_connects_locally(proxysql: ProxySQL) -> None:
    with pytest.raises(pymysql.err.OperationalError) as err:
        proxysql.admin("stats", "stats", bind_address="127.0.0.2")
    assert err.value.args[0] == 1040


def test_radmin_connects_from_anywhere(proxysql: ProxySQL) -> None:
    conn = proxysql.admin("radmin", "radmin", bind_address="127.0.0.2")
    try:
        with conn.cursor() as cur:
            assert q(cur, "SELECT COUNT(*) FROM mysql_servers") == [("0",)]
    finally:
        conn.close()


@pytest.mark.parametrize(("user", "password"), [("admin", "wrong"), ("nobody", "x")])
def test_bad_password(proxysql: ProxySQL, user: str, password: str) -> None:
    with pytest.raises(pymysql.err.OperationalError) as err:
        proxysql.admin(user, password)
    assert err.value.args[0] == 1045


def test_credentials_change_on_load_admin_variables(proxysql: ProxySQL, admin: Any) -> None:
    admin.execute("SET admin-admin_credentials = 'admin:admin;ops:s3cret'")
    with pytest.raises(pymysql.err.OperationalError):
        proxysql.admin("ops", "s3cret")
    admin.execute("LOAD ADMIN VARIABLES TO RUNTIME")
    conn = proxysql.admin("ops", "s3cret", bind_address="127.0.0.2")
    conn.close()


def test_stats_user_sees_only_stats_read_only(proxysql: ProxySQL) -> None:
    proxysql.add_digest_rows(
        [{"hostgroup": 1, "schemaname": "s", "username": "u", "digest": "0x1", "digest_text": "x"}]
    )
    conn = proxysql.admin("stats", "stats")
    try:
        with conn.cursor() as cur:
            assert q(cur, "SELECT digest FROM stats_mysql_query_digest") == [("0x1",)]
            assert q(cur, "SELECT hostgroup FROM stats.stats_mysql_query_digest") == [("1",)]
            with pytest.raises(pymysql.err.OperationalError) as err:
                cur.execute("DELETE FROM stats_mysql_query_digest")
            assert err.value.args == (
                1045,
                "ProxySQL Admin Error: attempt to write a readonly database",
            )
            with pytest.raises(pymysql.err.OperationalError) as err:
                cur.execute("SELECT * FROM mysql_servers")
            assert "no such table: mysql_servers" in err.value.args[1]
            with pytest.raises(pymysql.err.OperationalError):
                cur.execute("LOAD MYSQL SERVERS TO RUNTIME")
            assert q(cur, "select @@version_comment limit 1") == [("(ProxySQL Admin Module)",)]
            variables = dict(q(cur, "SELECT * FROM global_variables"))
            assert variables["mysql-query_digests"] == "true"
    finally:
        conn.close()
