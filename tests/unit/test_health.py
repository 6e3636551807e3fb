"""Readyset status rows of every era → ProxySQL status; who is left alone."""

from __future__ import annotations

import pytest

from readyset_proxysql_scheduler.health import Verdict, hands_off, judge


@pytest.mark.parametrize(
    ("rows", "status"),
    [
        ([("Snapshot Status", "Completed")], "ONLINE"),
        ([("Snapshot Status", "In Progress")], "SHUNNED"),
        ([("Database Connection", "Connected"), ("Snapshot Status", "Completed")], "ONLINE"),
        ([("Database Connection", "Connected"), ("Status", "Online")], "ONLINE"),
        ([("Status", "Snapshot In Progress")], "SHUNNED"),
        ([("Status", "Maintenance Mode")], "OFFLINE_SOFT"),
        ([("Status", "online")], "ONLINE"),
        ([("Status", "Exploded")], "SHUNNED"),
        ([("Database Connection", "Unreachable"), ("Status", "Online")], "SHUNNED"),
        ([("Readyset Controller Status", "Unavailable")], "SHUNNED"),
        ([], "SHUNNED"),
        (None, "SHUNNED"),
    ],
)
def test_judge(rows: list[tuple[str, str]] | None, status: str) -> None:
    assert judge(rows).status == status


def test_unreachable_reason_names_the_error() -> None:
    assert judge(None, "timed out").reason == "timed out"


@pytest.mark.parametrize(
    ("runtime", "memory", "ours", "expected"),
    [
        ("ONLINE", "ONLINE", False, None),
        ("SHUNNED", "ONLINE", False, None),
        ("OFFLINE_HARD", "OFFLINE_HARD", False, "OFFLINE_HARD"),
        ("ONLINE", "OFFLINE_HARD", False, "OFFLINE_HARD"),
        ("OFFLINE_SOFT", "OFFLINE_SOFT", False, "OFFLINE_SOFT set by hand"),
        ("ONLINE", "OFFLINE_SOFT", False, "OFFLINE_SOFT set by hand"),
        ("OFFLINE_SOFT", "OFFLINE_SOFT", True, None),
    ],
)
def test_hands_off(runtime: str, memory: str, ours: bool, expected: str | None) -> None:
    assert hands_off(runtime, memory, ours) == expected


@pytest.mark.parametrize(
    ("rows", "status", "reason"),
    [
        ([("Status", "Online")], "ONLINE", "Status: Online"),
        ([(" Status ", " Online ")], "ONLINE", "Status: Online"),
        ([("status", "ONLINE")], "ONLINE", "Status: ONLINE"),
        ([("Status", "Maintenance Mode")], "OFFLINE_SOFT", "Status: Maintenance Mode"),
        ([("Status", "Snapshot In Progress")], "SHUNNED", "Status: Snapshot In Progress"),
        ([("Status", "Exploded")], "SHUNNED", "Status: Exploded"),
        ([("Snapshot Status", "Completed")], "ONLINE", "Snapshot Status: Completed"),
        ([("Snapshot Status", "In Progress")], "SHUNNED", "Snapshot Status: In Progress"),
        ([("Snapshot Status", "Odd")], "SHUNNED", "Snapshot Status: Odd"),
        # `Status` wins over the older `Snapshot Status` when a release sends both
        ([("Snapshot Status", "In Progress"), ("Status", "Online")], "ONLINE", "Status: Online"),
        (
            [("Status", "Online"), ("Database Connection", " unreachable ")],
            "SHUNNED",
            "Database Connection: Unreachable",
        ),
        (
            [("Database Connection", "Connected")],
            "SHUNNED",
            "no status row in SHOW READYSET STATUS",
        ),
        ([], "SHUNNED", "no status row in SHOW READYSET STATUS"),
        (None, "SHUNNED", "no answer"),
    ],
)
def test_judge_reasons(rows: list[tuple[str, str]] | None, status: str, reason: str) -> None:
    assert judge(rows) == Verdict(status, reason)


def test_an_error_is_the_reason_only_without_rows() -> None:
    assert judge([("Status", "Online")], "ignored") == Verdict("ONLINE", "Status: Online")
    assert judge(None, "") == Verdict("SHUNNED", "no answer")


@pytest.mark.parametrize(
    ("runtime", "memory", "ours", "expected"),
    [
        ("ONLINE", None, False, None),
        ("OFFLINE_SOFT", None, False, "OFFLINE_SOFT set by hand"),
        ("OFFLINE_SOFT", None, True, None),
        ("OFFLINE_HARD", None, True, "OFFLINE_HARD"),  # ours or not, hard is hands off
        ("SHUNNED", "OFFLINE_SOFT", True, None),
        ("OFFLINE_SOFT", "OFFLINE_HARD", True, "OFFLINE_HARD"),
    ],
)
def test_hands_off_more(runtime: str, memory: str | None, ours: bool, expected: str | None) -> None:
    assert hands_off(runtime, memory, ours) == expected
