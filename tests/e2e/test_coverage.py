"""Coverage per Readyset release profile: ORM read shapes → one pass → served from a cache?

For each profile of issue 10's matrix (tests/e2e/orm_shapes.py), on a fresh sandbox whose
Readyset emulates that release and mode: every shape is sent through ProxySQL, one scheduler pass
runs (as ProxySQL runs it), then every shape is sent again with fresh literals. A shape expected
to "hit" must have a routing rule and be served by Readyset from a cache; a shape expected to be
"refused" must have no rule and a log line saying why. Every mismatch is reported at once.
"""

from __future__ import annotations

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
        rs = sandbox.readyset[0]
        outcomes: dict[Shape, str] = {}
        with sandbox.app() as conn, conn.cursor() as cur:
            for shape in SHAPES:
                cur.execute(shape.fresh)
                cur.fetchall()
                digest, _ = digests[shape]
                if digest not in routed:
                    outcomes[shape] = "refused"
                elif rs.served_from_cache(shape.fresh):
                    outcomes[shape] = "hit"
                else:
                    outcomes[shape] = "routed but proxied"
        log = "\n".join(run.lines)
        print(f"\n{profile}: " + ", ".join(f"{s.source}={outcomes[s]}" for s in SHAPES))
        problems = []
        for shape in SHAPES:
            digest, text = digests[shape]
            want, got = shape.expected(profile), outcomes[shape]
            if want != got:
                problems.append(f"{shape.source}: expected {want}, got {got}  [{text}]")
            elif got == "refused" and f"digest {digest} " not in log:
                problems.append(f"{shape.source}: refused without a log line saying why")
        assert not problems, f"{profile}:\n" + "\n".join(problems) + "\n--- log\n" + log
    finally:
        sandbox.stop()
