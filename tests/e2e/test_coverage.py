"""Coverage per Readyset release profile: ORM read shapes → one pass → served from a cache?

For each profile of issue 10's matrix (tests/e2e/orm_shapes.py), on a fresh sandbox whose
Readyset emulates that release and mode: every shape is sent through ProxySQL, one scheduler pass
runs (as ProxySQL runs it), then every shape is sent again with fresh literals. A shape expected
to "hit" must have a routing rule and be served by Readyset from a cache; a shape expected to be
"refused" must have no rule and a log line saying why. Every mismatch is reported at once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from rps_sandbox.mariadb import MariaDB
from rps_sandbox.sandbox import READYSET_HOSTGROUP, SOURCE_HOSTGROUP, Sandbox
from tests.e2e.conftest import admin_rows, run_scheduler
from tests.e2e.orm_shapes import PROFILES, SHAPES, Shape


def _counts(sandbox: Sandbox) -> dict[str, tuple[int, str]]:
    rows = admin_rows(
        sandbox,
        "SELECT digest, count_star, digest_text FROM stats_mysql_query_digest"
        f" WHERE hostgroup = {SOURCE_HOSTGROUP}",
    )
    return {str(r[0]): (int(r[1]), str(r[2])) for r in rows}


def _send_first(sandbox: Sandbox) -> dict[Shape, tuple[str, str]]:
    """Each shape's digest and digest text, as ProxySQL recorded them."""
    digests = {}
    with sandbox.app() as conn, conn.cursor() as cur:
        for shape in SHAPES:
            before = _counts(sandbox)
            for _ in range(3):
                cur.execute(shape.first)
                assert cur.fetchall(), f"{shape.source}: the first variant must return rows"
            after = _counts(sandbox)
            changed = [d for d, (n, _) in after.items() if before.get(d, (0, ""))[0] != n]
            assert len(changed) == 1, (shape.source, changed)
            digests[shape] = (changed[0], after[changed[0]][1])
    return digests


def _proxied_entries(sandbox: Sandbox) -> int:
    with sandbox.readyset_connection() as conn, conn.cursor() as cur:
        cur.execute("SHOW PROXIED QUERIES")
        return len(cur.fetchall())


def _answered(sandbox: Sandbox, statements: list[str]) -> list[str]:
    """hit (Readyset, from a cache), proxied (Readyset, to the database) or source."""
    rs = sandbox.readyset[0]
    out = []
    with sandbox.app() as conn, conn.cursor() as cur:
        for sql in statements:
            before = len(rs.executions)
            cur.execute(sql)
            cur.fetchall()
            mine = [e for e in list(rs.executions)[before:] if e.sql == sql]
            if not mine:
                out.append("source")
            else:
                out.append("hit" if mine[-1].destination == "cache" else "proxied")
    return out


@pytest.mark.parametrize("profile", list(PROFILES))
def test_orm_shapes_per_release(mariadb: MariaDB, tmp_path: Path, profile: str) -> None:
    options: dict[str, Any] = dict(PROFILES[profile])
    sandbox = Sandbox(mariadb=mariadb, workdir=tmp_path / "sandbox", **options).start()
    try:
        digests = _send_first(sandbox)
        config = sandbox.scheduler_config(
            tmp_path / "scheduler.cnf", number_of_queries=100, pass_timeout_s=60
        )
        run = run_scheduler(config, timeout=120)
        assert run.code == 0, run.lines
        routed = {
            str(r[0])
            for r in admin_rows(
                sandbox,
                "SELECT digest FROM runtime_mysql_query_rules"
                f" WHERE destination_hostgroup = {READYSET_HOSTGROUP}",
            )
        }
        learning = {
            str(r[0])
            for r in admin_rows(
                sandbox,
                "SELECT digest FROM runtime_mysql_query_rules"
                f" WHERE mirror_hostgroup = {READYSET_HOSTGROUP} AND comment LIKE '%learning%'",
            )
        }
        fresh = dict(zip(SHAPES, _answered(sandbox, [s.fresh for s in SHAPES])))
        log = "\n".join(run.lines)
        problems = []
        for shape in SHAPES:
            digest, text = digests[shape]
            want = shape.expected(profile)
            got = "hit" if digest in routed and fresh[shape] == "hit" else fresh[shape]
            if want == "hit" and got != "hit":
                problems.append(f"{shape.source}: expected a hit, got {got}  [{text}]")
            if want == "refused" and digest in routed:
                problems.append(f"{shape.source}: expected no rule from its text  [{text}]")
            if want == "refused" and f"digest {digest} " not in log:
                problems.append(f"{shape.source}: refused without a log line saying why")
        assert not problems, f"{profile}:\n" + "\n".join(problems) + "\n--- log\n" + log

        # Second pass: the mirrored digests' literal variants, as Readyset recorded them.
        learned = [s for s in SHAPES if digests[s][0] in learning]
        _answered(sandbox, [s.first for s in learned])
        deadline = time.monotonic() + 10
        while _proxied_entries(sandbox) < len(learned) and time.monotonic() < deadline:
            time.sleep(0.05)
        second = run_scheduler(config, timeout=120)
        assert second.code == 0, second.lines
        again = dict(zip(SHAPES, _answered(sandbox, [s.first for s in SHAPES])))
        later = dict(zip(SHAPES, _answered(sandbox, [s.fresh for s in SHAPES])))
        # No hop for nothing: nothing the rules send to Readyset is proxied by it.
        proxied = [s.source for s in SHAPES if "proxied" in (again[s], later[s])]
        assert not proxied, f"{profile}: routed to Readyset and proxied: {proxied}"
        # Every shape with an expected hit still hits; learned variants now hit too.
        lost = [s.source for s in SHAPES if s.expected(profile) == "hit" and later[s] != "hit"]
        assert not lost, f"{profile}: no longer served: {lost}\n" + "\n".join(second.lines)
        served = sum(v == "hit" for v in again.values())
        print(
            f"\n{profile}: {len(SHAPES)} shapes; digest-text caches serve"
            f" {sum(s.expected(profile) == 'hit' for s in SHAPES)}; learning {len(learned)};"
            f" after two passes {served} served with the first literals,"
            f" {sum(v == 'hit' for v in later.values())} with the second (both were seen while"
            " learning); 0 proxied"
        )
        for s in SHAPES:
            print(f"  {s.source}: first {again[s]}, fresh {later[s]}")
    finally:
        sandbox.stop()
