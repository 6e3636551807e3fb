"""Warm-up: mirror first, route after warmup_time_s; the original's mirror rules are adopted."""

from __future__ import annotations

import time

from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import admin_rows, app_queries, run_scheduler

QUERY = "SELECT id, name, email FROM customers WHERE id = 7"
RULES = (
    "SELECT rule_id, digest, destination_hostgroup, mirror_hostgroup, comment"
    " FROM runtime_mysql_query_rules ORDER BY rule_id"
)


def test_mirror_then_route_after_warmup(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, [QUERY], times=2)
    cfg = config(warmup_time_s=5)
    assert run_scheduler(cfg).code == 0
    first = admin_rows(sandbox, RULES)
    assert len(first) == 1
    rule_id, digest, destination, mirror, comment = first[0]
    assert (destination, mirror) == (None, "99")
    assert comment.startswith("Mirror by readyset scheduler at: ")

    # Mirrored traffic reaches Readyset while the source still answers.
    before = sandbox.readyset[0].hits
    app_queries(sandbox, ["SELECT id, name, email FROM customers WHERE id = 8"])
    deadline = time.monotonic() + 5
    while sandbox.readyset[0].hits == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox.readyset[0].hits == before + 1

    # Before the warm-up is over nothing changes.
    again = run_scheduler(cfg)
    assert again.code == 0 and again.lines == []
    assert admin_rows(sandbox, RULES) == first

    # Let the warm-up pass, as the stored time says.
    past = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 6))
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute(
            f"UPDATE mysql_query_rules SET comment = 'Mirror by readyset scheduler at: {past} UTC'"
            f" WHERE rule_id = {rule_id}"
        )
    assert run_scheduler(cfg).code == 0
    promoted = admin_rows(sandbox, RULES)
    assert [(r[0], r[1], r[2], r[3]) for r in promoted] == [(rule_id, digest, "99", None)]
    assert promoted[0][4].startswith("Added by readyset scheduler at: ")


def test_original_mirror_rule_is_adopted_and_promoted(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, [QUERY], times=2)
    digest = admin_rows(
        sandbox,
        "SELECT digest FROM stats_mysql_query_digest"
        " WHERE digest_text LIKE 'SELECT id,name,email%'",
    )[0][0]
    # As the original v0.6.0 wrote it: its cache d_<digest>; local time, no schemaname,
    # automatic rule_id.
    with sandbox.readyset_connection() as conn, conn.cursor() as cur:
        cur.execute(
            f"CREATE CACHE d_{digest} FROM SELECT id, name, email FROM customers WHERE id = ?"
        )
    local = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time.time() - 120))
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO mysql_query_rules (username, mirror_hostgroup, active, digest, apply,"
            f" comment) VALUES ('app', 99, 1, '{digest}', 1,"
            f" 'Mirror by readyset scheduler at: {local}')"
        )
        cur.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
    assert run_scheduler(config(warmup_time_s=60)).code == 0
    rules = admin_rows(sandbox, RULES)
    assert len(rules) == 1
    assert (rules[0][1], rules[0][2], rules[0][3]) == (digest, "99", None)
