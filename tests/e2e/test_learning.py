"""Digests a digest text cannot name get caches from Readyset's own identities (learning.py),
and routed digests whose statements Readyset proxies lose their rule (no hop for nothing)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from readyset_proxysql_scheduler.config import LogLevel, load
from readyset_proxysql_scheduler.log import Log
from readyset_proxysql_scheduler.scheduler import Pass
from rps_sandbox.mariadb import MariaDB
from rps_sandbox.sandbox import READYSET_HOSTGROUP, SOURCE_HOSTGROUP, Sandbox
from tests.e2e.conftest import admin_rows

MIXED = "SELECT id, name, price FROM products WHERE category = '{}' AND stock > {}"


class ListLog(Log):
    def __init__(self) -> None:
        super().__init__(LogLevel.INFO)
        self.lines: list[str] = []
        self.levels: list[LogLevel] = []

    def _write(self, level: LogLevel, message: str) -> None:
        self.counts[level] += 1
        self.lines.append(message)
        self.levels.append(level)


def run_pass(config: Path, now: float | None = None) -> list[str]:
    log = ListLog()
    Pass(load(config), log, clock=(lambda: now) if now else time.time).run()
    return log.lines


def send(sandbox: Sandbox, statements: list[str]) -> list[int]:
    """Send through ProxySQL; the hostgroup that answered each (from the digest counters)."""
    out = []
    with sandbox.app() as conn, conn.cursor() as cur:
        for sql in statements:
            before = _source_count(sandbox)
            cur.execute(sql)
            cur.fetchall()
            out.append(SOURCE_HOSTGROUP if _source_count(sandbox) > before else READYSET_HOSTGROUP)
    return out


def _source_count(sandbox: Sandbox) -> int:
    rows = admin_rows(
        sandbox,
        "SELECT SUM(count_star) FROM stats_mysql_query_digest"
        f" WHERE hostgroup = {SOURCE_HOSTGROUP}",
    )
    return int(rows[0][0] or 0)


def wait_for_proxied(sandbox: Sandbox, count: int) -> None:
    """Mirrored statements reach Readyset asynchronously."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        total = 0
        for i in range(len(sandbox.readyset)):
            with sandbox.readyset_connection(i) as conn, conn.cursor() as cur:
                cur.execute("SHOW PROXIED QUERIES")
                total += len(cur.fetchall())
        if total >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"Readyset did not record {count} proxied statements")


def rules(sandbox: Sandbox) -> list[tuple[Any, ...]]:
    return admin_rows(
        sandbox,
        "SELECT rule_id, digest, destination_hostgroup, mirror_hostgroup, match_pattern, comment"
        " FROM runtime_mysql_query_rules ORDER BY rule_id",
    )


@pytest.fixture(params=[1, 2], ids=["one host", "two hosts"])
def classic(request: Any, mariadb: MariaDB, tmp_path: Path) -> Iterator[Sandbox]:
    """stable-250123, deep: `category = ? AND stock > ?` keeps the range literal."""
    sb = Sandbox(
        mariadb=mariadb,
        workdir=tmp_path / "sandbox",
        readysets=request.param,
        release="stable-250123",
    ).start()
    try:
        yield sb
    finally:
        sb.stop()


def test_mixed_filter_is_learned_and_only_its_cached_variants_are_routed(
    classic: Sandbox, tmp_path: Path
) -> None:
    sb = classic
    config = sb.scheduler_config(tmp_path / "s.cnf", number_of_queries=5)
    hot = [MIXED.format("books", 10)] * 5 + [MIXED.format("games", 20)] * 2
    send(sb, hot)

    log = ListLog()
    Pass(load(config), log, dry_run=True).run()
    assert any("would mirror it to learn the literal variants" in ln for ln in log.lines), log.lines
    assert rules(sb) == []
    first = run_pass(config)
    assert any("mirroring it to learn the literal variants" in line for line in first), first
    [(_, digest, destination, mirror, pattern, comment)] = rules(sb)
    assert (destination, mirror, pattern) == (None, str(READYSET_HOSTGROUP), None)
    assert "learning literal variants" in comment
    assert all(rs.caches() == [] for rs in sb.readyset)

    assert set(send(sb, hot)) == {SOURCE_HOSTGROUP}  # mirrored, answered by the source
    wait_for_proxied(sb, 2)

    second = run_pass(config)
    [(_, same, destination, mirror, pattern, comment)] = rules(sb)
    assert same == digest
    assert (destination, mirror) == (str(READYSET_HOSTGROUP), None)
    assert pattern and "literal variants q_" in comment
    names = {c.name for rs in sb.readyset for c in rs.caches()}
    assert len(names) == 2 and all(n.startswith("v_") for n in names)
    for rs in sb.readyset:  # every host has every variant's cache
        assert {c.name for c in rs.caches()} == names
    assert any("create cache" in line and "from q_" in line for line in second), second

    # the cached variants (any category, the learned stock literals) are served from a cache
    fresh = [MIXED.format("tools", 10), MIXED.format("garden", 20)]
    assert send(sb, fresh) == [READYSET_HOSTGROUP] * 2
    assert all(any(rs.served_from_cache(sql) for rs in sb.readyset) for sql in fresh)
    # another range literal was never cached: it stays on the source, no hop to Readyset
    assert send(sb, [MIXED.format("books", 31)]) == [SOURCE_HOSTGROUP]

    third = run_pass(config)
    assert not [line for line in third if "rule" in line and "pass done" not in line], third
    assert len(rules(sb)) == 1


def test_learning_gives_up_when_nothing_reaches_readyset(sandbox: Sandbox, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    config = sandbox.scheduler_config(tmp_path / "s.cnf", state_file=str(state))
    # era C (stable-251023): a select-list literal stays a literal in a deep cache's key
    send(sandbox, ["SELECT 1 AS one FROM orders WHERE customer_id = 12 LIMIT 1"] * 3)
    run_pass(config)
    assert len(rules(sandbox)) == 1
    later = run_pass(config, now=time.time() + 1000)
    assert any(
        "delete rule" in line and "no statement of it reached Readyset" in line for line in later
    ), later
    assert rules(sandbox) == []
    # remembered: the next pass does not mirror it again
    again = run_pass(config, now=time.time() + 1100)
    assert not any("mirroring it" in line for line in again)
    assert rules(sandbox) == []


def test_learning_gives_up_when_readyset_refuses_every_statement_it_recorded(
    mariadb: MariaDB, tmp_path: Path
) -> None:
    # stable-250123, deep: `GROUP BY ?` cannot be cached from the digest text, so the digest is
    # mirrored; Readyset then refuses the statement itself (a range parameter with an aggregate
    # needs post-lookup), so waiting out patience() would only mirror statements it proxies.
    sb = Sandbox(mariadb=mariadb, workdir=tmp_path / "sandbox", release="stable-250123").start()
    try:
        config = sb.scheduler_config(tmp_path / "s.cnf", state_file=str(tmp_path / "state.json"))
        report = "SELECT category, COUNT(*) FROM products WHERE stock > 0 GROUP BY 1"
        send(sb, [report] * 3)
        first = run_pass(config)
        assert any("mirroring it to learn" in line for line in first), first
        send(sb, [report])
        wait_for_proxied(sb, 1)
        second = run_pass(config)
        assert any(
            "delete rule" in line and "Readyset refuses every statement" in line for line in second
        ), second
        assert rules(sb) == []
        third = run_pass(config)  # remembered: not mirrored again
        assert not any("mirroring it" in line for line in third), third
        assert rules(sb) == []
    finally:
        sb.stop()


def test_a_routed_digest_that_readyset_proxies_loses_its_rule(
    mariadb: MariaDB, tmp_path: Path
) -> None:
    # HEAD with Top K keeps an order-less LIMIT in the key; told (wrongly) that Top K is off,
    # the scheduler caches `… LIMIT ?` from the digest: every statement is then proxied.
    sb = Sandbox(
        mariadb=mariadb,
        workdir=tmp_path / "sandbox",
        release="unknown-release-version",
        cache_mode="deep",
        topk=True,
    ).start()
    try:
        config = sb.scheduler_config(tmp_path / "s.cnf", readyset_topk="off")
        stmt = "SELECT id, status FROM orders WHERE customer_id = {} LIMIT 5"
        send(sb, [stmt.format(12)] * 3)
        run_pass(config)
        [(_, digest, destination, *_)] = rules(sb)
        assert destination == str(READYSET_HOSTGROUP)
        routed = [stmt.format(23), stmt.format(56)]
        assert send(sb, routed) == [READYSET_HOSTGROUP] * 2
        assert not any(sb.readyset[0].served_from_cache(sql) for sql in routed)

        lines = run_pass(config)
        assert any(
            "delete rule" in line and digest in line and "Readyset proxied" in line
            for line in lines
        ), lines
        assert rules(sb) == []
        assert sb.readyset[0].caches() == []
        assert send(sb, [stmt.format(34)]) == [SOURCE_HOSTGROUP]
        # and it is not made again: the reason is remembered
        assert not any("create cache" in line for line in run_pass(config))
    finally:
        sb.stop()
