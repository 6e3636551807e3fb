"""The MySQL traffic side of the ProxySQL emulator (the 6033 port).

Per COM_QUERY: digest (with the runtime mysql-query_digests_* settings), query rules, fast
routing, default hostgroup; then a weighted pick of an ONLINE server of the destination hostgroup
and execution on a backend connection owned by the client session (opened with the client's
own credentials from mysql_users, in the session's schema). Mirrors run in the background.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from ..wire import Ok, RawSession, Rows, SqlError, Upstream, in_thread
from .runtime import QueryOutcome, Server

if TYPE_CHECKING:
    from .proxy import ProxySQL

_WS = re.compile(r"\s+")
_AUTOCOMMIT = re.compile(
    r"^SET\s+(?:@@session\.|@@local\.|@@|SESSION\s+|LOCAL\s+)?autocommit\s*(?:=|:=)\s*"
    r"'?(\w+)'?$",
    re.IGNORECASE,
)
_SET_KEY = re.compile(r"^SET\s+(?:SESSION\s+|LOCAL\s+)?([^\s=]+)", re.IGNORECASE)
_NETWORK_ERRORS = {2002, 2003, 2005, 2006, 2013}
_IN_TRANS = 1  # SERVER_STATUS_IN_TRANS


class _ConnectFailed(Exception):
    def __init__(self, err: SqlError) -> None:
        super().__init__(err.message)
        self.err = err


class _Backend:
    """A backend connection owned by one client session (or the mirror pool)."""

    def __init__(self, server: Server, up: Upstream, schema: str) -> None:
        self.server = server
        self.up = up
        self.schema = schema
        self.autocommit = True
        self.set_version = 0

    def in_transaction(self) -> bool:
        conn = self.up.conn
        return bool(conn is not None and conn.server_status & _IN_TRANS)


def _normalize(sql: str) -> str:
    text = _WS.sub(" ", sql).strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    return text


def _is_read(text: str) -> bool:
    head = text.lstrip("( ").upper()
    return head.startswith(("SELECT", "SHOW", "DESC", "EXPLAIN")) and "FOR UPDATE" not in head


def _hints(comment: Optional[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    if not comment:
        return out
    body = comment.strip()
    if body.startswith("/*"):
        body = body[2:]
    if body.endswith("*/"):
        body = body[:-2]
    for part in body.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


class TrafficSession(RawSession):
    def __init__(self, proxy: ProxySQL) -> None:
        super().__init__()
        self.proxy = proxy
        self.rt = proxy.runtime
        self.schema = "information_schema"
        self.user_row: dict[str, Any] = {}
        self.backends: dict[tuple[int, str, int], _Backend] = {}
        self.flag_in = 0
        self.autocommit = True
        self.set_stmts: dict[str, str] = {}
        self.set_version = 0
        self.txn: Optional[_Backend] = None
        self.txn_hostgroup = -1

    async def init(self, connection: Any) -> None:
        await super().init(connection)
        self.user_row = self.rt.frontend_user(self.username or "") or {}
        self.schema = (
            self.database
            or self.user_row.get("default_schema")
            or self.rt.var("mysql-default_schema")
            or "information_schema"
        )

    async def use(self, database: str) -> None:
        self.schema = database

    async def close(self) -> None:
        backends = list(self.backends.values())
        self.backends.clear()
        for b in backends:
            b.server.conn_free = max(0, b.server.conn_free - 1)
        if backends:
            await in_thread(lambda: [b.up.close() for b in backends])

    # ---- one statement ---
    async def execute(self, sql: str) -> Ok | Rows:
        start = time.perf_counter()
        rt = self.rt
        norm = _normalize(sql)
        upper = norm.upper()
        user = self.username or ""
        if upper.startswith("USE "):
            self.schema = norm[4:].strip().strip("`")
            return Ok()

        digest_text = digest_hex = None
        digest_int: Optional[int] = None
        settings = rt.digest_settings
        dg = self.proxy.digest_module
        if rt.var_bool("mysql-query_digests") and dg is not None:
            digest_text = dg.digest_text(sql, settings)
            digest_hex = dg.digest_of(digest_text, settings)
            digest_int = int(digest_hex, 16)
        client_addr = self.peer[0] if self.peer else ""

        if upper == "SELECT @@VERSION_COMMENT LIMIT 1":
            self._record(-1, digest_hex, digest_text, start, 0, 1)
            return Rows(["@@version_comment"], [["(ProxySQL)"]])

        outcome = rt.process(
            sql,
            user,
            self.schema,
            client_addr,
            digest_int,
            digest_text,
            flag_in=self.flag_in,
            proxy_addr="127.0.0.1",
            proxy_port=self.proxy.traffic_port,
        )
        if outcome.next_query_flag_in is not None:
            self.flag_in = outcome.next_query_flag_in
        if digest_text is not None and dg is not None and "/*" in sql:
            hints = _hints(dg.first_comment(sql))
            if "hostgroup" in hints:
                try:
                    outcome.destination_hostgroup = int(hints["hostgroup"])
                except ValueError:
                    pass
            if "mirror" in hints:
                try:
                    outcome.mirror_hostgroup = int(hints["mirror"])
                except ValueError:
                    pass
        if outcome.error_msg is not None:
            raise SqlError(1148, outcome.error_msg, "42000")
        if outcome.ok_msg is not None:
            return Ok()
        query = outcome.query or sql

        # Session-level statements ProxySQL tracks itself.
        if upper.startswith("SET "):
            m = _AUTOCOMMIT.match(norm)
            if m:
                self.autocommit = m.group(1).upper() in ("1", "ON", "TRUE")
            else:
                k = _SET_KEY.match(norm)
                self.set_stmts[(k.group(1) if k else norm).upper()] = query
                self.set_version += 1
            return Ok()
        if upper in ("COMMIT", "ROLLBACK", "COMMIT WORK", "ROLLBACK WORK") and self.txn is None:
            return Ok()

        default_hg = int(self.user_row.get("default_hostgroup") or 0)
        hostgroup = (
            outcome.destination_hostgroup
            if outcome.destination_hostgroup is not None
            else default_hg
        )
        if self.txn is not None and self.user_row.get("transaction_persistent", 1):
            hostgroup = self.txn_hostgroup
        is_read = _is_read(digest_text if digest_text is not None else norm)
        try:
            result, used_hg = await self._run(hostgroup, query, is_read, start)
        except SqlError as e:
            if e.code != 9001:
                self._record(hostgroup, digest_hex, digest_text, start, 0, 0)
            raise
        if isinstance(result, Rows):
            self._record(used_hg, digest_hex, digest_text, start, 0, len(result.rows))
        else:
            self._record(used_hg, digest_hex, digest_text, start, result.affected_rows, 0)
        if outcome.mirror_hostgroup is not None or outcome.mirror_flag_out is not None:
            job = MirrorJob(
                query, user, self.schema, client_addr, outcome, default_hg, digest_hex, digest_text
            )
            self.proxy.mirror(job)
        return result

    def _record(
        self,
        hostgroup: int,
        digest_hex: Optional[str],
        digest_text: Optional[str],
        start: float,
        rows_affected: int,
        rows_sent: int,
    ) -> None:
        if digest_hex is None or digest_text is None:
            return
        self.proxy.record(
            hostgroup,
            self.schema,
            self.username or "",
            self.peer[0] if self.peer else "",
            digest_hex,
            digest_text,
            start,
            rows_affected,
            rows_sent,
        )

    # ---- backend execution ---
    async def _run(
        self, hostgroup: int, query: str, is_read: bool, start: float
    ) -> tuple[Ok | Rows, int]:
        rt = self.rt
        timeout_ms = rt.var_int("mysql-connect_timeout_server_max", 10000)
        deadline = start + timeout_ms / 1000.0
        failed: set[tuple[int, str, int]] = set()
        while True:
            backend = self.txn
            if backend is not None and (
                backend.server.removed or backend.server.status == "OFFLINE_HARD"
            ):
                self._drop(backend)
                backend = None
            if backend is None:
                server = rt.pick_server(hostgroup, exclude=failed)
                if server is None:
                    now = time.perf_counter()
                    if now >= deadline:
                        elapsed = int((now - start) * 1000)
                        raise SqlError(
                            9001,
                            f"Max connect timeout reached while reaching hostgroup "
                            f"{hostgroup} after {elapsed}ms",
                            "HY000",
                        )
                    await asyncio.sleep(min(0.05, max(0.001, deadline - now)))
                    failed.clear()
                    continue
                backend = self._backend_for(server)
            server = backend.server
            server.conn_used += 1
            server.max_conn_used = max(server.max_conn_used, server.conn_used)
            try:
                result, in_txn = await in_thread(self._exec, backend, query, is_read)
            except _ConnectFailed as e:
                server.conn_err += 1
                self._drop(backend)
                if e.err.code not in _NETWORK_ERRORS:
                    raise e.err from None
                failed.add(server.key)
                continue
            except SqlError as e:
                if e.code in _NETWORK_ERRORS:
                    self._drop(backend)
                raise
            finally:
                server.conn_used -= 1
            server.queries += 1
            server.bytes_sent += len(query)
            if in_txn:
                if self.txn is None:
                    self.txn = backend
                    self.txn_hostgroup = server.hostgroup_id
            else:
                self.txn = None
            return result, server.hostgroup_id

    def _backend_for(self, server: Server) -> _Backend:
        backend = self.backends.get(server.key)
        if backend is not None and backend.server is not server:
            self._drop(backend)
            backend = None
        if backend is None:
            row = self.rt.backend_user(self.username or "") or self.user_row
            up = Upstream(
                server.hostname,
                server.port,
                self.username or "",
                row.get("password") or "",
                database=self.schema,
                connect_timeout=max(
                    1.0, self.rt.var_int("mysql-connect_timeout_server", 1000) / 1000
                ),
                read_timeout=3600,
            )
            backend = _Backend(server, up, self.schema)
            self.backends[server.key] = backend
        return backend

    def _drop(self, backend: _Backend) -> None:
        if self.backends.get(backend.server.key) is backend:
            del self.backends[backend.server.key]
            if backend.up.conn is not None:
                backend.server.conn_free = max(0, backend.server.conn_free - 1)
        if self.txn is backend:
            self.txn = None
        backend.up.close()

    def _exec(self, backend: _Backend, query: str, is_read: bool) -> tuple[Ok | Rows, bool]:
        """Runs on a worker thread."""
        up = backend.up
        if up.conn is None:
            try:
                up._connect()
            except SqlError as e:
                raise _ConnectFailed(e) from None
            backend.server.conn_ok += 1
            backend.server.conn_free += 1
            backend.schema = self.schema
            backend.autocommit = True
            backend.set_version = 0
        if backend.schema != self.schema:
            up.use(self.schema)
            backend.schema = self.schema
        if backend.set_version != self.set_version:
            for stmt in list(self.set_stmts.values()):
                up.run(stmt)
            backend.set_version = self.set_version
        in_txn = backend.in_transaction()
        enforce = self.rt.var_bool("mysql-enforce_autocommit_on_reads")
        wanted = True if (is_read and not enforce) else self.autocommit
        if not in_txn and backend.autocommit != wanted:
            up.run(f"SET autocommit={1 if wanted else 0}")
            backend.autocommit = wanted
        result = up.run(query)
        return result, backend.in_transaction()


@dataclass(frozen=True)
class MirrorJob:
    """One mirrored execution: the query and what the rules decided for it."""

    query: str
    user: str
    schema: str
    client_addr: str
    outcome: QueryOutcome
    default_hg: int
    digest_hex: Optional[str]
    digest_text: Optional[str]


class MirrorRunner:
    """Fire-and-forget mirrored executions with bounded concurrency and a pool of connections."""

    def __init__(self, proxy: ProxySQL) -> None:
        self.proxy = proxy
        self.sem: Optional[asyncio.Semaphore] = None
        self.queued = 0
        self.pool: dict[tuple[tuple[int, str, int], str], list[_Backend]] = {}
        self.tasks: set[asyncio.Task[Any]] = set()

    def submit(self, job: MirrorJob) -> None:
        rt = self.proxy.runtime
        if self.queued >= rt.var_int("mysql-mirror_max_queue_length", 32000) + rt.var_int(
            "mysql-mirror_max_concurrency", 16
        ):
            return
        sem = self.sem
        if sem is None:
            sem = self.sem = asyncio.Semaphore(rt.var_int("mysql-mirror_max_concurrency", 16))
        self.queued += 1
        task = asyncio.ensure_future(self._run(sem, job))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, sem: asyncio.Semaphore, job: MirrorJob) -> None:
        try:
            async with sem:
                await self._mirror(job)
        except Exception:  # noqa: BLE001 - mirror failures are ignored
            pass
        finally:
            self.queued -= 1

    async def _mirror(self, job: MirrorJob) -> None:
        query, user, schema, client_addr = job.query, job.user, job.schema, job.client_addr
        outcome, default_hg = job.outcome, job.default_hg
        digest_hex, digest_text = job.digest_hex, job.digest_text
        rt = self.proxy.runtime
        start = time.perf_counter()
        hostgroup = outcome.mirror_hostgroup if outcome.mirror_hostgroup is not None else default_hg
        if outcome.mirror_flag_out is not None:
            digest_int = int(digest_hex, 16) if digest_hex else None
            again = rt.process(
                query, user, schema, client_addr, digest_int, digest_text, outcome.mirror_flag_out
            )
            if again.error_msg is not None or again.ok_msg is not None:
                return
            if again.destination_hostgroup is not None:
                hostgroup = again.destination_hostgroup
            query = again.query or query
        server = rt.pick_server(hostgroup)
        if server is None:
            return  # mirrors never wait for a backend
        key = (server.key, user)
        idle = self.pool.setdefault(key, [])
        backend = idle.pop() if idle else None
        if backend is None or backend.server is not server:
            row = rt.backend_user(user) or {}
            up = Upstream(
                server.hostname,
                server.port,
                user,
                row.get("password") or "",
                database=schema,
                read_timeout=3600,
            )
            backend = _Backend(server, up, schema)

        def work() -> Ok | Rows:
            up = backend.up
            if up.conn is None:
                up._connect()
                server.conn_ok += 1
                backend.schema = schema
            if backend.schema != schema:
                up.use(schema)
                backend.schema = schema
            return up.run(query)

        try:
            result = await in_thread(work)
        except SqlError:
            backend.up.close()
            server.conn_err += 1
            return
        server.queries += 1
        idle.append(backend)
        if isinstance(result, Rows):
            affected, sent = 0, len(result.rows)
        else:
            affected, sent = result.affected_rows, 0
        if digest_hex is not None and digest_text is not None:
            self.proxy.record(
                server.hostgroup_id,
                schema,
                user,
                client_addr,
                digest_hex,
                digest_text,
                start,
                affected,
                sent,
            )

    def close(self) -> list[_Backend]:
        out = [b for idle in self.pool.values() for b in idle]
        self.pool.clear()
        return out
