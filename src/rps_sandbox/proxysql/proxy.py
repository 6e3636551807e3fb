"""`ProxySQL`: the emulator object that owns the admin and traffic listeners."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pymysql

from ..wire import Listener, Ok, RawSession, Refusal, Rows, ServerThread, Users, in_thread
from . import schema
from .admin import Admin, parse_credentials
from .runtime import Runtime
from .traffic import MirrorJob, MirrorRunner, TrafficSession

_LOCAL = {"127.0.0.1", "::1", "", "localhost", "::ffff:127.0.0.1"}


class AdminSession(RawSession):
    def __init__(self, proxy: ProxySQL) -> None:
        super().__init__()
        self.proxy = proxy
        self.role = "admin"

    async def init(self, connection: Any) -> None:
        await super().init(connection)
        admins = parse_credentials(self.proxy.runtime.var("admin-admin_credentials"))
        self.role = "admin" if (self.username or "") in admins else "stats"

    async def execute(self, sql: str) -> Ok | Rows:
        admin = self.proxy._admin
        assert admin is not None
        for fault in self.proxy.admin_faults:
            if " ".join(sql.split()).upper().startswith(fault.prefix.upper()):
                fault.hits += 1
                if fault.action == "drop":
                    self.drop_connection()
                    await asyncio.sleep(3600)  # the client is gone; never answer
                await asyncio.sleep(fault.seconds)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(admin.executor, admin.handle, sql, self.role)  # type: ignore[no-any-return]

    async def use(self, database: str) -> None:
        return None


@dataclass
class AdminFault:
    """Test control: before an admin statement starting with `prefix` (case-insensitive),
    wait `seconds` ("delay") or drop the client's connection ("drop")."""

    prefix: str
    action: str = "delay"
    seconds: float = 0.0
    hits: int = 0  # how many statements it caught


class ProxySQL:
    """A ProxySQL 2.7 emulator: admin (SQLite) and MySQL traffic listeners on 127.0.0.1."""

    def __init__(
        self,
        datadir: Path,
        admin_port: int = 0,
        traffic_port: int = 0,
        admin_credentials: str = "admin:admin;radmin:radmin",
        stats_credentials: str = "stats:stats",
        server_thread: Optional[ServerThread] = None,
    ) -> None:
        self.datadir = Path(datadir)
        self.admin_faults: list[AdminFault] = []
        self.admin_port = admin_port
        self.traffic_port = traffic_port
        self.admin_credentials = admin_credentials
        self.stats_credentials = stats_credentials
        self._thread = server_thread
        self._own_thread = server_thread is None
        self.runtime = Runtime()
        self._admin: Optional[Admin] = None
        self._listeners: list[Listener] = []
        self.digest_module: Any = None
        self.mirrors = MirrorRunner(self)
        self.statements: list[str] = []

    # ---- lifecycle ---
    def start(self) -> ProxySQL:
        try:
            self.digest_module = importlib.import_module("rps_sandbox.digest")
        except ImportError:  # pragma: no cover - digest module missing
            self.digest_module = None
        # A start builds the runtime afresh (digests, hits and shuns do not survive a restart).
        self.runtime = Runtime()
        self.mirrors = MirrorRunner(self)
        defaults = {name: spec[0] for name, spec in schema.ALL_VARIABLES.items()}
        defaults["admin-admin_credentials"] = self.admin_credentials
        defaults["admin-stats_credentials"] = self.stats_credentials
        admin = Admin(self.datadir, self.runtime, self._on_change)
        self.statements = admin.statements
        self._admin = admin
        admin.call(admin.open, defaults)
        if self._thread is None:
            self._thread = ServerThread()
        admin_listener = Listener(
            session_factory=lambda: AdminSession(self),
            users=Users(self._admin_password, self._admin_refuse),
            port=self.admin_port,
            server_version=self.runtime.var("mysql-server_version") or "8.0.11",
            announce_autocommit=True,
        )
        traffic_listener = Listener(
            session_factory=lambda: TrafficSession(self),
            users=Users(self._traffic_password),
            port=self.traffic_port,
            server_version=self.runtime.var("mysql-server_version") or "8.0.11",
            announce_autocommit=True,
        )
        self.admin_port = self._thread.listen(admin_listener)
        self.traffic_port = self._thread.listen(traffic_listener)
        self._listeners = [admin_listener, traffic_listener]
        return self

    def stop(self) -> None:
        thread = self._thread
        if thread is not None:
            for listener in self._listeners:
                thread.close_listener(listener)
            self._listeners = []
            backends = self.mirrors.close()
            for b in backends:
                b.up.close()
            if self._own_thread:
                thread.stop()
                self._thread = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def __enter__(self) -> ProxySQL:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- helpers for tests / benchmark ---
    def admin(self, user: str = "admin", password: str = "admin", **kwargs: Any) -> Any:
        params: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.admin_port,
            "user": user,
            "password": password,
            "autocommit": True,
        }
        params.update(kwargs)
        return pymysql.connect(**params)

    def connect(self, user: str, password: str, **kwargs: Any) -> Any:
        """A client connection through the traffic port."""
        params: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.traffic_port,
            "user": user,
            "password": password,
            "autocommit": True,
        }
        params.update(kwargs)
        return pymysql.connect(**params)

    def reset_statements(self) -> None:
        del self.statements[:]

    def add_digest_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        now = int(time.time())
        with self.runtime.lock:
            digests = self.runtime.digests
            for r in rows:
                key = (
                    int(r.get("hostgroup", 0)),
                    str(r.get("schemaname", "information_schema")),
                    str(r.get("username", "")),
                    str(r.get("client_address", "")),
                    str(r["digest"]),
                )
                digests[key] = [
                    int(r.get("count_star", 1)),
                    int(r.get("first_seen", now)),
                    int(r.get("last_seen", now)),
                    int(r.get("sum_time", 0)),
                    int(r.get("min_time", 0)),
                    int(r.get("max_time", 0)),
                    int(r.get("sum_rows_affected", 0)),
                    int(r.get("sum_rows_sent", 0)),
                    str(r.get("digest_text", "")),
                ]

    def set_server_status(self, hostgroup: int, hostname: str, port: int, status: str) -> None:
        """Change a runtime server's status as ProxySQL itself would (e.g. auto-shunning)."""
        with self.runtime.lock:
            server = self.runtime.servers[(hostgroup, hostname, port)]
            server.status = status.upper()

    # ---- internal ---
    def _on_change(self, module: str) -> None:
        if module == "MYSQL VARIABLES" and self.digest_module is not None:
            with self.runtime.lock:
                mapping = {
                    k: v for k, v in self.runtime.variables.items() if k.startswith("mysql-")
                }
            self.runtime.digest_settings = self.digest_module.DigestSettings.from_global_variables(
                mapping
            )
            if self.mirrors.sem is not None:
                self.mirrors.sem = None  # picks up a new mirror_max_concurrency

    def _admin_password(self, username: str) -> Optional[str]:
        rt = self.runtime
        admins = parse_credentials(rt.var("admin-admin_credentials"))
        if username in admins:
            return admins[username]
        stats = parse_credentials(rt.var("admin-stats_credentials"))
        return stats.get(username)

    def _admin_refuse(self, username: str, peer: tuple[str, int]) -> Optional[Refusal]:
        if username in ("admin", "stats", "monitor") and peer[0] not in _LOCAL:
            return Refusal(f"User '{username}' can only connect locally", 1040, "42000")
        return None

    def _traffic_password(self, username: str) -> Optional[str]:
        row = self.runtime.frontend_user(username)
        if row is None:
            return None
        return row.get("password") or ""

    def record(
        self,
        hostgroup: int,
        schemaname: str,
        username: str,
        peer_host: str,
        digest_hex: str,
        digest_text: str,
        start: float,
        rows_affected: int,
        rows_sent: int,
    ) -> None:
        rt = self.runtime
        micros = int((time.perf_counter() - start) * 1_000_000)
        client = peer_host if rt.var_bool("mysql-query_digests_track_hostname") else ""
        text = digest_text
        if self.digest_module is not None:
            text = self.digest_module.stored_text(digest_text, rt.digest_settings)
        rt.record_digest(
            hostgroup,
            schemaname,
            username,
            client,
            digest_hex,
            text,
            micros,
            rows_affected,
            rows_sent,
        )

    def mirror(self, job: MirrorJob) -> None:
        self.mirrors.submit(job)


__all__ = ["ProxySQL", "in_thread"]
