"""SHOW PROXIED QUERIES ids per host, CREATE CACHE FROM q_<id>, version and status rows per release,
per-query counts, and the Sandbox's per-host release options."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pymysql
import pytest

from rps_sandbox.mariadb import MariaDB
from rps_sandbox.readyset import Readyset
from rps_sandbox.sandbox import Sandbox

from .conftest import connect, query

MakeRS = Callable[..., Readyset]
HEAD = "unknown-release-version"
MIXED = "SELECT * FROM products WHERE category = 'books' AND stock > 8"


def proxied(conn: Any) -> dict[str, tuple[Any, ...]]:
    """SHOW PROXIED QUERIES by rewritten text."""
    return {r[1]: r for r in query(conn, "SHOW PROXIED QUERIES")[1]}


@pytest.mark.parametrize(
    ("options", "text"),
    [
        (
            {"release": "stable-250123"},
            "SELECT * FROM `products` WHERE `category` = $1 AND `stock` > 8",
        ),
        (
            {"release": HEAD, "cache_mode": "deep"},
            "SELECT `products`.`id`, `products`.`sku`, `products`.`name`, "
            "`products`.`category`, `products`.`price`, `products`.`stock` FROM `shop`.`products` "
            "WHERE `products`.`category` = $1 AND `products`.`stock` > 8",
        ),
        ({"release": HEAD}, "SELECT * FROM products WHERE category = $1 AND stock > $2"),
    ],
    ids=["A-deep", "HEAD-deep", "HEAD-shallow"],
)
def test_ids_are_deterministic_and_create_from_id_works_only_where_seen(
    make_readyset: MakeRS, options: dict[str, Any], text: str
) -> None:
    seen, other, twin = (make_readyset(**options) for _ in range(3))
    a, b, c = connect(seen), connect(other), connect(twin)
    query(a, MIXED)
    query(c, "SELECT * FROM products WHERE category = 'games' AND stock > 8")
    qid = proxied(a)[text][0]
    assert proxied(c)[text][0] == qid  # same release + text + database → same id
    with pytest.raises(pymysql.err.OperationalError) as e:
        query(b, f"CREATE CACHE FROM {qid}")
    assert e.value.args == (1105, f"No query known by id {qid}")
    query(a, f"CREATE CACHE FROM {qid}")
    assert [x.query_id for x in seen.caches()] == [qid]
    assert text not in proxied(a)  # cached statements leave the list
    fresh = "SELECT * FROM products WHERE category = 'tools' AND stock > 8"
    query(a, fresh)
    assert seen.served_from_cache(fresh)
    query(a, "SELECT * FROM products WHERE category = 'tools' AND stock > 9")
    assert seen.destination_of("SELECT * FROM products WHERE category = 'tools' AND stock > 9") == (
        "cache" if options == {"release": HEAD} else "upstream"
    )
    for conn in (a, b, c):
        conn.close()


def test_ids_differ_by_database_and_by_release(make_readyset: MakeRS, mariadb: MariaDB) -> None:
    with mariadb.connect() as direct:
        query(direct, "CREATE DATABASE IF NOT EXISTS shop_copy")
        query(direct, "CREATE TABLE IF NOT EXISTS shop_copy.products LIKE shop.products")
    old, new = make_readyset(release="stable-251023"), make_readyset(release="stable-260122")
    a, b = connect(old), connect(new)
    for conn in (a, b):
        query(conn, MIXED)
    assert [r[0] for r in proxied(a).values()] != [r[0] for r in proxied(b).values()]
    query(a, "USE shop_copy")
    query(a, MIXED)
    rows = query(a, "SHOW PROXIED QUERIES")[1]
    assert len(rows) == 2 and rows[0][1] == rows[1][1] and rows[0][0] != rows[1][0]
    a.close()
    b.close()


def test_topk_candidate_leaves_a_pending_topk_entry(make_readyset: MakeRS) -> None:
    rs = make_readyset(release=HEAD, cache_mode="deep", topk=True)
    conn = connect(rs)
    query(conn, "CREATE CACHE FROM SELECT * FROM products ORDER BY stock LIMIT ?")
    sql = "SELECT * FROM products ORDER BY stock LIMIT 7"
    query(conn, sql)
    assert rs.served_from_cache(sql)
    [row] = query(conn, "SHOW PROXIED QUERIES")[1]
    assert row[1].endswith("ORDER BY `products`.`stock` LIMIT 7")
    conn.close()


@pytest.mark.parametrize(
    ("options", "proxied_count", "cache_count"),
    [
        ({"release": "stable-250123"}, 0, "0"),
        ({"release": "stable-250123", "query_log_verbose": True}, 2, "0"),  # A's label bug
        ({"release": "stable-251023"}, 0, "0"),
        ({"release": "stable-251023", "query_log_verbose": True}, 2, "2"),
        ({"release": "stable-260423", "cache_mode": "deep"}, 2, "2"),
        ({"release": HEAD}, 2, "1"),  # shallow: the first run filled the entry from upstream
    ],
)
def test_per_query_counts_where_the_release_has_them(
    make_readyset: MakeRS, options: dict[str, Any], proxied_count: int, cache_count: str
) -> None:
    rs = make_readyset(**options)
    conn = connect(rs)
    query(conn, "SELECT * FROM orders WHERE id = 1")
    query(conn, "SELECT * FROM orders WHERE id = 2")
    [row] = query(conn, "SHOW PROXIED QUERIES")[1]
    assert row[3] == proxied_count
    query(conn, "CREATE CACHE FROM SELECT * FROM customers WHERE id = ?")
    query(conn, "SELECT * FROM customers WHERE id = 3")
    query(conn, "SELECT * FROM customers WHERE id = 3")  # shallow: the first run fills
    [cache] = query(conn, "SHOW CACHES")[1]
    assert cache[4] == cache_count
    conn.close()


def test_query_stats_tables_from_stable_260423(make_readyset: MakeRS) -> None:
    rs = make_readyset(release="stable-260423", cache_mode="deep")
    conn = connect(rs)
    query(conn, "SELECT * FROM orders WHERE id = 1")
    cols, rows = query(conn, "SELECT * FROM readyset.upstream_query_stats")
    assert cols[:3] == ["query_id", "query", "total_count"] and rows[0][2] == 1
    old = make_readyset(release="stable-260226")
    with connect(old) as c2, pytest.raises(pymysql.err.MySQLError):
        query(c2, "SELECT * FROM readyset.upstream_query_stats")  # forwarded: no such table
    conn.close()


VERSION_AND_FEATURES = [
    # release, options, version header, features row (None: no row)
    ("stable-250123", {}, "ReadySet", None),
    ("stable-250925", {}, "Readyset", "None"),
    ("stable-260423", {"mixed_comparisons": True}, "Readyset", "Mixed Comparisons"),
    (HEAD, {"cache_mode": "deep", "topk": True}, "Readyset", "Top K"),
    (HEAD, {"topk": True, "mixed_comparisons": True}, "Readyset", "Mixed Comparisons, Top K"),
]


@pytest.mark.parametrize(("release", "options", "header", "features"), VERSION_AND_FEATURES)
def test_version_and_enabled_features_rows(
    make_readyset: MakeRS, release: str, options: dict[str, Any], header: str, features: Any
) -> None:
    rs = make_readyset(release=release, **options)
    conn = connect(rs)
    cols, rows = query(conn, "SHOW READYSET VERSION")
    assert cols[0] == header and rows[0] == ("release version", release)
    status = dict(query(conn, "SHOW READYSET STATUS")[1])
    assert status.get("Enabled Features") == features
    conn.close()


def test_release_and_mode_validation(mariadb: MariaDB) -> None:
    args = (mariadb.host, mariadb.port, mariadb.app_user, mariadb.app_password)
    with pytest.raises(ValueError):
        Readyset(*args, release="stable-251023", cache_mode="shallow")  # no --cache-mode yet
    with pytest.raises(ValueError):
        Readyset(*args, release="v1.2")
    assert Readyset(*args, release="stable-260331").profile.cache_mode == "shallow"
    assert Readyset(*args, release="stable-260226").profile.cache_mode == "deep"
    assert Readyset(*args, era="E").profile.cache_mode == "deep"  # era alone: deep, as before


def test_shallow_only_mode_refuses_deep_caches(make_readyset: MakeRS) -> None:
    rs = make_readyset(release="stable-260528")
    conn = connect(rs)
    with pytest.raises(pymysql.err.OperationalError) as e:
        query(conn, "CREATE DEEP CACHE FROM SELECT * FROM customers WHERE id = ?")
    assert e.value.args == (1105, "Operation unsupported: shallow-only mode")
    cols, rows = query(conn, "CREATE CACHE FROM SELECT * FROM customers WHERE id = ?")
    assert rows[0][2:] == ("SELECT * FROM customers WHERE id = $1", "shallow")
    conn.close()


def test_sandbox_mixed_release_hostgroup(mariadb: MariaDB, tmp_path: Path) -> None:
    with Sandbox(
        mariadb=mariadb,
        workdir=tmp_path / "sb",
        readysets=2,
        release=HEAD,
        host_options=[{"release": "stable-250123"}, {}],
    ) as sb:
        releases = [rs.release for rs in sb.readyset]
        modes = [rs.profile.cache_mode for rs in sb.readyset]
        assert releases == ["stable-250123", HEAD] and modes == ["deep", "shallow"]
        with sb.readyset_connection(1) as conn:
            assert query(conn, "SHOW READYSET VERSION")[1][0][1] == HEAD
