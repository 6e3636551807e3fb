"""The Readyset emulator against a real MariaDB: per-era surface, cache hits, test controls."""

from __future__ import annotations

import re
import time
from typing import Callable

import pymysql
import pytest

from rps_sandbox.mariadb import MariaDB
from rps_sandbox.readyset import ERAS, Readyset

from .conftest import connect, query

MakeRS = Callable[..., Readyset]

STATUS_ROWS = {
    "B": [
        "Database Connection",
        "Connection Count",
        "Snapshot Status",
        "Maximum Replication Offset",
        "Minimum Replication Offset",
        "Last started Controller",
        "Last completed snapshot",
        "Last started replication",
    ],
    "C": [
        "Database Connection",
        "Connection Count",
        "Status",
        "Maximum Replication Offset",
        "Minimum Replication Offset",
        "Last started Controller",
        "Last completed snapshot",
        "Last started replication",
        "Enabled Features",
    ],
    "E": [
        "Database Connection",
        "Connection Count",
        "Status",
        "Replication Status",
        "Maximum Replication Offset",
        "Minimum Replication Offset",
        "Last started Controller",
        "Last completed snapshot",
        "Last started replication",
        "Enabled Features",
    ],
}
STATUS_ROWS["D"] = STATUS_ROWS["C"]

SURFACE = {
    # era: (caches cols, explain cols, proxied cols, version header, no-value, props, unsupported)
    "B": (
        ("query id", "cache name", "query text", "fallback behavior", "count"),
        ("query id", "query", "readyset supported"),
        ("query id", "proxied query", "readyset supported", "count"),
        ("ReadySet", "Version Information"),
        "no",
        "fallback allowed",
        "unsupported",
    ),
    "C": (
        ("query id", "cache name", "query text", "fallback behavior", "count"),
        ("query id", "query", "readyset supported"),
        ("query id", "proxied query", "readyset supported", "count"),
        ("Readyset", "Version Information"),
        "no",
        "fallback allowed",
        "unsupported: Non-deterministic function NOW() is not supported",
    ),
    "D": (
        ("query id", "cache name", "query text", "properties", "count"),
        ("query id", "query", "readyset supported"),
        ("query id", "proxied query", "readyset supported", "count"),
        ("Readyset", "Version Information"),
        "no: Non-deterministic function NOW() is not supported",
        "deep",
        "unsupported: Non-deterministic function NOW() is not supported",
    ),
    "E": (
        ("query_id", "name", "query", "properties", "count"),
        ("query_id", "query", "readyset_supported"),
        ("query_id", "query", "readyset_supported", "count"),
        ("Readyset", "Version Information"),
        "no: Non-deterministic function NOW() is not supported",
        "deep",
        "unsupported: Non-deterministic function NOW() is not supported",
    ),
}

Q = "SELECT * FROM customers WHERE id = ?"
DISPLAY = "SELECT * FROM `customers` WHERE `id` = $1"
# From stable-260331 the deep form qualifies tables and expands `*` (readyset-matching case 3).
CUSTOMER_COLUMNS = ("id", "name", "email", "country", "created_at", "balance", "note")
DISPLAY_QUALIFIED = (
    "SELECT "
    + ", ".join(f"`customers`.`{c}`" for c in CUSTOMER_COLUMNS)
    + " FROM `shop`.`customers` WHERE `customers`.`id` = $1"
)
# Per-query counts are live by default from stable-260423 (readyset-matching.md §1, §4).
LIVE_COUNTS = {"B": False, "C": False, "D": False, "E": True}


def status(conn: pymysql.connections.Connection) -> dict[str, str]:
    cols, rows = query(conn, "SHOW READYSET STATUS")
    assert cols == ["Variable_name", "Value"]
    return dict(rows)


@pytest.mark.parametrize("era", sorted(ERAS))
def test_era_surface(make_readyset: MakeRS, era: str) -> None:
    rs = make_readyset(era)
    caches_cols, explain_cols, proxied_cols, version_cols, no_value, props, unsup = SURFACE[era]
    conn = connect(rs)
    assert conn.get_server_info().endswith("-readyset")

    cols, rows = query(conn, "SHOW READYSET STATUS;")
    assert [r[0] for r in rows] == STATUS_ROWS[era]
    values = dict(rows)
    assert values["Database Connection"] == "Connected"
    assert values["Connection Count"] == "1"
    assert values[ERAS[era].status_row] == ("Completed" if era == "B" else "Online")
    assert values["Last started Controller"].endswith(" UTC")
    assert values["Maximum Replication Offset"].startswith("binlog.")

    display = DISPLAY_QUALIFIED if era == "E" else DISPLAY
    cols, rows = query(conn, f"explain create cache from {Q}")
    assert tuple(cols) == explain_cols and len(rows) == 1
    qid, text, supported = rows[0]
    assert re.fullmatch(r"q_[0-9a-f]{1,16}", qid)
    assert (text, supported) == (display, "yes")

    cols, rows = query(conn, "EXPLAIN CREATE CACHE FROM SELECT NOW() FROM customers WHERE id = ?")
    assert rows[0][2] == no_value

    cols, rows = query(conn, f"CREATE CACHE d_abc FROM {Q}")
    if era == "E":
        assert cols == ["query_id", "name", "query", "cache_type"]
        assert rows == [(qid, "d_abc", display, "deep")]
    else:
        assert cols == [] and rows == []

    cols, rows = query(conn, f"EXPLAIN CREATE CACHE FROM {Q}")
    assert rows[0][2] == "cached"

    query(conn, "SELECT * FROM customers WHERE id = 3")
    cols, rows = query(conn, "SHOW CACHES")
    assert tuple(cols) == caches_cols
    assert rows == [(qid, "d_abc", display, props, "1" if LIVE_COUNTS[era] else "0")]
    cols, rows = query(conn, f"SHOW CACHES WHERE query_id = '{qid}'")
    assert len(rows) == 1
    cols, rows = query(conn, "SHOW CACHES WHERE query_id = 'q_0123456789abcdef'")
    assert rows == []

    query(conn, "SELECT name FROM customers WHERE id = 5")
    query(conn, "SELECT name FROM customers WHERE id = 6")
    query(conn, "SELECT NOW() FROM customers WHERE id = 1")
    cols, rows = query(conn, "SHOW PROXIED QUERIES")
    assert tuple(cols) == proxied_cols
    by_text = {r[1]: r for r in rows}
    if era == "E":
        name_text = "SELECT `customers`.`name` FROM `shop`.`customers` WHERE `customers`.`id` = $1"
        now_text = "SELECT NOW() FROM `shop`.`customers` WHERE `customers`.`id` = $1"
    else:
        name_text = "SELECT `name` FROM `customers` WHERE `id` = $1"
        now_text = "SELECT NOW() FROM `customers` WHERE `id` = $1"
    assert by_text[name_text][2:] == ("yes", 2 if LIVE_COUNTS[era] else 0)
    assert by_text[now_text][2] == unsup
    assert display not in by_text  # cached queries leave the list
    assert rows[0][2] == "yes"  # `yes` sorts first
    cols, rows = query(conn, "SHOW PROXIED SUPPORTED QUERIES")
    assert [r[2] for r in rows] == ["yes"]

    cols, rows = query(conn, "SHOW READYSET VERSION")
    assert tuple(cols) == version_cols
    assert rows[0] == ("release version", ERAS[era].release)
    assert [r[0] for r in rows] == [
        "release version",
        "commit id",
        "platform",
        "rustc version",
        "profile",
        "optimization level",
    ]
    conn.close()


def test_hits_return_mariadb_rows(make_readyset: MakeRS, mariadb: MariaDB) -> None:
    rs = make_readyset("C")
    conn = connect(rs)
    direct = mariadb.connect()
    query(conn, "USE shop")
    query(conn, f"CREATE CACHE d_1 FROM {Q}")
    query(conn, "CREATE CACHE d_2 FROM SELECT name, country FROM customers WHERE id IN (?,?,?)")
    rs.reset_stats()
    for sql in [
        "SELECT * FROM customers WHERE id = 42",
        "SELECT * FROM customers WHERE id = 7",  # NULL note
        "SELECT name, country FROM customers WHERE id IN (1, 2)",
        "SELECT name, country FROM customers WHERE id IN (5)",
        "SELECT name, country FROM customers WHERE id IN (1, 2, 3, 4, 5, 6, 7)",
    ]:
        assert query(conn, sql) == query(direct, sql), sql
    assert rs.hits == 5 and rs.proxied == 0
    counts = {c.name: c.hits for c in rs.caches()}
    assert counts == {"d_1": 2, "d_2": 3}
    # a different shape is proxied (and gives MariaDB's answer too)
    sql = "SELECT email FROM customers WHERE id = 42"
    assert query(conn, sql) == query(direct, sql)
    assert rs.hits == 5 and rs.proxied == 1
    assert len(rs.statements) == 6
    direct.close()
    conn.close()


def test_same_query_in_another_schema_is_not_a_hit(make_readyset: MakeRS, mariadb: MariaDB) -> None:
    direct = mariadb.connect()
    for stmt in (
        "CREATE DATABASE IF NOT EXISTS shop_copy",
        "CREATE TABLE IF NOT EXISTS shop_copy.customers LIKE shop.customers",
        "INSERT IGNORE INTO shop_copy.customers SELECT * FROM shop.customers WHERE id < 50",
    ):
        query(direct, stmt)
    direct.commit()
    direct.close()
    rs = make_readyset("D")
    conn = connect(rs)
    query(conn, f"CREATE CACHE FROM {Q}")
    conn.select_db("shop_copy")  # COM_INIT_DB
    rs.reset_stats()
    assert query(conn, "SELECT * FROM customers WHERE id = 10")[1][0][0] == 10
    assert (rs.hits, rs.proxied) == (0, 1)
    query(conn, "USE `shop`")
    query(conn, "SELECT * FROM customers WHERE id = 10")
    assert rs.hits == 1
    # qualified table: EXPLAIN in another schema gives a different id
    _, a = query(conn, f"EXPLAIN CREATE CACHE FROM {Q}")
    query(conn, "USE shop_copy")
    _, b = query(conn, f"EXPLAIN CREATE CACHE FROM {Q}")
    assert a[0][0] != b[0][0] and (a[0][2], b[0][2]) == ("cached", "yes")
    conn.close()


def test_no_database_and_missing_tables(make_readyset: MakeRS) -> None:
    rs = make_readyset("C")
    conn = connect(rs, database=None)
    with pytest.raises(pymysql.err.OperationalError) as e:
        query(conn, f"EXPLAIN CREATE CACHE FROM {Q}")
    assert e.value.args == (1105, "Could not find table 'customers'")
    with pytest.raises(pymysql.err.OperationalError) as e:
        query(conn, "CREATE CACHE FROM SELECT * FROM shop.nope WHERE id = ?")
    assert e.value.args == (1105, "Table 'shop.nope' is not being replicated by Readyset")
    _, rows = query(conn, "EXPLAIN CREATE CACHE FROM SELECT * FROM shop.customers WHERE id = ?")
    assert rows[0][2] == "yes"
    conn.close()


def test_errors(make_readyset: MakeRS) -> None:
    rs = make_readyset("B")
    conn = connect(rs)

    def err(sql: str) -> tuple[int, str]:
        with pytest.raises(pymysql.err.MySQLError) as e:
            query(conn, sql)
        return e.value.args[0], e.value.args[1]

    assert err("CREATE CACHE FROM SELECT * FROM customers UNION SELECT * FROM customers") == (
        1105,
        "Error during RPC (extend_recipe): Failed to plan migration: "
        "Operation unsupported: Unsupported compound select operator UNION",
    )
    assert err("EXPLAIN CREATE CACHE FROM SELEKT 1") == (1105, "Query failed to parse: SELEKT 1")
    assert err("CREATE CACHE FROM SELECT ? FROM customers") == (
        1105,
        "Query contains placeholders in unsupported positions",
    )
    assert err("CREATE CACHE FROM q_0000000000000001") == (
        1105,
        "No query known by id q_0000000000000001",
    )
    assert err("CREATE CACHE FROM nonsense") == (1105, "The provided query ID is invalid: nonsense")
    assert err("SHOW CACHES WHERE query_id = 'zzz'") == (
        1105,
        "The provided query ID is invalid: zzz",
    )
    # B's nom grammar wants a string literal: unparseable → forwarded → MariaDB's 1064
    assert err("SHOW CACHES WHERE query_id = q_1")[0] == 1064
    assert err("ALTER READYSET ENTER MAINTENANCE MODE")[0] == 1064
    assert err("CREATE DEEP CACHE FROM SELECT * FROM customers")[0] == 1064
    # EXPLAIN in B/C: unsupported → row `no`; missing table → error
    assert (
        query(
            conn, "EXPLAIN CREATE CACHE FROM SELECT * FROM customers UNION SELECT * FROM customers"
        )[1][0][2]
        == "no"
    )
    assert err("EXPLAIN CREATE CACHE FROM SELECT * FROM nope") == (
        1105,
        "Table 'shop.nope' is not being replicated by ReadySet",
    )
    conn.close()


def test_create_from_query_id_and_collisions(make_readyset: MakeRS) -> None:
    rs = make_readyset("C")
    conn = connect(rs)
    query(conn, "SELECT * FROM products WHERE id = 9")
    _, rows = query(conn, "SHOW PROXIED QUERIES")
    qid = rows[0][0]
    query(conn, f"CREATE CACHE FROM {qid}")
    assert [(c.name, c.query_id, c.schema) for c in rs.caches()] == [(qid, qid, "shop")]
    assert query(conn, "SHOW PROXIED QUERIES")[1] == []
    # era C: re-creating under another name replaces the cache; never an error
    query(conn, "CREATE CACHE ALWAYS named FROM SELECT * FROM products WHERE id = ?")
    assert [(c.name, c.always) for c in rs.caches()] == [("named", True)]
    assert query(conn, "SHOW CACHES")[1][0][3] == "no fallback"
    cols, rows = query(conn, "CREATE CACHE CONCURRENTLY FROM SELECT * FROM orders WHERE id = ?")
    assert cols == ["Migration Id"]
    mid = rows[0][0]
    assert query(conn, f"SHOW READYSET MIGRATION STATUS {mid}")[1] == [("Completed",)]
    with pytest.raises(pymysql.err.OperationalError) as e:
        query(conn, f"SHOW READYSET MIGRATION STATUS {mid}")
    assert e.value.args == (1105, f"Unknown migration: {mid}")
    _, rows = query(conn, "EXPLAIN CACHES")
    assert rows[0][0] == "CREATE CACHE ALWAYS named FROM SELECT * FROM `products` WHERE `id` = $1"
    conn.close()


def test_era_b_same_query_other_name_is_an_alias(make_readyset: MakeRS) -> None:
    rs = make_readyset("B")
    conn = connect(rs)
    query(conn, f"CREATE CACHE first FROM {Q}")
    query(conn, f"CREATE CACHE second FROM {Q}")
    assert [c.name for c in rs.caches()] == ["first"]
    conn.close()


def test_drop_cache_and_drop_all(make_readyset: MakeRS) -> None:
    rs = make_readyset("E")
    conn = connect(rs)
    _, rows = query(conn, f"CREATE CACHE d_x FROM {Q}")
    qid = rows[0][0]
    query(conn, "CREATE CACHE FROM SELECT * FROM orders WHERE customer_id = ?")
    query(conn, "CREATE CACHE `d_y` FROM SELECT * FROM products WHERE id = ?")
    with conn.cursor() as cur:
        assert cur.execute("DROP CACHE d_x") == 1
        assert cur.execute("DROP CACHE d_x") == 0
        assert cur.execute("DROP CACHE `d_y`;") == 1
    assert len(rs.caches()) == 1
    query(conn, "DROP ALL CACHES")
    assert rs.caches() == [] and query(conn, "SHOW CACHES")[1] == []
    query(conn, "SELECT * FROM customers WHERE id = 1")
    assert rs.hits == 0
    assert query(conn, f"EXPLAIN CREATE CACHE FROM {qid}")[1][0][2] == "yes"
    conn.close()


def test_snapshot_then_online(make_readyset: MakeRS) -> None:
    rs = make_readyset("C", snapshot_seconds=1)
    conn = connect(rs)
    values = status(conn)
    assert values["Status"] == "Snapshot In Progress"
    assert values["Last completed snapshot"] == "NULL"
    query(conn, f"CREATE CACHE FROM {Q}")
    query(conn, "SELECT * FROM customers WHERE id = 1")
    assert rs.hits == 0  # nothing is served from caches during a snapshot
    time.sleep(1.05)
    values = status(conn)
    assert values["Status"] == "Online"
    assert values["Last completed snapshot"].endswith(" UTC")
    query(conn, "SELECT * FROM customers WHERE id = 1")
    assert rs.hits == 1
    conn.close()


def test_snapshot_era_b(make_readyset: MakeRS) -> None:
    rs = make_readyset("B")
    conn = connect(rs)
    rs.snapshot_for(0.4)
    assert status(conn)["Snapshot Status"] == "In Progress"
    time.sleep(0.45)
    assert status(conn)["Snapshot Status"] == "Completed"
    with pytest.raises(ValueError):
        rs.enter_maintenance()
    conn.close()


def test_maintenance_sql_and_api(make_readyset: MakeRS) -> None:
    rs = make_readyset("D")
    conn = connect(rs)
    query(conn, "ALTER READYSET ENTER MAINTENANCE MODE")
    assert status(conn)["Status"] == "Maintenance Mode"
    query(conn, "alter readyset exit maintenance mode;")
    assert status(conn)["Status"] == "Online"
    rs.enter_maintenance()
    assert status(conn)["Status"] == "Maintenance Mode"
    rs.exit_maintenance()
    assert status(conn)["Status"] == "Online"
    conn.close()


def test_upstream_unreachable(make_readyset: MakeRS) -> None:
    rs = make_readyset("C")
    conn = connect(rs)
    query(conn, f"CREATE CACHE FROM {Q}")
    hit = query(conn, "SELECT * FROM customers WHERE id = 8")
    rs.upstream_unreachable = True
    assert status(conn)["Database Connection"] == "Unreachable"
    with pytest.raises(pymysql.err.OperationalError) as e:
        query(conn, "SELECT * FROM products WHERE id = 1")
    assert e.value.args[0] == 1105
    assert query(conn, "SELECT * FROM customers WHERE id = 8") == hit  # served from the cache
    rs.upstream_unreachable = False
    assert status(conn)["Database Connection"] == "Connected"
    conn.close()


def test_connect_behaviours_and_auth(make_readyset: MakeRS) -> None:
    rs = make_readyset("C", users={"app": "app-secret", "other": "pw"})
    with pytest.raises(pymysql.err.OperationalError) as e:
        connect(rs, password="wrong")
    assert e.value.args == (1045, "Access denied for user app")
    connect(rs, user="other", password="pw").close()
    for behaviour in ("refuse", "hang"):
        rs.connect_behaviour = behaviour
        t0 = time.monotonic()
        with pytest.raises(pymysql.err.OperationalError):
            connect(rs, connect_timeout=1, read_timeout=1)
        assert time.monotonic() - t0 < 10  # the client timeout ended it, no hang
    rs.connect_behaviour = "accept"
    connect(rs).close()


def test_query_delay_and_failure_switches(make_readyset: MakeRS) -> None:
    rs = make_readyset("C")
    conn = connect(rs, read_timeout=1)
    rs.query_delay = 0.3
    t0 = time.monotonic()
    query(conn, "SELECT 1")
    assert time.monotonic() - t0 >= 0.3
    rs.query_delay = 5
    with pytest.raises(pymysql.err.OperationalError):
        query(conn, "SHOW READYSET STATUS")  # hangs mid-query: the client times out
    rs.query_delay = 0
    conn = connect(rs)
    rs.fail_create_cache = "boom"
    with pytest.raises(pymysql.err.OperationalError) as e:
        query(conn, f"CREATE CACHE FROM {Q}")
    assert e.value.args == (1105, "boom")
    rs.fail_explain = "nope"
    with pytest.raises(pymysql.err.OperationalError) as e:
        query(conn, f"EXPLAIN CREATE CACHE FROM {Q}")
    assert e.value.args == (1105, "nope")
    conn.close()


def test_transactions_only_use_always_caches(make_readyset: MakeRS) -> None:
    rs = make_readyset("C")
    conn = connect(rs)
    query(conn, f"CREATE CACHE FROM {Q}")
    query(conn, "CREATE CACHE ALWAYS FROM SELECT * FROM products WHERE id = ?")
    query(conn, "BEGIN")
    query(conn, "SELECT * FROM customers WHERE id = 1")
    query(conn, "SELECT * FROM products WHERE id = 1")
    query(conn, "COMMIT")
    assert rs.hits == 1
    query(conn, "SELECT * FROM customers WHERE id = 1")
    assert rs.hits == 2
    conn.close()


def test_misc_statements(make_readyset: MakeRS) -> None:
    rs = make_readyset("E")
    conn = connect(rs)
    assert query(conn, "SELECT @@version_comment LIMIT 1") == (
        ["@@version_comment"],
        [("Readyset",)],
    )
    cols, rows = query(conn, "SHOW READYSET TABLES")
    assert cols == ["table", "status", "description"]
    assert ("`shop`.`customers`", "Online", "") in rows
    cols, rows = query(conn, "SHOW CONNECTIONS")
    assert cols == ["client_addr", "username"] and rows[0][1] == "app"
    query(conn, "SELECT * FROM customers WHERE id = 1")
    assert query(conn, "EXPLAIN LAST STATEMENT")[1] == [("upstream", "ok")]
    cols, rows = query(conn, "SHOW READYSET STATUS ADAPTER")
    assert rows[0][0] == "Connected clients count"
    query(conn, "DROP ALL PROXIED QUERIES")
    assert query(conn, "SHOW PROXIED QUERIES")[1] == []
    query(conn, "SET @x = 1")
    assert query(conn, "SELECT @x")[1] == [(1,)]
    conn.close()


def test_unknown_database_and_pending_and_shallow(make_readyset: MakeRS) -> None:
    rs = make_readyset("D")
    conn = connect(rs)
    with pytest.raises(pymysql.err.OperationalError) as e:
        query(conn, "USE no_such_db")
    assert e.value.args[0] == 1049
    with pytest.raises(pymysql.err.OperationalError) as e:
        conn.select_db("no_such_db")
    assert e.value.args[0] == 1049
    assert query(conn, "SELECT DATABASE()")[1] == [("shop",)]
    rs.migration_interval = 60
    query(conn, "SELECT * FROM orders WHERE id = 3")
    assert query(conn, "SHOW PROXIED QUERIES")[1][0][2:] == ("pending", 0)  # counts: 260423+
    # SHALLOW (stable-260226+: decided by an upstream PREPARE): a RIGHT JOIN or NOW() is fine,
    # row locking is refused (readyset-matching.md §2, rows 28 and 56)
    query(conn, "CREATE SHALLOW CACHE s1 FROM SELECT * FROM customers c RIGHT JOIN orders o ON 1")
    assert query(conn, "SHOW SHALLOW CACHES")[1][0][3] == "shallow, ttl 10000 ms, coalesce 5000 ms"
    assert query(conn, "SHOW DEEP CACHES")[1] == []
    query(conn, "CREATE SHALLOW CACHE FROM SELECT NOW() FROM customers")
    with pytest.raises(pymysql.err.OperationalError) as e:
        query(conn, "CREATE SHALLOW CACHE FROM SELECT * FROM customers WHERE id = 1 FOR UPDATE")
    assert "cannot be shallow-cached" in e.value.args[1]
    conn.close()


def test_era_c_shallow_needs_a_policy(make_readyset: MakeRS) -> None:
    rs = make_readyset("C")
    conn = connect(rs)
    with pytest.raises(pymysql.err.OperationalError) as e:
        query(conn, f"CREATE SHALLOW CACHE FROM {Q}")
    assert e.value.args == (1105, "Internal error: Policy required for shallow cache")
    query(conn, f"CREATE SHALLOW CACHE POLICY TTL 5 SECONDS FROM {Q}")
    assert [(c.cache_type, c.ttl_seconds) for c in rs.caches()] == [("shallow", 5)]
    conn.close()
