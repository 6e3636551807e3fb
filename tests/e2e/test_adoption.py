"""Caches an operator made by hand are adopted when `adopt_manual_caches = true`: the digest they
serve gets a rule, its statements are served from the operator's cache, and the scheduler never
drops that cache (adoption.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from readyset_proxysql_scheduler.config import LogLevel, load
from readyset_proxysql_scheduler.scheduler import Pass
from rps_sandbox.mariadb import MariaDB
from rps_sandbox.sandbox import READYSET_HOSTGROUP, SOURCE_HOSTGROUP, Sandbox
from tests.e2e.conftest import admin_rows
from tests.e2e.test_learning import MIXED, ListLog, send
from tests.e2e.test_lifecycle import A, B, World, has

BY_ID = "SELECT id, name, email FROM customers WHERE id = {}"
BY_CUSTOMER = "SELECT id, status, total FROM orders WHERE customer_id = {}"
RULES = (
    "SELECT rule_id, digest, schemaname, destination_hostgroup, comment"
    " FROM runtime_mysql_query_rules ORDER BY rule_id"
)


def run_pass(config: Path, level: LogLevel = LogLevel.INFO) -> list[str]:
    log = ListLog()
    Pass(load(config), log, clock=time.time).run()
    return [line for line, at in zip(log.lines, log.levels) if at >= level]


def hand_made(sandbox: Sandbox, sql: str, host: int = 0) -> None:
    with sandbox.readyset_connection(host) as conn, conn.cursor() as cur:
        cur.execute(sql)


def send_one(sandbox: Sandbox, sql: str) -> str:
    assert send(sandbox, [sql]) == [READYSET_HOSTGROUP]
    return sql


def caches(sandbox: Sandbox, host: int = 0) -> set[str]:
    return {c.name for c in sandbox.readyset[host].caches()}


def state(config: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(load(config).state_path).read_text())
    return data


def test_a_hand_made_cache_is_adopted_and_serves_its_digest(sandbox: Sandbox, tmp_path) -> None:
    config = sandbox.scheduler_config(tmp_path / "s.cnf", adopt_manual_caches=True)
    hand_made(sandbox, "CREATE CACHE mine FROM " + BY_ID.format("?"))
    send(sandbox, [BY_ID.format(i) for i in (1, 2, 3)])

    lines = run_pass(config)
    [(rule_id, digest, schema, destination, comment)] = admin_rows(sandbox, RULES)
    assert (schema, destination) == ("shop", str(READYSET_HOSTGROUP))
    assert comment.startswith("Added by readyset scheduler at: ")
    assert has(lines, f"digest {digest} (schema shop) is served by cache mine, made by hand")
    assert has(lines, f"add rule {rule_id}: routes digest {digest}", "served by cache mine")
    assert caches(sandbox) == {"mine"}  # no second cache for the same query
    recorded = state(config)["queries"]["mine"]
    assert (recorded["digest"], recorded["schema"], recorded["adopted"]) == (digest, "shop", True)

    fresh = [BY_ID.format(42), BY_ID.format(43)]
    assert send(sandbox, fresh) == [READYSET_HOSTGROUP] * 2
    assert all(sandbox.readyset[0].served_from_cache(sql) for sql in fresh)
    # steady: nothing more to do
    assert not has(run_pass(config), "rule")
    # the adopted cache is repaired like the scheduler's own, from Readyset's text
    hand_made(sandbox, "DROP CACHE mine")
    lines = run_pass(config)
    assert has(lines, f"digest {digest} (schema shop): cache missing", "re-creating mine")
    assert caches(sandbox) == {"mine"}
    assert sandbox.readyset[0].served_from_cache(send_one(sandbox, BY_ID.format(44)))


def test_hand_made_caches_on_one_and_on_two_hosts(mariadb: MariaDB, tmp_path) -> None:
    sb = Sandbox(mariadb=mariadb, workdir=tmp_path / "two", readysets=2).start()
    try:
        config = sb.scheduler_config(tmp_path / "s.cnf", adopt_manual_caches=True)
        hand_made(sb, "CREATE CACHE on_both FROM " + BY_CUSTOMER.format("?"), host=0)
        hand_made(sb, "CREATE CACHE on_both FROM " + BY_CUSTOMER.format("?"), host=1)
        hand_made(sb, "CREATE CACHE on_one FROM " + BY_ID.format("?"), host=1)
        send(sb, [BY_ID.format(i) for i in (1, 2, 3)] + [BY_CUSTOMER.format(i) for i in (4, 5)])

        lines = run_pass(config)
        assert [r[3] for r in admin_rows(sb, RULES)] == [str(READYSET_HOSTGROUP)] * 2
        # the host without it got it, under the operator's name, from its text
        assert has(lines, f"create cache on_one on 127.0.0.1:{sb.readyset[0].port}")
        assert sum("create cache" in line for line in lines) == 1
        assert caches(sb, 0) == caches(sb, 1) == {"on_both", "on_one"}

        fresh = [BY_ID.format(77), BY_CUSTOMER.format(78), BY_ID.format(79), BY_CUSTOMER.format(80)]
        assert send(sb, fresh) == [READYSET_HOSTGROUP] * 4
        assert all(any(rs.served_from_cache(sql) for rs in sb.readyset) for sql in fresh)
    finally:
        sb.stop()


def test_a_hand_made_cache_that_keeps_a_literal_is_not_adopted(sandbox: Sandbox, tmp_path) -> None:
    config = sandbox.scheduler_config(
        tmp_path / "s.cnf", adopt_manual_caches=True, learn_literal_variants=False
    )
    # deep caches of this release keep the range literal: only stock > 10 would be served
    hand_made(sandbox, "CREATE CACHE theirs FROM " + MIXED.format("books", 10))
    send(sandbox, [MIXED.format("books", 10), MIXED.format("games", 20)])

    lines = run_pass(config)
    assert has(
        lines,
        "cache theirs, made by hand, not adopted: its query keeps the literal 10 for the 2nd ?",
        "a rule for the digest would send its other literal variants to Readyset for nothing",
    ), lines
    assert admin_rows(sandbox, RULES) == []
    assert caches(sandbox) == {"theirs"}
    assert send(sandbox, [MIXED.format("books", 30)]) == [SOURCE_HOSTGROUP]
    # said once at Note; later passes say it at Info only
    assert not has(run_pass(config, LogLevel.NOTE), "theirs")


def test_nothing_is_adopted_by_default(sandbox: Sandbox, tmp_path) -> None:
    config = sandbox.scheduler_config(tmp_path / "s.cnf", number_of_queries=1)
    hand_made(sandbox, "CREATE CACHE mine FROM " + BY_ID.format("?"))
    send(sandbox, [BY_CUSTOMER.format(i) for i in (1, 2, 3)] + [BY_ID.format(4)])

    lines = run_pass(config)
    assert not has(lines, "mine")
    # discovery caches the hottest digest as always; the hand-made cache stays as it is
    [(_, digest, *_)] = admin_rows(sandbox, RULES)
    assert caches(sandbox) == {"mine", f"d_{digest}_shop"}
    assert "mine" not in state(config)["queries"]
    assert send(sandbox, [BY_ID.format(5)]) == [SOURCE_HOSTGROUP]


def test_evicting_an_adopted_query_keeps_its_cache(sandbox: Sandbox, tmp_path) -> None:
    w = World(sandbox, tmp_path, evict_after_s=3600, adopt_manual_caches=True)
    hand_made(sandbox, "CREATE CACHE mine FROM SELECT id,name,email FROM customers WHERE id = ?")
    w.run(A, 50)
    w.run(B, 40)
    lines = w.pass_()
    assert has(lines, f"add rule 1: routes digest {A}", "served by cache mine")
    assert set(w.routing()) == {A, B}
    for _ in range(5):  # B stays busy, A goes quiet
        assert w.step(600, {B: 100}) == []
    lines = w.step(600, {B: 100})
    assert has(lines, f"evict rule 1 (digest {A}, schema shop): no execution for 1.0 h")
    assert has(lines, "cache mine kept on the Readyset hosts: it was made by hand")
    assert not has(lines, "drop cache")
    assert w.routing() == {B: "routed"}
    assert w.caches() == {"mine", f"d_{B}_shop"}
    assert "mine" not in w.state()["queries"]
    # idle, it is not adopted again; once busy again, it is
    assert w.step(600, {B: 100}) == []
    lines = w.step(600, {A: 100, B: 100})
    assert has(lines, f"routes digest {A}", "served by cache mine"), lines
