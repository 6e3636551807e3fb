"""Small helpers shared by the ProxySQL emulator tests."""

from __future__ import annotations

from typing import Any

import pymysql

from rps_sandbox.mariadb import MariaDB
from rps_sandbox.proxysql import ProxySQL

SOURCE_HG = 1
OTHER_HG = 99


def q(cur: Any, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    cur.execute(sql, args or None)
    return list(cur.fetchall())


def app(proxy: ProxySQL, mariadb: MariaDB, **kwargs: Any) -> pymysql.connections.Connection:
    params: dict[str, Any] = {"database": mariadb.schema}
    params.update(kwargs)
    return proxy.connect(mariadb.app_user, mariadb.app_password, **params)


def digest_rows(cur: Any, where: str = "1=1") -> list[dict[str, Any]]:
    cur.execute(f"SELECT * FROM stats_mysql_query_digest WHERE {where}")  # noqa: S608
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]
