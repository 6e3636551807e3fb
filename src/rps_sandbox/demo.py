"""The demo: the scheduler's whole job on the sandbox, printed step by step.

    scripts/demo            (or: python -m rps_sandbox.demo)

Starts MariaDB, the ProxySQL emulator and a Readyset emulator; sends application traffic through
ProxySQL; runs one scheduler pass exactly as ProxySQL would (the console script, empty
environment); shows the rules, caches and server statuses it left; sends the same queries again
and shows, side by side, who answered and that the rows are MariaDB's; then runs a second pass,
which caches the literal variants Readyset recorded while the first pass's rules mirrored them,
sends those variants once more, and shows what `status --plan` tells an operator.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rps_sandbox.sandbox import READYSET_HOSTGROUP, Sandbox

TRAFFIC = [
    ("customer by id", "SELECT id, name, email FROM customers WHERE id = {n}"),
    (
        "books in stock",
        "SELECT id, name, price FROM products WHERE category = 'books' AND stock > {n}",
    ),
    ("orders of a customer", "SELECT id, status, total FROM orders WHERE customer_id = {n}"),
    ("customers in a list", "SELECT name FROM customers WHERE id IN ({ids})"),
    ("recent orders (NOW())", "SELECT id FROM orders WHERE created_at < NOW() - INTERVAL {n} DAY"),
    ("stock check FOR UPDATE", "SELECT stock FROM products WHERE id = {n} FOR UPDATE"),
]


def banner(text: str) -> None:
    print(f"\n== {text}")


def table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [[_short(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for i, row in enumerate(cells):
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _short(value: Any, width: int = 70) -> str:
    text = "NULL" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def admin(sb: Sandbox, sql: str) -> list[list[Any]]:
    with sb.admin() as conn, conn.cursor() as cur:
        cur.execute(sql)
        return [list(r) for r in cur.fetchall()]


def send(
    sb: Sandbox, rounds: int, offset: int, list_length: int = 3
) -> list[tuple[str, str, Any, str]]:
    """Run every traffic query; return (label, sql, rows, answered by)."""
    out = []
    rs = sb.readyset[0]
    with sb.app() as conn, conn.cursor() as cur:
        for r in range(rounds):
            for label, template in TRAFFIC:
                n = offset + r + 3
                ids = ", ".join(str(n + i) for i in range(list_length))
                sql = template.format(n=n, ids=ids)
                before = source_count(sb)
                cur.execute(sql)
                rows = cur.fetchall()
                # ProxySQL counts the statement under the hostgroup that answered it (a mirrored
                # copy is counted under Readyset's, and answered by the source).
                if source_count(sb) > before:
                    by = "MariaDB (hostgroup 1)"
                elif rs.served_from_cache(sql):
                    by = "Readyset: cache hit"
                else:
                    by = "Readyset: no matching cache, proxied to MariaDB"
                out.append((label, sql, rows, by))
    return out


def source_count(sb: Sandbox) -> int:
    rows = admin(sb, "SELECT SUM(count_star) FROM stats_mysql_query_digest WHERE hostgroup = 1")
    return int(rows[0][0] or 0)


def direct(sb: Sandbox, sql: str) -> Any:
    assert sb.mariadb is not None
    with sb.mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def run_pass(script: str, config: Path) -> int:
    """One pass as ProxySQL runs it; its log lines and exit code printed."""
    print(f"  $ {script} --config={config}")
    start = time.monotonic()
    proc = subprocess.run(
        [script, f"--config={config}"], env={}, capture_output=True, text=True, timeout=120
    )
    elapsed = (time.monotonic() - start) * 1000
    for line in (proc.stdout + proc.stderr).splitlines():
        print("  | " + line)
    print(f"  exit code {proc.returncode}, {elapsed:.0f} ms")
    return proc.returncode


def answered(sb: Sandbox, offset: int, list_length: int) -> tuple[int, int]:
    """Send every query once; print who answered; (answered from a cache, queries)."""
    rows = []
    served = 0
    for label, sql, result, by in send(sb, rounds=1, offset=offset, list_length=list_length):
        same = "same rows" if result == direct(sb, sql) else "DIFFERENT"
        served += by.endswith("cache hit")
        rows.append([label, by, f"{len(result)} row(s), {same} as MariaDB direct"])
    table(["query", "answered by", "result"], rows)
    return served, len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--era", default="C", help="Readyset release era to emulate (B, C, D, E)")
    parser.add_argument("--warmup", type=int, default=0, help="warmup_time_s for the pass")
    args = parser.parse_args(argv)

    script = str(Path(sys.executable).parent / "readyset_proxysql_scheduler")
    with tempfile.TemporaryDirectory(prefix="rps-demo-") as tmp, Sandbox(era=args.era) as sb:
        assert sb.mariadb is not None
        banner("sandbox started")
        table(
            ["part", "address", "credentials"],
            [
                [
                    "MariaDB (upstream, hostgroup 1)",
                    f"127.0.0.1:{sb.mariadb.port}",
                    f"{sb.mariadb.app_user} / {sb.mariadb.app_password}",
                ],
                ["ProxySQL admin", f"127.0.0.1:{sb.admin_port}", "admin / admin"],
                [
                    "ProxySQL traffic",
                    f"127.0.0.1:{sb.traffic_port}",
                    f"{sb.mariadb.app_user} / {sb.mariadb.app_password}",
                ],
                [
                    f"Readyset era {args.era} (hostgroup {READYSET_HOSTGROUP})",
                    f"127.0.0.1:{sb.readyset[0].port}",
                    f"{sb.mariadb.app_user} / {sb.mariadb.app_password}",
                ],
            ],
        )

        banner("1. the application sends its queries through ProxySQL (3 rounds)")
        send(sb, rounds=3, offset=0)
        table(
            ["hostgroup", "count", "digest", "digest_text"],
            admin(
                sb,
                "SELECT hostgroup, count_star, digest, digest_text FROM stats_mysql_query_digest"
                " WHERE digest_text LIKE 'SELECT%' ORDER BY count_star DESC, digest_text",
            ),
        )

        banner("2. one scheduler pass, run as ProxySQL's scheduler runs it (empty environment)")
        config = sb.scheduler_config(Path(tmp) / "scheduler.cnf", warmup_time_s=args.warmup)
        codes = [run_pass(script, config)]

        banner("3. what the pass left behind")
        print("  runtime_mysql_query_rules:")
        table(
            ["rule_id", "username", "schemaname", "digest", "destination", "mirror", "comment"],
            admin(
                sb,
                "SELECT rule_id, username, schemaname, digest, destination_hostgroup,"
                " mirror_hostgroup, comment FROM runtime_mysql_query_rules ORDER BY rule_id",
            ),
        )
        print("  Readyset SHOW CACHES:")
        with sb.readyset_connection() as conn, conn.cursor() as cur:
            cur.execute("SHOW CACHES")
            headers = [d[0] for d in cur.description]
            table(headers, [list(r) for r in cur.fetchall()])
        print("  runtime_mysql_servers:")
        table(
            ["hostgroup", "hostname", "port", "status", "comment"],
            admin(
                sb,
                "SELECT hostgroup_id, hostname, port, status, comment FROM runtime_mysql_servers"
                " ORDER BY hostgroup_id, port",
            ),
        )

        banner("4. the same queries again, with other literals (and a list of 6 values, not 3)")
        served, total = answered(sb, offset=10, list_length=6)
        print(
            f"\n  {served} of {total} queries are now answered from Readyset's caches, with the"
            " same rows as MariaDB.\n  The others stay on MariaDB: the scheduler said why in its"
            " 'skipped' lines (step 2), or it mirrors them to Readyset\n  to learn the literal"
            " variants Readyset can cache."
        )

        banner("5. the next pass: it caches what Readyset recorded while the rule mirrored")
        codes.append(run_pass(script, config))

        banner("6. the literal variants the application sent in step 4, once more")
        served, total = answered(sb, offset=10, list_length=6)
        print(
            f"\n  {served} of {total} queries are answered from Readyset's caches. A variant is"
            " routed by its text (match_pattern),\n  so other literal values of a learned query"
            " stay on MariaDB; what Readyset cannot cache at all\n  (NOW(), FOR UPDATE) never"
            " leaves it."
        )

        banner("7. what an operator sees: status, and the next pass's plan (read-only)")
        print(f"  $ {script} status --plan --config={config}")
        status = subprocess.run(
            [script, "status", "--plan", f"--config={config}"],
            env={},
            capture_output=True,
            text=True,
            timeout=120,
        )
        for line in (status.stdout + status.stderr).splitlines():
            print("  | " + line)
        codes.append(status.returncode)
    return 0 if all(code == 0 for code in codes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
