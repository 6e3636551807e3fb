"""One pass on the sandbox, as a user sees it: rules in ProxySQL, caches in Readyset, hits."""

from __future__ import annotations

from pathlib import Path

from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import admin_rows, app_queries, run_scheduler

HOT = [
    "SELECT id, name, email FROM customers WHERE id = 7",
    "SELECT id, name, price FROM products WHERE category = 'books'",
]
# Readyset refuses a non-deterministic function; the translation refuses a locking read.
UNSUPPORTED = "SELECT id FROM orders WHERE created_at < NOW()"
LOCKING = "SELECT id, stock FROM products WHERE id = 3 FOR UPDATE"

RULES = (
    "SELECT rule_id, active, username, schemaname, digest, destination_hostgroup,"
    " mirror_hostgroup, apply, comment FROM runtime_mysql_query_rules ORDER BY rule_id"
)


def digests(sandbox: Sandbox) -> dict[str, str]:
    rows = admin_rows(
        sandbox,
        "SELECT digest_text, digest FROM stats_mysql_query_digest WHERE hostgroup = 1",
    )
    return {str(text): str(digest) for text, digest in rows}


def test_warmup_zero_routes_hot_supported_queries_to_readyset(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, HOT + [UNSUPPORTED, LOCKING], times=3)
    seen = digests(sandbox)
    run = run_scheduler(config())
    assert run.code == 0, run.lines

    rules = admin_rows(sandbox, RULES)
    routed = {r[4] for r in rules if r[5] == "99"}
    hot_digests = {
        seen["SELECT id,name,email FROM customers WHERE id = ?"],
        seen["SELECT id,name,price FROM products WHERE category = ?"],
    }
    assert routed == hot_digests
    for r in rules:
        assert (r[1], r[2], r[3], r[6], r[7]) == ("1", "app", "shop", None, "1")
        assert r[8].startswith("Added by readyset scheduler at: ")
    caches = {c.name for rs in sandbox.readyset for c in rs.caches()}
    assert caches == {f"d_{d}_shop" for d in hot_digests}

    # The next execution, with other literals, is served by Readyset.
    before = sandbox.readyset[0].hits
    rows = app_queries(sandbox, ["SELECT id, name, email FROM customers WHERE id = 42"])
    assert sandbox.readyset[0].hits == before + 1
    assert rows[0][0][0] == 42
    assert any("skipped" in line and "Readyset says" in line for line in run.lines)
    assert any("not cacheable" in line for line in run.lines)


def test_unsupported_query_is_not_asked_again(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, [UNSUPPORTED], times=2)
    cfg = config()
    assert run_scheduler(cfg).code == 0
    rs = sandbox.readyset[0]
    explains = [s for s in rs.statements if s.upper().startswith("EXPLAIN")]
    assert len(explains) == 1
    second = run_scheduler(cfg)
    assert second.code == 0
    assert [s for s in rs.statements if s.upper().startswith("EXPLAIN")] == explains
    assert admin_rows(sandbox, RULES) == []
    assert rs.caches() == []
    # A pass that changes nothing is silent at the default level.
    assert second.lines == []


def test_number_of_queries_holds_across_passes(sandbox: Sandbox, config) -> None:
    shapes = [
        "SELECT name FROM customers WHERE id = 1",
        "SELECT email FROM customers WHERE id = 2",
        "SELECT country FROM customers WHERE id = 3",
        "SELECT sku FROM products WHERE id = 4",
        "SELECT status FROM orders WHERE id = 5",
    ]
    app_queries(sandbox, shapes, times=2)
    cfg = config(number_of_queries=2)
    for _ in range(3):
        assert run_scheduler(cfg).code == 0
        assert len(admin_rows(sandbox, RULES)) == 2
    cfg = config(number_of_queries=3)
    assert run_scheduler(cfg).code == 0
    assert len(admin_rows(sandbox, RULES)) == 3


def test_rules_go_before_a_users_catch_all_rule(sandbox: Sandbox, config) -> None:
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup,"
            " apply) VALUES (100, 1, '^SELECT', 1, 1)"
        )
        cur.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    app_queries(sandbox, HOT[:1], times=2)
    assert run_scheduler(config()).code == 0
    ids = [int(r[0]) for r in admin_rows(sandbox, RULES)]
    assert ids == [1, 100]
    before = sandbox.readyset[0].hits
    app_queries(sandbox, ["SELECT id, name, email FROM customers WHERE id = 9"])
    assert sandbox.readyset[0].hits == before + 1


def test_rules_saved_to_disk(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, HOT[:1], times=2)
    assert run_scheduler(config()).code == 0
    disk = admin_rows(sandbox, "SELECT digest, destination_hostgroup FROM disk.mysql_query_rules")
    assert len(disk) == 1 and disk[0][1] == "99"


def test_cache_created_on_every_online_host(mariadb, tmp_path: Path) -> None:
    with Sandbox(mariadb=mariadb, workdir=tmp_path / "sb", readysets=3) as sb:
        app_queries(sb, HOT[:1], times=2)
        cfg = sb.scheduler_config(tmp_path / "s.cnf")
        assert run_scheduler(cfg).code == 0
        names = [sorted(c.name for c in rs.caches()) for rs in sb.readyset]
        assert len(names[0]) == 1 and names == [names[0]] * 3


def test_in_lists_of_every_length_are_routed(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, ["SELECT name FROM customers WHERE id IN (1, 2, 3, 4, 5, 6)"], times=2)
    run = run_scheduler(config(number_of_queries=1))
    assert run.code == 0, run.lines
    rules = admin_rows(sandbox, RULES)
    # The compressed digest (lists of 5 and more) and lengths 1..4, one cache, one query counted.
    assert len(rules) == 5
    assert sum("IN-list sibling of" in r[8] for r in rules) == 4
    assert len(sandbox.readyset[0].caches()) == 1
    rs = sandbox.readyset[0]
    for ids in ["7", "7, 8", "7, 8, 9", "7, 8, 9, 10", "7, 8, 9, 10, 11, 12, 13, 14"]:
        before = rs.hits
        rows = app_queries(sandbox, [f"SELECT name FROM customers WHERE id IN ({ids})"])
        assert rs.hits == before + 1, ids
        assert len(rows[0]) == len(ids.split(","))
    # Still one query as far as number_of_queries is concerned: nothing more to add.
    again = run_scheduler(config(number_of_queries=1))
    assert again.code == 0 and again.lines == []
    assert len(admin_rows(sandbox, RULES)) == 5
