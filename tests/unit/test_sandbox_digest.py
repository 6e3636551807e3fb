"""ProxySQL 2.7 digest normaliser: vectors of the ProxySQL reference §3 plus the public
regular_tokenizer_digests.hjson vectors (transcribed into data/digest_vectors.json)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from rps_sandbox.digest import (
    DigestSettings,
    digest_of,
    digest_text,
    first_comment,
    stage1,
    stage2,
    stored_text,
)
from tests.unit.test_spooky import LONG_TEXT, VECTORS

# settings of ProxySQL's test driver (test_mysql_query_digests_stages-t.cpp)
S4 = DigestSettings(replace_null=True, groups_grouping_limit=1, grouping_limit=3)
S3 = dataclasses.replace(S4, groups_grouping_limit=0)
DR = dataclasses.replace(S4, no_digits=True)
DEFAULT = DigestSettings()


def run(key: str, query: str) -> str:
    if key == "s1":
        return stage1(query, S4)
    if key == "s2":
        return stage2(query, S4)
    if key == "s3":
        return digest_text(query, S3)
    if key == "s4":
        return digest_text(query, S4)
    if key == "dr":
        return digest_text(query, DR)
    raise AssertionError(key)


def mz(size: int, limit: int = 3, groups: int = 1, **kw: Any) -> DigestSettings:
    return dataclasses.replace(
        S4, max_query_length=size, grouping_limit=limit, groups_grouping_limit=groups, **kw
    )


# ------------------------------------------------------------------ §3.1 hash vectors


# The §3.1 vectors live with the hash's own tests; here they go through digest_of().
HASH_VECTORS = VECTORS


@pytest.mark.parametrize("text,digest", HASH_VECTORS + [(LONG_TEXT, "0x7EFAA8DD2FA48DE3")])
def test_digest_of_text(text: str, digest: str) -> None:
    assert digest_of(text) == digest


@pytest.mark.parametrize(
    "query,digest",
    [
        ("select @@version_comment limit 1", "0x226CD90D52A2BA0B"),
        ("select 1", "0x1E092DAEFFBBF262"),
        ("SELECT DATABASE()", "0x620B328FE9D6D71A"),
        ("update test1 set id2=3 where id%2=0", "0xF434DBD7D158BC81"),
        ("SELECT * from test1 LIMIT 1000", "0xF7E581BFC13DA7A4"),
        ("SELECT * FROM tablename WHERE id IN (1,2,3,4,5,6,7,8,9,10)", "0x1B2AC270C5E0D9FE"),
        ("SELECT 1, 2", "0xB4E6863D3FF3467C"),
    ],
)
def test_query_to_digest(query: str, digest: str) -> None:
    assert digest_of(digest_text(query)) == digest


def test_long_path_query_end_to_end() -> None:
    columns = ", ".join(f"stock + 1 AS s{i}" for i in range(1, 15))
    query = f"SELECT {columns} FROM products WHERE id = 1"  # noqa: S608
    text = digest_text(query)
    assert text == LONG_TEXT  # `stock + 1` loses its '+'
    assert digest_of(text) == "0x7EFAA8DD2FA48DE3"


def test_digest_uses_first_max_digest_length_bytes() -> None:
    text = "SELECT " + "a," * 2000 + "b"
    cut = text[:2048]
    assert digest_of(text) == digest_of(cut)
    small = DigestSettings(max_digest_length=16)
    assert digest_of(text, small) == digest_of(text[:16])
    assert stored_text(text) == cut
    assert stored_text(text, small) == text[:16]
    # a multi-byte character cut by the limit is dropped, the result stays a valid str
    assert stored_text("SELECT 'é" + "x" * 10, DigestSettings(max_digest_length=9)) == "SELECT '"


# ------------------------------------------------------------------ §3.4 table


TABLE: List[Tuple[str, str, str]] = [
    ("select /* COMMENT */ 1", "s4", "select ?"),
    ("/* COMMENT */select 1", "s4", "select ?"),
    ("select 1 /* COMMENT */ ", "s4", "select ?"),
    ("# random_comment\n select 1.1 #final_comment\n   ", "s4", "select ?"),
    ("-- random_comment\n select 1.1 -- final_comment\n   ", "s4", "select ?"),
    ("SELECT\r\n\t1", "s4", "SELECT ?"),
    ("SELECT 1, \n -4", "s1", "SELECT ?, -?"),
    ("SELECT 1, \n -4", "s4", "SELECT ?,?"),
    ("select 1+ 1, 1 -1, 1 * 1 , 1/1 , 100 % 3", "s4", "select ?+?,?-?,?*?,?/?,?%?"),
    ("select NOW() - 1", "s4", "select NOW() -?"),
    (
        "SELECT * FROM t t1, t t2 ,t t3,t t4 LIMIT 0",
        "s4",
        "SELECT * FROM t t1,t t2,t t3,t t4 LIMIT ?",
    ),
    ("select  + 1, - 2", "s4", "select ?,?"),
    ("SELECT N'string', _utf8'str\\'i\nng'", "s4", "SELECT N?,_utf8?"),
    ("select 1.1e9", "s1", "select ?"),
    ("select 1.1E-9", "s1", "select ?"),
    ("select 0x100", "s1", "select ?"),
    ("select * from 1_value", "s4", "select * from 1_value"),
    ("select * from 1_value", "dr", "select * from ?_value"),
    (
        "create table test.1_null_digests (null_c1 TEXT, c2 TEXT, c3 TEXT)",
        "s4",
        "create table test.1_null_digests (null_c1 TEXT,c2 TEXT,c3 TEXT)",
    ),
    (
        "create table test.1_null_digests (null_c1 TEXT, c2 TEXT, c3 TEXT)",
        "dr",
        "create table test.?_null_digests (null_c? TEXT,c? TEXT,c? TEXT)",
    ),
    ("select nUlL", "s4", "select ?"),
    (
        "SELECT * FROM nulltablenull WHERE null_id IN (NULL  ,2,3, 'NULL' ,5,NulL,null,NULL8,9,10)",
        "s4",
        "SELECT * FROM nulltablenull WHERE null_id IN (?,?,?,...,NULL8,?,?)",
    ),
    (
        "SELECT * FROM tablename WHERE id IN (1,2,3,4)",
        "s4",
        "SELECT * FROM tablename WHERE id IN (?,?,?,?)",
    ),
    (
        "SELECT * FROM tablename WHERE id IN (1,2,3,4,5,6,7,8,9,10)",
        "s4",
        "SELECT * FROM tablename WHERE id IN (?,?,?,...)",
    ),
    (
        "INSERT INTO db.table ( col1, col2,col3,col4, col5 ) VALUES ('val',1, 2,3,'foo'), "
        "('val2', 2,3,4,'foo2')",
        "s3",
        "INSERT INTO db.table (col1,col2,col3,col4,col5) VALUES (?,?,?,...),(?,?,?,...)",
    ),
    (
        "INSERT INTO db.table ( col1, col2,col3,col4, col5 ) VALUES ('val',1, 2,3,'foo'), "
        "('val2', 2,3,4,'foo2')",
        "s4",
        "INSERT INTO db.table (col1,col2,col3,col4,col5) VALUES (?,?,?,...),...",
    ),
    (
        "INSERT INTO db.table ( col1, col2,col3,col4, col5 ) VALUES "
        "('val',1, 2,3,'foo', 5 + 10, 6 - 9)",
        "s4",
        "INSERT INTO db.table (col1,col2,col3,col4,col5) VALUES (?,?,?,...,?+?,?-?)",
    ),
    (
        "INSERT INTO db.table1_25 ( col_121,col2121  ,col12_3, col41203_   ) VALUES "
        "( 'val', -2, 3, 'foo' )",
        "s4",
        "INSERT INTO db.table1_25 (col_121,col2121,col12_3,col41203_) VALUES (?,?,?,?)",
    ),
    (
        "INSERT INTO db.table1_25 ( col_121,col2121  ,col12_3, col41203_   ) VALUES "
        "( 'val', -2, 3, 'foo' )",
        "dr",
        "INSERT INTO db.table?_? (col_?,col?,col?_?,col?_) VALUES (?,?,?,?)",
    ),
    (
        "  /* comment */SELECT * FROM test.select_for_update_foo FOR UPDATE  ; SELECT 1         ;",
        "s4",
        "SELECT * FROM test.select_for_update_foo FOR UPDATE ; SELECT ?",
    ),
    (
        "SELECT * FROM test.select_for_update_foo FOR UPDATE  ;  /* comment */",
        "s4",
        "SELECT * FROM test.select_for_update_foo FOR UPDATE",
    ),
]


@pytest.mark.parametrize("query,key,expected", TABLE)
def test_reference_table(query: str, key: str, expected: str) -> None:
    assert run(key, query) == expected


ODKU = (
    "INSERT INTO db.table (col1,col2,col3) VALUES (1,2,3),(3,5,6),(7,8,9) "
    "ON DUPLICATE KEY UPDATE col1 = VALUES(col2)"
)
LIST13 = (
    "INSERT INTO db.table (col1,col2,col3) VALUES "
    "(122,222,332,442,551,662,777,888,999,100,111,122,234)"
)


def test_mz_keep_comment() -> None:
    assert (
        digest_text("SELECT /* keep_comment */ 1.1E+9", mz(100, keep_comment=True))
        == "SELECT /* keep_comment */ ?"
    )


def test_mz_truncation_and_grouping() -> None:
    assert (
        digest_text(ODKU, mz(105, 1, 1))
        == "INSERT INTO db.table (col1,col2,col3) VALUES (?,...),... "
        "ON DUPLICATE KEY UPDATE col1 = VALUES(col2)"
    )
    assert (
        digest_text(ODKU, mz(99, 1, 1))
        == "INSERT INTO db.table (col1,col2,col3) VALUES (?,...),... "
        "ON DUPLICATE KEY UPDATE col1 = VALUES(col2"
    )
    assert (
        digest_text(LIST13, mz(70, 8))
        == "INSERT INTO db.table (col1,col2,col3) VALUES (?,?,?,?,?,?,?,?,...)"
    )


def test_mz_create_table_with_backquotes() -> None:
    query = (
        "create /* foo_comment*/table table_10_utf8_4 (\n`pk` int primary key,\n"
        "`col_decimal(40, 20)_undef_signed` decimal(40, 20) ,\n"
        "`col_enum_undef_signed` enum('a','b','c','d','e','f','g','h','i','j','k','l','m','n',"
        "'o','p','q','r','s','t','u','v','w','x','y','z') ,\n"
        "key (`col_bigint_key_signed`)\n) character set utf8 \npartition by hash(pk)\npartitions 4"
    )
    out = digest_text(query, mz(2048, 1, 1))
    assert out.startswith("create table table_10_utf8_4 (`pk` int primary key,")
    assert "`col_decimal(?,?)_undef_signed` decimal(?,?)," in out
    assert "enum(?,...)" in out
    assert out.endswith(") character set utf8 partition by hash(pk) partitions ?")
    digits = digest_text(query, mz(2048, 1, 1, no_digits=True))
    assert digits.startswith("create table table_?_utf?_? (")
    assert "character set utf? partition" in digits


def test_production_defaults() -> None:
    assert digest_text("SELECT NULL") == "SELECT NULL"
    assert (
        digest_text(
            "INSERT INTO db.table ( col1, col2,col3,col4, col5 ) VALUES ('val',1, 2,3,'foo'), "
            "('val2', 2,3,4,'foo2')"
        )
        == "INSERT INTO db.table (col1,col2,col3,col4,col5) VALUES (?,?,?,...),(?,?,?,...)"
    )
    rows = "INSERT INTO t (a,b,c,d) VALUES " + ",".join(["(1,2,3,4)"] * 12)  # noqa: S608
    assert digest_text(rows) == "INSERT INTO t (a,b,c,d) VALUES " + "(?,?,?,?)," * 11 + "(?,?,?,?)"
    rows = "INSERT INTO t (a,b,c,d,e) VALUES " + ",".join(["(1,2,3,4,5)"] * 12)  # noqa: S608
    assert digest_text(rows) == "INSERT INTO t (a,b,c,d,e) VALUES " + "(?,?,?,...)," * 10 + "..."


def test_binary_minus_quirk() -> None:
    assert (
        digest_text("SELECT price - stock FROM products WHERE id = 1")
        == "SELECT price  stock FROM products WHERE id = ?"
    )
    assert (
        digest_text("SELECT price-stock FROM products WHERE id = 1")
        == "SELECT price-stock FROM products WHERE id = ?"
    )


@pytest.mark.parametrize(
    "query,expected",
    [
        ("SELECT * FROM t WHERE d = '2024-01-01'", "SELECT * FROM t WHERE d = ?"),
        ("SELECT * FROM t WHERE d = 2024-01-01", "SELECT * FROM t WHERE d = ?-?-?"),
        ("SELECT * FROM t WHERE d = DATE '2024-01-01'", "SELECT * FROM t WHERE d = DATE ?"),
        ("SELECT * FROM t WHERE x = -5", "SELECT * FROM t WHERE x = ?"),
        ("SELECT * FROM t WHERE id IN (1,2,3,4)", "SELECT * FROM t WHERE id IN (?,?,?,?)"),
        (
            "SELECT * FROM t WHERE id IN (1,2,3,4,5,6,7,8,9,10)",
            "SELECT * FROM t WHERE id IN (?,?,?,...)",
        ),
        ("select/* c */1", "select ?"),
        ("SELECT /*!40001 SQL_NO_CACHE */ * FROM t", "SELECT SQL_NO_CACHE * FROM t"),
        ("SELECT `a1`, t1.c2 FROM t1", "SELECT `a1`,t1.c2 FROM t1"),
        ("SELECT 1_value, 123abc, 1.1e-9, 0x100 FROM t", "SELECT 1_value,123abc,?,? FROM t"),
    ],
)
def test_dates_and_other_cases(query: str, expected: str) -> None:
    assert digest_text(query) == expected


def test_keyword_case_and_lowercase_option() -> None:
    assert digest_text("SeLeCt A FROM T") == "SeLeCt A FROM T"
    low = DigestSettings(lowercase=True)
    assert digest_text("SeLeCt A FROM T WHERE x='Ab'", low) == "select a from t where x=?"
    assert digest_of(digest_text("SELECT 1", low)) == "0x1E092DAEFFBBF262"


def test_no_digits_and_replace_null_options() -> None:
    assert digest_text("SELECT * FROM table_25", DigestSettings(no_digits=True)) == (
        "SELECT * FROM table_?"
    )
    assert digest_text("SELECT NULL, null_col", DigestSettings(replace_null=True)) == (
        "SELECT ?,null_col"
    )


def test_first_comment() -> None:
    assert first_comment("SELECT /* hostgroup=2 */ 1") == " hostgroup=2 "
    assert first_comment("/*a*/ SELECT /*b*/ 1") == "a"
    assert first_comment("SELECT 1") is None
    assert first_comment("SELECT 1 -- /* not a comment */") is None


def test_from_global_variables() -> None:
    s = DigestSettings.from_global_variables(
        {
            "mysql-query_digests_lowercase": "true",
            "mysql-query_digests_replace_null": "1",
            "mysql-query_digests_no_digits": "false",
            "mysql-query_digests_keep_comment": "0",
            "mysql-query_digests_max_digest_length": "4096",
            "mysql-query_digests_max_query_length": "1000",
            "mysql-query_digests_grouping_limit": "5",
            "mysql-query_digests_groups_grouping_limit": "0",
            "mysql-other": "x",
        }
    )
    assert s == DigestSettings(
        lowercase=True,
        replace_null=True,
        no_digits=False,
        keep_comment=False,
        max_digest_length=4096,
        max_query_length=1000,
        grouping_limit=5,
        groups_grouping_limit=0,
    )
    assert DigestSettings.from_global_variables({}) == DigestSettings()


def test_max_query_length_truncates_output() -> None:
    q = "SELECT " + ", ".join(f"col{i}" for i in range(100))
    out = digest_text(q, DigestSettings(max_query_length=50))
    assert len(out) <= 50
    assert q.replace(", ", ",").startswith(out)


# ------------------------------------------------------------------ robustness


@pytest.mark.parametrize(
    "query",
    [
        "",
        " ",
        ";",
        "'",
        '"abc',
        "select 'unterminated",
        "select /* unterminated",
        "/*",
        "/*!",
        "#",
        "-- ",
        "select 1 --",
        "SELECT '\U0001f600' AS \U0001f600",
        "SELECT 1\x00, 2",
        "\x00",
        "SELECT \ud800",
        "(((((",
        ")))),,,,",
        "select 1e+",
        "0x",
    ],
)
def test_robustness(query: str) -> None:
    for settings in (DEFAULT, S4, DR, mz(16, 1, 1, keep_comment=True, lowercase=True)):
        out = digest_text(query, settings)
        assert isinstance(out, str)
        assert isinstance(digest_of(out, settings), str)
        assert isinstance(stored_text(out, settings), str)
        stage1(query, settings)
        stage2(query, settings)
        first_comment(query)


def test_four_byte_utf8_kept() -> None:
    assert digest_text("SELECT \U0001f600 FROM t WHERE a = '\U0001f600'") == (
        "SELECT \U0001f600 FROM t WHERE a = ?"
    )


def test_nul_byte_ends_the_digest_text() -> None:
    # ProxySQL works on C strings: everything after a NUL is invisible
    assert digest_text("SELECT 1\x00, 2") == "SELECT ?"


# Megabyte statements of each shape; how fast they are digested is measured in
# bench/timings.py, not asserted here (a loaded machine must not fail a test).
MEGABYTE_QUERIES = {
    "rows": "INSERT INTO t VALUES " + "(1,2,3,4,5)," * 90000 + "(1,2,3,4,5)",
    "words": "SELECT " + "abc, " * 200000,
    "string": "SELECT '" + "a\\'" * 330000 + "'",
    "comment": "SELECT 1 -- " + "- -" * 330000,
    "arith": "SELECT " + "1+" * 500000 + "1",
}


@pytest.mark.parametrize("name", sorted(MEGABYTE_QUERIES))
def test_one_megabyte_is_cut_to_the_query_length(name: str) -> None:
    query = MEGABYTE_QUERIES[name]
    assert len(query) >= 990_000
    assert len(digest_text(query).encode()) <= 65000


# ------------------------------------------------------------------ hjson vectors


DATA = Path(__file__).parent / "data" / "digest_vectors.json"


def _vector_cases() -> List[Tuple[str, str, Dict[str, Any], str]]:
    doc = json.loads(DATA.read_text(encoding="utf-8"))
    cases = []
    for vec in doc["vectors"]:
        for query in vec["q"]:
            for key in ("s1", "s2", "s3", "s4", "dr"):
                if key in vec:
                    cases.append((key, query, {}, vec[key]))
            for case in vec.get("mz", []):
                cases.append(("mz", query, case, case["digest"]))
    return cases


VECTOR_CASES = _vector_cases()


@pytest.mark.parametrize(
    "key,query,case,expected",
    VECTOR_CASES,
    ids=[f"{i}-{c[0]}" for i, c in enumerate(VECTOR_CASES)],
)
def test_hjson_vectors(key: str, query: str, case: Dict[str, Any], expected: str) -> None:
    if key != "mz":
        assert run(key, query) == expected
        return
    settings = mz(
        case["digest_max_size"],
        case.get("grouping_limit", 3),
        case.get("groups_grouping_limit", 1),
        no_digits=bool(case.get("replace_digits", 0)),
        keep_comment=bool(case.get("keep_comment", False)),
    )
    assert digest_text(query, settings) == expected
