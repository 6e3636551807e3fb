"""Pure parts of the operator commands: doctor's judgements, the daemon's interval, the
scheduler row's config argument, the metrics text."""

from __future__ import annotations

import pytest

from readyset_proxysql_scheduler.counts import PassCounts
from readyset_proxysql_scheduler.daemon import parse_interval
from readyset_proxysql_scheduler.doctor import UserRule, proxysql_version, shadows
from readyset_proxysql_scheduler.install import SchedulerRow
from readyset_proxysql_scheduler.metrics import PassReport, read, render, write


@pytest.mark.parametrize(
    ("text", "ok"),
    [("2.7.2-14-g5cc418b", True), ("3.0.1", True), ("1.4.16", False), ("nonsense", False)],
)
def test_proxysql_version(text: str, ok: bool) -> None:
    assert proxysql_version(text).ok is ok


def rule(**overrides: object) -> UserRule:
    values: dict[str, object] = dict(
        rule_id=1,
        username=None,
        schemaname=None,
        flag_in=0,
        digest=None,
        match_digest="^SELECT",
        match_pattern=None,
        negate=False,
        modifiers="CASELESS",
        flag_out=None,
        apply=True,
        comment="",
    )
    values.update(overrides)
    return UserRule(**values)  # type: ignore[arg-type]


TEXTS = ["SELECT a FROM t WHERE id = ?"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, True),
        ({"match_digest": "^select", "modifiers": ""}, False),  # case-sensitive, no match
        ({"match_digest": "^select"}, True),  # CASELESS
        ({"username": "app"}, True),
        ({"username": "other"}, False),
        ({"apply": False}, False),
        ({"apply": False, "flag_out": 5}, True),  # leaves chain 0: ours are never reached
        ({"flag_in": 5}, False),
        ({"digest": "0xABC"}, False),
        ({"digest": "0x1", "match_digest": None}, True),  # names one of ours
        ({"match_digest": None, "match_pattern": "^UPDATE", "negate": True}, True),
        ({"match_digest": None, "match_pattern": "^SELECT", "negate": True}, False),
        ({"match_digest": "(?<=x"}, True),  # not a Python regex: assume it may match
        ({"match_digest": None}, True),  # no criterion: everything
    ],
)
def test_shadows(overrides: dict[str, object], expected: bool) -> None:
    assert shadows(rule(**overrides), "app", {"0x1"}, TEXTS) is expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10s", 10.0), ("500ms", 0.5), ("1m", 60.0), ("2h", 7200.0), ("2.5", 2.5), (" 3 s ", 3.0)],
)
def test_parse_interval(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "10 parsecs", "-1s", "50ms", "1d"])
def test_parse_interval_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_interval(text)


@pytest.mark.parametrize(
    ("args", "path"),
    [
        (("--config=/etc/a.cnf",), "/etc/a.cnf"),
        (("--config=/etc/a.cnf --dry-run",), "/etc/a.cnf"),
        (("--dry-run", "--config", "/etc/a.cnf"), "/etc/a.cnf"),  # over arg1 .. arg3
        (("--config", "/etc/b.cnf"), "/etc/b.cnf"),
        ((None, "--config=/etc/a.cnf"), None),  # ProxySQL stops at the first NULL
        (("'--config=/etc/with space.cnf'",), "/etc/with space.cnf"),
        (("--dry-run",), None),
    ],
)
def test_scheduler_row_config_path(args: tuple[str | None, ...], path: str | None) -> None:
    padded = (args + (None,) * 5)[:5]
    row = SchedulerRow(1, True, 10000, "/x", padded, "")
    assert row.config_path() == path


def test_metrics_round_trip(tmp_path) -> None:
    counts = PassCounts()
    counts.digests_read = 12
    report = PassReport(
        timestamp=1700000000.5,
        duration_s=0.0625,
        outcome="problems",
        exit_code=1,
        dry_run=False,
        changes=3,
        counts=counts,
        rules={("routed", "query"): 2, ("mirrored", "in_list_sibling"): 1},
        hosts={"ONLINE": 1, "SHUNNED": 0},
    )
    text = render(report)
    assert "# TYPE readyset_scheduler_pass_duration_seconds gauge" in text
    path = tmp_path / "m.prom"
    write(str(path), report)
    samples = read(str(path))
    assert samples["readyset_scheduler_pass_timestamp_seconds"] == 1700000000.5
    assert samples['readyset_scheduler_pass_outcome{outcome="problems"}'] == 1
    assert samples['readyset_scheduler_pass_outcome{outcome="ok"}'] == 0
    assert samples["readyset_scheduler_digests_read"] == 12
    assert samples['readyset_scheduler_rules{state="mirrored",kind="in_list_sibling"}'] == 1
    assert samples['readyset_scheduler_hosts{status="ONLINE"}'] == 1
