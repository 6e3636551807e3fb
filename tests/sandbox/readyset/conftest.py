"""Fixtures for the Readyset emulator tests: a shared server thread and emulator factories."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

import pymysql
import pytest

from rps_sandbox.mariadb import MariaDB
from rps_sandbox.readyset import Readyset
from rps_sandbox.wire import ServerThread


@pytest.fixture(scope="session")
def server_thread() -> Iterator[ServerThread]:
    st = ServerThread()
    yield st
    st.stop()


@pytest.fixture
def make_readyset(
    mariadb: MariaDB, server_thread: ServerThread
) -> Iterator[Callable[..., Readyset]]:
    started: list[Readyset] = []

    def make(era: str = "C", **kwargs: Any) -> Readyset:
        rs = Readyset(
            mariadb.host,
            mariadb.port,
            mariadb.app_user,
            mariadb.app_password,
            era=era,
            server_thread=server_thread,
            **kwargs,
        ).start()
        started.append(rs)
        return rs

    yield make
    for rs in started:
        rs.stop()


def connect(rs: Readyset, **kwargs: Any) -> pymysql.connections.Connection:
    params: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": rs.port,
        "user": "app",
        "password": "app-secret",
        "database": "shop",
        "connect_timeout": 3,
        "read_timeout": 10,
        "autocommit": True,
    }
    params.update(kwargs)
    return pymysql.connect(**params)


def query(conn: pymysql.connections.Connection, sql: str) -> tuple[list[str], list[tuple]]:
    with conn.cursor() as cur:
        cur.execute(sql)
        cols = [d[0] for d in cur.description] if cur.description else []
        return cols, list(cur.fetchall())
