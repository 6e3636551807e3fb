"""Readyset status rows of every era → ProxySQL status; who is left alone."""

from __future__ import annotations

import pytest

from readyset_proxysql_scheduler.health import hands_off, judge


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
