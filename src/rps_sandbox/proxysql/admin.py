"""The Admin module of the ProxySQL emulator: SQLite layers and admin statement handling.

All SQLite work happens on one dedicated thread (like ProxySQL's admin thread); sessions hop to
it with `run_in_executor`. The runtime state lives in `Runtime` (see runtime.py).
"""

from __future__ import annotations

import itertools
import os
import re
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Optional

from ..wire import Ok, Rows, SqlError
from . import schema
from .runtime import STATUSES, Rule, Runtime, Server

_IDS = itertools.count(1)

_WS = re.compile(r"\s+")

# ---- LOAD / SAVE aliases (exact, case-insensitive, after normalisation) -------------------------
MODULES = (
    "MYSQL SERVERS",
    "MYSQL USERS",
    "MYSQL QUERY RULES",
    "MYSQL VARIABLES",
    "ADMIN VARIABLES",
    "SCHEDULER",
)
_SPELLINGS = {
    "mem_to_runtime": (
        "LOAD {} TO RUNTIME",
        "LOAD {} TO RUN",
        "LOAD {} FROM MEMORY",
        "LOAD {} FROM MEM",
    ),
    "runtime_to_mem": (
        "SAVE {} TO MEMORY",
        "SAVE {} TO MEM",
        "SAVE {} FROM RUNTIME",
        "SAVE {} FROM RUN",
    ),
    "disk_to_mem": ("LOAD {} TO MEMORY", "LOAD {} TO MEM", "LOAD {} FROM DISK"),
    "mem_to_disk": ("SAVE {} FROM MEMORY", "SAVE {} FROM MEM", "SAVE {} TO DISK"),
}
LOAD_SAVE: dict[str, tuple[str, str]] = {
    spelling.format(module): (module, op)
    for module in MODULES
    for op, spellings in _SPELLINGS.items()
    for spelling in spellings
}

TRUNCATES = {
    f"TRUNCATE {table_kw}{db}STATS_MYSQL_QUERY_DIGEST{suffix}"
    for table_kw in ("", "TABLE ")
    for db in ("", "STATS.")
    for suffix in ("", "_RESET")
}

_OK_PROBES = re.compile(
    r"^(BEGIN|COMMIT|ROLLBACK|START TRANSACTION|SET NAMES\b.*|SET AUTOCOMMIT\b.*|"
    r"SET CHARACTER SET\b.*|SET (SESSION |LOCAL |GLOBAL )?[A-Z_@.]+ ?=.*|USE .*)$",
    re.IGNORECASE | re.DOTALL,
)
_SET_VAR = re.compile(r"^SET\s+([A-Za-z0-9_]+-[A-Za-z0-9_\-]+)\s*=\s*(.*)$", re.DOTALL)


def normalize(sql: str) -> str:
    text = _WS.sub(" ", sql).strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    return text


def first_statement(sql: str) -> str:
    """Only the first SQL statement of a multi-statement text (SQLite prepare without tail)."""
    if ";" not in sql:
        return sql
    pos = sql.find(";")
    while pos != -1:
        head = sql[: pos + 1]
        if sqlite3.complete_statement(head):
            return head
        pos = sql.find(";", pos + 1)
    return sql


def parse_credentials(text: Optional[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (text or "").split(";"):
        if ":" in part:
            user, _, password = part.partition(":")
            if user and user not in out:
                out[user] = password
    return out


def _admin_error(e: Exception) -> SqlError:
    message = str(e)
    if "database is locked" in message:
        return SqlError(1205, f"ProxySQL Admin Error: {message}", "HY000")
    return SqlError(1045, f"ProxySQL Admin Error: {message}", "28000")


class Admin:
    """SQLite layers (main / disk / stats) plus the command interpreter."""

    def __init__(self, datadir: Path, runtime: Runtime, on_change: Callable[[str], None]) -> None:
        self.datadir = Path(datadir)
        self.rt = runtime
        self.on_change = on_change  # told which module was loaded to runtime
        self.statements: list[str] = []
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="proxysql-admin")
        self.db_path = self.datadir / "proxysql.db"
        self.conn: Optional[sqlite3.Connection] = None
        self.stats_conn: Optional[sqlite3.Connection] = None
        self._stats_uri = (
            f"file:rps_proxysql_stats_{os.getpid()}_{next(_IDS)}?mode=memory&cache=shared"
        )
        self._keepalive: Optional[sqlite3.Connection] = None
        self.lock = threading.Lock()

    # ---- lifecycle ---
    def open(self, defaults: dict[str, str]) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        fresh = not self.db_path.exists()
        # Keeps the shared in-memory stats DB alive for the lifetime of this Admin.
        self._keepalive = sqlite3.connect(self._stats_uri, uri=True, check_same_thread=False)
        conn = sqlite3.connect(
            "file::memory:", uri=True, check_same_thread=False, isolation_level=None
        )
        conn.execute("ATTACH DATABASE ? AS disk", (str(self.db_path),))
        conn.execute("ATTACH DATABASE ? AS stats", (self._stats_uri,))
        for stmt in (
            schema.create_statements("main", schema.MAIN_TABLES)
            + schema.create_statements("disk", schema.DISK_TABLES)
            + schema.create_statements("stats", schema.STATS_TABLES)
        ):
            conn.execute(stmt)
        self.conn = conn
        stats = sqlite3.connect(
            "file::memory:", uri=True, check_same_thread=False, isolation_level=None
        )
        stats.execute("ATTACH DATABASE ? AS stats", (self._stats_uri,))
        stats.execute("PRAGMA query_only = ON")
        self.stats_conn = stats

        # Built-in defaults (what ProxySQL has before reading any configuration).
        conn.executemany(
            "INSERT OR REPLACE INTO main.global_variables VALUES (?, ?)",
            sorted(defaults.items()),
        )
        if fresh:
            # First start: the in-memory configuration is written to the new database file.
            self._copy_tables("main", "disk", schema.DISK_TABLES)
        else:
            # Startup: disk -> memory (INSERT OR REPLACE), then memory -> runtime.
            conn.execute("BEGIN")
            for table in schema.DISK_TABLES:
                conn.execute(
                    f"INSERT OR REPLACE INTO main.{table} SELECT * FROM disk.{table}"  # noqa: S608
                )
            conn.execute("COMMIT")
        for module in MODULES:
            self.mem_to_runtime(module)

    def close(self) -> None:
        def _close() -> None:
            for c in (self.stats_conn, self.conn, self._keepalive):
                if c is not None:
                    c.close()

        try:
            self.executor.submit(_close).result(timeout=10)
        finally:
            self.executor.shutdown(wait=True)

    def call(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run `func` on the admin thread and wait for it (for synchronous callers)."""
        return self.executor.submit(func, *args).result()

    # ---- entry point ---
    def handle(self, sql: str, role: str) -> Ok | Rows:
        self.statements.append(sql)
        norm = normalize(sql)
        upper = norm.upper()
        probe = self._probe(norm, upper, role)
        if probe is not None:
            return probe
        if role == "admin":
            cmd = LOAD_SAVE.get(upper)
            if cmd is not None:
                return self._load_save(*cmd)
            if upper in TRUNCATES:
                self.rt.digest_rows(reset=True)
                self._write_digests("stats_mysql_query_digest", [], clear_both=True)
                return Ok()
            if upper == "SAVE MYSQL DIGEST TO DISK":
                rows = self.rt.digest_rows(reset=True)
                return Ok(affected_rows=len(rows))
            if upper.startswith("SET "):
                return self._set(norm)
        return self._sql(sql, role)

    # ---- probes ---
    def _probe(self, norm: str, upper: str, role: str) -> Ok | Rows | None:
        if upper == "SELECT @@VERSION_COMMENT LIMIT 1":
            return Rows(["@@version_comment"], [["(ProxySQL Admin Module)"]])
        if upper == "SELECT @@VERSION":
            return Rows(["@@version"], [[self.rt.var("admin-version")]])
        if upper in ("SELECT DATABASE()", "SELECT SCHEMA()"):
            return Rows(["DATABASE()"], [["admin" if role == "admin" else "stats"]])
        if upper in ("SHOW DATABASES", "SHOW SCHEMAS"):
            return self._sql("PRAGMA DATABASE_LIST", role, bypass=True)
        m = re.match(r"^SHOW TABLES(?: (?:FROM|IN) (\w+))?$", norm, re.IGNORECASE)
        if m:
            db = m.group(1) or ("main" if role == "admin" else "stats")
            return self._sql(
                f"SELECT name AS tables FROM {db}.sqlite_master WHERE type='table' "  # noqa: S608
                "AND name NOT IN ('sqlite_sequence') ORDER BY name",
                role,
                bypass=True,
            )
        m = re.match(r"^SHOW CREATE TABLE (?:(\w+)\.)?`?(\w+)`?$", norm, re.IGNORECASE)
        if m:
            db = m.group(1) or ("main" if role == "admin" else "stats")
            return self._sql(
                f"SELECT name AS 'table', sql AS 'Create Table' FROM {db}.sqlite_master "  # noqa: S608
                f"WHERE type='table' AND name='{m.group(2)}'",
                role,
                bypass=True,
            )
        if upper in ("SHOW VARIABLES", "SHOW GLOBAL VARIABLES"):
            return self._sql(
                "SELECT variable_name AS Variable_name, variable_value AS Value "
                "FROM global_variables ORDER BY variable_name",
                role,
            )
        if _SET_VAR.match(norm) and role == "admin":
            return None  # a ProxySQL variable: handled by _set
        if _OK_PROBES.match(norm):
            return Ok()
        return None

    # ---- SET <var> = <value> ---
    def _set(self, norm: str) -> Ok | Rows:
        m = _SET_VAR.match(norm)
        if m is None:
            return Ok()
        name, value = m.group(1), m.group(2).strip()
        if name == "mysql-init_connect":
            raise SqlError(1045, "ProxySQL Admin Error: mysql-init_connect cannot be set", "28000")
        assert self.conn is not None
        exists = self.conn.execute(
            "SELECT 1 FROM main.global_variables WHERE variable_name = ?", (name,)
        ).fetchone()
        if not exists:
            # ProxySQL answers an OK whose info text is "ERROR: Unknown global variable: '<name>'."
            return Ok(info=f"ERROR: Unknown global variable: '{name}'.")
        rewritten = (
            f"UPDATE global_variables SET variable_value={value} "  # noqa: S608
            f"WHERE variable_name='{name}'"
        )
        return self._sql(rewritten, "admin", bypass=True)

    # ---- plain SQL ---
    def _sql(self, sql: str, role: str, bypass: bool = False) -> Ok | Rows:
        conn = self.conn if role == "admin" else self.stats_conn
        assert conn is not None
        if role != "admin":
            head = normalize(sql).upper()
            if head.startswith("PRAGMA") and not bypass or head.startswith("ATTACH"):
                raise SqlError(
                    1045, "ProxySQL Admin Error: command not allowed for stats users", "28000"
                )
        if not bypass:
            self.refresh(sql, role)
        stmt = first_statement(sql)
        read_only = role == "admin" and self.rt.var_bool("admin-read_only")
        try:
            if read_only:
                conn.execute("PRAGMA query_only = ON")
            cur = conn.execute(stmt)
            if cur.description is not None:
                columns = [d[0] for d in cur.description]
                rows = cur.fetchall()
                cur.close()
                return Rows(columns, rows)
            changes = cur.rowcount
            cur.close()
            return Ok(affected_rows=max(changes, 0))
        except (sqlite3.Error, sqlite3.Warning) as e:
            raise _admin_error(e) from None
        finally:
            if read_only:
                conn.execute("PRAGMA query_only = OFF")

    # ---- regeneration of runtime_* / stats_* tables ---
    def refresh(self, sql: str, role: str) -> None:
        low = sql.lower()
        if "runtime_" in low and role == "admin":
            if "runtime_mysql_servers" in low:
                self._write("main.runtime_mysql_servers", self._runtime_server_rows(shunned=True))
            if "runtime_mysql_users" in low:
                self._write("main.runtime_mysql_users", self._runtime_user_rows())
            if "runtime_mysql_query_rules" in low:
                self._write("main.runtime_mysql_query_rules", self._runtime_rule_rows())
            if "runtime_mysql_query_rules_fast_routing" in low:
                self._write(
                    "main.runtime_mysql_query_rules_fast_routing",
                    self._fast_routing_rows(),
                )
            if "runtime_scheduler" in low:
                self._write("main.runtime_scheduler", self._scheduler_rows())
        if "global_variables" in low:
            with self.rt.lock:
                values = sorted(self.rt.variables.items())
            if role == "admin":
                self._write("main.runtime_global_variables", values)
            self._write("stats.global_variables", values)
        if "stats_mysql_query_digest" in low:
            self._refresh_digests(low)
        if "stats_mysql_query_rules" in low:
            self._write(
                "stats.stats_mysql_query_rules", [(r.rule_id, r.hits) for r in self.rt.rules]
            )
        if "stats_mysql_connection_pool" in low:
            reset = "stats_mysql_connection_pool_reset" in low
            rows = self._pool_rows(reset=reset)
            self._write("stats.stats_mysql_connection_pool", rows)
            if reset:
                self._write("stats.stats_mysql_connection_pool_reset", rows)

    def _refresh_digests(self, low: str) -> None:
        mentions_reset = "stats_mysql_query_digest_reset" in low
        mentions_plain = "stats_mysql_query_digest" in low.replace(
            "stats_mysql_query_digest_reset", ""
        )
        rows = self.rt.digest_rows(reset=mentions_reset)
        if mentions_reset:
            self._write_digests("stats_mysql_query_digest_reset", rows, clear_both=True)
            if mentions_plain:
                self._write_digests("stats_mysql_query_digest", rows, clear_both=False)
        else:
            self._write_digests("stats_mysql_query_digest", rows, clear_both=True)

    def _write_digests(self, table: str, rows: list[tuple[Any, ...]], clear_both: bool) -> None:
        conn = self.conn
        assert conn is not None
        conn.execute("BEGIN")
        try:
            if clear_both:
                conn.execute("DELETE FROM stats.stats_mysql_query_digest_reset")
                conn.execute("DELETE FROM stats.stats_mysql_query_digest")
            if rows:
                conn.executemany(
                    f"INSERT INTO stats.{table} VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
                    rows,
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _write(self, table: str, rows: list[Any]) -> None:
        conn = self.conn
        assert conn is not None
        conn.execute("BEGIN")
        try:
            conn.execute(f"DELETE FROM {table}")  # noqa: S608
            if rows:
                marks = ",".join("?" * len(rows[0]))
                conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)  # noqa: S608
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # ---- runtime snapshots as table rows ---
    def _runtime_server_rows(self, shunned: bool) -> list[tuple[Any, ...]]:
        cols = schema.column_names("mysql_servers")
        with self.rt.lock:
            servers = sorted(
                (s for s in self.rt.servers.values() if not s.removed), key=lambda s: s.key
            )
            out = []
            for s in servers:
                row = dict(s.row)
                status = s.status
                if not shunned and status == "SHUNNED":
                    status = "ONLINE"
                row["status"] = status
                out.append(tuple(row.get(c) for c in cols))
        return out

    def _runtime_user_rows(self) -> list[tuple[Any, ...]]:
        cols = schema.column_names("mysql_users")
        out = []
        for user in self.rt.users:
            if user.get("backend"):
                row = dict(user, frontend=0, backend=1)
                out.append(tuple(row.get(c) for c in cols))
            if user.get("frontend"):
                row = dict(user, frontend=1, backend=0)
                out.append(tuple(row.get(c) for c in cols))
        return out

    def _runtime_rule_rows(self) -> list[tuple[Any, ...]]:
        cols = schema.column_names("mysql_query_rules")
        return [tuple(r.row.get(c) for c in cols) for r in self.rt.rules]

    def _fast_routing_rows(self) -> list[tuple[Any, ...]]:
        cols = schema.column_names("mysql_query_rules_fast_routing")
        return [tuple(r.get(c) for c in cols) for r in self.rt.fast_routing_rows]

    def _scheduler_rows(self) -> list[tuple[Any, ...]]:
        cols = schema.column_names("scheduler")
        return [tuple(r.get(c) for c in cols) for r in self.rt.scheduler]

    def _pool_rows(self, reset: bool) -> list[tuple[Any, ...]]:
        out = []
        with self.rt.lock:
            for s in sorted(self.rt.servers.values(), key=lambda s: s.key):
                if s.removed:
                    continue
                out.append(
                    (
                        s.hostgroup_id,
                        s.hostname,
                        s.port,
                        s.status,
                        s.conn_used,
                        s.conn_free,
                        s.conn_ok,
                        s.conn_err,
                        s.max_conn_used,
                        s.queries,
                        0,
                        s.bytes_sent,
                        s.bytes_recv,
                        0,
                    )
                )
                if reset:
                    s.conn_ok = s.conn_err = s.queries = s.bytes_sent = s.bytes_recv = 0
                    s.max_conn_used = s.conn_used
        return out

    # ---- LOAD / SAVE ---
    def _load_save(self, module: str, op: str) -> Ok:
        try:
            if op == "mem_to_runtime":
                self.mem_to_runtime(module)
                return Ok()
            if op == "runtime_to_mem":
                self.runtime_to_mem(module)
                return Ok()
            if op == "disk_to_mem":
                return self._disk_memory(module, "disk", "main")
            return self._disk_memory(module, "main", "disk")
        except sqlite3.Error as e:
            raise _admin_error(e) from None

    def _disk_memory(self, module: str, src: str, dst: str) -> Ok:
        assert self.conn is not None
        if module.endswith("VARIABLES"):
            prefix = "mysql-%" if module == "MYSQL VARIABLES" else "admin-%"
            cur = self.conn.execute(
                f"INSERT OR REPLACE INTO {dst}.global_variables "  # noqa: S608
                f"SELECT * FROM {src}.global_variables WHERE variable_name LIKE ?",
                (prefix,),
            )
            return Ok(affected_rows=max(cur.rowcount, 0))
        self._copy_tables(src, dst, schema.MODULE_TABLES[module])
        return Ok()

    def _copy_tables(self, src: str, dst: str, tables: list[str]) -> None:
        conn = self.conn
        assert conn is not None
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("BEGIN")
        try:
            for table in tables:
                conn.execute(f"DELETE FROM {dst}.{table}")  # noqa: S608
                conn.execute(f"INSERT INTO {dst}.{table} SELECT * FROM {src}.{table}")  # noqa: S608
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _select(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        assert self.conn is not None
        cur = self.conn.execute(sql, params)
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        cur.close()
        return rows

    def mem_to_runtime(self, module: str) -> None:
        rt = self.rt
        if module == "MYSQL SERVERS":
            rows = self._select("SELECT * FROM main.mysql_servers")
            with rt.lock:
                new: dict[tuple[int, str, int], Server] = {}
                for row in rows:
                    key = (int(row["hostgroup_id"]), str(row["hostname"]), int(row["port"]))
                    status = str(row["status"]).upper()
                    if status not in STATUSES:
                        status = "ONLINE"
                    row = dict(row, status=status)
                    server = rt.servers.get(key)
                    if server is None:
                        server = Server(key[0], key[1], key[2], row, status)
                    else:
                        server.row = row
                        server.status = status
                        server.removed = False
                    new[key] = server
                for key, server in rt.servers.items():
                    if key not in new:
                        server.status = "OFFLINE_HARD"
                        server.removed = True
                rt.servers = new
        elif module == "MYSQL USERS":
            rt.users = self._select("SELECT * FROM main.mysql_users")
        elif module == "MYSQL QUERY RULES":
            rows = self._select(
                "SELECT * FROM main.mysql_query_rules WHERE active=1 ORDER BY rule_id"
            )
            rules = [r for r in (Rule.from_row(row) for row in rows) if r is not None]
            fast = self._select("SELECT * FROM main.mysql_query_rules_fast_routing")
            with rt.lock:
                rt.rules = rules
                rt.fast_routing_rows = fast
                rt.fast_routing = {
                    (r["username"], r["schemaname"], int(r["flagIN"])): int(
                        r["destination_hostgroup"]
                    )
                    for r in fast
                }
                rt.rules_version += 1
        elif module in ("MYSQL VARIABLES", "ADMIN VARIABLES"):
            prefix = "mysql-" if module == "MYSQL VARIABLES" else "admin-"
            rows = self._select(
                "SELECT * FROM main.global_variables WHERE variable_name LIKE ?", prefix + "%"
            )
            assert self.conn is not None
            with rt.lock:
                for row in rows:
                    name, value = row["variable_name"], row["variable_value"]
                    spec = schema.ALL_VARIABLES.get(name)
                    if spec is None:
                        self.conn.execute(
                            "DELETE FROM main.global_variables WHERE variable_name = ?", (name,)
                        )
                        continue
                    checked = schema.validate(name, value)
                    current = rt.variables.get(name, spec[0])
                    if checked is None or spec[1] == schema.RO:
                        self.conn.execute(
                            "UPDATE main.global_variables SET variable_value = ? "
                            "WHERE variable_name = ?",
                            (current, name),
                        )
                        rt.variables[name] = current
                        continue
                    rt.variables[name] = checked
                for name, spec in schema.ALL_VARIABLES.items():
                    if name.startswith(prefix):
                        rt.variables.setdefault(name, spec[0])
                self.conn.executemany(
                    "INSERT OR IGNORE INTO main.global_variables VALUES (?, ?)",
                    [(k, v) for k, v in rt.variables.items() if k.startswith(prefix)],
                )
        elif module == "SCHEDULER":
            rows = self._select("SELECT * FROM main.scheduler ORDER BY id")
            with rt.lock:
                rt.scheduler = rows
                rt.scheduler_version += 1
        self.on_change(module)

    def runtime_to_mem(self, module: str) -> None:
        conn = self.conn
        assert conn is not None
        if module == "MYSQL SERVERS":
            self._write("main.mysql_servers", self._runtime_server_rows(shunned=False))
        elif module == "MYSQL USERS":
            cols = schema.column_names("mysql_users")
            self._write("main.mysql_users", [tuple(u.get(c) for c in cols) for u in self.rt.users])
        elif module == "MYSQL QUERY RULES":
            self._write("main.mysql_query_rules", self._runtime_rule_rows())
            self._write("main.mysql_query_rules_fast_routing", self._fast_routing_rows())
        elif module in ("MYSQL VARIABLES", "ADMIN VARIABLES"):
            prefix = "mysql-" if module == "MYSQL VARIABLES" else "admin-"
            with self.rt.lock:
                values = [(k, v) for k, v in self.rt.variables.items() if k.startswith(prefix)]
            conn.executemany("INSERT OR REPLACE INTO main.global_variables VALUES (?, ?)", values)
        elif module == "SCHEDULER":
            self._write("main.scheduler", self._scheduler_rows())
