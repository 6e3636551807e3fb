"""Fixtures for the ProxySQL emulator tests: a fresh emulator per test, MariaDB behind it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rps_sandbox.mariadb import MariaDB
from rps_sandbox.proxysql import ProxySQL
from rps_sandbox.wire import ServerThread

SOURCE_HG = 1
OTHER_HG = 99


@pytest.fixture(scope="session")
def server_thread() -> Iterator[ServerThread]:
    thread = ServerThread()
    yield thread
    thread.stop()


@pytest.fixture
def proxysql(tmp_path: Path, server_thread: ServerThread) -> Iterator[ProxySQL]:
    proxy = ProxySQL(tmp_path / "proxysql", server_thread=server_thread).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def admin(proxysql: ProxySQL) -> Iterator[Any]:
    conn = proxysql.admin()
    try:
        yield conn.cursor()
    finally:
        conn.close()


@pytest.fixture
def routed(proxysql: ProxySQL, admin: Any, mariadb: MariaDB) -> ProxySQL:
    """MariaDB as hostgroup 1 (the app user's default) and, again, as hostgroup 99."""
    for hg in (SOURCE_HG, OTHER_HG):
        admin.execute(
            "INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (%s, %s, %s)",
            (hg, mariadb.host, mariadb.port),
        )
    admin.execute(
        "INSERT INTO mysql_users (username, password, default_hostgroup, default_schema) "
        "VALUES (%s, %s, %s, %s)",
        (mariadb.app_user, mariadb.app_password, SOURCE_HG, mariadb.schema),
    )
    admin.execute("LOAD MYSQL SERVERS TO RUNTIME")
    admin.execute("LOAD MYSQL USERS TO RUNTIME")
    return proxysql
