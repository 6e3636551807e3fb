"""The same query text in two databases: one cache and one rule per (digest, database)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rps_sandbox.mariadb import MariaDB
from rps_sandbox.sandbox import READYSET_HOSTGROUP, Sandbox
from tests.e2e.conftest import admin_rows, run_scheduler

QUERY = "SELECT id,name FROM customers WHERE id = {}"


@pytest.fixture
def second_schema(mariadb: MariaDB) -> Iterator[str]:
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE shop_eu")
        cur.execute("CREATE TABLE shop_eu.customers LIKE shop.customers")
        cur.execute(
            "INSERT INTO shop_eu.customers SELECT id, CONCAT('EU ', name), email, country,"
            " created_at, balance, note FROM shop.customers"
        )
        conn.commit()
    try:
        yield "shop_eu"
    finally:
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute("DROP DATABASE shop_eu")


def test_same_digest_in_two_schemas_gets_a_cache_and_a_rule_each(
    sandbox: Sandbox, config, second_schema: str
) -> None:
    for schema in ("shop", second_schema):
        with sandbox.app(database=schema) as conn, conn.cursor() as cur:
            for i in (5, 6):
                cur.execute(QUERY.format(i))
    run = run_scheduler(config(number_of_queries=5))
    assert run.code == 0, run.lines
    rules = admin_rows(
        sandbox,
        "SELECT digest, schemaname FROM runtime_mysql_query_rules"
        f" WHERE destination_hostgroup = {READYSET_HOSTGROUP} ORDER BY schemaname",
    )
    assert [r[1] for r in rules] == ["shop", "shop_eu"]
    digest = rules[0][0]
    assert rules[1][0] == digest
    caches = {c.name for c in sandbox.readyset[0].caches()}
    assert caches == {f"d_{digest}_shop", f"d_{digest}_shop_eu"}

    rs = sandbox.readyset[0]
    for schema, prefix in (("shop", "Customer"), (second_schema, "EU Customer")):
        with sandbox.app(database=schema) as conn, conn.cursor() as cur:
            hits = rs.hits
            cur.execute(QUERY.format(42))
            assert cur.fetchall() == ((42, f"{prefix} 42"),)
            assert rs.hits == hits + 1, f"not served from the cache in {schema}"

    again = run_scheduler(config(number_of_queries=5))
    assert again.code == 0
    assert not [line for line in again.lines if "add rule" in line or "create cache" in line]
