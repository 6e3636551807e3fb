"""Readyset's verdicts and the IN-list sibling digests, without any server."""

from __future__ import annotations

import pytest

from readyset_proxysql_scheduler.discovery import MAX_SIBLINGS, in_list_siblings, supported
from readyset_proxysql_scheduler.proxysql import DigestRow
from readyset_proxysql_scheduler.spooky import digest_of
from readyset_proxysql_scheduler.translate import DigestSettings


def row(text: str) -> DigestRow:
    return DigestRow(digest_of(text), text, "shop", 10, 100, 10, 1, 20)


@pytest.mark.parametrize(
    ("verdict", "ok"),
    [
        ("yes", True),
        ("cached", True),
        (" Yes ", True),
        ("no", False),
        ("pending", False),
        ("no: Readyset does not support parameterized LIMIT fields", False),
    ],
)
def test_supported(verdict: str, ok: bool) -> None:
    assert supported(verdict) is ok


def test_siblings_of_a_compressed_list() -> None:
    text = "SELECT name FROM customers WHERE id IN (?,?,?,...)"
    found = in_list_siblings(row(text), DigestSettings(), set())
    assert [t for _, t in found] == [
        "SELECT name FROM customers WHERE id IN (?)",
        "SELECT name FROM customers WHERE id IN (?,?)",
        "SELECT name FROM customers WHERE id IN (?,?,?)",
        "SELECT name FROM customers WHERE id IN (?,?,?,?)",
    ]
    assert all(d == digest_of(t) for d, t in found)


def test_siblings_skip_taken_digests_and_follow_grouping_limit() -> None:
    text = "SELECT name FROM customers WHERE id IN (?)"
    taken = {digest_of("SELECT name FROM customers WHERE id IN (?,?)")}
    found = in_list_siblings(row(text), DigestSettings(grouping_limit=1), taken)
    assert [t for _, t in found] == ["SELECT name FROM customers WHERE id IN (?,...)"]


def test_siblings_are_capped_and_none_without_lists() -> None:
    two_lists = "SELECT a FROM t WHERE b IN (?,?,?,...) AND c IN (?,?,?,...)"
    assert len(in_list_siblings(row(two_lists), DigestSettings(), set())) == MAX_SIBLINGS
    assert in_list_siblings(row("SELECT a FROM t WHERE b = ?"), DigestSettings(), set()) == []
