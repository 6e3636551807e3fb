"""`doctor`: all ✓ and exit 0 on a good setup; each broken setup gives its ✗ line with a fix
and exit 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import SCRIPT, run_scheduler

OK, BAD = "\u2713", "\u2717"


def admin(sb: Sandbox, *statements: str) -> None:
    with sb.admin() as conn, conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql)


def doctor(cfg: Path) -> tuple[int, list[str]]:
    run = run_scheduler(cfg, "doctor")
    lines = run.stdout.splitlines()
    assert lines and all(line[0] in (OK, BAD) for line in lines), run.stdout
    for line in lines:
        assert (BAD in line[0]) == (" \u2014 fix: " in line), line
    return run.code, lines


def installed(sb: Sandbox, config: Callable[..., Path], **overrides: Any) -> Path:
    cfg = config(**overrides)
    assert run_scheduler(cfg, "install").code == 0
    return cfg


def test_a_good_setup_is_all_checks_passed(sandbox: Sandbox, config) -> None:
    cfg = installed(sandbox, config)
    code, lines = doctor(cfg)
    assert code == 0, lines
    assert all(line.startswith(OK) for line in lines)
    text = "\n".join(lines)
    for fragment in (
        "config",
        "ProxySQL 2.",
        "source hostgroup 1 has 1 server",
        "Readyset hostgroup 99 has 1 Readyset host",
        "stable-",
        "scheduler row",
        "mysql-query_digests is on",
        "no user rule before the scheduler's",
    ):
        assert fragment in text


def _chmod(sb: Sandbox, cfg: Path) -> None:
    cfg.chmod(0o644)


def _stop_readyset(sb: Sandbox, cfg: Path) -> None:
    sb.readyset[0].stop()


def _set(name: str, value: str) -> Callable[[Sandbox, Path], None]:
    def apply(sb: Sandbox, cfg: Path) -> None:
        admin(sb, f"SET {name}='{value}'", "LOAD MYSQL VARIABLES TO RUNTIME")

    return apply


def _scheduler(update: str) -> Callable[[Sandbox, Path], None]:
    def apply(sb: Sandbox, cfg: Path) -> None:
        admin(sb, f"UPDATE scheduler SET {update}", "LOAD SCHEDULER TO RUNTIME")

    return apply


def _shadow(sb: Sandbox, cfg: Path) -> None:
    admin(
        sb,
        "INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup,"
        " apply) VALUES (1, 1, '^SELECT', 1, 1)",
        "LOAD MYSQL QUERY RULES TO RUNTIME",
    )


def _uninstall(sb: Sandbox, cfg: Path) -> None:
    assert run_scheduler(cfg, "uninstall").code == 0


BREAKS: list[tuple[str, dict[str, Any], Callable[[Sandbox, Path], None], str]] = [
    ("world-readable", {}, _chmod, "other users can read it"),
    ("admin password", {"proxysql_password": "wrong"}, lambda sb, c: None, "ProxySQL admin"),
    ("source hostgroup", {"source_hostgroup": 5}, lambda sb, c: None, "source hostgroup 5 has no"),
    (
        "readyset hostgroup",
        {"readyset_hostgroup": 7},
        lambda sb, c: None,
        "Readyset hostgroup 7 has no server whose comment contains 'readyset'",
    ),
    ("readyset down", {}, _stop_readyset, "cannot connect to Readyset"),
    ("readyset password", {"readyset_password": "wrong"}, lambda sb, c: None, "Readyset 127.0.0.1"),
    ("no row", {}, _uninstall, "no row in runtime_scheduler runs --config="),
    ("inactive row", {}, _scheduler("active = 0"), "is inactive"),
    (
        "other executable",
        {},
        _scheduler("filename = '/opt/old/readyset_proxysql_scheduler'"),
        "runs /opt/old/readyset_proxysql_scheduler, not this executable",
    ),
    ("short interval", {}, _scheduler("interval_ms = 1000"), "not more than pass_timeout_s=8"),
    ("digests off", {}, _set("mysql-query_digests", "false"), "mysql-query_digests is off"),
    (
        "no_digits",
        {},
        _set("mysql-query_digests_no_digits", "true"),
        "mysql-query_digests_no_digits is true",
    ),
    (
        "lowercase",
        {},
        _set("mysql-query_digests_lowercase", "true"),
        "mysql-query_digests_lowercase is true",
    ),
    (
        "max_digest_length",
        {},
        _set("mysql-query_digests_max_digest_length", "512"),
        "mysql-query_digests_max_digest_length is 512",
    ),
    ("shadowing rule", {}, _shadow, "user rule 1 (match_digest '^SELECT', apply=1) comes before"),
]


@pytest.mark.parametrize(
    ("overrides", "breaker", "fragment"),
    [b[1:] for b in BREAKS],
    ids=[b[0] for b in BREAKS],
)
def test_each_broken_setup_has_its_cross(
    sandbox: Sandbox, config, overrides: dict[str, Any], breaker, fragment: str
) -> None:
    cfg = installed(sandbox, config)
    if overrides:  # the row keeps naming the same file, now with the broken value
        cfg = config(**overrides)
    breaker(sandbox, cfg)
    code, lines = doctor(cfg)
    assert code == 1
    crossed = [line for line in lines if line.startswith(BAD)]
    assert any(fragment in line for line in crossed), lines


def test_the_fix_for_a_missing_row_names_this_executable(sandbox: Sandbox, config) -> None:
    cfg = config()
    code, lines = doctor(cfg)
    assert code == 1
    fix = f"fix: run {Path(SCRIPT).resolve()} install --config={cfg.resolve()}"
    assert any(line.endswith(fix) for line in lines), lines


def test_a_broken_config_file_is_one_cross(tmp_path: Path) -> None:
    bad = tmp_path / "bad.cnf"
    bad.write_text("proxysql_port = 'x'\n")
    code, lines = doctor(bad)
    assert code == 2 and len(lines) == 1  # a configuration error, as for a pass
    assert lines[0].startswith(BAD) and "key 'proxysql_port'" in lines[0]
    assert lines[0].endswith("fix: correct the file; nothing else was checked")


@pytest.mark.parametrize(
    "rule",
    [
        "(2, 1, 'other', '^SELECT', 1, 1)",  # another user's rule
        "(2, 1, NULL, '^UPDATE', 1, 1)",  # matches no read
        "(2, 1, NULL, '^SELECT', 1, 0)",  # apply=0: the walk goes on to the scheduler's rules
        "(2000, 1, NULL, '^SELECT', 1, 1)",  # after the scheduler's rules
    ],
)
def test_rules_that_do_not_shadow(sandbox: Sandbox, config, rule: str) -> None:
    cfg = installed(sandbox, config)
    admin(
        sandbox,
        "INSERT INTO mysql_query_rules (rule_id, active, username, match_digest,"
        f" destination_hostgroup, apply) VALUES {rule}",
        "LOAD MYSQL QUERY RULES TO RUNTIME",
    )
    code, lines = doctor(cfg)
    assert code == 0, lines
