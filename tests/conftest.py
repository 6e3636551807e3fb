"""Fixtures shared by every test level.

The upstream database is a real MariaDB started here, once per test session, in a temporary
directory on a free port. Tests that need a server never skip when it is missing: they fail with
the install command, so a CI without MariaDB is red, not silently green.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from rps_sandbox.mariadb import MariaDB

# `scripts/test --hypothesis-profile=long` runs the property tests with many more examples
# (tests/e2e/test_roundtrip_property.py refines this profile for its batches).
settings.register_profile("long", max_examples=1000, deadline=None)


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDB]:
    server = MariaDB()
    server.start()
    try:
        yield server
    finally:
        server.stop()
