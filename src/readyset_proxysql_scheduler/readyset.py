"""A Readyset host: the extension statements the scheduler sends, each bounded by timeouts.

Results are read by column name where Readyset renamed columns between releases (`cache name` →
`name`), and by position where every release agrees (EXPLAIN's third column).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

import pymysql

if TYPE_CHECKING:
    from readyset_proxysql_scheduler.identity import Proxied

SHOW_STATUS = "SHOW READYSET STATUS"
SHOW_VERSION = "SHOW READYSET VERSION"
USE = "USE {schema}"
EXPLAIN = "EXPLAIN CREATE CACHE FROM {query}"
CREATE_CACHE = "CREATE CACHE {name} FROM {query}"
SHOW_CACHES = "SHOW CACHES"
SHOW_PROXIED = "SHOW PROXIED QUERIES"
CREATE_CACHE_FROM_ID = "CREATE CACHE {name} FROM {query_id}"
DROP_CACHE = "DROP CACHE {name}"
# ER_ACCESS_DENIED_ERROR (Readyset's answer to a wrong user or password), ER_DBACCESS_DENIED_ERROR
ACCESS_DENIED = (1045, 1044)


class ReadysetError(Exception):
    """A Readyset host failed or timed out; str() is one line.

    `answered` is True when Readyset itself refused the statement (an error packet: a verdict
    about the query), False when the host could not be reached or timed out (transient).
    `login_refused`: the host refused readyset_user/readyset_password (a setup error, which
    says nothing about the host's health).
    """

    def __init__(self, message: str, answered: bool = False, login_refused: bool = False) -> None:
        super().__init__(message)
        self.answered = answered
        self.login_refused = login_refused

    @property
    def refuses_query(self) -> bool:
        """Readyset answered that it cannot cache this query (not a transient failure)."""
        text = str(self).lower()
        return self.answered and any(marker in text for marker in _VERDICTS)


# Error texts in which Readyset judges the query itself (reference readyset.md §1, §4.5, §7).
_VERDICTS = (
    "unsupported",
    "failed to parse",
    "not being replicated",
    "could not find table",
    "placeholders in unsupported positions",
    "does not support",
    "is not supported",
    "unknown database",
)


def quote_identifier(name: str) -> str:
    if "\x00" in name:
        raise ValueError("identifier contains a NUL character")
    return "`" + name.replace("`", "``") + "`"


class Endpoint(NamedTuple):
    hostname: str
    port: int

    def __str__(self) -> str:
        return f"{self.hostname}:{self.port}"


class Readyset:
    def __init__(
        self,
        endpoint: Endpoint,
        user: str,
        password: str,
        connect_timeout: float,
        query_timeout: float,
        deadline: Optional[float] = None,
        ssl: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.ssl = ssl
        self.deadline = deadline  # time.monotonic() value
        self.user = user
        self.password = password
        self.connect_timeout = connect_timeout
        self.query_timeout = query_timeout
        self.conn: Optional[pymysql.connections.Connection] = None
        self.schema: Optional[str] = None

    def _connect(self) -> pymysql.connections.Connection:
        if self.conn is None:
            try:
                self.conn = pymysql.connect(
                    host=self.endpoint.hostname,
                    port=self.endpoint.port,
                    user=self.user,
                    password=self.password,
                    connect_timeout=self.connect_timeout,
                    # PyMySQL reads the server's greeting with read_timeout: a host that
                    # accepts and never greets must cost the connect timeout, not the query one.
                    read_timeout=self.connect_timeout,
                    write_timeout=self.connect_timeout,
                    autocommit=None,  # no SET AUTOCOMMIT round trip: nothing here is transactional
                    charset="utf8mb4",
                    ssl_disabled=not self.ssl,  # a TLS context costs ~20 ms per connection
                    program_name="readyset_proxysql_scheduler",
                )
            except pymysql.err.MySQLError as e:
                raise ReadysetError(
                    f"cannot connect to Readyset {self.endpoint}: {_reason(e)}",
                    login_refused=bool(e.args) and e.args[0] in ACCESS_DENIED,
                ) from None
            except OSError as e:  # pragma: no cover - PyMySQL wraps most socket errors
                raise ReadysetError(f"cannot connect to Readyset {self.endpoint}: {e}") from None
        return self.conn

    def _query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        conn = self._connect()
        # Each statement gets query_timeout_s, never past the pass's deadline (PyMySQL applies
        # these before each socket use).
        budget = self.query_timeout
        if self.deadline is not None:
            budget = min(budget, max(0.05, self.deadline - time.monotonic()))
        conn._read_timeout = conn._write_timeout = budget
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                names = [d[0] for d in cur.description] if cur.description else []
                return names, list(cur.fetchall())
        except pymysql.err.MySQLError as e:
            answered = _is_server_error(e)
            if not answered:
                self.close()
            raise ReadysetError(f"Readyset {self.endpoint}: {_reason(e)}", answered) from None

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - may already be broken
                pass
            self.conn = None
            self.schema = None

    def abandon(self) -> None:
        """Forget a connection whose call is still hung on another thread; never reuse it."""
        self.conn = None
        self.schema = None

    def status(self) -> list[tuple[str, str]]:
        _, rows = self._query(SHOW_STATUS)
        return [(str(r[0]), str(r[1])) for r in rows if len(r) >= 2]

    def version_rows(self) -> list[tuple[str, str]]:
        _, rows = self._query(SHOW_VERSION)
        return [(str(r[0]), str(r[1])) for r in rows if len(r) >= 2]

    def probe(self, query: str) -> Optional[str]:
        """EXPLAIN's query column for a statement needing no schema; None when refused."""
        try:
            _, rows = self._query(EXPLAIN.format(query=query))
        except ReadysetError as e:
            if e.answered:
                return None
            raise
        return str(rows[0][1]) if rows and len(rows[0]) >= 2 else None

    def use(self, schema: str) -> None:
        if self.schema != schema:
            self._query(USE.format(schema=quote_identifier(schema)))
            self.schema = schema

    def explain(self, schema: str, query: str) -> str:
        """Readyset's verdict: `yes`, `cached`, `pending`, `no` or `no: <reason>`."""
        self.use(schema)
        _, rows = self._query(EXPLAIN.format(query=query))
        if not rows or len(rows[0]) < 3:
            raise ReadysetError(f"Readyset {self.endpoint}: unexpected EXPLAIN CREATE CACHE result")
        return str(rows[0][2])

    def create_cache(self, schema: str, name: str, query: str) -> None:
        self.use(schema)
        self._query(CREATE_CACHE.format(name=_plain_name(name), query=query))

    def proxied_queries(self) -> list[Proxied]:
        """SHOW PROXIED QUERIES: id, Readyset's text, support and (where there is one) count;
        columns are read by position, which every release keeps."""
        from readyset_proxysql_scheduler.identity import Proxied

        _, rows = self._query(SHOW_PROXIED)
        out = []
        for r in rows:
            if len(r) < 3:
                continue
            try:
                count = int(r[3]) if len(r) > 3 and r[3] is not None else 0
            except (TypeError, ValueError):
                count = 0
            out.append(Proxied(str(r[0]), str(r[1]), str(r[2]), count))
        return out

    def create_cache_from_id(self, name: str, query_id: str) -> None:
        """CREATE CACHE FROM q_<id>: the statement and schema this host recorded under that id."""
        if not _QUERY_ID.match(query_id):
            raise ValueError(f"invalid query id {query_id!r}")
        self._query(CREATE_CACHE_FROM_ID.format(name=_plain_name(name), query_id=query_id))

    def cache_names(self) -> set[str]:
        return set(self.caches())

    def caches(self) -> dict[str, str]:
        """SHOW CACHES: each cache's name and Readyset's text of its query (`$n` placeholders);
        columns are read by name, which releases renamed (`cache name`/`name`, `query text`/
        `query`), else by position."""
        names, rows = self._query(SHOW_CACHES)
        column = next((i for i, n in enumerate(names) if n in ("cache name", "name")), 1)
        text = next((i for i, n in enumerate(names) if n in ("query text", "query")), column + 1)
        return {
            str(r[column]): str(r[text]) if len(r) > text and r[text] is not None else ""
            for r in rows
            if len(r) > column
        }

    def drop_cache(self, name: str) -> None:
        self._query(DROP_CACHE.format(name=_plain_name(name)))


_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_QUERY_ID = re.compile(r"^q_[0-9a-f]{1,16}$")


def _plain_name(name: str) -> str:
    # Cache names are ours (d_<digest>); sent bare, as every Readyset release parses them.
    if not _NAME.match(name):
        raise ValueError(f"invalid cache name {name!r}")
    return name


def _is_server_error(e: pymysql.err.MySQLError) -> bool:
    # An error packet from the server (the connection is still usable), not a lost connection.
    return bool(e.args) and isinstance(e.args[0], int) and e.args[0] < 2000


def _reason(e: BaseException) -> str:
    if len(e.args) >= 2:
        return f"{e.args[1]} ({e.args[0]})"
    return str(e) or type(e).__name__
