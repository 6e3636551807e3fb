"""The Readyset emulator: a MySQL-protocol server that answers Readyset's SQL extensions and
forwards everything else to the upstream MariaDB.

Per-release differences: the surface (columns, words, grammar) lives in :mod:`.eras`; which
cache a statement matches, per release and start-up flags, in :mod:`.profile` and
:mod:`.matching`; release-independent refusals in :mod:`.sql`. Behaviour notes (deliberate
approximations):

* A cache hit is *executed on the upstream* (so it returns exactly MariaDB's rows) and counted in
  ``hits``, in the cache's ``count`` (SHOW CACHES shows it where the release counts) and in
  ``executions``; while ``upstream_unreachable`` is set, a hit is answered from the last result
  remembered for that exact text, if any (a cache keeps serving when the upstream is down), else
  it fails like a forwarded query.
* Shallow caches keep one entry per key (the parameter values) for the cache's TTL: the first
  run of a key fills it (``readyset_then_upstream``, ``Execution.fill``), later runs are
  ``readyset_shallow``. Both are served by the cache.
* While a snapshot is in progress nothing is served from caches (everything is proxied).
  Maintenance mode only changes the status row.
* Reads inside a transaction (BEGIN / START TRANSACTION … COMMIT / ROLLBACK, or autocommit off)
  are served only from caches created with ALWAYS, or (stable-260528+ shallow) UNTIL WRITE until
  the transaction writes [cases 57-59].
* A statement whose deep form differs from a cache's only by table aliases is proxied until the
  views synchronizer has polled (``views_poll_seconds`` after it was first seen), then served
  [case 52].
* Statements that look like extensions but don't match the release's grammar are forwarded
  upstream, where MariaDB answers with its own 1064 syntax error — as real Readyset does.
* ``proxied`` counts every statement forwarded upstream that was not a cache hit (USE, SET, DML
  included); ``SHOW PROXIED QUERIES`` lists only SELECTs, each under Readyset's rewritten text and
  a deterministic id (same release, kind, database and text → same id on every host).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pymysql
from mysql_mimic.errors import MysqlError

from rps_sandbox.readyset import matching
from rps_sandbox.readyset import sql as rsql
from rps_sandbox.readyset.eras import ERAS, Era, era_for_release
from rps_sandbox.readyset.matching import TableMeta
from rps_sandbox.readyset.profile import Profile
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


@dataclass(frozen=True)
class Execution:
    """One statement the emulator answered by forwarding it or serving it from a cache."""

    sql: str
    schema: Optional[str]
    destination: str  # "cache" or "upstream"
    cache: Optional[str]  # the serving cache's name
    query_id: Optional[str]  # the id Readyset files the statement under
    at: float  # time.time()
    fill: bool = False  # shallow: this run (re)filled the entry from upstream


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
    key: str = ""  # identity: "<form kind>\0<database>\0<rewritten text>"
    source_sql: str = ""
    until_write: bool = False
    server_key: str = ""  # the server's form (aliases removed) [case 52]
    template: Optional[str] = None  # WITH (AUTOPARAM OFF): regex over the literal deep form
    entries: dict[object, float] = field(default_factory=dict)  # shallow key → expiry


@dataclass
class _Known:
    """One entry of the query status cache (EXPLAINed or proxied SELECTs)."""

    query_id: str
    kind: str  # "deep" | "shallow": which rewrite `display` is
    schema: Optional[str]
    sql: str
    display: str
    key: str
    first_seen: float = 0.0
    decided: bool = False
    status: Optional[str] = None  # shallow: remembered `yes` / `unsupported: …`


@dataclass
class _Match:
    cache: Optional[CacheInfo] = None
    query_id: Optional[str] = None  # the id of the statement's recorded form
    record: Optional[tuple[str, str]] = None  # (kind, text) to record when proxied
    pending: Optional[tuple[str, str]] = None  # TopK form left pending on a fallback hit
    entry: object = None  # shallow entry key


def _ts(t: Optional[float]) -> str:
    if t is None:
        return "NULL"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + " UTC"


_IDENT = r"(?:`(?:[^`]|``)+`|[A-Za-z0-9_$]+)"
_NAME = rf"({_IDENT}(?:\.{_IDENT})?)"
_QID_LITERAL = r"""(?:'([^']*)'|"([^"]*)"|([A-Za-z0-9_]+))"""


def _name(text: str) -> str:
    return ".".join(split_ident(p) for p in re.findall(_IDENT, text))


def _key(kind: str, schema: Optional[str], text: str) -> str:
    return f"{kind}\x00{schema or ''}\x00{text}"


_LITERAL_RE = r"(?:-?[0-9][0-9.eE+-]*|'(?:[^'\\]|\\.|'')*'|TRUE|FALSE|NULL)"


def _template(text: str) -> str:
    """A deep form with `$n` → a regex matching the same form with literals there [case 60]."""
    parts = re.split(r"\$\d+", text)
    return _LITERAL_RE.join(re.escape(p) for p in parts)


class Readyset:
    """An emulated Readyset adapter in front of a real MySQL/MariaDB upstream.

    ``release`` (a tag such as ``stable-250123``, or ``unknown-release-version`` for HEAD) picks
    the surface and the matching rules; without it ``era`` picks a representative release, deep
    mode. ``cache_mode`` None is the release's default (deep before stable-260331, then shallow);
    ``topk`` None is off.
    """

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
        release: Optional[str] = None,
        cache_mode: Optional[str] = None,
        topk: Optional[bool] = None,
        mixed_comparisons: bool = False,
        query_log_verbose: bool = False,
    ) -> None:
        if release is None:
            if era not in ERAS:
                raise ValueError(f"unknown era {era!r}; choose one of {sorted(ERAS)}")
            self.era: Era = ERAS[era]
            default_mode: Optional[str] = "deep"
        else:
            self.era = era_for_release(release)
            default_mode = None
        self.profile = Profile.make(
            self.era.release,
            cache_mode,
            topk,
            mixed_comparisons,
            query_log_verbose,
            default_mode=default_mode,
        )
        self.release = self.era.release
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
        self.fail_show_caches: Optional[str] = None
        self.migration_interval = 0.0  # proxied queries stay `pending` this long
        self.views_poll_seconds = 5.0  # the views synchronizer's poll [case 52]
        # inspection
        self.hits = 0
        self.proxied = 0
        self.statements: deque[str] = deque(maxlen=10000)
        self.executions: deque[Execution] = deque(maxlen=100000)
        # state
        self._lock = threading.RLock()
        self._caches: OrderedDict[str, CacheInfo] = OrderedDict()  # by name
        self._index: dict[str, CacheInfo] = {}  # by identity key
        self._server_index: dict[str, CacheInfo] = {}  # by the server's form
        self._known: OrderedDict[str, _Known] = OrderedDict()  # query status cache, by id
        self._proxied: OrderedDict[str, _Known] = OrderedDict()  # SHOW PROXIED QUERIES
        self._upstream_counts: dict[str, int] = {}  # per query id, proxied or filled
        self._cached_counts: dict[str, int] = {}  # per query id, served by a cache
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
        self._tables_cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._meta_cache: dict[str, tuple[float, dict[str, TableMeta]]] = {}
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
            self.executions.clear()

    # ------------------------------------------------------------------ inspection
    def caches(self) -> list[CacheInfo]:
        with self._lock:
            return [
                CacheInfo(
                    **{
                        k: dict(v) if isinstance(v, dict) else v
                        for k in c.__dataclass_fields__
                        for v in (getattr(c, k),)
                    }
                )
                for c in self._caches.values()
            ]

    def destination_of(self, sql: str) -> Optional[str]:
        """ "cache" or "upstream" for the latest execution of exactly `sql`; None if never run."""
        with self._lock:
            for e in reversed(self.executions):
                if e.sql == sql:
                    return e.destination
        return None

    def served_from_cache(self, sql: str) -> bool:
        return self.destination_of(sql) == "cache"

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
    def _meta_rows(self, sql: str) -> Optional[list[list[str]]]:
        if self.upstream_unreachable or self._meta is None:
            return None
        try:
            with self._meta_lock:
                res = self._meta.run(sql)
        except SqlError:
            return None
        return [
            [(x.decode() if isinstance(x, bytes) else str(x)) for x in r]
            for r in getattr(res, "rows", [])
        ]

    def _tables_of(self, schema: str) -> Optional[frozenset[str]]:
        """Tables of `schema` upstream (cached for a few seconds; stale copy if unreachable)."""
        now = time.monotonic()
        cached = self._tables_cache.get(schema)
        if cached is not None and (now - cached[0] < 3.0 or self.upstream_unreachable):
            return cached[1]
        esc = pymysql.converters.escape_string(schema)
        rows = self._meta_rows(
            "SELECT table_name FROM information_schema.tables "  # noqa: S608
            f"WHERE table_schema = '{esc}'"
        )
        if rows is None:
            return cached[1] if cached else frozenset()
        names = frozenset(r[0] for r in rows)
        self._tables_cache[schema] = (now, names)
        return names

    def _table_meta(self, schema: str, table: str) -> Optional[TableMeta]:
        """Columns and NOT NULL unique keys of one table (for the stable-260331+ rewrites)."""
        now = time.monotonic()
        cached = self._meta_cache.get(schema)
        if cached is None or (now - cached[0] >= 3.0 and not self.upstream_unreachable):
            esc = pymysql.converters.escape_string(schema)
            cols = self._meta_rows(
                "SELECT table_name, column_name FROM information_schema.columns "  # noqa: S608
                f"WHERE table_schema = '{esc}' ORDER BY table_name, ordinal_position"
            )
            keys = self._meta_rows(
                "SELECT s.table_name, s.index_name, s.column_name, c.is_nullable "  # noqa: S608
                "FROM information_schema.statistics s JOIN information_schema.columns c "
                "ON c.table_schema = s.table_schema AND c.table_name = s.table_name "
                "AND c.column_name = s.column_name "
                f"WHERE s.table_schema = '{esc}' AND s.non_unique = 0"
            )
            if cols is None or keys is None:
                return cached[1].get(table.lower()) if cached else None
            columns: dict[str, list[str]] = {}
            for t, c in cols:
                columns.setdefault(t.lower(), []).append(c)
            indexes: dict[tuple[str, str], set[str]] = {}
            nullable: set[tuple[str, str]] = set()
            for t, index, c, null in keys:
                indexes.setdefault((t.lower(), index), set()).add(c.lower())
                if null.upper() == "YES":
                    nullable.add((t.lower(), index))
            metas = {
                t: TableMeta(
                    tuple(cs),
                    tuple(
                        frozenset(ks)
                        for (kt, ki), ks in indexes.items()
                        if kt == t and (kt, ki) not in nullable
                    ),
                )
                for t, cs in columns.items()
            }
            cached = (now, metas)
            self._meta_cache[schema] = cached
        return cached[1].get(table.lower())

    def _deep(self, sql: str, schema: Optional[str], autoparam: bool = True) -> matching.Deep:
        meta = self._table_meta if self.profile.schema_aware_deep else None
        return matching.deep(sql, schema, self.profile, meta, autoparam)

    def _deep_verdict(self, d: matching.Deep, schema: Optional[str]) -> rsql.Verdict:
        if d.verdict.kind == "error":
            return d.verdict
        tv = rsql.table_verdict(d.tables, schema, self._tables_of, self.era.product)
        if tv.kind != "yes" and d.verdict.ok:
            return tv
        return d.verdict if not d.verdict.ok else tv

    def _upstream_reachable(self) -> bool:
        if self.upstream_unreachable:
            return False
        try:
            with socket.create_connection((self.upstream_host, self.upstream_port), timeout=0.5):
                return True
        except OSError:
            return False

    # ------------------------------------------------------------------ registry helpers
    def _id(self, kind: str, schema: Optional[str], text: str) -> str:
        return rsql.query_id(self.release, kind, schema, text)

    def _reindex(self) -> None:
        self._index = {c.key: c for c in reversed(self._caches.values())}
        self._server_index = {c.server_key: c for c in self._caches.values() if c.server_key}

    def _remember(
        self, kind: str, text: str, sql: str, schema: Optional[str], decided: bool
    ) -> _Known:
        key = _key(kind, schema, text)
        qid = self._id(kind, schema, text)
        with self._lock:
            k = self._known.get(qid)
            if k is None:
                k = _Known(qid, kind, schema, sql, text, key, time.monotonic(), decided)
                self._known[qid] = k
                while len(self._known) > 20000:
                    self._known.popitem(last=False)
            if decided:
                k.decided = True
            if key not in self._index:
                self._proxied[qid] = k
                while len(self._proxied) > 10000:
                    self._proxied.popitem(last=False)
        return k

    def _uses_shallow_forms(self) -> bool:
        p = self.profile
        return p.shallow_fully_parameterised and (
            p.shallow or any(c.key.startswith("shallow\x00") for c in self._caches.values())
        )

    def _match(self, sql: str, schema: Optional[str]) -> _Match:
        """Which cache serves `sql` run in `schema`, and what Readyset records for it."""
        p = self.profile
        m = _Match()
        if self._uses_shallow_forms():
            sh = matching.shallow(sql, schema, p)
            if sh.text:
                key = _key("shallow", schema, sh.text)
                if p.shallow:
                    m.record = ("shallow", sh.text)
                    m.query_id = self._id("shallow", schema, sh.text)
                cache = self._index.get(key)
                if cache is not None:
                    m.cache, m.entry = cache, sh.params
                    m.query_id = cache.query_id
                    return m
        if p.shallow_only:
            return m
        d = self._deep(sql, schema)
        if not d.forms:
            return m
        if m.record is None:
            m.record = ("deep", d.forms[0].text)
            m.query_id = self._id("deep", schema, d.forms[0].text)
        for i, form in enumerate(d.forms):
            cache = self._index.get(_key("deep", schema, form.text))
            if cache is not None:
                m.cache, m.entry = cache, sql.strip()
                m.query_id = cache.query_id
                if i > 0:
                    m.pending = ("deep", d.forms[0].text)
                return m
        templated = [c for c in self._caches.values() if c.template and c.schema == schema]
        if templated:
            literal = self._deep(sql, schema, autoparam=False).forms[-1].text
            for c in templated:
                assert c.template is not None
                if re.fullmatch(c.template, literal):
                    m.cache, m.entry, m.query_id = c, sql.strip(), c.query_id
                    return m
        cache = self._server_index.get(_key("deep", schema, d.server_text))
        if cache is not None:
            # pending statements are matched through the server's rewrite once polled [52]
            known = self._known.get(self._id("deep", schema, d.forms[0].text))
            if known is not None and time.monotonic() - known.first_seen >= self.views_poll_seconds:
                m.cache, m.entry, m.query_id = cache, sql.strip(), cache.query_id
        return m


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
        self.autocommit = True
        self.txn_wrote = False
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
        self.autocommit = True
        self.txn_wrote = False
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

    def _in_transaction(self) -> bool:
        return self.in_txn or not self.autocommit

    def _eligible(self, cache: CacheInfo) -> bool:
        """May `cache` serve this session now (snapshot, transaction policy) [57-59]?"""
        rs = self.rs
        if rs.snapshotting():
            return False
        if not self._in_transaction() or cache.always:
            return True
        shallow_policies = rs.profile.date >= 260528 and cache.cache_type == "shallow"
        return shallow_policies and cache.until_write and not self.txn_wrote

    def _record(self, sql: str, destination: str, m: Optional[_Match], fill: bool) -> None:
        rs = self.rs
        cache = m.cache if (m is not None and destination == "cache") else None
        rs.executions.append(
            Execution(
                sql=sql,
                schema=self.database,
                destination=destination,
                cache=cache.name if cache is not None else None,
                query_id=m.query_id if m is not None else None,
                at=time.time(),
                fill=fill,
            )
        )

    async def _forward(self, sql: str, stmt: str) -> Result:
        rs = self.rs
        head = stmt[:16].lstrip("( \t\r\n").lower()
        m: Optional[_Match] = None
        if head.startswith(("select", "with")):
            m = await in_thread(rs._match, stmt, self.database)
            if m.cache is not None and not self._eligible(m.cache):
                m.cache = None
        if m is not None and m.cache is not None:
            return await self._serve(sql, stmt, m)
        with rs._lock:
            rs.proxied += 1
            self._record(sql, "upstream", m, False)
        if m is not None and m.record is not None:
            kind, text = m.record
            k = rs._remember(kind, text, stmt, self.database, decided=False)
            with rs._lock:
                rs._upstream_counts[k.query_id] = rs._upstream_counts.get(k.query_id, 0) + 1
        elif head.startswith(("select", "with")):
            rs.parse_failures += 1
        low = stmt.lower()
        self.last = ("upstream", "ok")
        result = await self._run_upstream(sql)
        if re.match(r"^(begin|start\s+transaction)\b", low):
            self.in_txn = True
            self.txn_wrote = False
        elif re.match(r"^(commit|rollback)\b", low):
            self.in_txn = False
            self.txn_wrote = False
        elif re.match(r"^(insert|update|delete|replace)\b", low) and self._in_transaction():
            self.txn_wrote = True
        else:
            ma = re.match(r"^set\s+(?:@@(?:session\.)?|session\s+)?autocommit\s*=\s*(\w+)$", low)
            if ma:
                self.autocommit = ma.group(1) in ("1", "on", "true")
                if self.autocommit:
                    self.txn_wrote = False
        return result

    async def _serve(self, sql: str, stmt: str, m: _Match) -> Result:
        rs = self.rs
        cache = m.cache
        assert cache is not None
        fill = False
        if cache.cache_type == "shallow":
            now = time.monotonic()
            with rs._lock:
                expiry = cache.entries.get(m.entry)
                fill = expiry is None or expiry <= now
                if fill:
                    cache.entries[m.entry] = now + (cache.ttl_seconds or 10)
            self.last = ("readyset_then_upstream" if fill else "readyset_shallow", "ok")
        else:
            self.last = ("readyset", "ok")
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
            counts = rs._upstream_counts if fill else rs._cached_counts
            counts[cache.query_id] = counts.get(cache.query_id, 0) + 1
            self._record(sql, "cache", m, fill)
        if m.pending is not None:
            rs._remember(m.pending[0], m.pending[1], stmt, self.database, decided=False)
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
            rows.append(["Enabled Features", rs.profile.enabled_features()])
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

    async def _resolve_inner(self, inner: str) -> tuple[str, Optional[str], Optional[_Known]]:
        """The SELECT text and schema of `FROM <select | query id>` (and the id's entry)."""
        inner = inner.strip()
        if re.fullmatch(r"`?[A-Za-z0-9_$]+`?", inner):
            qid = split_ident(inner)
            if not rsql.valid_query_id(qid):
                raise SqlError(1105, f"The provided query ID is invalid: {qid}")
            with self.rs._lock:
                known = self.rs._known.get(qid)
                cache = next((c for c in self.rs._caches.values() if c.query_id == qid), None)
            if known is not None:
                return known.sql, known.schema, known
            if cache is not None:
                return cache.source_sql, cache.schema, None
            raise SqlError(1105, f"No query known by id {qid}")
        return inner, self.database, None

    def _failure_error(self, v: rsql.Verdict) -> SqlError:
        if v.kind == "unsupported":
            return SqlError(
                1105,
                "Error during RPC (extend_recipe): Failed to plan migration: "
                f"Operation unsupported: {v.reason}",
            )
        return SqlError(1105, v.reason)

    def _kind(self, keyword: str, known: Optional[_Known]) -> str:
        """ "deep" or "shallow": the keyword, else the id's kind, else the mode's default."""
        if keyword:
            kind = keyword.lower()
        elif known is not None:
            kind = known.kind
        else:
            kind = self.rs.profile.cache_mode
        if kind == "deep" and self.rs.profile.shallow_only:
            raise SqlError(1105, "Operation unsupported: shallow-only mode")
        return kind

    async def _probe(self, sh: matching.Shallow) -> Optional[str]:
        """Can the upstream PREPARE the statement? None if so, else its error [56]."""
        text = pymysql.converters.escape_string(sh.probe)
        try:
            await self._run_upstream(f"PREPARE rs_probe FROM '{text}'")
        except SqlError as e:
            return f"ERROR {e.code}: {e.message}"
        await self._run_upstream("DEALLOCATE PREPARE rs_probe")
        return None

    async def _shallow_support(self, sh: matching.Shallow) -> Optional[str]:
        if not sh.verdict.ok:
            return sh.verdict.reason
        return await self._probe(sh)

    async def h_explain(self, m: re.Match[str]) -> Optional[Result]:
        rs, era, p = self.rs, self.era, self.rs.profile
        keyword = (m.group(1) or "").upper()
        if keyword and not era.cache_type_keywords:
            return None
        if rs.fail_explain:
            raise SqlError(1105, rs.fail_explain)
        sql, schema, known = await self._resolve_inner(m.group(2))
        kind = self._kind(keyword, known)
        if kind == "shallow" and p.shallow_fully_parameterised:
            sh = await in_thread(matching.shallow, sql, schema, p)
            if not sh.text:
                raise SqlError(1105, sh.verdict.reason)
            k = rs._remember("shallow", sh.text, sql, schema, decided=True)
            if k.key in rs._index:
                value = "cached"
            else:
                failure = await self._shallow_support(sh)
                value = "yes" if failure is None else f"no: {failure}"
            self.last = ("readyset", "ok")
            return Rows(list(era.explain_columns), [[k.query_id, k.display, value]])
        d = await in_thread(rs._deep, sql, schema)
        v = await in_thread(rs._deep_verdict, d, schema)
        if kind == "shallow" and v.kind == "unsupported" and not _shallow_refuses(v.reason):
            v = rsql.YES
        if v.kind == "error" and (
            not d.forms or v.reason == rsql.PLACEHOLDER_ERROR or not era.explain_reasons
        ):
            raise SqlError(1105, v.reason)
        k = rs._remember("deep", d.text, sql, schema, decided=True)
        if k.key in rs._index:
            value = "cached"
        elif v.ok:
            value = "yes"
        else:
            value = f"no: {v.reason}" if era.explain_reasons else "no"
        self.last = ("readyset", "ok")
        return Rows(list(era.explain_columns), [[k.query_id, k.display, value]])

    async def h_create(self, m: re.Match[str]) -> Optional[Result]:
        rs, era, p = self.rs, self.era, self.rs.profile
        keyword = (m.group(1) or "").upper()
        if keyword and not era.cache_type_keywords:
            return None
        rest = m.group(2)
        always = concurrently = until_write = False
        autoparam = True
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
            mu = re.match(r"UNTIL\s+WRITE\b", rest, re.I)
            if mu and name is None and p.date >= 260528 and not (always or until_write):
                until_write = True
                rest = rest[mu.end() :]
                continue
            mo = re.match(r"(ALWAYS|CONCURRENTLY)\b", rest, re.I)
            if mo and name is None:
                word = mo.group(1).upper()
                if (word == "ALWAYS" and (always or until_write)) or (
                    word == "CONCURRENTLY" and concurrently
                ):
                    return None
                always = always or word == "ALWAYS"
                concurrently = concurrently or word == "CONCURRENTLY"
                rest = rest[mo.end() :]
                continue
            mw = re.match(r"WITH\s*\(([^)]*)\)", rest, re.I)
            if mw and p.date >= 260528:
                for option in (o.strip().upper() for o in mw.group(1).split(",")):
                    if re.fullmatch(r"AUTOPARAM\s*(=\s*)?OFF", option) and p.autoparam_option:
                        autoparam = False
                    elif re.fullmatch(r"AUTOPARAM\s*(=\s*)?ON", option) and p.autoparam_option:
                        pass
                    elif option == "ALWAYS" and not until_write:
                        always = True
                    elif re.fullmatch(r"UNTIL\s+WRITE", option) and not always:
                        until_write = True
                    else:
                        return None
                rest = rest[mw.end() :]
                continue
            mn = re.match(_NAME, rest)
            if mn and name is None:
                name = _name(mn.group(1))
                rest = rest[mn.end() :]
                continue
            return None  # unparseable: forwarded upstream
        if ttl is not None and keyword != "SHALLOW":
            return None
        if keyword == "SHALLOW" and ttl is None and era.shallow_needs_policy:
            raise SqlError(1105, "Internal error: Policy required for shallow cache")
        if rs.fail_create_cache:
            raise SqlError(1105, rs.fail_create_cache)
        sql, schema, known = await self._resolve_inner(inner)
        kind = self._kind(keyword, known)
        if kind == "shallow" and p.shallow_fully_parameterised:
            sh = await in_thread(matching.shallow, sql, schema, p)
            if not sh.text:
                raise SqlError(1105, sh.verdict.reason)
            failure = await self._shallow_support(sh)
            if failure is not None:
                raise SqlError(1105, f"Operation unsupported: {failure}")
            k = rs._remember("shallow", sh.text, sql, schema, decided=True)
            cache = CacheInfo(
                name=name or k.query_id,
                query_id=k.query_id,
                schema=schema,
                query=k.display,
                always=always,
                cache_type="shallow",
                ttl_seconds=ttl,
                key=k.key,
                source_sql=sql,
                until_write=until_write,
            )
        else:
            d = await in_thread(rs._deep, sql, schema, autoparam)
            v = await in_thread(rs._deep_verdict, d, schema)
            if kind == "shallow" and v.kind == "unsupported" and not _shallow_refuses(v.reason):
                v = rsql.YES
            if not v.ok:
                if concurrently and v.kind == "unsupported":
                    return self._migration(f"Failed with error {self._failure_error(v).message}")
                if v.kind == "unsupported":
                    rs._remember("deep", d.text, sql, schema, decided=True)
                raise self._failure_error(v)
            k = rs._remember("deep", d.text, sql, schema, decided=True)
            cache = CacheInfo(
                name=name or k.query_id,
                query_id=k.query_id,
                schema=schema,
                query=k.display,
                always=always,
                cache_type=kind,
                ttl_seconds=ttl,
                key=k.key,
                source_sql=sql,
                until_write=until_write,
                server_key=_key("deep", schema, d.server_text) if autoparam else "",
                template=None if autoparam else _template(d.text),
            )
        with rs._lock:
            same_key = rs._index.get(k.key)
            if era.recreate_on_collision:
                for other in list(rs._caches.values()):
                    if other.key == k.key or other.name == cache.name:
                        del rs._caches[other.name]
                rs._caches[cache.name] = cache
            else:
                if cache.name in rs._caches:
                    del rs._caches[cache.name]
                    rs._reindex()
                    same_key = rs._index.get(k.key)
                if same_key is None:
                    rs._caches[cache.name] = cache
                else:
                    cache = same_key  # registered as an alias of the existing cache
            rs._reindex()
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
        rs = self.rs
        if rs.fail_show_caches:
            raise SqlError(1105, rs.fail_show_caches)
        kind = (m.group(1) or "").lower()
        if kind and not self.era.drop_typed_caches:
            return None
        try:
            qid = self._where_id(m, 2)
        except _Unparseable:
            return None
        rows = []
        for c in rs.caches():
            if qid is not None and c.query_id != qid:
                continue
            if kind and c.cache_type != kind:
                continue
            count = rs._cached_counts.get(c.query_id, 0) if rs.profile.cache_counts else 0
            rows.append([c.query_id, c.name, c.query, self._properties(c), str(count)])
        return Rows(list(self.era.show_caches_columns), rows)

    async def h_show_proxied(self, m: re.Match[str]) -> Optional[Result]:
        rs, era, p = self.rs, self.era, self.rs.profile
        if m.group(2) and not p.shallow_fully_parameterised:
            return None
        kind = (m.group(2) or "").lower() or (
            "shallow" if p.shallow and p.shallow_fully_parameterised else "deep"
        )
        supported_only = bool(m.group(1))
        try:
            qid = self._where_id(m, 3)
        except _Unparseable:
            return None
        limit = int(m.group(6)) if m.group(6) else None
        with rs._lock:
            entries = [k for k in rs._proxied.values() if k.kind == kind]
        now = time.monotonic()

        def decide() -> list[tuple[int, int, list[Any]]]:
            out = []
            for k in entries:
                if qid is not None and k.query_id != qid:
                    continue
                count = rs._upstream_counts.get(k.query_id, 0) if p.proxied_counts else 0
                if not k.decided and now - k.first_seen < rs.migration_interval:
                    value, rank = "pending", 2
                else:
                    if k.kind == "shallow":
                        sh = matching.shallow(k.sql, k.schema, p)
                        v = sh.verdict
                    else:
                        v = rs._deep_verdict(rs._deep(k.sql, k.schema), k.schema)
                    if v.ok:
                        value, rank = "yes", 0
                    else:
                        value = f"unsupported: {v.reason}" if era.proxied_reasons else "unsupported"
                        rank = 1
                if supported_only and rank != 0:
                    continue
                out.append((rank, -count, [k.query_id, k.display, value, count]))
            return out

        decided = await in_thread(decide)
        decided.sort(key=lambda t: (t[0], t[1]))
        rows = [t[2] for t in decided]
        if limit is not None:
            rows = rows[:limit]
        return Rows(list(era.proxied_columns), rows, types=[253, 253, 253, LONGLONG])

    async def h_query_stats(self, m: re.Match[str]) -> Optional[Result]:
        """``readyset.upstream_query_stats`` / ``readyset.cached_query_stats`` (stable-260423+)."""
        rs = self.rs
        if not rs.profile.live_counts:
            return None
        wanted = [c.strip().strip("`").lower() for c in m.group(1).split(",")]
        if wanted == ["*"]:
            wanted = list(_STATS_COLUMNS)
        if any(c not in _STATS_COLUMNS for c in wanted):
            return None
        counts = rs._upstream_counts if m.group(2).lower() == "upstream" else rs._cached_counts
        qid = m.group(3)
        with rs._lock:
            texts = {k.query_id: k.display for k in rs._known.values()}
            texts.update({c.query_id: c.query for c in rs._caches.values()})
            items = sorted(counts.items())
        rows = []
        for query_id, n in items:
            if n == 0 or (qid is not None and query_id != qid):
                continue
            values = dict.fromkeys(_STATS_COLUMNS, 0)
            values.update(query_id=query_id, query=texts.get(query_id, ""), total_count=n)
            rows.append([values[c] for c in wanted])
        types = [253 if c in ("query_id", "query") else LONGLONG for c in wanted]
        return Rows(wanted, rows, types=types)

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
            rs._reindex()
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
            rs._reindex()
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


_STATS_COLUMNS = (
    "query_id",
    "query",
    "total_count",
    "total_us",
    "avg_us",
    "min_us",
    "max_us",
    "p50_us",
    "p90_us",
    "p95_us",
    "p99_us",
    "p999_us",
    "last_executed_s",
)


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
    (
        re.compile(
            r"^SELECT\s+(.+?)\s+FROM\s+`?readyset`?\.`?(upstream|cached)_query_stats`?"
            r"(?:\s+WHERE\s+query_id\s*=\s*'([^']*)')?$",
            _F,
        ),
        ReadysetSession.h_query_stats,
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
