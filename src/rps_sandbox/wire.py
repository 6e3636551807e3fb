"""MySQL-protocol plumbing shared by the ProxySQL and Readyset emulators.

mysql-mimic speaks the wire protocol; this module adds what the emulators need on top of it:
raw SQL sessions (no sqlglot rewriting), OK packets with affected rows, errors with an exact
code and SQLSTATE, native-password users, the client's address, pass-through of an upstream
result with its real column types, and a server that runs on a background thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import pymysql
from mysql_mimic import MysqlServer, ResultColumn, ResultSet, packets
from mysql_mimic import connection as mimic_connection
from mysql_mimic import server as mimic_server
from mysql_mimic.auth import (
    Forbidden,
    IdentityProvider,
    NativePasswordAuthPlugin,
    User,
)
from mysql_mimic.errors import MysqlError
from mysql_mimic.session import BaseSession
from mysql_mimic.types import ColumnType, str_fixed, uint_1, uint_2

# Address of the client whose connection is being served (set per connection task).
PEER: contextvars.ContextVar[tuple[str, int]] = contextvars.ContextVar("rps_peer", default=("", 0))
# Whether the listener serving this connection announces SERVER_STATUS_AUTOCOMMIT, as MySQL
# servers and ProxySQL do (clients such as PyMySQL then send SET AUTOCOMMIT=0 when they want it).
_ANNOUNCE_AUTOCOMMIT: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "rps_announce_autocommit", default=False
)


class SqlError(Exception):
    """An error packet with an exact code, SQLSTATE and message."""

    def __init__(self, code: int, message: str, sqlstate: str = "HY000") -> None:
        super().__init__(f"{code} ({sqlstate}): {message}")
        self.code = code
        self.message = message
        self.sqlstate = sqlstate


@dataclass
class Ok:
    """An OK packet."""

    affected_rows: int = 0
    last_insert_id: int = 0
    info: str = ""


@dataclass
class Rows:
    """A result set. `types` are MySQL column type codes; values are sent as text."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    types: Optional[Sequence[int]] = None


Result = Union[Ok, Rows]


def _text(column: ResultColumn, value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bool):
        return b"1" if value else b"0"
    return str(value).encode("utf-8", errors="surrogateescape")


def to_result_set(rows: Rows) -> ResultSet:
    types = rows.types or [ColumnType.VAR_STRING] * len(rows.columns)
    columns = [
        ResultColumn(name=name, type=ColumnType(t), text_encoder=_text)
        for name, t in zip(rows.columns, types)
    ]
    return ResultSet(rows=list(rows.rows), columns=columns)


class RawSession(BaseSession):
    """A session that receives every statement as raw text. Subclasses implement `execute`."""

    def __init__(self) -> None:
        from mysql_mimic.variables import GlobalVariables, SessionVariables

        self.variables = SessionVariables(GlobalVariables())
        self.username: Optional[str] = None
        self.database: Optional[str] = None
        self.peer: tuple[str, int] = ("", 0)
        # The OK of the last statement, picked up by _Connection (mysql-mimic has no OK type).
        self.last_ok: Optional[Ok] = None

    async def init(self, connection: Any) -> None:
        self.peer = PEER.get()
        self.connection = connection

    def drop_connection(self) -> None:
        """Close the client's socket without an answer, as a crashing server would."""
        connection = getattr(self, "connection", None)
        if connection is not None:
            connection.stream.writer.transport.abort()

    async def execute(self, sql: str) -> Result:  # pragma: no cover - abstract
        raise NotImplementedError

    async def handle_query(self, sql: str, attrs: dict[str, str]) -> Any:
        try:
            result = await self.execute(sql)
        except SqlError as e:
            raise MysqlError(_ErrorText(e), e.code) from None  # type: ignore[arg-type]
        if isinstance(result, Ok):
            self.last_ok = result
            return None
        return to_result_set(result)

    async def use(self, database: str) -> None:
        await self.execute(f"USE `{database}`")


class _ErrorText(str):
    """Message text that remembers its SQLSTATE."""

    sqlstate: str

    def __new__(cls, err: SqlError) -> _ErrorText:
        obj = super().__new__(cls, err.message)
        obj.sqlstate = err.sqlstate
        return obj


def _error_packet(capabilities: Any, server_charset: Any, msg: Any, code: int) -> bytes:
    sqlstate = getattr(msg, "sqlstate", None) or ("28000" if code == 1045 else "HY000")
    parts = [uint_1(0xFF), uint_2(int(code))]
    if packets.Capabilities.CLIENT_PROTOCOL_41 in capabilities:
        parts.append(str_fixed(1, b"#"))
        parts.append(str_fixed(5, sqlstate.encode()))
    parts.append(server_charset.encode(str(msg)))
    return b"".join(parts)


class Refusal(str):
    """A login refusal with its own error code and SQLSTATE (e.g. ProxySQL's 1040 for admin)."""

    code: int
    sqlstate: str

    def __new__(cls, message: str, code: int = 1045, sqlstate: str = "28000") -> Refusal:
        obj = super().__new__(cls, message)
        obj.code = code
        obj.sqlstate = sqlstate
        return obj


class _Connection(mimic_connection.Connection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if _ANNOUNCE_AUTOCOMMIT.get():
            self.status_flags |= packets.ServerStatus.SERVER_STATUS_AUTOCOMMIT

    def error(self, **kwargs: Any) -> bytes:
        msg = kwargs.get("msg", "")
        code = int(getattr(msg, "code", 0) or kwargs.get("code", 1105))
        return _error_packet(self.capabilities, self.server_charset, msg, code)

    async def handle_query(self, data: bytes) -> None:
        com_query = packets.parse_com_query(
            capabilities=self.capabilities, client_charset=self.client_charset, data=data
        )
        session = self.session
        if isinstance(session, RawSession):
            session.last_ok = None
        result_set = await self.query(com_query.sql, com_query.query_attrs)
        if not result_set:
            ok = session.last_ok if isinstance(session, RawSession) else None
            ok = ok or Ok()
            await self.stream.write(
                self.ok(affected_rows=ok.affected_rows, last_insert_id=ok.last_insert_id)
            )
            return
        await self.write_text_resultset(result_set)


# mysql-mimic builds its Connection by name inside the server module.
mimic_server.Connection = _Connection  # type: ignore[misc]


class _NativePassword(NativePasswordAuthPlugin):
    """Native password, plus an optional per-user check of the client address."""

    def __init__(
        self,
        refuse: Optional[Callable[[str, tuple[str, int]], Optional[Refusal]]],
        denied: str = "Access denied for user '{name}'",
    ) -> None:
        self.refuse = refuse
        self.denied = denied

    async def auth(self, auth_info: Any = None) -> Any:  # type: ignore[override]
        gen = super().auth(auth_info)
        decision = await gen.__anext__()
        while True:
            if isinstance(decision, Forbidden):
                name = auth_info.user.name if auth_info is not None else "?"
                yield Forbidden(self.denied.format(name=name))
                return
            if not isinstance(decision, bytes):
                if self.refuse is not None:
                    reason = self.refuse(decision.authenticated_as, PEER.get())
                    if reason:
                        yield Forbidden(reason)
                        return
                yield decision
                return
            auth_info = yield decision
            decision = await gen.asend(auth_info)


class Users(IdentityProvider):
    """Username → password, re-read on every login so that LOAD ... USERS takes effect."""

    def __init__(
        self,
        lookup: Callable[[str], Optional[str]],
        refuse: Optional[Callable[[str, tuple[str, int]], Optional[Refusal]]] = None,
        denied: str = "Access denied for user '{name}'",
    ) -> None:
        self.lookup = lookup
        self.plugin = _NativePassword(refuse, denied)

    def get_plugins(self) -> Sequence[Any]:
        return [self.plugin]

    async def get_user(self, username: str) -> Optional[User]:
        password = self.lookup(username)
        if password is None:
            # Unknown users still go through the password exchange and are refused there,
            # as real servers do (no user-enumeration shortcut).
            return User(name=username, auth_string="00" * 20, auth_plugin=self.plugin.name)
        return User(
            name=username,
            auth_string=NativePasswordAuthPlugin.create_auth_string(password) if password else None,
            auth_plugin=self.plugin.name,
        )


@dataclass
class Listener:
    """One mysql-mimic server on 127.0.0.1, served by the owning ServerThread's loop."""

    session_factory: Callable[[], BaseSession]
    users: IdentityProvider
    port: int = 0
    host: str = "127.0.0.1"
    server_version: str = "8.0.11"
    on_connect: Optional[Callable[[], Optional[str]]] = None
    announce_autocommit: bool = False
    _server: Optional[MysqlServer] = field(default=None, repr=False)


class _Server(MysqlServer):
    def __init__(self, listener: Listener, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.listener = listener

    async def _client_connected_cb(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername") or ("", 0)
        PEER.set((str(peer[0]), int(peer[1])))
        _ANNOUNCE_AUTOCOMMIT.set(self.listener.announce_autocommit)
        hook = self.listener.on_connect
        if hook is not None:
            action = hook()
            if action == "refuse":
                writer.close()
                return
            if action == "hang":
                try:
                    await reader.read()  # until the client gives up
                finally:
                    writer.close()
                return
        await super()._client_connected_cb(reader, writer)


class ServerThread:
    """Runs listeners on an asyncio loop in a daemon thread; blocking calls go to a pool."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.listeners: list[Listener] = []
        self.thread.start()

    def submit(self, coro: Awaitable[Any], timeout: Optional[float] = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def listen(self, listener: Listener) -> int:
        async def start() -> int:
            def make_session() -> BaseSession:
                session = listener.session_factory()
                session.variables.set("version", listener.server_version, force=True)
                return session

            server = _Server(
                listener, session_factory=make_session, identity_provider=listener.users
            )
            await server.start_server(host=listener.host, port=listener.port)
            listener._server = server
            sock = server.sockets()[0]
            return int(sock.getsockname()[1])

        listener.port = self.submit(start())
        self.listeners.append(listener)
        return listener.port

    def close_listener(self, listener: Listener) -> None:
        async def stop() -> None:
            if listener._server is not None:
                listener._server.close()
                # Drop live client connections too, as a stopped server would.
                for conn in list(getattr(listener._server.control, "_connections", {}).values()):
                    conn.kill()

        self.submit(stop())
        if listener in self.listeners:
            self.listeners.remove(listener)

    def stop(self) -> None:
        for listener in list(self.listeners):
            self.close_listener(listener)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def _raw_conv() -> dict[Any, Any]:
    # Encoders only, no decoders: every value arrives as text and is forwarded byte for byte.
    return {k: v for k, v in pymysql.converters.conversions.items() if not isinstance(k, int)}


class Upstream:
    """A blocking PyMySQL connection used from a thread: forwards statements to a real server."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        database: Optional[str] = None,
        connect_timeout: float = 5,
        read_timeout: Optional[float] = 30,
    ) -> None:
        self.params = {
            "host": host,
            "port": port,
            "user": user,
            "password": password,
            "database": database,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "write_timeout": read_timeout,
            "conv": _raw_conv(),
            "ssl_disabled": True,
            "autocommit": True,
            "charset": "utf8mb4",
        }
        self.conn: Optional[pymysql.connections.Connection] = None
        self.lock = threading.Lock()

    def _connect(self) -> pymysql.connections.Connection:
        if self.conn is None:
            try:
                self.conn = pymysql.connect(**self.params)  # type: ignore[arg-type]
            except pymysql.err.MySQLError as e:
                raise _as_sql_error(e) from None
        return self.conn

    def run(self, sql: str) -> Result:
        with self.lock:
            conn = self._connect()
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)
                    if cur.description is None:
                        return Ok(
                            affected_rows=max(cur.rowcount, 0), last_insert_id=cur.lastrowid or 0
                        )
                    names = [d[0] for d in cur.description]
                    types = [d[1] for d in cur.description]
                    return Rows(columns=names, rows=list(cur.fetchall()), types=types)
            except pymysql.err.MySQLError as e:
                if (
                    isinstance(e, pymysql.err.OperationalError)
                    and e.args
                    and e.args[0]
                    in (
                        2006,
                        2013,
                        2003,
                    )
                ):
                    self.close()
                raise _as_sql_error(e) from None

    def use(self, database: str) -> None:
        self.params["database"] = database
        if self.conn is not None:
            with self.lock:
                try:
                    self.conn.select_db(database)
                except pymysql.err.MySQLError as e:
                    raise _as_sql_error(e) from None

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
            self.conn = None


def _as_sql_error(e: pymysql.err.MySQLError) -> SqlError:
    code = int(e.args[0]) if e.args and isinstance(e.args[0], int) else 2013
    message = str(e.args[1]) if len(e.args) > 1 else str(e)
    return SqlError(code, message, "HY000")


async def in_thread(func: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


def split_ident(text: str) -> str:
    """Strip backquotes from a single identifier."""
    text = text.strip()
    if len(text) >= 2 and text[0] == "`" and text[-1] == "`":
        return text[1:-1].replace("``", "`")
    return text
