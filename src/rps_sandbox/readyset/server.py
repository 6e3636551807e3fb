"""The Readyset emulator: a MySQL-protocol server that answers Readyset's SQL extensions and
forwards everything else to the upstream MariaDB.

Per-era differences live in :mod:`.eras`; what can be cached and how queries are matched to
caches lives in :mod:`.sql`. Behaviour notes (deliberate approximations):

* A cache hit is *executed on the upstream* (so it returns exactly MariaDB's rows) and counted in
  ``hits`` and in the cache's ``count``; while ``upstream_unreachable`` is set, a hit is answered
  from the last result remembered for that exact text, if any (a cache keeps serving when the
  upstream is down), else it fails like a forwarded query.
* While a snapshot is in progress nothing is served from caches (everything is proxied).
  Maintenance mode only changes the status row.
* Reads inside an explicit transaction (BEGIN / START TRANSACTION … COMMIT / ROLLBACK) are only
  served from caches created with ALWAYS.
* Statements that look like extensions but don't match the era's grammar are forwarded upstream,
  where MariaDB answers with its own 1064 syntax error — as real Readyset does.
* ``proxied`` counts every statement forwarded upstream that was not a cache hit (USE, SET, DML
  included); ``SHOW PROXIED QUERIES`` lists only SELECTs.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Callable, Optional

import pymysql
from mysql_mimic.errors import MysqlError

from rps_sandbox.readyset import sql as rsql
from rps_sandbox.readyset.eras import ERAS, Era
from rps_sandbox.wire import (
    Listener,
    Ok,
    RawSession,
    Result,
    Rows,
    ServerThread,
    SqlError,
    Upstream,
    Users,
    in_thread,
    split_ident,
)

LONGLONG = 8  # MYSQL_TYPE_LONGLONG

_OPT_SEMI = re.compile(r"[\s;]+$")


@dataclass
class CacheInfo:
    name: str
    query_id: str
    schema: Optional[str]
    query: str  # stored (rewritten) text, as SHOW CACHES shows it
    hits: int = 0
    always: bool = False
    cache_type: str = "deep"
    ttl_seconds: Optional[int] = None
    key: str = ""
    source_sql: str = ""


@dataclass
class _Known:
    """One entry of the query status cache (EXPLAINed or proxied SELECTs)."""

    query_id: str
    schema: Optional[str]
    sql: str
    display: str
    key: str
    count: int = 0
    first_seen: float = 0.0
    decided: bool = False


def _ts(t: Optional[float]) -> str:
    if t is None:
        return "NULL"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + " UTC"


_IDENT = r"(?:`(?:[^`]|``)+`|[A-Za-z0-9_$]+)"
_NAME = rf"({_IDENT}(?:\.{_IDENT})?)"
_QID_LITERAL = r"""(?:'([^']*)'|"([^"]*)"|([A-Za-z0-9_]+))"""


def _name(text: str) -> str:
    return ".".join(split_ident(p) for p in re.findall(_IDENT, text))


class Readyset:
    """An emulated Readyset adapter in front of a real MySQL/MariaDB upstream."""

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        upstream_user: str,
        upstream_password: str,
        users: Optional[dict[str, str]] = None,
        era: str = "C",
        port: int = 0,
        server_thread: Optional[ServerThread] = None,
        snapshot_seconds: float = 0,
    ) -> None:
        if era not in ERAS:
            raise ValueError(f"unknown era {era!r}; choose one of {sorted(ERAS)}")
        self.era: Era = ERAS[era]
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.upstream_user = upstream_user
        self.upstream_password = upstream_password
        self.users: dict[str, str] = (
            dict(users) if users is not None else {upstream_user: upstream_password}
        )
        self.port = port
        self._server_thread = server_thread
        self._own_thread = False
        self._listener: Optional[Listener] = None
        # test controls
        self.upstream_unreachable = False
        self.connect_behaviour = "accept"
        self.query_delay = 0.0
        self.fail_create_cache: Optional[str] = None
        self.fail_explain: Optional[str] = None
        self.migration_interval = 0.0  # proxied queries stay `pending` this long
        # inspection
        self.hits = 0
        self.proxied = 0
        self.statements: deque[str] = deque(maxlen=10000)
        # state
        self._lock = threading.RLock()
        self._caches: OrderedDict[str, CacheInfo] = OrderedDict()  # by name
        self._known: OrderedDict[str, _Known] = OrderedDict()  # query status cache, by id
        self._proxied: OrderedDict[str, _Known] = OrderedDict()  # SHOW PROXIED QUERIES
        self._memo: dict[tuple[str, str], Rows] = {}
        self._migrations: dict[int, str] = {}
        self._next_migration = 4294967297
        self._sessions: set[ReadysetSession] = set()
        self._maintenance = False
        self._started_at: Optional[float] = None
        self._snapshot_until = 0.0  # monotonic
        self._snapshot_end_wall: Optional[float] = None
        self._prev_completed: Optional[float] = None
        self._initial_snapshot = float(snapshot_seconds)
        self._tables_cache: dict[str, tuple[float, frozenset]] = {}
        self._meta: Optional[Upstream] = None
        self._meta_lock = threading.Lock()
        self.server_version = "8.0.26-readyset"
        self.parse_failures = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Readyset:
        self._started_at = time.time()
        self._prev_completed = None
        if self._initial_snapshot > 0:
            self.snapshot_for(self._initial_snapshot)
        else:
            self._snapshot_end_wall = self._started_at
        self.server_version = self._detect_version()
        if self._server_thread is None:
            self._server_thread = ServerThread()
            self._own_thread = True
        self._meta = Upstream(
            self.upstream_host,
            self.upstream_port,
            self.upstream_user,
            self.upstream_password,
            connect_timeout=2,
            read_timeout=10,
        )
        # Readyset's refusal text has no quotes around the name.
        users = Users(self.users.get, denied="Access denied for user {name}")
        self._listener = Listener(
            session_factory=lambda: ReadysetSession(self),
            users=users,
            port=self.port,
            server_version=self.server_version,
            on_connect=self._on_connect,
        )
        self.port = self._server_thread.listen(self._listener)
        return self

    def stop(self) -> None:
        if self._listener is not None and self._server_thread is not None:
            self._server_thread.close_listener(self._listener)
            self._listener = None
        if self._own_thread and self._server_thread is not None:
            try:
                self._server_thread.submit(_drain(), timeout=3)
            except Exception:  # noqa: BLE001 - best effort before stopping our own loop
                pass
            self._server_thread.stop()
            self._server_thread = None
            self._own_thread = False
        if self._meta is not None:
            self._meta.close()

    def __enter__(self) -> Readyset:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_connect(self) -> Optional[str]:
        return None if self.connect_behaviour == "accept" else self.connect_behaviour

    def _detect_version(self) -> str:
        try:
            conn = pymysql.connect(
                host=self.upstream_host,
                port=self.upstream_port,
                user=self.upstream_user,
                password=self.upstream_password,
                connect_timeout=2,
            )
        except pymysql.err.MySQLError:
            return "8.0.26-readyset"
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT VERSION()")
                row = cur.fetchone()
        finally:
            conn.close()
        m = re.match(r"(\d+\.\d+\.\d+)", str(row[0] if row else ""))
        return f"{m.group(1)}-readyset" if m else "8.0.26-readyset"

    # ------------------------------------------------------------------ test controls
    def snapshot_for(self, seconds: float) -> None:
        with self._lock:
            self._prev_completed = self._completed_snapshot()
            self._snapshot_until = time.monotonic() + seconds
            self._snapshot_end_wall = time.time() + seconds

    def enter_maintenance(self) -> None:
        self._require_maintenance()
        self._maintenance = True

    def exit_maintenance(self) -> None:
        self._require_maintenance()
        self._maintenance = False

    def _require_maintenance(self) -> None:
        if self.era.status_maintenance is None:
            raise ValueError(f"era {self.era.name} has no maintenance mode (stable-250227+)")

    def reset_stats(self) -> None:
        with self._lock:
            self.hits = 0
            self.proxied = 0
            self.statements.clear()

    # ------------------------------------------------------------------ inspection
    def caches(self) -> list[CacheInfo]:
        with self._lock:
            return [
                CacheInfo(**{k: getattr(c, k) for k in c.__dataclass_fields__})
                for c in self._caches.values()
            ]

    def snapshotting(self) -> bool:
        return time.monotonic() < self._snapshot_until

    def status_value(self) -> str:
        if self._maintenance and self.era.status_maintenance is not None:
            return self.era.status_maintenance
        return self.era.status_snapshot if self.snapshotting() else self.era.status_online

    def _completed_snapshot(self) -> Optional[float]:
        if self.snapshotting():
            return self._prev_completed
        return self._snapshot_end_wall

    # ------------------------------------------------------------------ upstream metadata
    def _tables_of(self, schema: str) -> Optional[frozenset]:
        """Tables of `schema` upstream (cached for a few seconds; stale copy if unreachable)."""
        now = time.monotonic()
        cached = self._tables_cache.get(schema)
        if cached is not None and (now - cached[0] < 3.0 or self.upstream_unreachable):
            return cached[1]
        if self.upstream_unreachable or self._meta is None:
            return cached[1] if cached else frozenset()
        esc = pymysql.converters.escape_string(schema)
        try:
            with self._meta_lock:
                res = self._meta.run(
                    "SELECT table_name FROM information_schema.tables "  # noqa: S608
                    f"WHERE table_schema = '{esc}'"
                )
        except SqlError:
            return cached[1] if cached else frozenset()
        names = frozenset(
            (r[0].decode() if isinstance(r[0], bytes) else str(r[0]))
            for r in getattr(res, "rows", [])
        )
        self._tables_cache[schema] = (now, names)
        return names

    def _verdict(self, sql: str, schema: Optional[str], shallow: bool = False) -> rsql.Verdict:
        v = rsql.check(sql, schema, self._tables_of, self.era.product)
        if shallow and v.kind == "unsupported" and not _shallow_refuses(v.reason):
            return rsql.YES
        return v

    def _upstream_reachable(self) -> bool:
        if self.upstream_unreachable:
            return False
        try:
            with socket.create_connection((self.upstream_host, self.upstream_port), timeout=0.5):
                return True
        except OSError:
            return False

    # ------------------------------------------------------------------ registry helpers
    def _cache_by_key(self, key: str) -> Optional[CacheInfo]:
        for c in self._caches.values():
            if c.key == key:
                return c
        return None

    def _remember(self, sql: str, schema: Optional[str], decided: bool) -> _Known:
        a = rsql.analyse(sql)
        key = f"{schema or ''}\x00{a.key}"
        qid = rsql.query_id_for_key(key)
        with self._lock:
            k = self._known.get(qid)
            if k is None:
                k = _Known(qid, schema, sql, a.display, key, 0, time.monotonic(), decided)
                self._known[qid] = k
                while len(self._known) > 20000:
                    self._known.popitem(last=False)
            if decided:
                k.decided = True
            if self._cache_by_key(key) is None:
                self._proxied[qid] = k
                while len(self._proxied) > 10000:
                    self._proxied.popitem(last=False)
        return k


async def _drain() -> None:
    """Let cancelled connection tasks finish before the loop stops."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if tasks:
        await asyncio.wait(tasks, timeout=2)


def _shallow_refuses(reason: str) -> bool:
    return any(
        word in reason for word in ("Non-deterministic", "Row-level locking", "INTO", "variables")
    )


class ReadysetSession(RawSession):
    def __init__(self, rs: Readyset) -> None:
        super().__init__()
        self.rs = rs
        self.era = rs.era
        self.up: Optional[Upstream] = None
        self.in_txn = False
        self.last = ("upstream", "ok")

    async def init(self, connection: Any) -> None:
        await super().init(connection)
        with self.rs._lock:
            self.rs._sessions.add(self)

    async def close(self) -> None:
        with self.rs._lock:
            self.rs._sessions.discard(self)
        if self.up is not None:
            up, self.up = self.up, None
            up.close()

    async def reset(self) -> None:
        """COM_CHANGE_USER: the new default database applies to a fresh upstream connection."""
        self.in_txn = False
        if self.up is not None:
            up, self.up = self.up, None
            up.close()

    async def use(self, database: str) -> None:
        try:
            await self._use(database)
        except SqlError as e:
            raise MysqlError(e.message, e.code) from None  # type: ignore[arg-type]

    # ------------------------------------------------------------------ dispatch
    async def execute(self, sql: str) -> Result:
        rs = self.rs
        rs.statements.append(sql)
        if rs.query_delay:
            await asyncio.sleep(rs.query_delay)
        stmt = _OPT_SEMI.sub("", sql.strip())
        for pattern, method in _HANDLERS:
            m = pattern.match(stmt)
            if m:
                result = await method(self, m)
                if result is not None:
                    return result
                break
        return await self._forward(sql, stmt)

    # ------------------------------------------------------------------ upstream
    def _upstream(self) -> Upstream:
        if self.up is None:
            self.up = Upstream(
                self.rs.upstream_host,
                self.rs.upstream_port,
                self.rs.upstream_user,
                self.rs.upstream_password,
                database=self.database,
                connect_timeout=3,
                read_timeout=60,
            )
        return self.up

    def _unreachable_error(self) -> SqlError:
        return SqlError(
            1105,
            "Error connecting to upstream database: Can't connect to MySQL server on "
            f"'{self.rs.upstream_host}:{self.rs.upstream_port}'",
        )

    async def _run_upstream(self, sql: str) -> Result:
        if self.rs.upstream_unreachable:
            raise self._unreachable_error()
        try:
            return await in_thread(self._upstream().run, sql)  # type: ignore[no-any-return]
        except SqlError as e:
            if e.code in (2003, 2006, 2013):
                raise SqlError(1105, f"Error during upstream query: {e.message}") from None
            raise

    async def _forward(self, sql: str, stmt: str) -> Result:
        rs = self.rs
        head = stmt[:16].lstrip("( \t\r\n").lower()
        cache: Optional[CacheInfo] = None
        key: Optional[str] = None
        if head.startswith(("select", "with")):
            key = rsql.shape_key(stmt, self.database)
            if key is not None and rs._caches:
                with rs._lock:
                    cache = rs._cache_by_key(key)
                if cache is not None and (rs.snapshotting() or (self.in_txn and not cache.always)):
                    cache = None
        if cache is not None:
            memo_key = (cache.query_id, sql)
            if rs.upstream_unreachable and memo_key in rs._memo:
                result: Result = rs._memo[memo_key]
            else:
                result = await self._run_upstream(sql)
                if isinstance(result, Rows) and len(rs._memo) < 5000:
                    rs._memo[memo_key] = result
            with rs._lock:
                rs.hits += 1
                cache.hits += 1
            self.last = ("readyset", "ok")
            return result
        with rs._lock:
            rs.proxied += 1
        if key is not None:
            k = rs._remember(stmt, self.database, decided=False)
            with rs._lock:
                k.count += 1
        elif head.startswith(("select", "with")):
            rs.parse_failures += 1
        low = stmt.lower()
        self.last = ("upstream", "ok")
        result = await self._run_upstream(sql)
        if re.match(r"^(begin|start\s+transaction)\b", low):
            self.in_txn = True
        elif re.match(r"^(commit|rollback)\b", low):
            self.in_txn = False
        return result

    async def _use(self, database: str) -> None:
        if not self.rs.upstream_unreachable:
            up = self._upstream()
            quoted = database.replace("`", "``")
            await in_thread(up.run, f"USE `{quoted}`")
            up.params["database"] = database
        self.database = database

    # ------------------------------------------------------------------ handlers
    async def h_use(self, m: re.Match[str]) -> Result:
        await self._use(split_ident(m.group(1)))
        with self.rs._lock:
            self.rs.proxied += 1
        return Ok()

    async def h_version_comment(self, m: re.Match[str]) -> Result:
        return Rows(["@@version_comment"], [["Readyset"]])

    async def h_status(self, m: re.Match[str]) -> Result:
        rs, era = self.rs, self.era
        reachable = await in_thread(rs._upstream_reachable)
        rows: list[list[str]] = [
            ["Database Connection", "Connected" if reachable else "Unreachable"],
            ["Connection Count", str(len(rs._sessions))],
            [era.status_row, rs.status_value()],
        ]
        if era.replication_status_row:
            rows.append(["Replication Status", "Stopped" if rs.snapshotting() else "Running"])
        completed = rs._completed_snapshot()
        if completed is not None:
            pos = 157 + 31 * (rs.hits + rs.proxied)
            rows.append(["Maximum Replication Offset", f"binlog.000001:{pos}"])
            rows.append(["Minimum Replication Offset", f"binlog.000001:{pos}"])
        rows.append(["Last started Controller", _ts(rs._started_at)])
        rows.append(["Last completed snapshot", _ts(completed)])
        rows.append(["Last started replication", _ts(completed)])
        if era.enabled_features_row:
            rows.append(["Enabled Features", "None"])
        return Rows(["Variable_name", "Value"], rows)

    async def h_status_adapter(self, m: re.Match[str]) -> Result:
        rs = self.rs
        ups = sum(1 for s in list(rs._sessions) if s.up is not None and s.up.conn is not None)
        return Rows(
            ["Variable_name", "Value"],
            [
                ["Connected clients count", str(len(rs._sessions))],
                ["Upstream database connection count", str(ups)],
                ["Query parse failures", str(rs.parse_failures)],
                ["SET statement disallowed count", "0"],
                ["View not found count", "0"],
                ["RPC error count", "0"],
                ["Process start time", _ts(rs._started_at)],
            ],
        )

    async def h_version(self, m: re.Match[str]) -> Result:
        era = self.era
        commit = hashlib.sha1(era.release.encode()).hexdigest()  # noqa: S324 - fake id
        return Rows(
            list(era.version_columns),
            [
                ["release version", era.release],
                ["commit id", commit],
                ["platform", "x86_64-unknown-linux-gnu"],
                ["rustc version", "rustc 1.77.0-nightly"],
                ["profile", "release"],
                ["optimization level", "3"],
            ],
        )

    async def h_tables(self, m: re.Match[str]) -> Result:
        rs = self.rs
        res = await self._run_upstream(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('information_schema','mysql','performance_schema','sys') "
            "ORDER BY table_schema, table_name"
        )
        word = "Snapshotting" if rs.snapshotting() else self.era.table_online_word
        rows = []
        for r in getattr(res, "rows", []):
            db, t = (x.decode() if isinstance(x, bytes) else str(x) for x in r)
            rows.append([f"`{db}`.`{t}`", word, ""])
        return Rows(["table", "status", "description"], rows)

    async def h_connections(self, m: re.Match[str]) -> Result:
        rows = []
        for s in list(self.rs._sessions):
            addr = f"{s.peer[0]}:{s.peer[1]}"
            two = len(self.era.connections_columns) == 2
            rows.append([addr, s.username or ""] if two else [addr])
        return Rows(list(self.era.connections_columns), rows)

    async def h_migration_status(self, m: re.Match[str]) -> Result:
        mid = int(m.group(1))
        status = self.rs._migrations.pop(mid, None)
        if status is None:
            raise SqlError(1105, f"Unknown migration: {mid}")
        return Rows(["Migration Status"], [[status]])

    async def h_explain_caches(self, m: re.Match[str]) -> Result:
        rows = [
            [f"CREATE CACHE {'ALWAYS ' if c.always else ''}{c.name} FROM {c.query}"]
            for c in self.rs.caches()
        ]
        return Rows([self.era.explain_caches_column], rows)

    async def h_explain_last(self, m: re.Match[str]) -> Result:
        return Rows(list(self.era.last_statement_columns), [list(self.last)])

    async def _resolve_inner(self, inner: str) -> tuple[str, Optional[str]]:
        """The SELECT text and schema of `FROM <select | query id>`."""
        inner = inner.strip()
        if re.fullmatch(r"`?[A-Za-z0-9_$]+`?", inner):
            qid = split_ident(inner)
            if not rsql.valid_query_id(qid):
                raise SqlError(1105, f"The provided query ID is invalid: {qid}")
            with self.rs._lock:
                known = self.rs._known.get(qid)
                cache = next((c for c in self.rs._caches.values() if c.query_id == qid), None)
            if known is not None:
                return known.sql, known.schema
            if cache is not None:
                return cache.source_sql, cache.schema
            raise SqlError(1105, f"No query known by id {qid}")
        return inner, self.database

    def _failure_error(self, v: rsql.Verdict) -> SqlError:
        if v.kind == "unsupported":
            return SqlError(
                1105,
                "Error during RPC (extend_recipe): Failed to plan migration: "
                f"Operation unsupported: {v.reason}",
            )
        return SqlError(1105, v.reason)

    async def h_explain(self, m: re.Match[str]) -> Optional[Result]:
        rs, era = self.rs, self.era
        kind = (m.group(1) or "").upper()
        if kind and not era.cache_type_keywords:
            return None
        if rs.fail_explain:
            raise SqlError(1105, rs.fail_explain)
        sql, schema = await self._resolve_inner(m.group(2))
        v = await in_thread(rs._verdict, sql, schema, kind == "SHALLOW")
        a = rsql.analyse(sql)
        if v.kind == "error" and (
            a.parse_error is not None
            or v.reason == rsql.PLACEHOLDER_ERROR
            or not era.explain_reasons
        ):
            raise SqlError(1105, v.reason)
        k = rs._remember(sql, schema, decided=True)
        with rs._lock:
            cached = rs._cache_by_key(k.key) is not None
        if cached:
            value = "cached"
        elif v.ok:
            value = "yes"
        else:
            value = f"no: {v.reason}" if era.explain_reasons else "no"
        self.last = ("readyset", "ok")
        return Rows(list(era.explain_columns), [[k.query_id, k.display, value]])

    async def h_create(self, m: re.Match[str]) -> Optional[Result]:
        rs, era = self.rs, self.era
        kind = (m.group(1) or "").upper()
        if kind and not era.cache_type_keywords:
            return None
        rest = m.group(2)
        always = concurrently = False
        name: Optional[str] = None
        ttl: Optional[int] = None
        while True:
            rest = rest.lstrip()
            mf = re.match(r"FROM\s+(.+)$", rest, re.I | re.S)
            if mf:
                inner = mf.group(1)
                break
            mp = re.match(r"POLICY\s+TTL\s+(\d+)\s+SECONDS?\b", rest, re.I)
            if mp and ttl is None and era.cache_type_keywords and name is None:
                ttl = int(mp.group(1))
                rest = rest[mp.end() :]
                continue
            mo = re.match(r"(ALWAYS|CONCURRENTLY)\b", rest, re.I)
            if mo and name is None:
                word = mo.group(1).upper()
                if (word == "ALWAYS" and always) or (word == "CONCURRENTLY" and concurrently):
                    return None
                always = always or word == "ALWAYS"
                concurrently = concurrently or word == "CONCURRENTLY"
                rest = rest[mo.end() :]
                continue
            mn = re.match(_NAME, rest)
            if mn and name is None:
                name = _name(mn.group(1))
                rest = rest[mn.end() :]
                continue
            return None  # unparseable: forwarded upstream
        if ttl is not None and kind != "SHALLOW":
            return None
        if kind == "SHALLOW" and ttl is None and era.shallow_needs_policy:
            raise SqlError(1105, "Internal error: Policy required for shallow cache")
        if rs.fail_create_cache:
            raise SqlError(1105, rs.fail_create_cache)
        sql, schema = await self._resolve_inner(inner)
        shallow = kind == "SHALLOW"
        v = await in_thread(rs._verdict, sql, schema, shallow)
        if not v.ok:
            if concurrently and v.kind == "unsupported":
                return self._migration(f"Failed with error {self._failure_error(v).message}")
            if v.kind == "unsupported":
                rs._remember(sql, schema, decided=True)
            raise self._failure_error(v)
        k = rs._remember(sql, schema, decided=True)
        cache = CacheInfo(
            name=name or k.query_id,
            query_id=k.query_id,
            schema=schema,
            query=k.display,
            always=always,
            cache_type="shallow" if shallow else "deep",
            ttl_seconds=ttl,
            key=k.key,
            source_sql=sql,
        )
        with rs._lock:
            same_key = rs._cache_by_key(k.key)
            if era.recreate_on_collision:
                for other in list(rs._caches.values()):
                    if other.key == k.key or other.name == cache.name:
                        del rs._caches[other.name]
                rs._caches[cache.name] = cache
            else:
                if cache.name in rs._caches:
                    del rs._caches[cache.name]
                    same_key = rs._cache_by_key(k.key)
                if same_key is None:
                    rs._caches[cache.name] = cache
                else:
                    cache = same_key  # registered as an alias of the existing cache
            rs._proxied.pop(k.query_id, None)
        self.last = ("readyset", "ok")
        if concurrently:
            return self._migration("Completed")
        if era.create_result_columns is not None:
            return Rows(
                list(era.create_result_columns),
                [[cache.query_id, cache.name, cache.query, cache.cache_type]],
            )
        return Ok()

    def _migration(self, status: str) -> Rows:
        rs = self.rs
        with rs._lock:
            mid = rs._next_migration
            rs._next_migration += 1
            rs._migrations[mid] = status
        return Rows(["Migration Id"], [[mid]], types=[LONGLONG])

    def _properties(self, c: CacheInfo) -> str:
        if not self.era.properties_column:
            return "no fallback" if c.always else "fallback allowed"
        parts = [c.cache_type]
        if c.always:
            parts.append("always")
        if c.cache_type == "shallow":
            parts.append(f"ttl {(c.ttl_seconds or 10) * 1000} ms")
            parts.append("coalesce 5000 ms")
        return ", ".join(parts)

    def _where_id(self, m: re.Match[str], first: int) -> Optional[str]:
        quoted = m.group(first) or m.group(first + 1)
        bare = m.group(first + 2)
        if bare is not None and not self.era.show_caches_bare_id:
            raise _Unparseable
        qid = quoted if quoted is not None else bare
        if qid is not None and not rsql.valid_query_id(qid):
            raise SqlError(1105, f"The provided query ID is invalid: {qid}")
        return qid

    async def h_show_caches(self, m: re.Match[str]) -> Optional[Result]:
        kind = (m.group(1) or "").lower()
        if kind and not self.era.drop_typed_caches:
            return None
        try:
            qid = self._where_id(m, 2)
        except _Unparseable:
            return None
        rows = []
        for c in self.rs.caches():
            if qid is not None and c.query_id != qid:
                continue
            if kind and c.cache_type != kind:
                continue
            rows.append([c.query_id, c.name, c.query, self._properties(c), str(c.hits)])
        return Rows(list(self.era.show_caches_columns), rows)

    async def h_show_proxied(self, m: re.Match[str]) -> Optional[Result]:
        rs, era = self.rs, self.era
        if m.group(2) and not era.drop_typed_caches:
            return None
        supported_only = bool(m.group(1))
        try:
            qid = self._where_id(m, 3)
        except _Unparseable:
            return None
        limit = int(m.group(6)) if m.group(6) else None
        with rs._lock:
            entries = list(rs._proxied.values())
        now = time.monotonic()

        def decide() -> list[tuple[int, int, list[Any]]]:
            out = []
            for k in entries:
                if qid is not None and k.query_id != qid:
                    continue
                if not k.decided and now - k.first_seen < rs.migration_interval:
                    value, rank = "pending", 2
                else:
                    v = rs._verdict(k.sql, k.schema)
                    if v.ok:
                        value, rank = "yes", 0
                    else:
                        value = f"unsupported: {v.reason}" if era.proxied_reasons else "unsupported"
                        rank = 1
                if supported_only and rank != 0:
                    continue
                out.append((rank, -k.count, [k.query_id, k.display, value, k.count]))
            return out

        decided = await in_thread(decide)
        decided.sort(key=lambda t: (t[0], t[1]))
        rows = [t[2] for t in decided]
        if limit is not None:
            rows = rows[:limit]
        return Rows(list(era.proxied_columns), rows, types=[253, 253, 253, LONGLONG])

    async def h_drop_cache(self, m: re.Match[str]) -> Result:
        target = _name(m.group(1))
        rs = self.rs
        with rs._lock:
            victim = rs._caches.get(target) or next(
                (c for c in rs._caches.values() if c.query_id == target), None
            )
            if victim is None:
                return Ok(affected_rows=0)
            del rs._caches[victim.name]
        return Ok(affected_rows=1)

    async def h_drop_all(self, m: re.Match[str]) -> Optional[Result]:
        kind = (m.group(1) or "").lower()
        if kind and not self.era.drop_typed_caches:
            return None
        rs = self.rs
        with rs._lock:
            for c in list(rs._caches.values()):
                if not kind or c.cache_type == kind:
                    del rs._caches[c.name]
        return Ok()

    async def h_drop_proxied(self, m: re.Match[str]) -> Result:
        with self.rs._lock:
            self.rs._proxied.clear()
        return Ok()

    async def h_maintenance(self, m: re.Match[str]) -> Optional[Result]:
        if self.era.status_maintenance is None:
            return None
        self.rs._maintenance = m.group(1).upper() == "ENTER"
        return Ok()

    async def h_alter_other(self, m: re.Match[str]) -> Optional[Result]:
        return Ok()


class _Unparseable(Exception):
    pass


_F = re.I | re.S
_HANDLERS: list[tuple[re.Pattern[str], Callable[..., Any]]] = [
    (re.compile(rf"^USE\s+({_IDENT})$", _F), ReadysetSession.h_use),
    (
        re.compile(r"^SELECT\s+@@version_comment(?:\s+LIMIT\s+1)?$", _F),
        ReadysetSession.h_version_comment,
    ),
    (re.compile(r"^SHOW\s+READYSET\s+STATUS$", _F), ReadysetSession.h_status),
    (re.compile(r"^SHOW\s+READYSET\s+STATUS\s+ADAPTER$", _F), ReadysetSession.h_status_adapter),
    (re.compile(r"^SHOW\s+READYSET\s+VERSION$", _F), ReadysetSession.h_version),
    (re.compile(r"^SHOW\s+READYSET\s+(ALL\s+)?TABLES$", _F), ReadysetSession.h_tables),
    (
        re.compile(r"^SHOW\s+READYSET\s+MIGRATION\s+STATUS\s+(\d+)$", _F),
        ReadysetSession.h_migration_status,
    ),
    (re.compile(r"^SHOW\s+CONNECTIONS$", _F), ReadysetSession.h_connections),
    (
        re.compile(
            rf"^SHOW\s+(?:(DEEP|SHALLOW)\s+)?CACHES(?:\s+WHERE\s+query_id\s*=\s*{_QID_LITERAL})?$",
            _F,
        ),
        ReadysetSession.h_show_caches,
    ),
    (
        re.compile(
            r"^SHOW\s+PROXIED\s+(SUPPORTED\s+)?(?:(DEEP|SHALLOW)\s+)?QUERIES"
            rf"(?:\s+WHERE\s+query_id\s*=\s*{_QID_LITERAL})?(?:\s+LIMIT\s+(\d+))?$",
            _F,
        ),
        ReadysetSession.h_show_proxied,
    ),
    (re.compile(r"^EXPLAIN\s+CACHES$", _F), ReadysetSession.h_explain_caches),
    (re.compile(r"^EXPLAIN\s+LAST\s+STATEMENT$", _F), ReadysetSession.h_explain_last),
    (
        re.compile(r"^EXPLAIN\s+CREATE\s+(?:(DEEP|SHALLOW)\s+)?CACHE\s+FROM\s+(.+)$", _F),
        ReadysetSession.h_explain,
    ),
    (re.compile(r"^CREATE\s+(?:(DEEP|SHALLOW)\s+)?CACHE\b(.*)$", _F), ReadysetSession.h_create),
    (re.compile(rf"^DROP\s+CACHE\s+{_NAME}$", _F), ReadysetSession.h_drop_cache),
    (re.compile(r"^DROP\s+ALL\s+(?:(DEEP|SHALLOW)\s+)?CACHES$", _F), ReadysetSession.h_drop_all),
    (re.compile(r"^DROP\s+ALL\s+PROXIED\s+QUERIES$", _F), ReadysetSession.h_drop_proxied),
    (
        re.compile(r"^ALTER\s+READYSET\s+(ENTER|EXIT)\s+MAINTENANCE\s+MODE$", _F),
        ReadysetSession.h_maintenance,
    ),
    (
        re.compile(
            r"^ALTER\s+READYSET\s+(?:RESNAPSHOT\s+TABLE|ADD\s+TABLES|SET\s+LOG\s+LEVEL)\s", _F
        ),
        ReadysetSession.h_alter_other,
    ),
]
