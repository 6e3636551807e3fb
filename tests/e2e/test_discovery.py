"""Discovery: each ranking mode picks what its formula ranks first; filters; whose traffic."""

from __future__ import annotations

from typing import Callable

import pytest

from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import admin_rows, app_queries, digest_row, run_scheduler

TEXTS = [
    "SELECT name FROM customers WHERE id = ?",
    "SELECT email FROM customers WHERE id = ?",
    "SELECT country FROM customers WHERE id = ?",
    "SELECT sku FROM products WHERE id = ?",
    "SELECT price FROM products WHERE id = ?",
    "SELECT status FROM orders WHERE id = ?",
    "SELECT total FROM orders WHERE id = ?",
    "SELECT name FROM products WHERE id = ?",
    "SELECT created_at FROM orders WHERE id = ?",
]
# (count_star, sum_time, sum_rows_sent, min_time, max_time): 7 different winners over 9 modes
# (ExecutionTimeDistance, WorstWorstCase and DistanceMeanMax agree here, as they mostly do).
STATS = [
    (20, 16520, 5000, 100, 5000),
    (50, 250, 500, 5, 5),
    (500, 1420000, 1, 100, 5000),
    (1000, 402000, 500, 100, 500),
    (1, 18498, 10, 500, 25000),
    (20, 61600, 10, 500, 100000),
    (5, 28475, 5, 1000, 10000),
    (2, 27550, 500, 500, 25000),
    (100, 14300, 5, 50, 150),
]

FORMULAS: dict[str, Callable[[tuple[int, int, int, int, int]], float]] = {
    "CountStar": lambda s: s[0],
    "SumTime": lambda s: s[1],
    "SumRowsSent": lambda s: s[2],
    "MeanTime": lambda s: s[1] / s[0],
    "ExecutionTimeDistance": lambda s: s[4] - s[3],
    "QueryThroughput": lambda s: s[0] / s[1],
    "WorstBestCase": lambda s: s[3],
    "WorstWorstCase": lambda s: s[4],
    "DistanceMeanMax": lambda s: s[4] - s[1] / s[0],
}


def seed_digests(sandbox: Sandbox) -> list[str]:
    digests = [f"0x{0xABC000 + i:016X}" for i in range(len(TEXTS))]
    sandbox.proxysql.add_digest_rows(
        digest_row(
            d,
            text,
            count_star=s[0],
            sum_time=s[1],
            sum_rows_sent=s[2],
            min_time=s[3],
            max_time=s[4],
        )
        for d, text, s in zip(digests, TEXTS, STATS)
    )
    return digests


def test_every_mode_has_its_own_winner() -> None:
    winners = {max(range(len(STATS)), key=lambda i: f(STATS[i])) for f in FORMULAS.values()}
    assert len(winners) >= 7


@pytest.mark.parametrize("mode", sorted(FORMULAS))
def test_mode_picks_its_first(sandbox: Sandbox, config, mode: str) -> None:
    digests = seed_digests(sandbox)
    expected = digests[max(range(len(STATS)), key=lambda i: FORMULAS[mode](STATS[i]))]
    run = run_scheduler(config(number_of_queries=1, query_discovery_mode=mode))
    assert run.code == 0, run.lines
    rules = admin_rows(sandbox, "SELECT digest FROM runtime_mysql_query_rules")
    assert rules == [(expected,)]


def test_thresholds_filter(sandbox: Sandbox, config) -> None:
    digests = seed_digests(sandbox)
    run = run_scheduler(config(query_discovery_min_execution=100, query_discovery_min_row_sent=30))
    assert run.code == 0
    rules = {r[0] for r in admin_rows(sandbox, "SELECT digest FROM runtime_mysql_query_rules")}
    expected = {d for d, s in zip(digests, STATS) if s[0] > 100 and s[2] > 30}
    assert rules == expected and len(expected) == 1


def test_only_the_readyset_users_traffic_counts(sandbox: Sandbox, config, mariadb) -> None:
    with mariadb.connect(user="root", password=mariadb.root_password, host="127.0.0.1") as conn:
        with conn.cursor() as cur:
            cur.execute("CREATE USER IF NOT EXISTS 'report'@'%' IDENTIFIED BY 'r'")
            cur.execute("GRANT SELECT ON shop.* TO 'report'@'%'")
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO mysql_users (username, password, default_hostgroup, default_schema)"
            " VALUES ('report', 'r', 1, 'shop')"
        )
        cur.execute("LOAD MYSQL USERS TO RUNTIME")
    with sandbox.app(user="report", password="r") as conn, conn.cursor() as cur:
        for _ in range(3):
            cur.execute("SELECT name FROM customers WHERE id = 3")
    assert run_scheduler(config()).code == 0
    assert admin_rows(sandbox, "SELECT digest FROM runtime_mysql_query_rules") == []


def test_system_schemas_and_writes_are_ignored(sandbox: Sandbox, config) -> None:
    app_queries(
        sandbox,
        ["SELECT table_name FROM information_schema.tables WHERE table_schema = 'shop'"],
        times=2,
    )
    with sandbox.app(database="information_schema") as conn, conn.cursor() as cur:
        cur.execute("SELECT table_name FROM tables WHERE table_schema = 'shop'")
    app_queries(sandbox, ["UPDATE canary SET note = 'still here' WHERE id = 1"], times=2)
    assert run_scheduler(config()).code == 0
    assert admin_rows(sandbox, "SELECT digest FROM runtime_mysql_query_rules") == []
