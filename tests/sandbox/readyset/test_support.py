"""Table-driven unit tests of the emulator's support decision and query shapes (no server)."""

from __future__ import annotations

from typing import Optional

import pytest

from rps_sandbox.readyset import support
from rps_sandbox.readyset.matching import deep
from rps_sandbox.readyset.profile import Profile
from rps_sandbox.readyset.sql import query_id

# support() and these shapes use stable-251023, deep, topk off (the LIMIT clause is stripped).
PROFILE = Profile("stable-251023", "deep")
TOPK = Profile("stable-251023", "deep", topk=True)


def shape_key(sql: str, schema: str) -> str:
    return deep(sql, schema, PROFILE).text


TABLES = {"shop": frozenset({"customers", "products", "orders", "order_items"})}


def lookup(schema: str) -> Optional[frozenset]:
    return TABLES.get(schema, frozenset())


CASES = [
    ("SELECT * FROM customers WHERE id = ?", "shop", True, ""),
    ("select * from customers where id = $1;", "shop", True, ""),
    ("SELECT name FROM customers WHERE country = :1 AND id > 5", "shop", True, ""),
    ("SELECT * FROM customers WHERE id IN (?,?,?)", "shop", True, ""),
    ("SELECT * FROM customers ORDER BY id LIMIT 10 OFFSET ?", "shop", True, ""),
    (
        "SELECT c.name, o.total FROM customers c JOIN orders o ON o.customer_id = c.id "
        "WHERE c.id = ?",
        "shop",
        True,
        "",
    ),
    ("SELECT c.name FROM customers c LEFT JOIN orders o ON o.customer_id = c.id", "shop", True, ""),
    (
        "WITH big AS (SELECT * FROM orders WHERE total > 100) SELECT * FROM big WHERE id = ?",
        "shop",
        True,
        "",
    ),
    ("SELECT country, COUNT(*) FROM customers GROUP BY country", "shop", True, ""),
    ("SELECT * FROM shop.products WHERE id = ?", None, True, ""),
    ("SELECT * FROM (SELECT id FROM products) AS p WHERE p.id = ?", "shop", True, ""),
    # topk off: the adapter strips LIMIT/OFFSET before anything else (readyset-matching case 29)
    ("SELECT * FROM customers LIMIT ?", "shop", True, ""),
    ("SELECT * FROM customers LIMIT 0", "shop", True, ""),
    (
        "SELECT id FROM customers UNION SELECT id FROM orders",
        "shop",
        False,
        "Unsupported compound select operator UNION",
    ),
    (
        "SELECT id FROM customers UNION ALL SELECT id FROM orders",
        "shop",
        False,
        "Unsupported compound select operator UNION ALL",
    ),
    ("SELECT 1", "shop", False, "FROM-less statement found"),
    ("SELECT 1 FROM DUAL", "shop", False, "FROM-less statement found"),
    (
        "SELECT * FROM customers c RIGHT JOIN orders o ON o.customer_id = c.id",
        "shop",
        False,
        "RIGHT JOIN is not supported",
    ),
    (
        "SELECT * FROM customers WHERE id IN (SELECT customer_id FROM orders)",
        "shop",
        False,
        "Nested selects not supported in filters",
    ),
    (
        "SELECT * FROM customers WHERE EXISTS (SELECT 1 FROM orders)",
        "shop",
        False,
        "Nested selects not supported in filters",
    ),
    (
        "SELECT NOW() FROM customers",
        "shop",
        False,
        "Non-deterministic function NOW() is not supported",
    ),
    (
        "SELECT * FROM orders WHERE created_at < CURRENT_TIMESTAMP",
        "shop",
        False,
        "Non-deterministic function CURRENT_TIMESTAMP() is not supported",
    ),
    (
        "SELECT RAND() FROM customers",
        "shop",
        False,
        "Non-deterministic function RAND() is not supported",
    ),
    (
        "SELECT UUID() FROM customers",
        "shop",
        False,
        "Non-deterministic function UUID() is not supported",
    ),
    (
        "SELECT * FROM customers WHERE id = ? FOR UPDATE",
        "shop",
        False,
        "Row-level locking (FOR UPDATE, FOR SHARE) is not supported",
    ),
    (
        "SELECT * FROM customers WHERE id = ? LOCK IN SHARE MODE",
        "shop",
        False,
        "Row-level locking (FOR UPDATE, FOR SHARE) is not supported",
    ),
    (
        "SELECT name INTO @n FROM customers WHERE id = 1",
        "shop",
        False,
        "SELECT ... INTO is not supported",
    ),
    (
        "SELECT country FROM customers GROUP BY country",
        "shop",
        False,
        "Using group by without aggregates is not yet supported",
    ),
    (
        "SELECT ?, name FROM customers",
        "shop",
        False,
        "Query contains placeholders in unsupported positions",
    ),
    (
        "SELECT c.name FROM customers c JOIN orders o ON o.customer_id = ?",
        "shop",
        False,
        "Query contains placeholders in unsupported positions",
    ),
    (
        "SELECT * FROM missing WHERE id = ?",
        "shop",
        False,
        "Table 'shop.missing' is not being replicated by Readyset",
    ),
    (
        "SELECT * FROM information_schema.tables",
        "shop",
        False,
        "Table 'information_schema.tables' is not being replicated by Readyset",
    ),
    ("SELECT * FROM customers WHERE id = ?", None, False, "Could not find table 'customers'"),
    ("SELEKT * FROM customers", "shop", False, "Query failed to parse: SELEKT * FROM customers"),
    ("DELETE FROM customers", "shop", False, "Query failed to parse: DELETE FROM customers"),
]


@pytest.mark.parametrize(("sql", "schema", "ok", "reason"), CASES)
def test_support(sql: str, schema: Optional[str], ok: bool, reason: str) -> None:
    assert support(sql, schema, lookup, PROFILE) == (ok, reason)


def test_limit_zero_is_refused_where_the_limit_stays() -> None:
    sql = "SELECT * FROM customers ORDER BY id LIMIT 0"
    assert support(sql, "shop", lookup, TOPK) == (False, "LIMIT 0 is not supported")


def test_support_without_table_lookup_skips_existence() -> None:
    assert support("SELECT * FROM anything WHERE id = ?", "shop") == (True, "")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("SELECT * FROM customers WHERE id = ?", "select *  from `customers` where id=42;"),
        ("SELECT * FROM customers WHERE id = ?", "SELECT * FROM customers WHERE 42 = id"),
        ("SELECT * FROM customers WHERE id = $1", "SELECT * FROM customers WHERE id = -7"),
        ("SELECT * FROM customers WHERE id IN (?,?,?)", "SELECT * FROM customers WHERE id IN (1)"),
        (
            "SELECT * FROM customers WHERE id IN (?,?,?)",
            "SELECT * FROM customers WHERE id IN (1, 2, 3, 4, 5, 6)",
        ),
        (
            "SELECT * FROM customers WHERE country = ? AND (id = ?)",
            "SELECT * FROM customers WHERE country = 'DE' AND id = 3",
        ),
        (
            "SELECT * FROM orders ORDER BY id LIMIT 10 OFFSET ?",
            "SELECT * FROM orders ORDER BY id LIMIT 10 OFFSET 30",
        ),
        ("SELECT * FROM orders ORDER BY id LIMIT 10", "SELECT * FROM orders ORDER BY id LIMIT 20"),
        ("SELECT * FROM orders WHERE total > ?", "SELECT * FROM orders WHERE total > 5"),
    ],
)
def test_same_shape(a: str, b: str) -> None:
    assert shape_key(a, "shop") == shape_key(b, "shop")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("SELECT * FROM customers WHERE id = ?", "SELECT name FROM customers WHERE id = 1"),
        ("SELECT * FROM customers WHERE id = ?", "SELECT * FROM customers WHERE id IN (1, 2)"),
        (
            "SELECT * FROM orders WHERE status = 'paid' AND total > 5",
            "SELECT * FROM orders WHERE status = 'new' AND total > 6",
        ),
        (
            "SELECT * FROM customers WHERE id = ? OR id = ?",
            "SELECT * FROM customers WHERE id = 1 OR id = 2",
        ),
    ],
)
def test_different_shape(a: str, b: str) -> None:
    assert shape_key(a, "shop") != shape_key(b, "shop")


def test_database_and_release_are_part_of_the_id() -> None:
    text = shape_key("SELECT * FROM customers WHERE id = ?", "shop")
    q1 = query_id("stable-251023", "deep", "shop", text)
    assert q1 == query_id("stable-251023", "deep", "shop", text)
    assert q1 != query_id("stable-251023", "deep", "other", text)
    assert q1 != query_id("stable-260423", "deep", "shop", text)
    assert q1.startswith("q_") and int(q1[2:], 16) >= 0


def test_display_uses_dollar_placeholders_and_backticks() -> None:
    text = shape_key(
        "select * from customers where id in (?,?) and country = 'DE' limit 5 offset 10", "shop"
    )
    assert text == (
        "SELECT * FROM `customers` WHERE `id` = $1 AND `country` = $2 /* COLLAPSED WHERE IN */"
    )
