"""The traffic port against the real MariaDB: digests, routing, mirroring, server states."""

from __future__ import annotations

import threading
import time
from typing import Any

import pymysql
import pytest

from rps_sandbox.digest import DigestSettings, digest_of, digest_text
from rps_sandbox.mariadb import MariaDB
from rps_sandbox.proxysql import ProxySQL

from ._util import OTHER_HG, SOURCE_HG, app, digest_rows, q


def run(conn: Any, sql: str) -> tuple[Any, ...]:
    with conn.cursor() as cur:
        cur.execute(sql)
        return tuple(cur.fetchall())


def hostgroups_of(admin: Any, text_like: str) -> dict[int, int]:
    rows = digest_rows(admin, f"digest_text LIKE '{text_like}'")
    return {int(r["hostgroup"]): int(r["count_star"]) for r in rows}


def add_rule(admin: Any, **cols: Any) -> None:
    names = ", ".join(cols)
    marks = ", ".join(["%s"] * len(cols))
    sql = f"INSERT INTO mysql_query_rules ({names}) VALUES ({marks})"  # noqa: S608
    admin.execute(sql, tuple(cols.values()))


def test_query_appears_in_digest_stats(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    query = "SELECT name, email FROM customers WHERE id = 42"
    before = int(time.time())
    conn = app(routed, mariadb)
    try:
        assert run(conn, query) == (("Customer 42", "c42@example.com"),)
        run(conn, "SELECT name, email FROM customers WHERE id = 7")
    finally:
        conn.close()
    text = digest_text(query, DigestSettings.from_global_variables({}))
    assert text == "SELECT name,email FROM customers WHERE id = ?"
    rows = digest_rows(admin, "digest_text LIKE 'SELECT name,email%'")
    assert len(rows) == 1
    row = rows[0]
    assert row["digest"] == digest_of(text, DigestSettings.from_global_variables({}))
    assert row["digest_text"] == text
    assert (row["hostgroup"], row["schemaname"], row["username"], row["client_address"]) == (
        str(SOURCE_HG),
        "shop",
        "app",
        "",
    )
    assert row["count_star"] == "2"
    assert row["sum_rows_sent"] == "2"
    assert row["sum_rows_affected"] == "0"
    first, last = int(row["first_seen"]), int(row["last_seen"])
    assert before <= first <= last <= time.time() + 1  # epoch seconds
    sum_t, min_t, max_t = int(row["sum_time"]), int(row["min_time"]), int(row["max_time"])
    assert 0 < min_t <= max_t <= sum_t < 5_000_000  # microseconds


def test_write_counts_rows_affected(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    conn = app(routed, mariadb)
    try:
        run(conn, "UPDATE canary SET note = 'still here' WHERE id >= 1")
    finally:
        conn.close()
    rows = digest_rows(admin, "digest_text LIKE 'UPDATE canary%'")
    assert rows[0]["digest_text"] == "UPDATE canary SET note = ? WHERE id >= ?"


def test_schema_of_the_session(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    conn = routed.connect(mariadb.app_user, mariadb.app_password)  # no database: default_schema
    try:
        assert run(conn, "SELECT COUNT(*) FROM canary") == ((1,),)
        conn.select_db("information_schema")  # COM_INIT_DB
        run(conn, "SELECT 1 FROM DUAL")
        run(conn, "USE shop")
        run(conn, "SELECT 2 FROM DUAL")
    finally:
        conn.close()
    got = {(r["schemaname"], r["digest_text"]) for r in digest_rows(admin)}
    assert ("shop", "SELECT COUNT(*) FROM canary") in got
    assert ("information_schema", "SELECT ? FROM DUAL") in got
    assert ("shop", "SELECT ? FROM DUAL") in got


def test_reset_delete_and_truncate(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    conn = app(routed, mariadb)
    try:
        run(conn, "SELECT id FROM canary")
        admin.execute("DELETE FROM stats_mysql_query_digest")
        assert len(digest_rows(admin)) == 1  # DELETE resets nothing
        assert len(q(admin, "SELECT * FROM stats_mysql_query_digest_reset")) == 1
        assert digest_rows(admin) == []  # reading _reset emptied the map
        for spelling in (
            "TRUNCATE stats_mysql_query_digest",
            "TRUNCATE TABLE stats_mysql_query_digest",
            "truncate stats.stats_mysql_query_digest",
            "TRUNCATE TABLE stats.stats_mysql_query_digest",
            "TRUNCATE stats_mysql_query_digest_reset",
            "TRUNCATE TABLE stats_mysql_query_digest_reset",
            "TRUNCATE stats.stats_mysql_query_digest_reset",
            "TRUNCATE  TABLE  stats.stats_mysql_query_digest_reset ;",
        ):
            run(conn, "SELECT id FROM canary")
            assert len(digest_rows(admin)) == 1
            admin.execute(spelling)
            assert digest_rows(admin) == [], spelling
    finally:
        conn.close()


def test_version_comment_answered_locally(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    conn = app(routed, mariadb)
    try:
        assert run(conn, "select @@version_comment limit 1") == (("(ProxySQL)",),)
    finally:
        conn.close()
    rows = digest_rows(admin, "digest_text = 'select @@version_comment limit ?'")
    assert rows[0]["hostgroup"] == "-1"
    assert rows[0]["digest"] == "0x226CD90D52A2BA0B"


def test_rule_routes_only_after_load(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    add_rule(
        admin,
        rule_id=1,
        active=1,
        match_digest=r"^SELECT note FROM canary",
        destination_hostgroup=OTHER_HG,
        apply=1,
    )
    conn = app(routed, mariadb)
    try:
        run(conn, "SELECT note FROM canary WHERE id = 1")
        assert hostgroups_of(admin, "SELECT note FROM canary%") == {SOURCE_HG: 1}
        admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
        assert run(conn, "SELECT note FROM canary WHERE id = 1") == (("still here",),)
        assert hostgroups_of(admin, "SELECT note FROM canary%") == {SOURCE_HG: 1, OTHER_HG: 1}
    finally:
        conn.close()
    assert q(admin, "SELECT rule_id, hits FROM stats_mysql_query_rules") == [("1", "1")]


def test_mirror_reaches_both(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    add_rule(admin, rule_id=1, active=1, match_digest="canary", mirror_hostgroup=OTHER_HG)
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    conn = app(routed, mariadb)
    try:
        for _ in range(3):
            assert run(conn, "SELECT note FROM canary") == (("still here",),)
    finally:
        conn.close()
    deadline = time.time() + 5
    while time.time() < deadline:
        seen = hostgroups_of(admin, "SELECT note FROM canary")
        if seen.get(OTHER_HG) == 3:
            break
        time.sleep(0.02)
    assert seen == {SOURCE_HG: 3, OTHER_HG: 3}


def test_shunned_and_offline_soft_get_no_queries(
    routed: ProxySQL, admin: Any, mariadb: MariaDB
) -> None:
    # Three entries for the same MariaDB in hostgroup 1, told apart by host name.
    admin.execute("DELETE FROM mysql_servers")
    admin.execute(
        "INSERT INTO mysql_servers (hostgroup_id, hostname, port, status) VALUES "
        "(%s, '127.0.0.1', %s, 'SHUNNED'), (%s, 'localhost', %s, 'ONLINE'), "
        "(%s, '127.0.0.1', %s, 'OFFLINE_SOFT')",
        (SOURCE_HG, mariadb.port, SOURCE_HG, mariadb.port, OTHER_HG, mariadb.port),
    )
    admin.execute("LOAD MYSQL SERVERS TO RUNTIME")
    conn = app(routed, mariadb)
    try:
        for _ in range(10):
            run(conn, "SELECT 1")
    finally:
        conn.close()
    pool = {
        (r[0], r[1]): (r[2], int(r[3]))
        for r in q(
            admin, "SELECT hostgroup, srv_host, status, Queries FROM stats_mysql_connection_pool"
        )
    }
    assert pool[(str(SOURCE_HG), "127.0.0.1")] == ("SHUNNED", 0)
    assert pool[(str(SOURCE_HG), "localhost")] == ("ONLINE", 10)
    assert pool[(str(OTHER_HG), "127.0.0.1")] == ("OFFLINE_SOFT", 0)


def test_weight_zero_never_used_and_no_server_gives_9001(
    routed: ProxySQL, admin: Any, mariadb: MariaDB
) -> None:
    admin.execute("SET mysql-connect_timeout_server_max = 500")
    admin.execute("LOAD MYSQL VARIABLES TO RUNTIME")
    admin.execute("UPDATE mysql_servers SET weight = 0 WHERE hostgroup_id = %s", (SOURCE_HG,))
    admin.execute(
        "UPDATE mysql_servers SET status = 'OFFLINE_HARD' WHERE hostgroup_id = %s", (OTHER_HG,)
    )
    admin.execute("LOAD MYSQL SERVERS TO RUNTIME")
    add_rule(admin, rule_id=1, active=1, match_pattern="^SELECT 99", destination_hostgroup=OTHER_HG)
    add_rule(admin, rule_id=2, active=1, match_pattern="^SELECT 7", destination_hostgroup=7)
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    conn = app(routed, mariadb)
    try:
        for sql, hg in (("SELECT 1", SOURCE_HG), ("SELECT 99", OTHER_HG), ("SELECT 7", 7)):
            start = time.monotonic()
            with pytest.raises(pymysql.err.OperationalError) as err:
                run(conn, sql)
            elapsed = time.monotonic() - start
            assert err.value.args[0] == 9001
            assert err.value.args[1].startswith(
                f"Max connect timeout reached while reaching hostgroup {hg} after "
            )
            assert err.value.args[1].endswith("ms")
            assert 0.45 <= elapsed < 10  # waited for the timeout, and did not hang
    finally:
        conn.close()


def test_server_coming_online_during_wait_is_used(
    routed: ProxySQL, admin: Any, mariadb: MariaDB
) -> None:
    admin.execute(
        "UPDATE mysql_servers SET status = 'OFFLINE_SOFT' WHERE hostgroup_id = %s", (SOURCE_HG,)
    )
    admin.execute("LOAD MYSQL SERVERS TO RUNTIME")
    result: list[Any] = []

    def client() -> None:
        conn = app(routed, mariadb)
        try:
            result.append(run(conn, "SELECT 5"))
        except Exception as e:  # noqa: BLE001
            result.append(e)
        finally:
            conn.close()

    worker = threading.Thread(target=client)
    start = time.monotonic()
    worker.start()
    time.sleep(0.3)
    admin.execute("UPDATE mysql_servers SET status = 'ONLINE'")
    admin.execute("LOAD MYSQL SERVERS TO RUNTIME")
    worker.join(5)
    assert result == [(("5",),)] or result == [((5,),)]
    assert 0.3 <= time.monotonic() - start < 10  # waited, and did not hang


def test_error_msg_and_ok_msg(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    add_rule(admin, rule_id=1, active=1, match_pattern="DROP", error_msg="not here", apply=1)
    add_rule(admin, rule_id=2, active=1, match_pattern="^DO NOTHING", OK_msg="fine", apply=1)
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    conn = app(routed, mariadb)
    try:
        with pytest.raises(pymysql.err.OperationalError) as err:
            run(conn, "DROP TABLE canary")
        assert err.value.args == (1148, "not here")
        run(conn, "DO NOTHING AT ALL")  # not valid SQL, but never reaches MariaDB
        assert run(conn, "SELECT note FROM canary") == (("still here",),)
    finally:
        conn.close()


def test_flag_chain(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    # rule 1 (flagIN 5) comes before rule 2 sets flagOUT 5: it is never revisited.
    add_rule(admin, rule_id=1, active=1, flagIN=5, match_digest=".", destination_hostgroup=7)
    add_rule(admin, rule_id=2, active=1, match_digest="^SELECT", flagOUT=5)
    add_rule(admin, rule_id=3, active=1, match_digest="canary", destination_hostgroup=7, apply=1)
    add_rule(
        admin,
        rule_id=4,
        active=1,
        flagIN=5,
        match_digest="canary",
        destination_hostgroup=OTHER_HG,
        apply=1,
    )
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    conn = app(routed, mariadb)
    try:
        run(conn, "SELECT note FROM canary")
        run(conn, "SELECT name FROM products WHERE id = 1")
    finally:
        conn.close()
    assert hostgroups_of(admin, "SELECT note FROM canary") == {OTHER_HG: 1}
    assert hostgroups_of(admin, "SELECT name FROM products%") == {SOURCE_HG: 1}
    hits = dict(q(admin, "SELECT rule_id, hits FROM stats_mysql_query_rules"))
    assert hits == {"1": "0", "2": "2", "3": "0", "4": "1"}


def test_match_digest_vs_match_pattern(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    add_rule(admin, rule_id=1, active=1, match_digest="id = 1$", destination_hostgroup=7, apply=1)
    add_rule(admin, rule_id=2, active=1, match_pattern="id = [?]", destination_hostgroup=7, apply=1)
    add_rule(
        admin,
        rule_id=3,
        active=1,
        match_pattern=r"products where id = 1$",
        destination_hostgroup=OTHER_HG,
        apply=1,
    )  # CASELESS by default
    add_rule(
        admin,
        rule_id=4,
        active=1,
        match_digest=r"^select",
        negate_match_pattern=1,
        destination_hostgroup=7,
        apply=1,
    )
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    conn = app(routed, mariadb)
    try:
        run(conn, "SELECT name FROM products WHERE id = 1")
    finally:
        conn.close()
    assert hostgroups_of(admin, "SELECT name FROM products%") == {OTHER_HG: 1}
    assert dict(q(admin, "SELECT rule_id, hits FROM stats_mysql_query_rules"))["3"] == "1"


def test_username_and_schemaname_criteria(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    add_rule(admin, rule_id=1, active=1, username="someone", destination_hostgroup=7, apply=1)
    add_rule(admin, rule_id=2, active=1, schemaname="mysql", destination_hostgroup=7, apply=1)
    add_rule(
        admin,
        rule_id=3,
        active=1,
        username="app",
        schemaname="shop",
        destination_hostgroup=OTHER_HG,
        apply=1,
    )
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    conn = app(routed, mariadb)
    try:
        run(conn, "SELECT id FROM canary")
    finally:
        conn.close()
    assert hostgroups_of(admin, "SELECT id FROM canary") == {OTHER_HG: 1}


def test_digest_criterion_and_fast_routing(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    settings = DigestSettings.from_global_variables({})
    digest = digest_of(digest_text("SELECT id FROM canary", settings), settings)
    add_rule(admin, rule_id=1, active=1, digest=digest.lower(), destination_hostgroup=OTHER_HG)
    admin.execute(
        "INSERT INTO mysql_query_rules_fast_routing VALUES ('app', 'shop', 0, %s, '')", (OTHER_HG,)
    )
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    conn = app(routed, mariadb)
    try:
        run(conn, "SELECT id FROM canary")
        run(conn, "SELECT note FROM canary")  # no rule: fast routing
    finally:
        conn.close()
    assert hostgroups_of(admin, "SELECT id FROM canary") == {OTHER_HG: 1}
    assert hostgroups_of(admin, "SELECT note FROM canary") == {OTHER_HG: 1}
    assert q(admin, "SELECT * FROM runtime_mysql_query_rules_fast_routing") == [
        ("app", "shop", "0", str(OTHER_HG), "")
    ]


def test_backend_errors_are_forwarded(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    conn = app(routed, mariadb)
    try:
        with pytest.raises(pymysql.err.ProgrammingError) as err:
            run(conn, "SELECT * FROM no_such_table")
        assert err.value.args[0] == 1146
        assert run(conn, "SELECT id FROM canary") == ((1,),)
    finally:
        conn.close()


def test_unknown_user_refused(routed: ProxySQL) -> None:
    with pytest.raises(pymysql.err.OperationalError) as err:
        routed.connect("nobody", "x")
    assert err.value.args[0] == 1045


def test_backend_connection_failure(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    admin.execute("SET mysql-connect_timeout_server_max = 300")
    admin.execute("LOAD MYSQL VARIABLES TO RUNTIME")
    admin.execute(
        "INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (5, '127.0.0.1', 1)"
    )
    admin.execute("LOAD MYSQL SERVERS TO RUNTIME")
    add_rule(admin, rule_id=1, active=1, match_digest="canary", destination_hostgroup=5)
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    conn = app(routed, mariadb)
    try:
        with pytest.raises(pymysql.err.OperationalError) as err:
            run(conn, "SELECT id FROM canary")
        assert err.value.args[0] == 9001
    finally:
        conn.close()
    errs = q(admin, "SELECT ConnERR FROM stats_mysql_connection_pool WHERE hostgroup = 5")
    assert int(errs[0][0]) >= 1


def test_digests_off(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    admin.execute("SET mysql-query_digests = 'false'")
    admin.execute("LOAD MYSQL VARIABLES TO RUNTIME")
    add_rule(
        admin,
        rule_id=1,
        active=1,
        match_digest="nothing-like-this",
        match_pattern="canary",
        destination_hostgroup=OTHER_HG,
    )
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    conn = app(routed, mariadb)
    try:
        run(conn, "SELECT id FROM canary")
    finally:
        conn.close()
    assert digest_rows(admin) == []
    # match_digest is skipped (treated as satisfied) when digests are off
    assert q(admin, "SELECT hits FROM stats_mysql_query_rules") == [("1",)]


def test_transaction_stays_on_one_backend(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    add_rule(
        admin, rule_id=1, active=1, match_digest="^SELECT note", destination_hostgroup=OTHER_HG
    )
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    conn = app(routed, mariadb, autocommit=False)
    try:
        run(conn, "SELECT note FROM canary")  # a read outside a transaction: routed
        run(conn, "UPDATE canary SET note = 'in txn' WHERE id = 1")  # opens a transaction
        assert run(conn, "SELECT note FROM canary") == (("in txn",),)  # same backend
        conn.rollback()
        assert run(conn, "SELECT note FROM canary") == (("still here",),)
    finally:
        conn.close()
    assert hostgroups_of(admin, "SELECT note FROM canary") == {OTHER_HG: 2, SOURCE_HG: 1}


def test_replace_pattern(routed: ProxySQL, admin: Any, mariadb: MariaDB) -> None:
    add_rule(
        admin,
        rule_id=1,
        active=1,
        match_pattern="FROM canary_alias",
        replace_pattern="FROM canary",
        apply=1,
    )
    admin.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    conn = app(routed, mariadb)
    try:
        assert run(conn, "SELECT note FROM canary_alias") == (("still here",),)
    finally:
        conn.close()
