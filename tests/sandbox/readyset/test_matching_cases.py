"""The 60 cases of readyset-matching-cases.md, each run against the emulator over pymysql.

A case creates caches (or has CREATE refused), runs the application's statement with literals and
asserts where the emulator says it was served (``Readyset.destination_of``), per release profile.
Table ``t`` of a case is mapped onto the sandbox's ``shop`` schema. Row 42 states no decidable
outcome ("possible miss … check with SHOW PROXIED QUERIES") and is covered only by the generic
``CREATE CACHE FROM q_<id>`` tests in test_proxied_queries.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pymysql
import pytest

from rps_sandbox.mariadb import MariaDB
from rps_sandbox.readyset import Readyset

from .conftest import connect, query

HEAD = "unknown-release-version"
PROFILES: dict[str, dict[str, Any]] = {
    "A": {"release": "stable-240425"},  # first tag with range parameterisation
    "A1": {"release": "stable-250123"},
    "C": {"release": "stable-251023"},
    "D": {"release": "stable-260423", "cache_mode": "deep"},
    "H": {"release": HEAD, "cache_mode": "deep"},
    "Dsh": {"release": "stable-260423"},  # shallow by default from stable-260331
    "Hsh": {"release": HEAD},
    "Ctopk": {"release": "stable-251023", "topk": True},
    "T630": {"release": "stable-260630", "cache_mode": "deep", "topk": True},
    "T720": {"release": "stable-260720", "cache_mode": "deep", "topk": True},
    "T730": {"release": "stable-260730", "cache_mode": "deep", "topk": True},
    "Htopk": {"release": HEAD, "cache_mode": "deep", "topk": True},
}
DEEP = ("A1", "D", "H")
SHALLOW = ("Dsh", "Hsh")

Step = tuple[str, Any, Any]


@dataclass
class Case:
    row: str
    profiles: tuple[str, ...]
    steps: list[Step]
    options: dict[str, Any] = field(default_factory=dict)


def wait_poll(rs: Readyset, conn: Any) -> None:
    time.sleep(0.25)


def stats_share_one_id(rs: Readyset, conn: Any) -> None:
    _, up = query(conn, "SELECT query_id, total_count FROM readyset.upstream_query_stats")
    _, cached = query(conn, "SELECT query_id, total_count FROM readyset.cached_query_stats")
    assert [r[0] for r in up] == [r[0] for r in cached] and len(up) == 1
    assert (up[0][1], cached[0][1]) == (1, 4)


def shallow_caches_row(rs: Readyset, conn: Any) -> None:
    cols, rows = query(conn, "SHOW SHALLOW CACHES")
    assert cols[:3] == ["query_id", "name", "query"]
    assert [(r[1], r[2]) for r in rows] == [("some_cache", "SELECT * FROM customers WHERE id = $1")]
    assert int(rows[0][4]) >= 1


def recreate_from_show_caches_id(rs: Readyset, conn: Any) -> None:
    sql = "SELECT * FROM customers WHERE id = 1"
    query(conn, sql)
    query(conn, f"CREATE CACHE FROM {sql}")
    qid = query(conn, "SHOW CACHES")[1][0][0]
    query(conn, "DROP ALL CACHES")
    query(conn, sql)
    query(conn, f"CREATE CACHE FROM {qid}")
    assert [c.query_id for c in rs.caches()] == [qid]
    with pytest.raises(pymysql.err.OperationalError) as e:
        query(conn, "CREATE CACHE FROM q_123456789abcdef")
    assert e.value.args == (1105, "No query known by id q_123456789abcdef")


def rows_of_the_session_database(mariadb: MariaDB) -> Callable[[Readyset, Any], None]:
    def check(rs: Readyset, conn: Any) -> None:
        sql = "SELECT name FROM customers WHERE id = 3"
        with mariadb.connect() as direct:
            expected = query(direct, sql.replace("customers", "shop_copy.customers"))[1]
        assert query(conn, sql)[1] == expected
        assert rs.destination_of(sql) == "upstream"

    return check


R = "refuse"
PH = "placeholders in unsupported positions"
POST = "post-lookup are not supported"
OR = "can't handle OR expressions"
MIXED = "SELECT * FROM customers WHERE"
PAGE = "SELECT * FROM products WHERE"
HINTED = "SELECT name, email, country FROM customers"

CASES: list[Case] = [
    Case(
        "1",
        DEEP,
        [
            ("create", "SELECT * FROM products WHERE category = ? AND stock = ?", None),
            ("hit", "SELECT * FROM products WHERE category = 'books' AND stock = 5", None),
            ("hit", "SELECT * FROM products WHERE category = 'games' AND stock = 1", None),
        ],
    ),
    Case(
        "2",
        ("A1", "C"),
        [
            ("create", "SELECT name, stock FROM products WHERE id = ?", None),
            (
                "explain_query",
                "SELECT name, stock FROM products WHERE id = 4",
                "SELECT `name`, `stock` FROM `products` WHERE `id` = $1",
            ),
            ("hit", "SELECT name, stock FROM products WHERE id = 4", None),
        ],
    ),
    Case(
        "3",
        ("D", "H"),
        [
            ("create", "SELECT name, stock FROM products WHERE id = ?", None),
            (
                "explain_query",
                "SELECT name, stock FROM products WHERE id = 4",
                "SELECT `products`.`name`, `products`.`stock` FROM `shop`.`products` "
                "WHERE `products`.`id` = $1",
            ),
            ("hit", "SELECT name, stock FROM products WHERE id = 4", None),
            ("create", "SELECT * FROM canary", None),
            (
                "explain_query",
                "SELECT * FROM canary",
                "SELECT `canary`.`id`, `canary`.`note` FROM `shop`.`canary`",
            ),
            ("hit", "SELECT * FROM canary", None),
        ],
    ),
    Case(
        "4",
        DEEP,
        [
            ("create", "SELECT * FROM customers WHERE ? = id", None),
            ("hit", "SELECT * FROM customers WHERE 1 = id", None),
            ("hit", "SELECT * FROM customers WHERE id = 2", None),
        ],
    ),
    Case(
        "5",
        SHALLOW,
        [
            ("create", "SELECT * FROM customers WHERE id = ?", None),
            ("miss", "SELECT * FROM customers WHERE 5 = id", None),
            ("create", "SELECT * FROM customers WHERE ? = id", None),
            ("hit", "SELECT * FROM customers WHERE 6 = id", None),
        ],
    ),
    Case(
        "6",
        DEEP,
        [
            (R, "SELECT * FROM customers WHERE id <> ?", PH),
            ("create", "SELECT * FROM customers WHERE id != 1", None),
            ("hit", "SELECT * FROM customers WHERE 1 != id", None),
            ("miss", "SELECT * FROM customers WHERE id != 2", None),
        ],
    ),
    Case(
        "7",
        DEEP,
        [
            (
                "create",
                "SELECT * FROM products WHERE category = ? AND id IN (?, ?) AND stock = ?",
                None,
            ),
            (
                "hit",
                "SELECT * FROM products WHERE category = 'books' AND id IN (1, 2, 3) AND stock = 5",
                None,
            ),
            (
                "hit",
                "SELECT * FROM products WHERE category = 'games' AND id IN (4) AND stock = 2",
                None,
            ),
        ],
    ),
    Case(
        "8",
        ("C", "D", "H"),
        [
            ("create", "SELECT * FROM customers WHERE id = ?", None),
            ("miss", "SELECT * FROM customers WHERE id IN (1, 2)", None),
            ("miss", "SELECT * FROM customers WHERE id IN (5)", None),
            ("create", "SELECT * FROM customers WHERE country IN (?, ?)", None),
            ("miss", "SELECT * FROM customers WHERE country = 'DE'", None),
            ("hit", "SELECT * FROM customers WHERE country IN ('DE')", None),
        ],
    ),
    Case(
        "8-before-250627",
        ("A1",),
        [
            ("create", "SELECT * FROM customers WHERE id = ?", None),
            ("hit", "SELECT * FROM customers WHERE id IN (1, 2)", None),
        ],
    ),
    Case(
        "9",
        DEEP,
        [
            (R, "SELECT DISTINCT country FROM customers WHERE id IN (?, ?)", "DISTINCT with"),
            ("miss", "SELECT DISTINCT country FROM customers WHERE id IN (1, 2)", None),
        ],
    ),
    Case(
        "10",
        ("C", "D", "H"),
        [
            (
                R,
                "SELECT count(*) FROM orders WHERE customer_id = ? AND status IN (?, ?)",
                POST,
            ),
            ("create", "SELECT * FROM products WHERE stock < ?", None),
        ],
    ),
    Case(
        "10-stable-250627",
        ("S250627",),
        [
            (R, "SELECT * FROM products WHERE stock < ?", POST),
            (R, "SELECT * FROM products WHERE id IN (?, ?)", POST),
            ("create", "SELECT * FROM products WHERE id = ?", None),
        ],
    ),
    # Beside row 10, from Readyset's source (rps_sandbox/readyset/profile.py, †): a range
    # parameter's lookups are repeated reads, so its aggregates are post-lookup work, and so is
    # DISTINCT until stable-260528 leaves it to the reader.
    Case(
        "10-range-aggregate",
        (*DEEP, "Htopk"),
        [
            (R, "SELECT category, count(*) FROM products WHERE stock > ? GROUP BY category", POST),
            (
                "create",
                "SELECT category, count(*) FROM products WHERE id = ? GROUP BY category",
                None,
            ),
        ],
    ),
    Case(
        "10-range-distinct",
        ("A1", "D"),
        [(R, "SELECT DISTINCT category FROM products WHERE stock < ?", POST)],
    ),
    Case(
        "10-range-distinct-stable-260528",
        ("H", "Htopk"),
        [
            ("create", "SELECT DISTINCT category FROM products WHERE stock < ?", None),
            ("hit", "SELECT DISTINCT category FROM products WHERE stock < 8", None),
        ],
    ),
    Case(
        "11",
        SHALLOW,
        [
            ("create", "SELECT * FROM products WHERE id IN (?)", None),
            ("hit", "SELECT * FROM products WHERE id IN (1, 2, 3, 4, 5)", None),
            ("create", "SELECT * FROM products WHERE id NOT IN (?, ?)", None),
            ("hit", "SELECT * FROM products WHERE id NOT IN (1, 2, 3)", None),
        ],
    ),
    Case(
        "12",
        SHALLOW,
        [
            (
                "create",
                "SHALLOW:SELECT name, category, stock FROM products "
                "WHERE category = ? AND id IN (?)",
                None,
            ),
            (
                "last",
                "SELECT name, category, stock FROM products "
                "WHERE category = 'books' AND id IN (10, 20)",
                "readyset_then_upstream",
            ),
            (
                "last",
                "SELECT name, category, stock FROM products "
                "WHERE category = 'books' AND id IN (20, 10)",
                "readyset_shallow",
            ),
            (
                "last",
                "SELECT name, category, stock FROM products "
                "WHERE category = 'books' AND id IN (20, 30)",
                "readyset_then_upstream",
            ),
            (
                "explain",
                "SELECT name, category, stock FROM products WHERE category = ? AND id IN (?)",
                "cached",
            ),
        ],
    ),
    Case(
        "13",
        DEEP,
        [
            (R, "SELECT * FROM products WHERE id NOT IN (?, ?)", PH),
            ("create", "SELECT * FROM products WHERE id NOT IN (1, 2)", None),
            ("hit", "SELECT * FROM products WHERE id NOT IN (1, 2)", None),
            ("miss", "SELECT * FROM products WHERE id NOT IN (1, 3)", None),
        ],
    ),
    Case(
        "14",
        ("A1", "H", "Hsh"),
        [(R, "SELECT * FROM products WHERE id IN (?,?,?,...)", "Query failed to parse")],
    ),
    Case(
        "15",
        ("S240328",),
        [
            ("create", "SELECT * FROM products WHERE stock < ?", None),
            ("miss", "SELECT * FROM products WHERE stock < 8", None),
        ],
    ),
    Case(
        "16",
        ("A",) + DEEP,
        [
            ("create", "SELECT * FROM customers WHERE id < ?", None),
            ("hit", "SELECT * FROM customers WHERE id < 10", None),
            ("hit", "SELECT * FROM customers WHERE 10 > id", None),
        ],
    ),
    Case(
        "17",
        ("Ctopk", "T630", "Htopk"),
        [
            ("create", "SELECT * FROM products WHERE stock > 3 ORDER BY stock LIMIT 1", None),
            ("hit", "SELECT * FROM products WHERE stock > 2 ORDER BY stock LIMIT 1", None),
        ],
    ),
    Case(
        "18",
        DEEP,
        [
            ("create", "SELECT * FROM products WHERE price > ? AND price < ?", None),
            ("hit", "SELECT * FROM products WHERE price > 0 AND price < 10", None),
            ("create", "SELECT * FROM orders WHERE id > ? AND total > ?", None),
            ("hit", "SELECT * FROM orders WHERE id > 10 AND total > 2", None),
        ],
    ),
    Case(
        "19",
        DEEP,
        [
            (R, "SELECT * FROM customers WHERE id = ? AND balance > ?", PH),
            (R, "SELECT * FROM customers WHERE balance > ? AND id = ?", PH),
            ("miss", f"{MIXED} id = 1 AND balance > 0 AND balance < 10", None),
            ("create_seen", f"{MIXED} id = 1 AND balance > 0 AND balance < 10", None),
            ("hit", f"{MIXED} id = 2 AND balance > 0 AND balance < 10", None),
            ("miss", f"{MIXED} id = 2 AND balance > 1 AND balance < 10", None),
        ],
    ),
    Case(
        "20",
        DEEP,
        [
            ("create", "SELECT * FROM orders WHERE id = ? AND total > 10", None),
            ("hit", "SELECT * FROM orders WHERE id = 7 AND total > 10", None),
            ("miss", "SELECT * FROM orders WHERE id = 7 AND total > 11", None),
        ],
    ),
    Case(
        "21",
        DEEP,
        [
            ("create", "SELECT * FROM customers WHERE id = ? AND balance > ?", None),
            ("hit", "SELECT * FROM customers WHERE id = 1 AND balance > 21", None),
        ],
        {"mixed_comparisons": True},
    ),
    Case(
        "22",
        DEEP,
        [
            (R, "SELECT * FROM products WHERE stock > ? OR stock < ?", OR),
            (R, "SELECT * FROM customers WHERE (id = ? OR id = ?) AND name = ?", OR),
            ("create", "SELECT * FROM customers WHERE (id = 1 OR id = 2) AND name = ?", None),
            ("hit", "SELECT * FROM customers WHERE (id = 1 OR id = 2) AND name = 'bob'", None),
            ("miss", "SELECT * FROM customers WHERE (id = 1 OR id = 3) AND name = 'bob'", None),
        ],
    ),
    Case(
        "23",
        DEEP,
        [
            ("create", "SELECT * FROM orders WHERE created_at BETWEEN ? AND ?", None),
            (
                "miss",
                "SELECT * FROM orders WHERE created_at BETWEEN '2024-01-01' AND '2024-02-01'",
                None,
            ),
            (R, "SELECT * FROM orders WHERE id = ? AND created_at BETWEEN ? AND ?", PH),
        ],
    ),
    Case(
        "24",
        DEEP,
        [
            (R, "SELECT * FROM customers WHERE name LIKE ?", PH),
            ("create", "SELECT * FROM customers WHERE name LIKE 'abc%'", None),
            ("hit", "SELECT * FROM customers WHERE name LIKE 'abc%'", None),
            ("miss", "SELECT * FROM customers WHERE name LIKE 'abd%'", None),
        ],
    ),
    Case(
        "25",
        SHALLOW,
        [
            (
                "create",
                "SELECT id, ? AS one FROM orders WHERE created_at BETWEEN ? AND ? "
                "AND status LIKE ?",
                None,
            ),
            (
                "hit",
                "SELECT id, 1 AS one FROM orders WHERE created_at BETWEEN '2024-01-01' "
                "AND '2024-02-01' AND status LIKE 'p%'",
                None,
            ),
            (
                "create",
                "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id "
                "AND c.country = ? WHERE o.status <> ? OR o.total > ?",
                None,
            ),
            (
                "hit",
                "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id "
                "AND c.country = 'DE' WHERE o.status <> 'paid' OR o.total > 100",
                None,
            ),
            (
                "create",
                "SELECT customer_id, sum(total) FROM orders GROUP BY customer_id "
                "HAVING sum(total) > ?",
                None,
            ),
            (
                "hit",
                "SELECT customer_id, sum(total) FROM orders GROUP BY customer_id "
                "HAVING sum(total) > 100",
                None,
            ),
            ("create", "SELECT * FROM customers WHERE note IS NULL AND id = ?", None),
            ("hit", "SELECT * FROM customers WHERE note IS NULL AND id = 3", None),
        ],
    ),
    Case(
        "26",
        DEEP,
        [
            ("create", "SELECT * FROM customers WHERE id = ? AND note IS NULL", None),
            ("hit", "SELECT * FROM customers WHERE id = 5 AND note IS NULL", None),
            (R, "SELECT * FROM customers WHERE id = ? AND note IS ?", PH),
        ],
    ),
    Case(
        "27",
        DEEP,
        [
            (R, "SELECT id + ? FROM customers WHERE id = ?", PH),
            ("create", "SELECT id + 1 FROM customers WHERE id = 1", None),
            ("hit", "SELECT id + 1 FROM customers WHERE id = 2", None),
            ("miss", "SELECT id + 2 FROM customers WHERE id = 2", None),
        ],
    ),
    Case(
        "28",
        ("T730sh", "Hsh"),
        [
            ("create", "SHALLOW:SELECT CURRENT_TIME(4)", None),
            ("create", "SHALLOW:SELECT name, id FROM customers ORDER BY 2, 1", None),
            (
                "create",
                "SHALLOW:SELECT country, created_at, count(*) FROM customers GROUP BY 1, 2",
                None,
            ),
            (
                "create",
                "SHALLOW:SELECT * FROM (SELECT id, name FROM customers LIMIT 10) AS sub "
                "WHERE id = 1",
                None,
            ),
            ("hit", "SELECT name, id FROM customers ORDER BY 1, 2", None),
        ],
    ),
    Case(
        "29",
        ("A1", "C", "D"),
        [
            ("create", "SELECT * FROM customers WHERE country = ? LIMIT ?", None),
            ("hit", "SELECT * FROM customers WHERE country = 'DE' LIMIT 5", None),
            ("hit", "SELECT * FROM customers WHERE country = 'FR'", None),
        ],
    ),
    Case(
        "30",
        ("Ctopk", "T630", "T720"),
        [
            ("create", "SELECT * FROM products LIMIT 1", None),
            ("hit", "SELECT * FROM products LIMIT 1", None),
            ("hit", "SELECT * FROM products LIMIT 2", None),
            ("hit", "SELECT * FROM products", None),
        ],
    ),
    Case(
        "31",
        ("T730", "Htopk"),
        [
            ("create", "SELECT * FROM products LIMIT 1", None),
            ("hit", "SELECT * FROM products LIMIT 1", None),
            ("miss", "SELECT * FROM products LIMIT 2", None),
            ("miss", "SELECT * FROM products", None),
        ],
    ),
    Case(
        "32-topk-on",
        ("T730", "Htopk"),
        [
            ("create", "SELECT * FROM orders WHERE customer_id = ? LIMIT ?", None),
            ("miss", "SELECT * FROM orders WHERE customer_id = 5 LIMIT 21", None),
        ],
    ),
    Case(
        "32-topk-off",
        ("H",),
        [
            ("create", "SELECT * FROM orders WHERE customer_id = ? LIMIT ?", None),
            ("hit", "SELECT * FROM orders WHERE customer_id = 5 LIMIT 21", None),
        ],
    ),
    Case(
        "33",
        ("D", "H", "Htopk"),
        [
            ("create", "SELECT * FROM customers WHERE id = ? LIMIT ?", None),
            ("hit", "SELECT * FROM customers WHERE id = 5 LIMIT 21", None),
        ],
    ),
    Case(
        "34",
        ("D", "H", "Htopk"),
        [
            ("create", "SELECT * FROM customers WHERE id = ? ORDER BY name LIMIT ?", None),
            ("miss", "SELECT * FROM customers WHERE id = 5 ORDER BY name LIMIT 10", None),
        ],
    ),
    Case(
        "35",
        ("A1",),
        [(R, "SELECT * FROM products WHERE category = ? ORDER BY id LIMIT ? OFFSET ?", POST)],
    ),
    Case(
        "36",
        ("C", "D"),
        [
            ("create", f"{PAGE} category = ? ORDER BY id LIMIT ? OFFSET ?", None),
            (
                "hit",
                "SELECT * FROM products WHERE category = 'books' ORDER BY id LIMIT 20 OFFSET 40",
                None,
            ),
        ],
    ),
    Case(
        "37",
        ("Ctopk", "Htopk"),
        [
            ("create", "top_1:SELECT * FROM products ORDER BY stock LIMIT 1", None),
            ("hit", "SELECT * FROM products ORDER BY stock LIMIT 1", "top_1"),
            ("miss", "SELECT * FROM products ORDER BY stock LIMIT 2", None),
            ("create", "parameterized_cache:SELECT * FROM products ORDER BY stock LIMIT ?", None),
            ("hit", "SELECT * FROM products ORDER BY stock LIMIT 2", "parameterized_cache"),
            ("hit", "SELECT * FROM products  ORDER BY stock LIMIT 1", "top_1"),
        ],
    ),
    Case(
        "38",
        ("T630", "Htopk"),
        [
            ("create", "SELECT * FROM products ORDER BY id LIMIT ? OFFSET ?", None),
            ("hit", "SELECT * FROM products ORDER BY id LIMIT 20 OFFSET 40", None),
            ("hit", "SELECT * FROM products ORDER BY id LIMIT 40, 20", None),
            ("hit", "SELECT * FROM products ORDER BY id LIMIT 20 OFFSET 0", None),
        ],
    ),
    Case(
        "39",
        DEEP,
        [
            ("create", "SELECT * FROM customers WHERE country = ?", None),
            ("hit", "SELECT * FROM customers WHERE country = 'DE' LIMIT 10 OFFSET 5", None),
        ],
    ),
    Case(
        "40",
        SHALLOW,
        [
            ("create", "SELECT * FROM customers WHERE id = ? LIMIT ?", None),
            ("hit", "SELECT * FROM customers WHERE id = 5 LIMIT 21", None),
            ("miss", "SELECT * FROM customers WHERE id = 5", None),
        ],
    ),
    Case(
        "41",
        DEEP,
        [
            (
                "create",
                "SELECT c.id FROM customers c JOIN (SELECT id FROM customers WHERE id = ?) s "
                "ON s.id = c.id WHERE c.id = ?",
                None,
            ),
            (
                "miss",
                "SELECT c.id FROM customers c JOIN (SELECT id FROM customers WHERE id = 1) s "
                "ON s.id = c.id WHERE c.id = 1",
                None,
            ),
        ],
    ),
    Case(
        "43",
        DEEP,
        [
            (
                R,
                "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id "
                "AND c.country = ? WHERE o.status = ?",
                PH,
            ),
            (
                "create",
                "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id "
                "AND c.country = 'DE' WHERE o.status = ?",
                None,
            ),
            (
                "hit",
                "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id "
                "AND c.country = 'DE' WHERE o.status = 'paid'",
                None,
            ),
        ],
    ),
    Case(
        "44",
        DEEP,
        [
            (
                R,
                "SELECT customer_id, sum(total) FROM orders GROUP BY customer_id "
                "HAVING sum(total) = ?",
                PH,
            ),
            (
                "create",
                "SELECT customer_id, sum(total) FROM orders GROUP BY customer_id "
                "HAVING sum(total) = 10",
                None,
            ),
            (
                "miss",
                "SELECT customer_id, sum(total) FROM orders GROUP BY customer_id "
                "HAVING sum(total) = 11",
                None,
            ),
        ],
    ),
    Case(
        "45-deep",
        DEEP,
        [(R, "SELECT country, count(*) FROM customers GROUP BY ?", PH)],
    ),
    Case(
        "45-shallow",
        SHALLOW,
        [
            ("create", "SELECT country, count(*) FROM customers GROUP BY ?", None),
            ("hit", "SELECT country, count(*) FROM customers GROUP BY 1", None),
        ],
    ),
    Case(
        "46",
        SHALLOW + DEEP,
        [
            ("create", "SELECT name FROM customers WHERE id = ?", None),
            ("hit", "SELECT name FROM customers WHERE id = 1", None),
            ("sql", "USE shop_copy", None),
            ("miss", "SELECT name FROM customers WHERE id = 1", None),
        ],
    ),
    Case(
        "47",
        ("T720sh", "Hsh"),
        [
            ("create", "SELECT name FROM customers WHERE id = ?", None),
            ("hit", "SELECT name FROM customers WHERE id = 3", None),
            ("sql", "USE shop_copy", None),
            ("copy_rows", None, None),
        ],
    ),
    Case(
        "48",
        DEEP,
        [
            ("create", "SELECT name, email, country FROM customers WHERE id = 1", None),
            ("hit", "SELECT name, email, country FROM `customers` WHERE id = 1", None),
            ("hit", f"{HINTED} USE INDEX (PRIMARY) WHERE id = 1", None),
            ("hit", f"{HINTED} FORCE INDEX (PRIMARY) WHERE id = 1", None),
            ("hit", f"{HINTED} IGNORE KEY (PRIMARY) WHERE id = 1", None),
        ],
    ),
    Case(
        "49",
        DEEP,
        [
            ("create", "ALWAYS:SELECT name FROM customers WHERE id = ?", None),
            ("last", "select name from customers where id = 4", "readyset"),
        ],
    ),
    Case(
        "50",
        SHALLOW,
        [
            ("create", "SELECT * FROM customers WHERE id = ?", None),
            ("hit", "select  *  from customers where id = 1", None),
            ("hit", "SELECT * FROM customers /*rs+ CREATE SHALLOW CACHE */ WHERE id = 2", None),
            ("miss", "SELECT * FROM `customers` WHERE id = 1", None),
            ("miss", "SELECT * FROM customers WHERE ID = 1", None),
            ("miss", "SELECT * FROM customers AS x WHERE x.id = 1", None),
            ("create", "SELECT * FROM customers WHERE id = ? AND country = ?", None),
            ("miss", "SELECT * FROM customers WHERE country = 'DE' AND id = 1", None),
        ],
    ),
    Case(
        "51-shallow",
        SHALLOW,
        [
            ("create", "SELECT * FROM customers WHERE id = ?", None),
            ("miss", "SELECT * FROM customers WHERE id = -5", None),
        ],
    ),
    Case(
        "51-deep",
        DEEP,
        [
            ("create", "SELECT * FROM customers WHERE id = ?", None),
            ("hit", "SELECT * FROM customers WHERE id = -5", None),
        ],
    ),
    Case(
        "52",
        DEEP,
        [
            ("create", "SELECT customers.name FROM customers WHERE customers.id = ?", None),
            ("miss", "SELECT c.name FROM customers c WHERE c.id = 1", None),
            ("do", wait_poll, None),
            ("hit", "SELECT c.name FROM customers c WHERE c.id = 2", None),
        ],
        {"views_poll_seconds": 0.2},
    ),
    Case(
        "53",
        ("D", "H"),
        [
            ("create", "SHALLOW:SELECT name FROM customers WHERE id = ?", None),
            ("last", "SELECT name FROM customers WHERE id = 1", "readyset_then_upstream"),
            ("last", "SELECT name FROM customers WHERE id = 1", "readyset_shallow"),
            ("hit", "SELECT name FROM customers WHERE id = 1", None),
            ("hit", "SELECT name FROM customers WHERE id = 1", None),
            ("hit", "SELECT name FROM customers WHERE id = 1", None),
            ("do", stats_share_one_id, None),
        ],
    ),
    Case(
        "54",
        ("S260528sh", "Hsh"),
        [
            (
                "create",
                "SHALLOW:POLICY TTL 60 SECONDS some_cache "
                "FROM SELECT * FROM customers WHERE id = ?",
                None,
            ),
            ("last", "SELECT * FROM customers WHERE id = 1", "readyset_then_upstream"),
            ("last", "SELECT * FROM customers WHERE id = 1", "readyset_shallow"),
            ("do", shallow_caches_row, None),
        ],
    ),
    Case("55", ("A1", "D", "H"), [("do", recreate_from_show_caches_id, None)]),
    Case(
        "56-head",
        ("T730sh", "Hsh"),
        [
            ("sql", "SELECT CURRENT_TIMESTAMP(4)", None),
            ("explain", "SELECT CURRENT_TIMESTAMP(4)", "yes"),
            ("create_seen", "SELECT CURRENT_TIMESTAMP(4)", None),
        ],
    ),
    Case(
        "56-D",
        ("Dsh",),
        [
            ("sql", "SELECT CURRENT_TIMESTAMP(4)", None),
            ("explain", "SELECT CURRENT_TIMESTAMP(4)", "no: "),
            (R, "SELECT CURRENT_TIMESTAMP(4)", "1064"),
        ],
    ),
    Case(
        "57",
        DEEP,
        [
            ("create", "SELECT * FROM customers", None),
            ("create", "ALWAYS:SELECT name FROM customers WHERE id = ?", None),
            ("sql", "SET autocommit=0", None),
            ("miss", "SELECT * FROM customers", None),
            ("hit", "SELECT name FROM customers WHERE id = 4", None),
            ("sql", "SET autocommit=1", None),
            ("hit", "SELECT * FROM customers", None),
        ],
    ),
    Case(
        "58",
        DEEP,
        [
            ("create", "SELECT * FROM products", None),
            ("create", "ALWAYS:SELECT * FROM orders", None),
            ("sql", "BEGIN", None),
            ("miss", "SELECT * FROM products", None),
            ("hit", "SELECT * FROM orders", None),
            ("sql", "COMMIT", None),
            ("hit", "SELECT * FROM products", None),
        ],
    ),
    Case(
        "59",
        ("S260528sh", "Hsh"),
        [
            ("create", "SHALLOW:UNTIL WRITE FROM SELECT name FROM customers WHERE id = ?", None),
            ("create", "SHALLOW:ALWAYS FROM SELECT name FROM products WHERE id = ?", None),
            ("create", "SHALLOW:SELECT email FROM customers WHERE id = ?", None),
            ("sql", "BEGIN", None),
            ("hit", "SELECT name FROM customers WHERE id = 1", None),
            ("miss", "SELECT email FROM customers WHERE id = 1", None),
            ("sql", "UPDATE canary SET note = 'still here' WHERE id = 1", None),
            ("miss", "SELECT name FROM customers WHERE id = 2", None),
            ("hit", "SELECT name FROM products WHERE id = 1", None),
            ("sql", "ROLLBACK", None),
            ("hit", "SELECT name FROM customers WHERE id = 2", None),
        ],
    ),
    Case(
        "59-D",
        ("Dsh",),
        [
            ("create", "SHALLOW:ALWAYS FROM SELECT name FROM products WHERE id = ?", None),
            ("create", "SHALLOW:SELECT email FROM customers WHERE id = ?", None),
            ("sql", "BEGIN", None),
            ("miss", "SELECT email FROM customers WHERE id = 1", None),
            ("hit", "SELECT name FROM products WHERE id = 1", None),
            ("sql", "COMMIT", None),
        ],
    ),
    Case(
        "60",
        ("T630", "H"),
        [
            (
                "create",
                "WITH (AUTOPARAM OFF) FROM SELECT total FROM orders "
                "WHERE id = ? AND status = 'paid'",
                None,
            ),
            ("hit", "SELECT total FROM orders WHERE id = 1 AND status = 'paid'", None),
            ("miss", "SELECT total FROM orders WHERE id = 1 AND status = 'new'", None),
        ],
    ),
]

EXTRA_PROFILES: dict[str, dict[str, Any]] = {
    "S250627": {"release": "stable-250627"},
    "S240328": {"release": "stable-240328"},
    "T730sh": {"release": "stable-260730"},
    "T720sh": {"release": "stable-260720"},
    "S260528sh": {"release": "stable-260528"},
}
PROFILES.update(EXTRA_PROFILES)


def create_statement(spec: str) -> str:
    """`[SHALLOW:][ALWAYS:][name:]<select>` or `[SHALLOW:]<options> FROM <select>`."""
    kind = ""
    if spec.startswith("SHALLOW:"):
        kind, spec = "SHALLOW ", spec[len("SHALLOW:") :]
    if " FROM SELECT" in spec and not spec.startswith("SELECT"):
        return f"CREATE {kind}CACHE {spec}"
    words = []
    while ":" in spec.split(" ", 1)[0]:
        word, spec = spec.split(":", 1)
        words.append(word)
    return f"CREATE {kind}CACHE {' '.join(words + [''])}FROM {spec}"


@pytest.fixture(scope="module")
def copy_schema(mariadb: MariaDB) -> None:
    with mariadb.connect() as direct:
        for stmt in (
            "CREATE DATABASE IF NOT EXISTS shop_copy",
            "CREATE TABLE IF NOT EXISTS shop_copy.customers LIKE shop.customers",
            "INSERT IGNORE INTO shop_copy.customers SELECT id, CONCAT('copy ', name), email, "
            "country, created_at, balance, note FROM shop.customers WHERE id < 50",
        ):
            query(direct, stmt)
        direct.commit()


def last_destination(conn: Any) -> str:
    return str(query(conn, "EXPLAIN LAST STATEMENT")[1][0][0])


def run_step(rs: Readyset, conn: Any, step: Step, mariadb: MariaDB) -> None:
    op, arg, expect = step
    if op == "create":
        query(conn, create_statement(arg))
    elif op == "refuse":
        with pytest.raises(pymysql.err.MySQLError) as e:
            query(conn, f"CREATE CACHE FROM {arg}")
        assert expect in f"{e.value.args[0]} {e.value.args[1]}"
    elif op == "explain":
        value = query(conn, f"EXPLAIN CREATE CACHE FROM {arg}")[1][0][2]
        assert str(value).startswith(expect), value
    elif op == "explain_query":
        assert query(conn, f"EXPLAIN CREATE CACHE FROM {arg}")[1][0][1] == expect
    elif op in ("hit", "miss", "last"):
        query(conn, arg)
        want = "upstream" if op == "miss" else "cache"
        assert rs.destination_of(arg) == want, (op, arg)
        if op == "hit" and expect is not None:
            assert rs.executions[-1].cache == expect
        if op == "last":
            assert last_destination(conn) == expect
    elif op == "sql":
        query(conn, arg)
    elif op == "create_seen":
        qid = query(conn, f"EXPLAIN CREATE CACHE FROM {arg}")[1][0][0]
        query(conn, f"CREATE CACHE FROM {qid}")
        assert qid in [c.query_id for c in rs.caches()]
    elif op == "copy_rows":
        rows_of_the_session_database(mariadb)(rs, conn)
    elif op == "do":
        arg(rs, conn)
    else:  # pragma: no cover - a typo in the table
        raise AssertionError(op)


PARAMS = [
    pytest.param(case, profile, id=f"row{case.row}-{profile}")
    for case in CASES
    for profile in case.profiles
]


@pytest.mark.parametrize(("case", "profile"), PARAMS)
def test_case(
    make_readyset: Callable[..., Readyset],
    mariadb: MariaDB,
    copy_schema: None,
    case: Case,
    profile: str,
) -> None:
    options = dict(case.options)
    poll = options.pop("views_poll_seconds", None)
    rs = make_readyset(**PROFILES[profile], **options)
    if poll is not None:
        rs.views_poll_seconds = poll
    conn = connect(rs)
    try:
        for step in case.steps:
            run_step(rs, conn, step, mariadb)
    finally:
        conn.close()


def test_every_reference_row_has_a_case() -> None:
    rows = {int(c.row.split("-")[0]) for c in CASES}
    assert sorted(set(range(1, 61)) - rows) == [42]
