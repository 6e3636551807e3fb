"""Rules of translate(): one table row per rule, both outcomes; DigestSettings; siblings."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readyset_proxysql_scheduler.translate import (
    Cacheable,
    DigestSettings,
    NotCacheable,
    sibling_digest_texts,
    translate,
)


class Case(NamedTuple):
    digest: str
    expected: str  # the Cacheable query, or "!<reason keyword>" for NotCacheable
    settings: dict[str, Any] = {}


def check(case: Case) -> None:
    result = translate(case.digest, DigestSettings(**case.settings))
    if case.expected.startswith("!"):
        assert isinstance(result, NotCacheable), result
        assert case.expected[1:] in result.reason, result.reason
    else:
        assert result == Cacheable(case.expected)


SAME = ""  # expected == digest


def same(digest: str, **settings: Any) -> Case:
    return Case(digest, digest, settings)


CASES: dict[str, Case] = {
    # --- plain, kept byte for byte
    "plain": same("SELECT a,b FROM t WHERE id = ?"),
    "keywords lower case": same("select a from t where id = ?"),
    "keywords mixed case": same("Select a From t Where id=?"),
    "leading paren": same("(SELECT a FROM t WHERE id = ?)"),
    "union left to readyset": same("SELECT a FROM t WHERE x = ? UNION SELECT a FROM u WHERE y = ?"),
    "cte": same("WITH c AS (SELECT a FROM t WHERE b = ?) SELECT * FROM c"),
    "cte recursive columns": same(
        "WITH RECURSIVE c (n) AS (SELECT n FROM t) SELECT n FROM c WHERE n = ?"
    ),
    "question mark in backquotes": same("SELECT `why?` FROM t WHERE `a?` = ?"),
    "hash and dashes in backquotes": same("SELECT `a#b`,`c-- d` FROM `t#1` WHERE x = ?"),
    "keyword-named backquoted column": same("SELECT `limit`,`from` FROM t WHERE `select` = ?"),
    "non-ascii identifiers": same("SELECT prénom FROM clients WHERE ville = ?"),
    "trailing placeholder arithmetic kept": Case(
        "SELECT a FROM t WHERE a > NOW() -?", "!would not parameterise"
    ),
    "binary minus without spaces kept": same("SELECT price-stock FROM products WHERE id = ?"),
    "offset without limit value": same("SELECT a FROM t WHERE b = ? OFFSET ?"),
    "subquery where left to readyset": same(
        "SELECT a FROM t WHERE b IN (SELECT b FROM u WHERE c = ?)"
    ),
    "extract from is not a FROM clause": Case("SELECT EXTRACT(YEAR FROM NOW())", "!FROM-less"),
    # --- empty, disabled, truncated
    "empty": Case("", "!empty"),
    "blank": Case("   ", "!empty"),
    "only a comment": Case("/* x */", "!empty", {"keep_comment": True}),
    "disabled": Case("SELECT a FROM t WHERE b = ?", "!disabled", {"enabled": False}),
    "at max length": Case(
        "SELECT a FROM t WHERE b = ?" + " AND c = ?" * 10,
        "!truncated",
        {"max_digest_length": len("SELECT a FROM t WHERE b = ?" + " AND c = ?" * 10)},
    ),
    "one byte under max length": same(
        "SELECT a FROM t WHERE b = ?", max_digest_length=len("SELECT a FROM t WHERE b = ?") + 1
    ),
    "multibyte counted in bytes": Case(
        "SELECT é FROM t WHERE a = ?", "!truncated", {"max_digest_length": 27}
    ),
    "max_query_length": Case("SELECT a FROM t WHERE b = ?", "!truncated", {"max_query_length": 28}),
    "cut multibyte character": Case("SELECT a FROM t WHERE b = ? AND c\ufffd", "!truncated"),
    "unterminated backquote": Case("SELECT `a`,`b FROM", "!truncated"),
    "unterminated string": Case("SELECT a FROM t WHERE b = 'x", "!truncated"),
    "unterminated comment": Case("SELECT a FROM t /* x", "!truncated", {"keep_comment": True}),
    "open parenthesis": Case("SELECT a FROM t WHERE b IN (?,?", "!truncated"),
    "extra closing parenthesis": Case("SELECT a FROM t WHERE b = ?)", "!unbalanced"),
    # --- statements
    "two statements": Case("SELECT a FROM t WHERE b = ?; SELECT ?", "!more than one statement"),
    "for update then select": Case(
        "SELECT * FROM test.select_for_update_foo FOR UPDATE ; SELECT ?", "!more than one statement"
    ),
    "trailing semicolon dropped": Case(
        "SELECT a FROM t WHERE b = ? ;", "SELECT a FROM t WHERE b = ?"
    ),
    "semicolon in backquotes": same("SELECT `a;b` FROM t WHERE c = ?"),
    "string in executable comment survives": Case(
        "SELECT a FROM t WHERE /*!50000 b = 'x;y?#' AND */ c = ?",
        "SELECT a FROM t WHERE b = 'x;y?#' AND c = ?",
    ),
    "insert": Case("INSERT INTO t (a,b) VALUES (?,?)", "!not a SELECT"),
    "update": Case("UPDATE t SET a=? WHERE id=?", "!not a SELECT"),
    "delete": Case("DELETE FROM t WHERE id = ?", "!not a SELECT"),
    "show": Case("SHOW TABLES", "!not a SELECT"),
    "set": Case("SET NAMES utf8mb4", "!not a SELECT"),
    "call": Case("CALL p(?)", "!not a SELECT"),
    "cte update": Case(
        "WITH c AS (SELECT id FROM t) UPDATE t SET a = ? WHERE id IN (SELECT id FROM c)",
        "!not a SELECT statement (UPDATE)",
    ),
    "only parens": Case("(?)", "!not a SELECT"),
    "into outfile": Case("SELECT a FROM t WHERE b = ? INTO OUTFILE ?", "!INTO"),
    "into variable": Case("SELECT a INTO @x FROM t WHERE b = ?", "!INTO"),
    "for update": Case("SELECT a FROM t WHERE b = ? FOR UPDATE", "!locking read (FOR UPDATE)"),
    "for update nowait": Case("select a from t where b = ? for update nowait", "!locking read"),
    "for share skip locked": Case(
        "SELECT a FROM t WHERE b = ? FOR SHARE SKIP LOCKED", "!locking read (FOR SHARE)"
    ),
    "lock in share mode": Case(
        "SELECT a FROM t WHERE b = ? LOCK IN SHARE MODE", "!LOCK IN SHARE MODE"
    ),
    "substring for is not locking": Case(
        "SELECT a FROM t WHERE SUBSTRING(b FROM ? FOR ?) = ?", "!would not parameterise"
    ),
    "sql_calc_found_rows": Case(
        "SELECT SQL_CALC_FOUND_ROWS id FROM t WHERE a = ?", "!SQL_CALC_FOUND_ROWS"
    ),
    "from-less": Case("SELECT DATABASE()", "!FROM-less"),
    "from-less variable": Case("SELECT @@version", "!FROM-less"),
    # --- comments
    "kept comment removed": Case(
        "SELECT /* app:1 */ a FROM t WHERE b = ?",
        "SELECT a FROM t WHERE b = ?",
        {"keep_comment": True},
    ),
    "kept comment glued": Case(
        "SELECT a FROM t/* x */WHERE b = ?", "SELECT a FROM t WHERE b = ?", {"keep_comment": True}
    ),
    "leading kept comment": Case(
        "/* controller:users */ SELECT a FROM t WHERE b = ?",
        "SELECT a FROM t WHERE b = ?",
        {"keep_comment": True},
    ),
    "trailing kept comment": Case(
        "SELECT a FROM t WHERE b = ? /* x */", "SELECT a FROM t WHERE b = ?", {"keep_comment": True}
    ),
    "optimizer hint removed": Case(
        "SELECT /*+ MAX_EXECUTION_TIME(?) */ a FROM t WHERE b = ?", "SELECT a FROM t WHERE b = ?"
    ),
    "executable comment unwrapped": Case(
        "SELECT /*!40001 SQL_NO_CACHE */ a FROM t WHERE b = ?",
        "SELECT SQL_NO_CACHE a FROM t WHERE b = ?",
    ),
    "mariadb executable comment": Case(
        "SELECT a FROM t /*M!100000 WHERE b = ? */", "SELECT a FROM t WHERE b = ?"
    ),
    "executable comment residue": Case(
        "SELECT SQL_NO_CACHE */ a FROM t WHERE b = ?", "!comment terminator"
    ),
    "hash outside quotes": Case("SELECT a FROM t WHERE b = ? # x", "!comment marker"),
    "dash dash space outside quotes": Case("SELECT a FROM t WHERE b = ? -- x", "!comment marker"),
    "double minus is not a comment": same("SELECT a FROM t WHERE b = c--d"),
    # --- no_digits
    "no_digits table_?": Case(
        "SELECT a FROM table_? WHERE b = ?", "!no_digits", {"no_digits": True}
    ),
    "no_digits col?": Case("SELECT col? FROM t WHERE b = ?", "!no_digits", {"no_digits": True}),
    "no_digits t?.c?": Case("SELECT t?.c FROM t? WHERE b = ?", "!no_digits", {"no_digits": True}),
    "no_digits ?_value": Case(
        "SELECT * FROM ?_value WHERE b = ?", "!no_digits", {"no_digits": True}
    ),
    "no_digits backquoted": Case(
        "SELECT a FROM `t_?` WHERE b = ?", "!no_digits", {"no_digits": True}
    ),
    "no_digits charset": Case(
        "SELECT a FROM t WHERE b = _utf??", "!no_digits", {"no_digits": True}
    ),
    "no_digits clean": same("SELECT a FROM t WHERE b = ?", no_digits=True),
    "glued without no_digits": Case("SELECT a FROM t WHERE b = abc?", "!glued"),
    "glued after": Case("SELECT a FROM t WHERE b = ?abc", "!glued"),
    # --- charset introducers and typed literals
    "N?": Case("SELECT a FROM t WHERE b = N?", "SELECT a FROM t WHERE b = ?"),
    "n? lowercase": Case(
        "select a from t where b = n?", "select a from t where b = ?", {"lowercase": True}
    ),
    "_utf8mb4?": Case("SELECT a FROM t WHERE b = _utf8mb4?", "SELECT a FROM t WHERE b = ?"),
    "_binary?": Case("SELECT a FROM t WHERE b = _binary?", "SELECT a FROM t WHERE b = ?"),
    "_latin1 with space": Case(
        "SELECT a FROM t WHERE b = _latin1 ?", "SELECT a FROM t WHERE b = ?"
    ),
    "X? hex string": Case("SELECT a FROM t WHERE h = X?", "SELECT a FROM t WHERE h = ?"),
    "introducer with collate": Case(
        "SELECT a FROM t WHERE b = _utf8mb4? COLLATE utf8mb4_bin", "!would not parameterise"
    ),
    "DATE ?": Case("SELECT a FROM t WHERE d >= DATE ?", "!typed literal"),
    "TIMESTAMP ?": Case("SELECT a FROM t WHERE d < timestamp ?", "!typed literal"),
    "DATE() function kept": Case("SELECT a FROM t WHERE DATE(d) = ?", "!would not parameterise"),
    # --- lost operators
    "binary minus quirk": Case("SELECT price  stock FROM products WHERE id = ?", "!operator lost"),
    "plus literal quirk": Case("SELECT stock ? AS s1 FROM products WHERE id = ?", "!operator lost"),
    "minus literal quirk in where": Case("SELECT a FROM t WHERE a ? > ?", "!operator lost"),
    "keyword before placeholder is fine": Case(
        "SELECT a FROM t WHERE a BETWEEN ? AND ? OR NOT ?", "!would not parameterise"
    ),
    "interval": Case("SELECT a FROM t WHERE d > NOW() -INTERVAL ? DAY", "!would not parameterise"),
    # --- ?-?-?
    "date arithmetic compared": Case(
        "SELECT a FROM t WHERE d = ?-?-?", "SELECT a FROM t WHERE d = ?"
    ),
    "date arithmetic on the left": Case("SELECT a FROM t WHERE ?-?-? <= d", "!range placeholder"),
    "date arithmetic between": Case(
        "SELECT a FROM t WHERE d BETWEEN ?-?-? AND ?-?-?", "!would not parameterise"
    ),
    "date arithmetic larger expression kept": Case(
        "SELECT a FROM t WHERE d = ?-?-?+?", "!would not parameterise"
    ),
    "date arithmetic as function arg kept": Case(
        "SELECT a FROM t WHERE d = DATE_ADD(?-?-?,INTERVAL ? DAY)", "!would not parameterise"
    ),
    "two-part arithmetic kept": Case("SELECT a FROM t WHERE d = ?-?", "!would not parameterise"),
    "plain AND after arithmetic not between": Case(
        "SELECT a FROM t WHERE x = ? AND ?-?-?", "!would not parameterise"
    ),
    # --- replace_null
    "IS ? restored": Case(
        "SELECT a FROM t WHERE b IS ? AND c IS NOT ?",
        "SELECT a FROM t WHERE b IS NULL AND c IS NOT NULL",
        {"replace_null": True},
    ),
    "is ? restored lowercase": Case(
        "select a from t where b is ?", "select a from t where b is null", {"replace_null": True}
    ),
    "= ? from NULL treated as a value": same("SELECT a FROM t WHERE b = ?", replace_null=True),
    "NULL kept when not replaced": same("SELECT a FROM t WHERE b IS NULL"),
    "select-list NULL becomes placeholder": Case(
        "SELECT a,? AS b FROM t WHERE c = ?", "!placeholder in select list", {"replace_null": True}
    ),
    # --- lowercase
    "lowercase translated": same(
        "select `users`.`id` from `users` where `users`.`email` = ?", lowercase=True
    ),
    "lowercase limit": Case(
        "select a from t where b = ? limit ?", "!order-less LIMIT", {"lowercase": True}
    ),
    # --- IN lists and compression
    "in list compressed": Case(
        "SELECT a FROM t WHERE id IN (?,?,?,...)", "SELECT a FROM t WHERE id IN (?,?,?)"
    ),
    "not in compressed": Case(
        "SELECT a FROM t WHERE id NOT IN (?,?,?,...)", "!would not parameterise"
    ),
    "in list limit 1": Case(
        "SELECT a FROM t WHERE id IN (?,...)",
        "SELECT a FROM t WHERE id IN (?)",
        {"grouping_limit": 1},
    ),
    "in list limit 5": Case(
        "SELECT a FROM t WHERE id in (?,?,?,?,?,...)",
        "SELECT a FROM t WHERE id in (?,?,?,?,?)",
        {"grouping_limit": 5},
    ),
    "in list with rest": Case(
        "SELECT a FROM t WHERE id IN (?,?,?,...,NULL8,?,?)", "!would not parameterise"
    ),
    "in list short kept": same("SELECT a FROM t WHERE id IN (?,?,?,?)"),
    "two in lists": Case(
        "SELECT a FROM t WHERE x IN (?,?,?,...) AND y IN (?,?)",
        "SELECT a FROM t WHERE x IN (?,?,?) AND y IN (?,?)",
    ),
    "compressed function args": Case(
        "SELECT a FROM t WHERE b = COALESCE(?,?,?,...)", "!value list compressed"
    ),
    "compressed tuples in IN": Case(
        "SELECT a FROM t WHERE (x,y,z,w,v) IN ((?,?,?,...),(?,?,?,...))", "!value list compressed"
    ),
    "group compressed in IN": Case(
        "SELECT a FROM t WHERE (x,y) IN ((?,...),(?,...),...)", "!compressed", {"grouping_limit": 1}
    ),
    "multi-row compressed": Case(
        "SELECT a FROM t WHERE (x,y,z,w,v) IN (?,?,?,...),...", "!compressed"
    ),
    "tuple in not compressed": Case(
        "SELECT a FROM t WHERE (x,y) IN ((?,?),(?,?),(?,?))", "!would not parameterise"
    ),
    # --- placeholder positions
    "placeholder select list": Case("SELECT ?", "!FROM-less"),
    "placeholder select expression": Case(
        "SELECT a+? FROM t WHERE b = ?", "!placeholder in select list"
    ),
    "django exists": Case(
        "SELECT (?) AS `a` FROM `t` WHERE `t`.`b` = ? LIMIT ?", "!placeholder in select list"
    ),
    "count(?)": Case("SELECT COUNT(?) FROM t WHERE b = ?", "!placeholder in select list"),
    "placeholder in limit": Case("SELECT a FROM t WHERE b = ? LIMIT ?", "!order-less LIMIT"),
    "placeholder in limit offset form": Case("SELECT a FROM t LIMIT ?,?", "!order-less LIMIT"),
    "placeholder in ordered limit": same("SELECT a FROM t WHERE b = ? ORDER BY c LIMIT ?"),
    "placeholder in ordered limit and offset": same(
        "SELECT a FROM t WHERE b = ? ORDER BY c LIMIT ? OFFSET ?"
    ),
    "placeholder in limit of subquery": Case(
        "SELECT a FROM t WHERE b IN (SELECT b FROM u ORDER BY c LIMIT ?)", "!placeholder in LIMIT"
    ),
    "placeholder in join on": Case(
        "SELECT a FROM t JOIN u ON u.id = t.u AND u.k = ? WHERE t.b = ?", "!JOIN ... ON"
    ),
    "placeholder in having": Case(
        "SELECT a,COUNT(*) FROM t GROUP BY a HAVING COUNT(*) > ?", "!HAVING"
    ),
    "placeholder in order by": Case(
        "SELECT a FROM t WHERE b = ? ORDER BY FIELD(a,?,?)", "!ORDER BY"
    ),
    "placeholder in group by": Case("SELECT a FROM t WHERE b = ? GROUP BY ?", "!GROUP BY"),
    "placeholder in from": Case(
        "SELECT a FROM JSON_TABLE(?,? COLUMNS (a INT PATH ?)) AS j", "!FROM clause"
    ),
    "constant comparison": Case("SELECT a FROM t WHERE ?=? AND b = ?", "!constant comparison"),
    "constant comparison spaced": Case("SELECT a FROM t WHERE ? = ?", "!constant comparison"),
    "arithmetic comparison is not constant": Case(
        "SELECT a FROM t WHERE a*? = ?", "!would not parameterise"
    ),
    "case in where": Case(
        "SELECT a FROM t WHERE CASE WHEN b = ? THEN c ELSE d END = ?", "!would not parameterise"
    ),
    "window order by without placeholder": same(
        "SELECT a,ROW_NUMBER() OVER (PARTITION BY b ORDER BY c) FROM t WHERE d = ?"
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_translate(case: Case) -> None:
    check(case)


def test_reasons_are_short_single_lines() -> None:
    for case in CASES.values():
        result = translate(case.digest, DigestSettings(**case.settings))
        if isinstance(result, NotCacheable):
            assert "\n" not in result.reason and 0 < len(result.reason) < 200


def test_truncation_reason_names_the_limit() -> None:
    text = "SELECT a FROM t WHERE b = ?" + " AND b = ?" * 300
    result = translate(text[:2048], DigestSettings())
    assert result == NotCacheable(
        "truncated digest text (2048 bytes >= mysql-query_digests_max_digest_length=2048)"
    )


# --------------------------------------------------------------------------------------------
# DigestSettings.from_variables


def test_variable_names() -> None:
    assert DigestSettings.VARIABLE_NAMES[0] == "mysql-query_digests"
    assert set(DigestSettings.VARIABLE_NAMES) >= {
        "mysql-query_digests_lowercase",
        "mysql-query_digests_replace_null",
        "mysql-query_digests_no_digits",
        "mysql-query_digests_keep_comment",
        "mysql-query_digests_max_digest_length",
        "mysql-query_digests_grouping_limit",
        "mysql-query_digests_groups_grouping_limit",
    }
    assert len(set(DigestSettings.VARIABLE_NAMES)) == len(DigestSettings.VARIABLE_NAMES)


def test_from_variables_empty_is_default() -> None:
    assert DigestSettings.from_variables({}) == DigestSettings()


def test_from_variables_all() -> None:
    settings = DigestSettings.from_variables(
        {
            "mysql-query_digests": "false",
            "mysql-query_digests_lowercase": "true",
            "mysql-query_digests_replace_null": "1",
            "mysql-query_digests_no_digits": "TRUE",
            "mysql-query_digests_keep_comment": " true ",
            "mysql-query_digests_max_digest_length": "4096",
            "mysql-query_digests_grouping_limit": "5",
            "mysql-query_digests_groups_grouping_limit": "0",
            "mysql-query_digests_max_query_length": "10000",
            "mysql-monitor_enabled": "true",
        }
    )
    assert settings == DigestSettings(
        enabled=False,
        lowercase=True,
        replace_null=True,
        no_digits=True,
        keep_comment=True,
        max_digest_length=4096,
        grouping_limit=5,
        groups_grouping_limit=0,
        max_query_length=10000,
    )


@pytest.mark.parametrize(
    "name,value",
    [
        ("mysql-query_digests_lowercase", "maybe"),
        ("mysql-query_digests_lowercase", ""),
        ("mysql-query_digests_max_digest_length", "big"),
        ("mysql-query_digests_max_digest_length", "8"),  # below ProxySQL's minimum 16
        ("mysql-query_digests_grouping_limit", "0"),
        ("mysql-query_digests_grouping_limit", "-3"),
        ("mysql-query_digests_grouping_limit", "3.5"),
        ("mysql-query_digests_groups_grouping_limit", "3000"),
    ],
)
def test_from_variables_bad_values_keep_defaults(name: str, value: str) -> None:
    assert DigestSettings.from_variables({name: value}) == DigestSettings()


def test_from_variables_reads_each_variable_on_its_own() -> None:
    # a variable that is not set does not stop the ones after it from being read
    settings = DigestSettings.from_variables({"mysql-query_digests_max_query_length": "2000"})
    assert settings == DigestSettings(max_query_length=2000)


@pytest.mark.parametrize("value", ["ON", "yes", "1", "True"])
def test_from_variables_true_spellings(value: str) -> None:
    settings = DigestSettings.from_variables({"mysql-query_digests_lowercase": value})
    assert settings.lowercase is True  # the default is false


@pytest.mark.parametrize("value", ["OFF", "no", "0", "False"])
def test_from_variables_false_spellings(value: str) -> None:
    settings = DigestSettings.from_variables({"mysql-query_digests": value})
    assert settings.enabled is False  # the default is true


def test_from_variables_integer_bounds_are_inclusive() -> None:
    top = DigestSettings.from_variables({"mysql-query_digests_max_digest_length": "1048576"})
    assert top.max_digest_length == 1048576
    bottom = DigestSettings.from_variables({"mysql-query_digests_max_digest_length": "16"})
    assert bottom.max_digest_length == 16
    over = DigestSettings.from_variables({"mysql-query_digests_max_digest_length": "1048577"})
    assert over.max_digest_length == 2048


def test_from_variables_false_values() -> None:
    settings = DigestSettings.from_variables(
        {"mysql-query_digests": "0", "mysql-query_digests_lowercase": "False"}
    )
    assert settings.enabled is False and settings.lowercase is False


# --------------------------------------------------------------------------------------------
# sibling_digest_texts


def test_siblings_of_compressed_list() -> None:
    text = "SELECT a FROM t WHERE id IN (?,?,?,...)"
    assert sibling_digest_texts(text, DigestSettings()) == [
        "SELECT a FROM t WHERE id IN (?)",
        "SELECT a FROM t WHERE id IN (?,?)",
        "SELECT a FROM t WHERE id IN (?,?,?)",
        "SELECT a FROM t WHERE id IN (?,?,?,?)",
    ]


def test_siblings_of_short_list_include_compressed_form() -> None:
    siblings = sibling_digest_texts(
        "SELECT a FROM t WHERE id IN (?)", DigestSettings(grouping_limit=1)
    )
    assert siblings == ["SELECT a FROM t WHERE id IN (?,?)", "SELECT a FROM t WHERE id IN (?,...)"]


def test_siblings_two_lists_are_combined() -> None:
    siblings = sibling_digest_texts("SELECT a FROM t WHERE x IN (?) AND y in (?)", DigestSettings())
    assert len(siblings) == 5 * 5 - 1
    assert "SELECT a FROM t WHERE x IN (?,?,?,...) AND y in (?,?)" in siblings
    assert len(set(siblings)) == len(siblings)


def test_siblings_cap() -> None:
    text = "SELECT a FROM t WHERE x IN (?) AND y IN (?) AND z IN (?)"
    assert len(sibling_digest_texts(text, DigestSettings(), max_results=10)) == 10


def test_siblings_default_cap() -> None:
    text = " AND ".join(f"c{n} IN (?)" for n in range(5))  # 5**5 - 1 combinations
    assert len(sibling_digest_texts(f"SELECT a FROM t WHERE {text}", DigestSettings())) == 1024


def test_siblings_all_translate_to_cacheable() -> None:
    settings = DigestSettings()
    for text in sibling_digest_texts("SELECT a FROM t WHERE x IN (?,?)", settings):
        assert isinstance(translate(text, settings), Cacheable), text


@pytest.mark.parametrize(
    "text",
    [
        "SELECT a FROM t WHERE x = ?",
        "SELECT a FROM t WHERE x IN (SELECT y FROM u)",
        "SELECT a FROM t WHERE x IN (?,b)",
        "SELECT a FROM t WHERE (x,y) IN ((?,?),(?,?))",
        "SELECT a FROM t WHERE x IN (?,?",
        "SELECT a FROM t WHERE f(?,?,?,?) = ?",
        "SELECT a FROM t WHERE x IN (?+?)",
        "SELECT a FROM t WHERE x IN (?,,?)",
    ],
)
def test_no_siblings(text: str) -> None:
    assert sibling_digest_texts(text, DigestSettings()) == []


# --------------------------------------------------------------------------------------------
# Robustness

MORE_CASES: dict[str, Case] = {
    "lost operator after backquoted identifier": Case(
        "SELECT a FROM t WHERE `t`.`price` ? > ?", "!operator lost"
    ),
    "lost operator after parenthesis": Case(
        "SELECT a FROM t WHERE b = ? ORDER BY COUNT(*) ? DESC", "!operator lost"
    ),
    "lost operator between placeholders": Case("SELECT a FROM t WHERE b = ? ?", "!operator lost"),
    # not taken for a lost operator; refused later for the range
    "operator kept after backquoted identifier": Case(
        "SELECT a FROM t WHERE `t`.`cost` *? < ?", "!would not parameterise"
    ),
    "kept trailing comment glued to placeholder": Case(
        "SELECT a FROM t WHERE b = ?/* x */", "SELECT a FROM t WHERE b = ?", {"keep_comment": True}
    ),
    "ellipsis glued to a word": Case("SELECT a FROM t WHERE id IN (?,?,?,...x)", "!compressed"),
    "date after a column is not a typed literal": Case(
        "SELECT a FROM t WHERE d DATE ?", "!would not parameterise"
    ),
    "date after a keyword": Case("SELECT a FROM t WHERE ? < DATE ? AND d = ?", "!typed literal"),
    "multi-row reported before tuple compression": Case(
        "SELECT a FROM t WHERE (a,b,c,d,e) IN ((?,?,?,...),...)", "!multi-row list compressed"
    ),
    # quoted text: doubled quotes and backslashes
    "doubled backquote in an identifier": same("SELECT a FROM t WHERE `odd``name` = ?"),
    "identifier ending in a backquote": same("SELECT a FROM t WHERE `tick``` = ?"),
    "backslash in backquotes is no escape": same("SELECT `a\\` FROM t WHERE b = ?"),
    "doubled quote in a kept string": Case(
        "SELECT a FROM t WHERE b = ? /*!50000 AND c = 'it''s' */",
        "SELECT a FROM t WHERE b = ? AND c = 'it''s'",
    ),
    "empty kept string": Case(
        "SELECT a FROM t WHERE b = ? /*!50000 AND c = '' */",
        "SELECT a FROM t WHERE b = ? AND c = ''",
    ),
    # introducers, NULL, typed literals
    "B? bit string": Case("SELECT a FROM t WHERE b = B?", "SELECT a FROM t WHERE b = ?"),
    "NOT ? is a value, not NULL": Case(
        "SELECT a FROM t WHERE b = ? AND NOT ?", "!would not parameterise", {"replace_null": True}
    ),
    "IS NOT ? after a select list": Case(
        "SELECT a,b FROM t WHERE c IS NOT ?",
        "SELECT a,b FROM t WHERE c IS NOT NULL",
        {"replace_null": True},
    ),
    "typed literal after a glued operator": Case(
        "SELECT a FROM t WHERE d=DATE ?", "!typed literal (DATE ?)"
    ),
    "typed literals after BETWEEN and AND": Case(
        "SELECT a FROM t WHERE d BETWEEN DATE ? AND DATE ?", "!typed literal (DATE ?)"
    ),
    # ?-?-? as one value
    "date arithmetic before another conjunct": Case(
        "SELECT a FROM t WHERE d = ?-?-? AND e = ?", "SELECT a FROM t WHERE d = ? AND e = ?"
    ),
    "date arithmetic glued after the comparison": Case(
        "SELECT a FROM t WHERE d=?-?-?", "SELECT a FROM t WHERE d=?"
    ),
    "date arithmetic glued to the comparison": Case(
        "SELECT a FROM t WHERE ?-?-?=d", "SELECT a FROM t WHERE ?=d"
    ),
    "date arithmetic between, in a subquery": Case(
        "SELECT a FROM t WHERE b IN (SELECT b FROM u WHERE d BETWEEN ?-?-? AND ?-?-?)",
        "SELECT a FROM t WHERE b IN (SELECT b FROM u WHERE d BETWEEN ? AND ?)",
    ),
    "date arithmetic as BETWEEN's upper bound": Case(
        "SELECT a FROM t WHERE b IN (SELECT b FROM u WHERE d BETWEEN e AND ?-?-?)",
        "SELECT a FROM t WHERE b IN (SELECT b FROM u WHERE d BETWEEN e AND ?)",
    ),
    "date arithmetic after an expression lower bound": Case(
        "SELECT a FROM t WHERE b IN (SELECT b FROM u WHERE d BETWEEN e+? AND ?-?-?)",
        "SELECT a FROM t WHERE b IN (SELECT b FROM u WHERE d BETWEEN e+? AND ?)",
    ),
    "date arithmetic after a BETWEEN that has its AND": same(
        "SELECT a FROM t WHERE b IN (SELECT b FROM u WHERE d BETWEEN ? AND e AND ?-?-?)"
    ),
    "date arithmetic after a function lower bound": same(
        "SELECT a FROM t WHERE b IN (SELECT b FROM u WHERE d BETWEEN f(?) AND ?-?-?)"
    ),
    "date arithmetic inside a sum before a comparison": same(
        "SELECT a FROM t WHERE b IN (SELECT b FROM u WHERE x+?-?-? = d)"
    ),
    "date arithmetic inside a sum after a comparison": same(
        "SELECT a FROM t WHERE b IN (SELECT b FROM u WHERE d = ?-?-?+x)"
    ),
    "constant comparison with DIV after": Case(
        "SELECT a FROM t WHERE ? = ? DIV d", "!would not parameterise"
    ),
    "constant comparison with arithmetic after": Case(
        "SELECT a FROM t WHERE ? = ?*d", "!would not parameterise"
    ),
    "compressed list with spaces": Case(
        "SELECT a FROM t WHERE id IN (?, ?, ?, ...)", "SELECT a FROM t WHERE id IN (?, ?, ?)"
    ),
    "compressed list with spaces around commas": Case(
        "SELECT a FROM t WHERE id IN (? , ? , ? , ...)", "SELECT a FROM t WHERE id IN (? , ? , ? )"
    ),
    "compressed IN list after a function call in it": Case(
        "SELECT a FROM t WHERE x IN (f(?),?,?,...)", "!would not parameterise (x IN ( f ( ? )"
    ),
    # comments
    "executable comment ending without a space": Case(
        "SELECT a FROM t /*!50000 WHERE b = ?*/", "SELECT a FROM t WHERE b = ?"
    ),
    "executable comment without a version": Case(
        "SELECT /*!SQL_NO_CACHE*/ a FROM t WHERE b = ?", "SELECT SQL_NO_CACHE a FROM t WHERE b = ?"
    ),
    "executable comment glued to its version": Case(
        "SELECT /*!50000X*/ FROM t WHERE b = ?", "SELECT X FROM t WHERE b = ?"
    ),
    "executable comment holding !=": Case(
        "SELECT a FROM t WHERE b = ? /*!50000 AND c != d */",
        "SELECT a FROM t WHERE b = ? AND c != d",
    ),
    "only the removed comment gets a space": Case(
        "SELECT /* x */ a FROM t WHERE b=?", "SELECT a FROM t WHERE b=?", {"keep_comment": True}
    ),
    "a removed comment leaves whitespace": Case(
        "SELECT a FROM t WHERE d >= DATE/* x */?", "!typed literal", {"keep_comment": True}
    ),
    "leading whitespace": Case(" SELECT a FROM t WHERE b = ?", "SELECT a FROM t WHERE b = ?"),
    "locking read in a parenthesised query": Case(
        "(SELECT a FROM t WHERE b = ? LOCK IN SHARE MODE)", "!LOCK IN SHARE MODE"
    ),
    "cte with a function call in its body": same(
        "WITH c AS (SELECT COUNT(a) AS n FROM t) SELECT n FROM c WHERE n = ?"
    ),
    # placeholders and query structure
    "parenthesised query with an ordered LIMIT": same(
        "((SELECT a FROM t WHERE b = ?) ORDER BY c LIMIT ?)"
    ),
    "ordered LIMIT in a UNION operand": same(
        "SELECT a FROM t WHERE b = ? UNION (SELECT a FROM u WHERE c = ? ORDER BY d LIMIT ?)"
    ),
    "ordered LIMIT in an INTERSECT operand": same(
        "SELECT a FROM t WHERE b = ? INTERSECT (SELECT a FROM u WHERE c = ? ORDER BY d LIMIT ?)"
    ),
    "ordered LIMIT in an EXCEPT operand": same(
        "SELECT a FROM t WHERE b = ? EXCEPT (SELECT a FROM u WHERE c = ? ORDER BY d LIMIT ?)"
    ),
    "LIMIT in a WITH subquery": Case(
        "SELECT a FROM t WHERE b IN (WITH c AS (SELECT b FROM u) SELECT b FROM c LIMIT ?)",
        "!placeholder in LIMIT",
    ),
    "LIMIT in a common table expression": Case(
        "WITH c AS (SELECT a FROM t ORDER BY a LIMIT ?) SELECT a FROM c WHERE a = ?",
        "!placeholder in LIMIT",
    ),
    "bracketed BETWEEN without placeholders": same(
        "SELECT a FROM t WHERE (d BETWEEN a AND b) AND c = ?"
    ),
    "constant IN list": Case("SELECT a FROM t WHERE ? IN (?,?)", "!would not parameterise"),
    "reversed equality on a qualified column": same("SELECT a FROM t WHERE ? = t.c"),
    "reversed equality on a backquoted column": same("SELECT a FROM t WHERE ? = `t`.`c`"),
    "reversed inequality": Case("SELECT a FROM t WHERE ? <> id", "!would not parameterise"),
    "LIKE with a bracketed value": Case(
        "SELECT a FROM t WHERE n LIKE (?)", "!would not parameterise"
    ),
}


@pytest.mark.parametrize("case", MORE_CASES.values(), ids=list(MORE_CASES))
def test_translate_more(case: Case) -> None:
    check(case)


_PIECES = [
    "?", "(", ")", ",", ".", ";", "`", "'", '"', "#", "-", "+", "*", "/", "=", "<", ">", "!",
    " ", "a", "b1", "...", "/*", "*/", "/*!", " SELECT ", " FROM ", " WHERE ", " IN ", " LIMIT ",
    " IS ", " AND ", " BETWEEN ", " DATE ", "N", "_utf8", "é",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), max_size=40),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_never_raises(pieces: list[str], no_digits: bool, replace_null: bool, lower: bool) -> None:
    text = "".join(["SELECT a FROM t WHERE ", *pieces])
    digest_settings = DigestSettings(
        no_digits=no_digits, replace_null=replace_null, lowercase=lower
    )
    result = translate(text, digest_settings)
    assert isinstance(result, (Cacheable, NotCacheable))
    if isinstance(result, NotCacheable):
        assert result.reason
    else:
        assert result.query.strip() == result.query and result.query
    sibling_digest_texts(text, digest_settings)


# --------------------------------------------------------------------------------------------
# The reasons, word for word: they are what the operator reads in the log and in `status`.

CONSERVATIVE_KEY = "unknown/deep/topk?"

REASONS: dict[str, tuple[str, dict[str, Any], str]] = {
    "disabled": (
        "SELECT a FROM t WHERE b = ?",
        {"enabled": False},
        "query digests are disabled (mysql-query_digests=false)",
    ),
    "blank": ("  ", {}, "empty digest text"),
    "only comments": ("/* x */", {"keep_comment": True}, "empty digest text (only comments)"),
    "query length": (
        "SELECT a FROM t WHERE b = ?",
        {"max_query_length": 28},
        "truncated digest text (27 bytes, mysql-query_digests_max_query_length=28)",
    ),
    "cut character": (
        "SELECT a FROM t WHERE b = ? AND c\ufffd",
        {},
        "truncated digest text (cut multi-byte character)",
    ),
    "open backquote": (
        "SELECT `a`,`b FROM",
        {},
        "truncated digest text (unterminated backquoted identifier)",
    ),
    "open string": (
        "SELECT a FROM t WHERE b = 'x",
        {},
        "truncated digest text (unterminated string)",
    ),
    "open comment": (
        "SELECT a FROM t /* x",
        {"keep_comment": True},
        "truncated digest text (unterminated comment)",
    ),
    "comment inside an executable comment": (
        "SELECT a FROM t WHERE /*!50000 b = ? /* x */ AND c = ?",
        {},
        "truncated digest text (unterminated comment)",
    ),
    "stray terminator": (
        "SELECT SQL_NO_CACHE */ a FROM t WHERE b = ?",
        {},
        "unmatched comment terminator */ (executable comment residue)",
    ),
    "hash": ("SELECT a FROM t WHERE b = ? # x", {}, "comment marker # outside quotes"),
    "dashes": ("SELECT a FROM t WHERE b = ? -- x", {}, "comment marker -- outside quotes"),
    "dashes at the end": ("SELECT a FROM t WHERE b = ? --", {}, "comment marker -- outside quotes"),
    "closing parenthesis": ("SELECT a FROM t WHERE b = ?)", {}, "unbalanced parentheses"),
    "open parenthesis": (
        "SELECT a FROM t WHERE b IN (?,?",
        {},
        "truncated digest text (unbalanced parentheses)",
    ),
    "two statements": ("SELECT a FROM t WHERE b = ?; SELECT ?", {}, "more than one statement"),
    "show": ("SHOW TABLES", {}, "not a SELECT statement (SHOW)"),
    "no word": ("(?)", {}, "not a SELECT statement"),
    "into": ("SELECT a INTO @x FROM t WHERE b = ?", {}, "SELECT ... INTO"),
    "for share": ("SELECT a FROM t WHERE b = ? FOR SHARE", {}, "locking read (FOR SHARE)"),
    "lock in share mode": (
        "SELECT a FROM t WHERE b = ? LOCK IN SHARE MODE",
        {},
        "locking read (LOCK IN SHARE MODE)",
    ),
    "found rows": (
        "SELECT SQL_CALC_FOUND_ROWS id FROM t WHERE a = ?",
        {},
        "SQL_CALC_FOUND_ROWS (FOUND_ROWS() needs the real execution)",
    ),
    "no_digits backquoted": (
        "SELECT a FROM `t_?` WHERE b = ?",
        {"no_digits": True},
        "digits in identifiers replaced by ? (mysql-query_digests_no_digits): `t_?`",
    ),
    "no_digits qualified": (
        "SELECT a FROM t WHERE b = t1.c?d",
        {"no_digits": True},
        "digits in identifiers replaced by ? (mysql-query_digests_no_digits): t1.c?d",
    ),
    "no_digits across a qualifier": (
        "SELECT a FROM db?.t? WHERE b = ?",
        {"no_digits": True},
        "digits in identifiers replaced by ? (mysql-query_digests_no_digits): db?.t?",
    ),
    "no_digits before a word": (
        "SELECT a FROM t WHERE b = ?x",
        {"no_digits": True},
        "digits in identifiers replaced by ? (mysql-query_digests_no_digits): ?x",
    ),
    "glued to a qualifier": (
        "SELECT a FROM t WHERE b = t.?",
        {},
        "placeholder glued to identifier: .?",
    ),
    "qualified name that looks like an introducer": (
        "SELECT a FROM t WHERE b = t._latin1?",
        {},
        "placeholder glued to identifier: _latin1?",
    ),
    "N then a space is no introducer": (
        "SELECT a FROM t WHERE b = N ?",
        {},
        "operator lost by ProxySQL's digest ('N ?')",
    ),
    "glued after": ("SELECT a FROM t WHERE b = ?abc", {}, "placeholder glued to identifier: ?abc"),
    "glued before": ("SELECT a FROM t WHERE b = abc?", {}, "placeholder glued to identifier: abc?"),
    "a word ending in a charset name is no introducer": (
        "SELECT a FROM t WHERE b = xutf8?",
        {},
        "placeholder glued to identifier: xutf8?",
    ),
    "an underscore word that is no charset is no introducer": (
        "SELECT a FROM t WHERE b = _utf8x?",
        {},
        "placeholder glued to identifier: _utf8x?",
    ),
    "two spaces": (
        "SELECT price  stock FROM products WHERE id = ?",
        {},
        "operator lost by ProxySQL's digest ('price  stock')",
    ),
    "value after a column": (
        "SELECT stock ? AS s1 FROM products WHERE id = ?",
        {},
        "operator lost by ProxySQL's digest ('stock ?')",
    ),
    "multi-row": (
        "SELECT a FROM t WHERE (x,y) IN ((?,...),(?,...),...)",
        {"grouping_limit": 1},
        "multi-row list compressed by ProxySQL (mysql-query_digests_groups_grouping_limit)",
    ),
    "function arguments": (
        "SELECT a FROM t WHERE b = COALESCE(?,?,?,...)",
        {},
        "value list compressed by ProxySQL outside an IN list (mysql-query_digests_grouping_limit)",
    ),
    "compressed select list": (
        "SELECT ?,?,?,... FROM t WHERE b = ?",
        {},
        "value list compressed by ProxySQL outside an IN list (mysql-query_digests_grouping_limit)",
    ),
    "ellipsis after a value without a comma": (
        "SELECT a FROM t WHERE b IN (?,? ...)",
        {},
        "value list compressed by ProxySQL in an unknown position",
    ),
    "bare ellipsis": (
        "SELECT a FROM t WHERE b = ...",
        {},
        "value list compressed by ProxySQL in an unknown position",
    ),
    "typed literal": (
        "SELECT a FROM t WHERE d >= DATE ?",
        {},
        "typed literal (DATE ?): Readyset keeps it as a literal, so a cache made from the digest"
        " would never match the application's queries",
    ),
    "constant comparison": ("SELECT a FROM t WHERE ?=? AND b = ?", {}, "constant comparison (?=?)"),
    "order-less limit": (
        "SELECT a FROM t WHERE b = ? LIMIT ?",
        {},
        f"placeholder in an order-less LIMIT (Readyset {CONSERVATIVE_KEY} keeps a literal LIMIT"
        " in the cache key: one cache per LIMIT value)",
    ),
    "select list": (
        "SELECT ? FROM t WHERE b = ?",
        {},
        f"placeholder in select list (deep caches of Readyset {CONSERVATIVE_KEY}"
        " keep that literal)",
    ),
    "from-less": (
        "SELECT DATABASE()",
        {},
        "FROM-less SELECT (Readyset caches only queries reading tables)",
    ),
    "range": (
        "SELECT a FROM t WHERE stock < ?",
        {},
        f"range placeholder (Readyset {CONSERVATIVE_KEY} keeps range literals; ranges are"
        " parameterised from stable-240425)",
    ),
    # the conjunct is quoted whole: BETWEEN's AND does not split it
    "between": (
        "SELECT a FROM t WHERE d BETWEEN ? AND ?",
        {},
        "placeholder Readyset would not parameterise (d BETWEEN ? AND ?)",
    ),
    # brackets that do not enclose the whole conjunct are not a group
    "bracketed or": (
        "SELECT a FROM t WHERE (a = ?) OR (b = ?)",
        {},
        "placeholder Readyset would not parameterise (( a = ? ) OR ( b = ? ))",
    ),
    "long conjunct cut at 60 characters": (
        "SELECT a FROM t WHERE COALESCE(`orders`.`shipped_at`,`orders`.`created_at`) = ?",
        {},
        "placeholder Readyset would not parameterise"
        " (COALESCE ( `orders` . `shipped_at` , `orders` . `created_at`)",
    ),
}


@pytest.mark.parametrize("case", REASONS.values(), ids=list(REASONS))
def test_reason_wording(case: tuple[str, dict[str, Any], str]) -> None:
    digest, digest_settings, reason = case
    result = translate(digest, DigestSettings(**digest_settings))
    assert isinstance(result, NotCacheable) and result.reason == reason, result
