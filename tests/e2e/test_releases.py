"""The scheduler reads which Readyset it talks to: per-host release and mode, a hostgroup of
mixed releases, refusals asked again after an upgrade, and the config stating the mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rps_sandbox.mariadb import MariaDB
from rps_sandbox.sandbox import READYSET_HOSTGROUP, Sandbox
from tests.e2e.conftest import admin_rows, app_queries, run_scheduler

ORDERLESS_LIMIT = "SELECT id, name FROM customers WHERE email = 'c5@example.com' LIMIT 1"
RANGE_ONLY = "SELECT id FROM products WHERE stock > 40"
LIKE = "SELECT id FROM customers WHERE email LIKE 'c1%'"


def routed(sb: Sandbox) -> int:
    rows = admin_rows(
        sb,
        "SELECT COUNT(*) FROM runtime_mysql_query_rules"
        f" WHERE destination_hostgroup = {READYSET_HOSTGROUP}",
    )
    return int(rows[0][0])


def start(mariadb: MariaDB, tmp: Path, name: str, **options: Any) -> Sandbox:
    return Sandbox(mariadb=mariadb, workdir=tmp / name, **options).start()


def test_mixed_releases_cache_only_what_every_host_serves(mariadb: MariaDB, tmp_path: Path) -> None:
    sb = start(
        mariadb,
        tmp_path,
        "sb",
        readysets=2,
        host_options=[
            {"release": "stable-250123"},
            {"release": "unknown-release-version", "cache_mode": "deep", "topk": True},
        ],
    )
    try:
        app_queries(sb, [ORDERLESS_LIMIT, RANGE_ONLY], times=3)
        run = run_scheduler(
            sb.scheduler_config(
                tmp_path / "s.cnf", learn_literal_variants=False, log_verbosity="Info"
            )
        )
        assert run.code == 0, run.lines
        text = "\n".join(run.lines)
        # each host's profile is logged once, when it is first read
        assert "runs stable-250123/deep/no-topk" in text
        assert "runs unknown-release-version/deep/topk" in text
        # the range-only filter is served by both releases; the order-less LIMIT is not by HEAD
        assert routed(sb) == 1
        assert "placeholder in an order-less LIMIT" in text
        for rs in sb.readyset:
            assert len(rs.caches()) == 1
    finally:
        sb.stop()


def test_a_refusal_is_asked_again_after_an_upgrade(mariadb: MariaDB, tmp_path: Path) -> None:
    state = str(tmp_path / "state.json")
    old = start(mariadb, tmp_path, "old", release="stable-250123")
    try:
        app_queries(old, [LIKE], times=3)
        cfg = old.scheduler_config(
            tmp_path / "old.cnf", state_file=state, learn_literal_variants=False
        )
        first = run_scheduler(cfg)
        assert any("skipped, not cacheable" in line and "LIKE" in line for line in first.lines)
        assert routed(old) == 0
        again = run_scheduler(cfg)
        assert not any("skipped" in line for line in again.lines)  # remembered, not re-asked
    finally:
        old.stop()
    # The same state file, the Readyset now a shallow release: the digest is asked again.
    new = start(mariadb, tmp_path, "new", release="stable-260423")
    try:
        app_queries(new, [LIKE], times=3)
        cfg = new.scheduler_config(tmp_path / "new.cnf", state_file=state)
        run = run_scheduler(cfg)
        assert run.code == 0, run.lines
        assert routed(new) == 1
        with new.app() as conn, conn.cursor() as cur:
            cur.execute("SELECT id FROM customers WHERE email LIKE 'c2%'")
            cur.fetchall()
        assert new.readyset[0].served_from_cache("SELECT id FROM customers WHERE email LIKE 'c2%'")
    finally:
        new.stop()


def test_the_config_states_the_mode(mariadb: MariaDB, tmp_path: Path) -> None:
    """`readyset_cache_mode` wins over what the host shows (for hosts that cannot show it)."""
    sb = start(mariadb, tmp_path, "sb", release="unknown-release-version")  # shallow
    try:
        app_queries(sb, [LIKE], times=3)
        told = sb.scheduler_config(
            tmp_path / "s.cnf", readyset_cache_mode="deep", learn_literal_variants=False
        )
        run = run_scheduler(told)
        assert any("would not parameterise (email LIKE ?)" in line for line in run.lines), run.lines
        assert routed(sb) == 0
    finally:
        sb.stop()
