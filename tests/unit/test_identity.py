"""identity: SHOW PROXIED QUERIES entries ↔ a digest text, and the pattern that routes variants."""

from __future__ import annotations

import re

import pytest

from readyset_proxysql_scheduler.identity import (
    Proxied,
    Variant,
    match,
    route_pattern,
    tokens,
    variants,
)

DJANGO = (
    "SELECT `orders`.`id` FROM `orders` WHERE (`orders`.`customer_id` = ? AND `orders`.`total` > ?)"
    " LIMIT ?"
)


@pytest.mark.parametrize(
    ("digest", "proxied", "kept"),
    [
        # deep up to stable-260528: the equality a parameter, the range kept, LIMIT stripped
        (
            DJANGO,
            "SELECT orders.id FROM orders WHERE orders.customer_id = $1 AND orders.total > 100",
            (None, "100", None),
        ),
        # stable-260331+: tables qualified with the schema, parentheses everywhere
        (
            DJANGO,
            "SELECT `shop`.`orders`.`id` FROM `shop`.`orders`"
            " WHERE ((`shop`.`orders`.`customer_id` = $1) AND (`shop`.`orders`.`total` > 100))",
            (None, "100", None),
        ),
        # Top K (stable-260730+): an order-less LIMIT kept
        (
            DJANGO,
            "SELECT orders.id FROM orders WHERE orders.customer_id = $1 AND orders.total > 100"
            " LIMIT 21",
            (None, "100", "21"),
        ),
        # `*` expanded, `? = col` swapped, `LIMIT a, b` read as `LIMIT b OFFSET a`
        (
            "SELECT * FROM t WHERE ? = id LIMIT ?,?",
            "SELECT t.a, t.b FROM t WHERE t.id = $1 LIMIT 10 OFFSET 0",
            (None, "0", "10"),
        ),
        # IN collapsed to `= $1`, with Readyset's marker comment
        (
            "SELECT a FROM t WHERE x IN (?,?,?) AND y > ?",
            "SELECT a FROM t WHERE x = $1 /* COLLAPSED WHERE IN */ AND y > 5",
            (None, None, None, "5"),
        ),
        # a literal in the select list, a string kept, `<>` written `!=`, a negative number
        (
            "SELECT ? AS one FROM t WHERE s <> ? AND n = ?",
            "select 1 as one from t where s != 'x' and n = -5",
            ("1", "'x'", "-5"),
        ),
        # keyword case, backquotes and whitespace do not matter
        (
            "select `a` from `t` where `b` like ?",
            "SELECT a\n FROM t WHERE b LIKE 'ab%'",
            ("'ab%'",),
        ),
        # reversed range: `8 < stock` is `stock > 8`
        ("SELECT a FROM t WHERE ? < stock", "SELECT a FROM t WHERE stock > 8", ("8",)),
        (
            "SELECT a FROM t WHERE k = ? AND v IS NULL",
            "SELECT a FROM t WHERE k = $1 AND v IS NULL",
            (None,),
        ),
        # a statement's trailing semicolon
        ("SELECT a FROM t WHERE k = ?;", "SELECT a FROM t WHERE k = $1", (None,)),
        # `SELECT DISTINCT *` expanded
        (
            "SELECT DISTINCT * FROM t WHERE k = ?",
            "SELECT DISTINCT t.a, t.b FROM t WHERE t.k = $1",
            (None,),
        ),
        # `*` expanded and every column qualified with the schema (stable-260331+), also after `=`
        (
            "SELECT * FROM t JOIN u ON u.id = t.uid WHERE t.k = ?",
            "SELECT `shop`.`t`.`a` FROM `shop`.`t` JOIN `shop`.`u`"
            " ON (`shop`.`u`.`id` = `shop`.`t`.`uid`) WHERE (`shop`.`t`.`k` = $1)",
            (None,),
        ),
        # a LIMIT ? OFFSET ? (or OFFSET ? alone) that Readyset stripped
        (
            "SELECT a FROM t WHERE k = ? ORDER BY a LIMIT ? OFFSET ?",
            "SELECT a FROM t WHERE k = $1 ORDER BY a",
            (None, None, None),
        ),
        ("SELECT a FROM t WHERE k = ? OFFSET ?", "SELECT a FROM t WHERE k = $1", (None, None)),
    ],
)
def test_match(digest: str, proxied: str, kept: tuple) -> None:
    assert match(digest, proxied) == kept


@pytest.mark.parametrize(
    ("digest", "proxied"),
    [
        ("SELECT * FROM t WHERE k = ?", "SELECT a, b"),  # `*` never followed by a FROM
        ("SELECT a FROM t WHERE k = ?", "DELETE a FROM t WHERE k = $1"),  # another statement
        ("SELECT a FROM t WHERE k = ?", "SELECT a FROM u WHERE k = $1"),  # another table
        ("SELECT a FROM t WHERE k = ?", "SELECT a FROM t WHERE k = $1 AND z = 1"),  # more
        ("SELECT a FROM t WHERE k = ? AND z = ?", "SELECT a FROM t WHERE k = $1"),  # less
        ("SELECT a FROM t WHERE k = ?", "SELECT a FROM t WHERE k = b"),  # a column, not a value
        ("SELECT a FROM t WHERE k IN (?,?,?,...)", "SELECT a FROM t WHERE k = $1"),  # compressed
        ("SELECT a FROM t WHERE k = ? ORDER BY a", "SELECT a FROM t WHERE k = $1"),  # ORDER BY lost
        ("SELECT a FROM t WHERE k IN (?)", "SELECT a FROM t WHERE k = b"),
        ("SELECT a FROM t WHERE k = ?", ""),
        # `*` stands for a column list, not for a literal or an expression
        ("SELECT t.* FROM t WHERE k = ? LIMIT ?", "SELECT 1 AS a FROM t WHERE t.k = $1"),
        ("SELECT * FROM t WHERE k = ?", "SELECT count(*) FROM t WHERE k = $1"),
    ],
)
def test_no_match(digest: str, proxied: str) -> None:
    assert match(digest, proxied) is None


def test_tokens_unquote_and_unqualify() -> None:
    assert [t.text for t in tokens("SELECT `s`.`t`.`c` AS x FROM s.t /* c */")] == [
        "select",
        "c",
        "x",
        "from",
        "t",
    ]
    assert [t.text for t in tokens("a - 5, -5, x-5")] == [
        "a",
        "-",
        "5",
        ",",
        "-5",
        ",",
        "x",
        "-",
        "5",
    ]


def test_tokens_keep_what_readyset_does_not_reorder() -> None:
    text = (
        "SELECT a FROM t JOIN u ON 1 = u.x WHERE 5 = k + 1 AND a + 5 = k AND 8 < s"
        " GROUP BY a HAVING 2 < c ORDER BY a LIMIT 0, 10 FOR UPDATE"
    )
    assert [t.text for t in tokens(text)] == (
        "select a from t join u on x = 1 where 5 = k + 1 and a + 5 = k and s > 8"
        " group by a having c > 2 order by a limit 10 offset 0 for update"
    ).split()
    assert [t.text for t in tokens("`a``b` = -5")] == ["a`b", "=", "-5"]
    assert [t.text for t in tokens("-5")] == ["-5"]


def test_variants_skip_other_statements() -> None:
    entries = [
        Proxied("q_9", "SELECT b FROM t WHERE k = $1", "yes", 50),
        Proxied("q_1", "SELECT a FROM t WHERE k = $1", "yes", 2),
    ]
    assert variants("SELECT a FROM t WHERE k = ?", entries) == [
        Variant("q_1", "SELECT a FROM t WHERE k = $1", (None,), 2)
    ]


def test_variants_ranked_by_count_then_id() -> None:
    digest = "SELECT a FROM t WHERE k = ? AND v > ?"
    entries = [
        Proxied("q_2", "SELECT a FROM t WHERE k = $1 AND v > 5", "yes", 3),
        Proxied("q_1", "SELECT a FROM t WHERE k = $1 AND v > 6", "yes", 3),
        Proxied("q_3", "SELECT a FROM t WHERE k = $1 AND v > 7", "yes", 9),
        Proxied("q_4", "SELECT b FROM t WHERE k = $1", "yes", 99),
        Proxied("q_1", "SELECT a FROM t WHERE k = $1 AND v > 6", "yes", 1),
    ]
    found = variants(digest, entries)
    assert [(v.query_id, v.kept, v.count) for v in found] == [
        ("q_3", (None, "7"), 9),
        ("q_1", (None, "6"), 3),
        ("q_2", (None, "5"), 3),
    ]


def _routes(pattern: str, statement: str) -> bool:
    return re.search(pattern, statement, re.IGNORECASE) is not None  # re_modifiers CASELESS


def test_route_pattern_sends_only_cached_variants() -> None:
    pattern = route_pattern(DJANGO, [(None, "100", None), (None, "50", None)])
    base = (
        "SELECT `orders`.`id` FROM `orders`"
        " WHERE (`orders`.`customer_id` = {} AND `orders`.`total` > {}) LIMIT {}"
    )
    assert _routes(pattern, base.format(56, 100, 21))
    assert _routes(pattern, base.format("'7'", 50, 1))
    assert _routes(pattern, "  " + base.format(1, 50, 21) + " /*controller='x'*/;")
    assert _routes(pattern, base.format(1, 50, 21).lower().replace("  ", " "))
    assert not _routes(pattern, base.format(56, 1000, 21))
    assert not _routes(pattern, base.format(56, 10, 21))
    assert not _routes(pattern, base.format(56, 51, 21))
    assert not _routes(pattern, "SELECT 1; " + base.format(56, 50, 21))


def test_route_pattern_strings_and_negatives() -> None:
    digest = "SELECT a FROM t WHERE s = ? AND n > ?"
    pattern = route_pattern(digest, [("'it''s'", "-5")])
    assert _routes(pattern, "SELECT a FROM t WHERE s = 'it''s' AND n > -5")
    assert _routes(pattern, "SELECT a FROM t WHERE s = \"it''s\" AND n > - 5")
    assert not _routes(pattern, "SELECT a FROM t WHERE s = 'its' AND n > -5")
    assert not _routes(pattern, "SELECT a FROM t WHERE s = 'it''s' AND n > 5")


def test_route_pattern_values_of_every_kind() -> None:
    pattern = route_pattern("SELECT a FROM t WHERE k = ?", [(None,)])
    for value in ("5", "-5", "1.5e3", "'x\\'y'", '"q"', "NULL", "0xFF", "_utf8mb4'x'", ".5"):
        assert _routes(pattern, f"SELECT a FROM t WHERE k = {value}"), value
    assert not _routes(pattern, "SELECT a FROM t WHERE k = b")
    assert not _routes(pattern, "SELECT a FROM t WHERE k = 5 OR 1 = 1")
    assert _routes(pattern, "SELECT a FROM t WHERE k=5")  # spacing is free


def test_route_pattern_a_kept_double_quoted_string_matches_either_quote() -> None:
    pattern = route_pattern("SELECT a FROM t WHERE k = ?", [('"q"',)])
    assert _routes(pattern, "SELECT a FROM t WHERE k = 'q'")
    assert _routes(pattern, 'SELECT a FROM t WHERE k = "q"')
    assert not _routes(pattern, "SELECT a FROM t WHERE k = 'r'")


def test_route_pattern_does_not_require_a_comment_the_digest_kept() -> None:
    pattern = route_pattern("SELECT a FROM t WHERE k = ? /* controller */", [(None,)])
    assert _routes(pattern, "SELECT a FROM t WHERE k = 5")
