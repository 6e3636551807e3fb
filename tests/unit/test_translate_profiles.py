"""translate() per Readyset release profile: one row per rule of reference readyset.md §7.6.

Each row names the profile, the digest text and the outcome ("=" cacheable as written, the query
text, or "!<reason keyword>"), with the matching-case number of readyset-matching-cases.md where
there is one.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from readyset_proxysql_scheduler.profiles import Profile
from readyset_proxysql_scheduler.translate import Cacheable, DigestSettings, NotCacheable, translate

A = Profile("stable-250123", 250123, "deep", False)  # 2025 classic deep
OLD = Profile("stable-240328", 240328, "deep", False)  # ranges not parameterised yet
D = Profile("stable-260423", 260423, "deep", False)
D_SHALLOW = Profile("stable-260423", 260423, "shallow", False)
TOPK_EARLY = Profile("stable-260630", 260630, "deep", True)  # Top K on, order-less LIMIT stripped
H_TOPK = Profile("unknown-release-version", 999999, "deep", True)
H_NO_TOPK = Profile("unknown-release-version", 999999, "deep", False)
H_SHALLOW = Profile("unknown-release-version", 999999, "shallow", True)
MIXED = Profile("stable-260423", 260423, "deep", False, mixed_comparisons=True)
C_SHALLOW = Profile("stable-251023", 251023, "shallow", False)  # shallow keyed like deep there
UNKNOWN_TOPK = Profile("stable-260720", 260720, "deep", None)


class Row(NamedTuple):
    profile: Profile
    digest: str
    expected: str


ROWS: dict[str, Row] = {
    # LIMIT (cases 29-33, 36-38, 40)
    "django get, deep before Top K": Row(A, "SELECT a FROM t WHERE id = ? LIMIT ?", "="),
    "rails find, stable-260423 deep": Row(D, "SELECT a FROM t WHERE id = ? LIMIT ?", "="),
    "order-less LIMIT stripped with early Top K": Row(
        TOPK_EARLY, "SELECT a FROM t WHERE id = ? LIMIT ?", "="
    ),
    "order-less LIMIT kept from stable-260730 with Top K": Row(
        H_TOPK, "SELECT a FROM t WHERE id = ? LIMIT ?", "!order-less LIMIT"
    ),
    "order-less LIMIT stripped when Top K is off at HEAD": Row(
        H_NO_TOPK, "SELECT a FROM t WHERE id = ? LIMIT ?", "="
    ),
    "order-less LIMIT when Top K is not known": Row(
        UNKNOWN_TOPK, "SELECT a FROM t WHERE id = ? LIMIT ?", "="
    ),
    "ordered LIMIT with Top K: dual lookup": Row(
        H_TOPK, "SELECT a FROM t WHERE c = ? ORDER BY id LIMIT ? OFFSET ?", "="
    ),
    "LIMIT in a subquery stays a literal in deep": Row(
        A,
        "SELECT a FROM t WHERE b IN (SELECT b FROM u WHERE c = ? LIMIT ?)",
        "!placeholder in LIMIT",
    ),
    "shallow: order-less LIMIT is a parameter": Row(
        H_SHALLOW, "SELECT a FROM t WHERE id = ? LIMIT ?", "="
    ),
    "order-less LIMIT in a UNION operand": Row(
        H_TOPK,
        "(SELECT a FROM t WHERE b = ? ORDER BY a LIMIT ?)"
        " UNION (SELECT a FROM u WHERE c = ? LIMIT ?)",
        "!order-less LIMIT",
    ),
    "shallow: LIMIT in a subquery": Row(
        D_SHALLOW, "SELECT a FROM t WHERE b IN (SELECT b FROM u WHERE c = ? LIMIT ?)", "="
    ),
    # ranges (cases 15, 16, 18-21)
    "range only": Row(A, "SELECT a FROM t WHERE stock < ?", "="),
    "two ranges": Row(D, "SELECT a FROM t WHERE score > ? AND score < ?", "="),
    "reversed range": Row(A, "SELECT a FROM t WHERE ? > id", "="),
    "range before stable-240425": Row(OLD, "SELECT a FROM t WHERE stock < ?", "!range placeholder"),
    "equality beside a range": Row(
        D, "SELECT a FROM t WHERE cat = ? AND stock > ?", "!equality and range"
    ),
    "IN beside a range": Row(
        D, "SELECT a FROM t WHERE cat IN (?,?) AND stock > ?", "!equality and range"
    ),
    "equality beside a range with mixed comparisons": Row(
        MIXED, "SELECT a FROM t WHERE cat = ? AND stock > ?", "="
    ),
    "bracketed range and equality (Django)": Row(
        A, "SELECT a FROM t WHERE (`t`.`d` > ? AND `t`.`k` = ?)", "!equality and range"
    ),
    "bracketed equalities (Django)": Row(
        A, "SELECT a FROM t WHERE (`t`.`d` = ? AND `t`.`k` = ?)", "="
    ),
    "reversed equality": Row(A, "SELECT a FROM t WHERE ? = id", "="),
    "reversed equality beside a range": Row(
        D, "SELECT a FROM t WHERE ? = cat AND stock > ?", "!equality and range"
    ),
    "shallow: equality and range": Row(
        D_SHALLOW, "SELECT a FROM t WHERE cat = ? AND stock > ?", "="
    ),
    # literal-keeping positions (cases 22-25, 27, 43-45)
    "BETWEEN in deep": Row(D, "SELECT a FROM t WHERE d BETWEEN ? AND ?", "!would not parameterise"),
    "LIKE in deep": Row(H_TOPK, "SELECT a FROM t WHERE n LIKE ?", "!would not parameterise"),
    "<> in deep": Row(A, "SELECT a FROM t WHERE n <> ?", "!would not parameterise"),
    "OR in deep": Row(A, "SELECT a FROM t WHERE n = ? OR m = ?", "!would not parameterise"),
    "NOT IN in deep": Row(A, "SELECT a FROM t WHERE n NOT IN (?,?)", "!would not parameterise"),
    "select-list literal in deep": Row(
        A, "SELECT ? AS one FROM t WHERE n = ? LIMIT ?", "!placeholder in select list"
    ),
    "GROUP BY ordinal in deep": Row(D, "SELECT a FROM t WHERE n = ? GROUP BY ?", "!GROUP BY"),
    "JOIN ON literal in deep": Row(
        D, "SELECT a FROM t JOIN u ON u.i = t.i AND u.k = ? WHERE t.n = ?", "!JOIN ... ON"
    ),
    "HAVING literal in deep": Row(
        D, "SELECT a,COUNT(*) FROM t GROUP BY a HAVING COUNT(*) > ?", "!HAVING"
    ),
    "shallow: BETWEEN": Row(D_SHALLOW, "SELECT a FROM t WHERE d BETWEEN ? AND ?", "="),
    "shallow: LIKE": Row(H_SHALLOW, "SELECT a FROM t WHERE n LIKE ?", "="),
    "shallow: <> and NOT IN": Row(
        H_SHALLOW, "SELECT a FROM t WHERE n <> ? AND m NOT IN (?,?)", "="
    ),
    "shallow: OR": Row(H_SHALLOW, "SELECT a FROM t WHERE n = ? OR m = ?", "="),
    "shallow: select-list literal (Rails exists?)": Row(
        H_SHALLOW, "SELECT ? AS one FROM `users` WHERE `users`.`email` = ? LIMIT ?", "="
    ),
    "shallow: GROUP BY ordinal": Row(H_SHALLOW, "SELECT a FROM t WHERE n = ? GROUP BY ?", "="),
    "shallow: HAVING": Row(
        D_SHALLOW, "SELECT a,COUNT(*) FROM t GROUP BY a HAVING COUNT(*) > ?", "="
    ),
    "shallow: constant comparison": Row(H_SHALLOW, "SELECT a FROM t WHERE ?=? AND b = ?", "="),
    "constant comparison in deep": Row(H_TOPK, "SELECT a FROM t WHERE ?=? AND b = ?", "!constant"),
    "shallow: compressed IN list collapses": Row(
        H_SHALLOW, "SELECT a FROM t WHERE id IN (?,?,?,...)", "SELECT a FROM t WHERE id IN (?,?,?)"
    ),
    # rewrites that a shallow identity cannot take
    "shallow: unquoted date arithmetic kept": Row(
        H_SHALLOW, "SELECT a FROM t WHERE d = ?-?-?", "="
    ),
    "deep: unquoted date arithmetic becomes one value": Row(
        A, "SELECT a FROM t WHERE d = ?-?-?", "SELECT a FROM t WHERE d = ?"
    ),
    "shallow: charset introducer": Row(
        H_SHALLOW, "SELECT a FROM t WHERE n = _utf8mb4?", "!charset introducer"
    ),
    "shallow: spaced charset introducer": Row(
        D_SHALLOW, "SELECT a FROM t WHERE n = _latin1 ?", "!charset introducer"
    ),
    "deep: charset introducer dropped": Row(
        A, "SELECT a FROM t WHERE n = _utf8mb4?", "SELECT a FROM t WHERE n = ?"
    ),
    "shallow before stable-260226 keys like deep": Row(
        C_SHALLOW, "SELECT a FROM t WHERE n LIKE ?", "!would not parameterise"
    ),
    "shallow: DATE() is a function, not a typed literal": Row(
        H_SHALLOW, "SELECT a FROM t WHERE d = DATE(?)", "="
    ),
    # never cacheable, whatever the release
    "FROM-less in shallow": Row(H_SHALLOW, "SELECT ?", "!FROM-less"),
    "locking read in shallow": Row(
        H_SHALLOW, "SELECT a FROM t WHERE id = ? FOR UPDATE", "!locking read"
    ),
    "INTO in shallow": Row(H_SHALLOW, "SELECT a INTO @x FROM t WHERE id = ?", "!INTO"),
    # quoted text the digest kept (executable comments): backslashes do not end the quote
    "backslash in a kept string": Row(
        A,
        "SELECT a FROM t WHERE b = ? /*!50000 AND c = 'x\\'y' */",
        "SELECT a FROM t WHERE b = ? AND c = 'x\\'y'",
    ),
    "backslash before a closing quote in a kept string": Row(
        A,
        "SELECT a FROM t WHERE b = ? /*!50000 AND c = 'x\\\\' */",
        "SELECT a FROM t WHERE b = ? AND c = 'x\\\\'",
    ),
}


def _render(expected: str, digest: str) -> str:
    return digest if expected == "=" else expected


@pytest.mark.parametrize("row", ROWS.values(), ids=list(ROWS))
def test_translate_per_profile(row: Row) -> None:
    result = translate(row.digest, DigestSettings(), row.profile)
    if row.expected.startswith("!"):
        assert isinstance(result, NotCacheable), result
        assert row.expected[1:] in result.reason, result.reason
    else:
        assert result == Cacheable(_render(row.expected, row.digest))


@pytest.mark.parametrize(
    ("digest", "word"),
    [
        ("SELECT a FROM t WHERE n = _utf8mb4?", "_utf8mb4"),
        ("SELECT a FROM t WHERE n = _latin1 ?", "_latin1"),
    ],
)
def test_shallow_introducer_reason_names_it(digest: str, word: str) -> None:
    result = translate(digest, DigestSettings(), H_SHALLOW)
    assert isinstance(result, NotCacheable)
    assert (
        result.reason == f"charset introducer ({word}?): a shallow cache keys on its exact spelling"
    )


def test_refusal_names_the_release() -> None:
    result = translate("SELECT a FROM t WHERE id = ? LIMIT ?", DigestSettings(), H_TOPK)
    assert isinstance(result, NotCacheable)
    assert "unknown-release-version/deep/topk" in result.reason


@pytest.mark.parametrize(
    ("profile", "digest", "identity"),
    [
        (A, "SELECT a FROM t WHERE cat = ? AND stock > ?", True),
        (A, "SELECT ? AS one FROM t WHERE n = ? LIMIT ?", True),
        (A, "SELECT a FROM t WHERE n LIKE ?", True),
        (A, "SELECT a FROM t WHERE ?=? AND b = ?", True),
        (H_TOPK, "SELECT a FROM t WHERE id = ? LIMIT ?", True),
        (OLD, "SELECT a FROM t WHERE stock < ?", True),
        (A, "SELECT a FROM t WHERE n = ? GROUP BY ?", True),
        # what no exact statement gets around
        (A, "SELECT ? LIMIT ?", False),  # FROM-less wins over the select-list literal
        (A, "SELECT ? AS x FROM t WHERE a = ? FOR UPDATE", False),
        (A, "SELECT a FROM t WHERE b IN (?,?,?,...) AND c <> ? AND d = COALESCE(?,?,...)", False),
        (H_SHALLOW, "SELECT a FROM t WHERE n = _utf8mb4?", False),
        (A, "SELECT a FROM t WHERE d = DATE ?", False),
        (A, "SELECT a FROM t WHERE id = ?; SELECT 1", False),
    ],
)
def test_which_refusals_readyset_identities_can_serve(
    profile: Profile, digest: str, identity: bool
) -> None:
    result = translate(digest, DigestSettings(), profile)
    assert isinstance(result, NotCacheable), result
    assert result.identity is identity, result.reason
