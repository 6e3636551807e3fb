"""Hostile input: quotes, backslashes, comments, NUL, 4-byte UTF-8 and huge texts in digests,
schema names and server comments. No SQL error, no injected statement (the canary survives),
and whatever is stored is stored exactly."""

from __future__ import annotations

from typing import Any

import pytest

from rps_sandbox.mariadb import MariaDB
from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import admin_rows, digest_row, run_scheduler

EVIL_TEXTS = [
    "SELECT name FROM customers WHERE id = ? -- '; DROP TABLE canary; --",
    "SELECT name FROM customers WHERE note = '?'' OR 1=1; DROP TABLE canary; -- '",
    "SELECT name FROM customers WHERE id = ? /* */; DROP TABLE canary; /* */",
    'SELECT "x\\\\" FROM customers WHERE id = ?; DELETE FROM canary',
    "SELECT `we``ird` FROM customers WHERE id = ?",
    "SELECT name FROM customers WHERE id = ?\nUNION SELECT note FROM canary",
    "SELECT name FROM customers WHERE id = ? AND name = 'Added by readyset scheduler at: x'",
    "SELECT name FROM customers WHERE id = ?\x00; DROP TABLE canary",
    "SELECT name FROM customers WHERE name = '\U0001f600' AND id = ?",
    "SELECT name FROM customers WHERE id IN (" + ",".join(["?"] * 500_000) + ")",
]
# MariaDB refuses 4-byte UTF-8 in identifiers; 4-byte text is covered by EVIL_TEXTS.
EVIL_SCHEMAS = ["we'ird", "back\\slash", "semi;colon*/--", "tick`tock", "accentu\u00e9"]


def canary(mariadb: MariaDB) -> Any:
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT id, note FROM canary")
        return cur.fetchall()


def inject(sandbox: Sandbox, texts: list[str], schema: str = "shop") -> list[str]:
    digests = [f"0x{0xE000 + i:016X}" for i in range(len(texts))]
    sandbox.proxysql.add_digest_rows(digest_row(d, t, schema) for d, t in zip(digests, texts))
    return digests


def test_hostile_digest_texts(sandbox: Sandbox, config, mariadb: MariaDB) -> None:
    digests = inject(sandbox, EVIL_TEXTS)
    run = run_scheduler(config(number_of_queries=20))
    assert run.code == 0, run.lines
    assert canary(mariadb) == ((1, "still here"),)
    text = "\n".join(run.lines)
    assert "Traceback" not in text and "syntax" not in text.lower()
    # One event, one line: newlines inside digest texts never split a log line.
    assert all(line[:4].isdigit() for line in run.lines)
    # Every injected text is either refused with a reason or turned into a rule: no errors.
    rules = admin_rows(sandbox, "SELECT digest, schemaname FROM runtime_mysql_query_rules")
    assert all(schema == "shop" for _, schema in rules)
    ruled = {d for d, _ in rules}
    for digest in digests:
        assert digest in ruled or any(f"digest {digest}" in line for line in run.lines), digest


@pytest.fixture
def evil_schemas(mariadb: MariaDB):
    with mariadb.connect(user="root", password=mariadb.root_password) as conn:
        with conn.cursor() as cur:
            for schema in EVIL_SCHEMAS:
                quoted = "`" + schema.replace("`", "``") + "`"
                cur.execute(f"CREATE DATABASE IF NOT EXISTS {quoted}")
                cur.execute(f"CREATE TABLE IF NOT EXISTS {quoted}.customers LIKE shop.customers")
    yield EVIL_SCHEMAS
    with mariadb.connect(user="root", password=mariadb.root_password) as conn:
        with conn.cursor() as cur:
            for schema in EVIL_SCHEMAS:
                cur.execute("DROP DATABASE IF EXISTS `" + schema.replace("`", "``") + "`")


def test_hostile_schema_names_are_stored_exactly(
    sandbox: Sandbox, config, mariadb: MariaDB, evil_schemas: list[str]
) -> None:
    sandbox.proxysql.add_digest_rows(
        digest_row(f"0x{0xF000 + i:016X}", "SELECT name FROM customers WHERE id = ?", schema)
        for i, schema in enumerate(evil_schemas)
    )
    run = run_scheduler(config(number_of_queries=20))
    assert run.code == 0, run.lines
    stored = sorted(
        r[0] for r in admin_rows(sandbox, "SELECT schemaname FROM runtime_mysql_query_rules")
    )
    assert stored == sorted(evil_schemas)
    caches = {(c.schema, c.name) for c in sandbox.readyset[0].caches()}
    assert {schema for schema, _ in caches} == set(evil_schemas)
    assert canary(mariadb) == ((1, "still here"),)


def test_hostile_server_comment(sandbox: Sandbox, config) -> None:
    port = sandbox.readyset[0].port
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE mysql_servers SET comment = 'Readyset ''primary'' \\ node */ ;--'"
            f" WHERE port = {port}"
        )
        cur.execute("LOAD MYSQL SERVERS TO RUNTIME")
    sandbox.readyset[0].snapshot_for(60)
    run = run_scheduler(config(operation_mode="HealthCheck"))
    assert run.code == 0, run.lines
    sql = f"SELECT status, comment FROM runtime_mysql_servers WHERE port = {port}"
    rows = admin_rows(sandbox, sql)
    assert rows == [("SHUNNED", "Readyset 'primary' \\ node */ ;--")]


def test_hostile_user_and_password(sandbox: Sandbox, config, mariadb: MariaDB) -> None:
    user, password = "o'brien\\x", "pa's\\s\"word"
    with mariadb.connect(user="root", password=mariadb.root_password) as conn:
        with conn.cursor() as cur:
            cur.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (user, password))
            cur.execute("GRANT SELECT ON shop.* TO %s@'%%'", (user,))
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO mysql_users (username, password, default_hostgroup, default_schema)"
            " VALUES ('o''brien\\x', 'pa''s\\s\"word', 1, 'shop')"
        )
        cur.execute("LOAD MYSQL USERS TO RUNTIME")
    with sandbox.app(user=user, password=password) as conn, conn.cursor() as cur:
        for _ in range(2):
            cur.execute("SELECT name FROM customers WHERE id = 4")
    sandbox.readyset[0].users[user] = password
    run = run_scheduler(config(readyset_user=user, readyset_password=password))
    assert run.code == 0, run.lines
    assert admin_rows(sandbox, "SELECT username FROM runtime_mysql_query_rules") == [(user,)]
    assert not any(password in line for line in run.lines)
