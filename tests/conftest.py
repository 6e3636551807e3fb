"""Fixtures shared by every test level.

The upstream database is a real MariaDB started here, once per test session, in a temporary
directory on a free port. Tests that need a server never skip when it is missing: they fail with
the install command, so a CI without MariaDB is red, not silently green.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rps_sandbox.mariadb import MariaDB


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDB]:
    server = MariaDB()
    server.start()
    try:
        yield server
    finally:
        server.stop()
