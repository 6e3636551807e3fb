"""The whole sandbox in one object: MariaDB, the ProxySQL emulator and Readyset emulators.

Layout, as a user's production would look:
- hostgroup 1: MariaDB (the application's source hostgroup); user `app` defaults to it;
- hostgroup 99: each Readyset emulator, comment `Readyset`;
- ProxySQL admin `admin`/`admin` (loopback only) and `radmin`/`radmin`.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pymysql

from rps_sandbox.mariadb import MariaDB
from rps_sandbox.proxysql import ProxySQL
from rps_sandbox.readyset import Readyset
from rps_sandbox.wire import ServerThread

SOURCE_HOSTGROUP = 1
READYSET_HOSTGROUP = 99


@dataclass
class Sandbox:
    readysets: int = 1
    era: str = "C"
    # Readyset release profile for every host (see rps_sandbox.readyset.Readyset); host_options[i]
    # overrides keyword arguments of host i, e.g. [{"release": "stable-250123"}, {}] for a
    # hostgroup of mixed releases.
    release: Optional[str] = None
    cache_mode: Optional[str] = None
    topk: Optional[bool] = None
    host_options: Optional[list[dict[str, Any]]] = None
    mariadb: Optional[MariaDB] = None
    workdir: Optional[Path] = None
    admin_port: int = 0
    traffic_port: int = 0
    readyset_ports: list[int] = field(default_factory=list)
    proxysql: Optional[ProxySQL] = None
    readyset: list[Readyset] = field(default_factory=list)
    _own_mariadb: bool = False
    _own_workdir: bool = False
    _thread: Optional[ServerThread] = None

    def start(self) -> Sandbox:
        if self.mariadb is None:
            self.mariadb = MariaDB().start()
            self._own_mariadb = True
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="rps-sandbox-"))
            self._own_workdir = True
        self._thread = ServerThread()
        db = self.mariadb
        for i in range(self.readysets):
            port = self.readyset_ports[i] if i < len(self.readyset_ports) else 0
            options: dict[str, Any] = {
                "era": self.era,
                "release": self.release,
                "cache_mode": self.cache_mode,
                "topk": self.topk,
                "port": port,
            }
            if self.host_options is not None and i < len(self.host_options):
                options.update(self.host_options[i])
            rs = Readyset(
                db.host,
                db.port,
                db.app_user,
                db.app_password,
                server_thread=self._thread,
                **options,
            )
            self.readyset.append(rs.start())
        self.proxysql = ProxySQL(
            self.workdir / "proxysql",
            admin_port=self.admin_port,
            traffic_port=self.traffic_port,
            server_thread=self._thread,
        ).start()
        self.admin_port = self.proxysql.admin_port
        self.traffic_port = self.proxysql.traffic_port
        self.configure()
        return self

    def configure(self) -> None:
        """The user's side of the setup: servers, the application user, saved to disk."""
        db = self.mariadb
        assert db is not None
        statements: list[tuple[str, tuple[Any, ...]]] = [
            ("DELETE FROM mysql_servers", ()),
            ("DELETE FROM mysql_users", ()),
            (
                "INSERT INTO mysql_servers (hostgroup_id, hostname, port, comment)"
                " VALUES (%s, %s, %s, 'MariaDB')",
                (SOURCE_HOSTGROUP, db.host, db.port),
            ),
            (
                "INSERT INTO mysql_users (username, password, default_hostgroup, default_schema)"
                " VALUES (%s, %s, %s, %s)",
                (db.app_user, db.app_password, SOURCE_HOSTGROUP, db.schema),
            ),
        ]
        for rs in self.readyset:
            statements.append(
                (
                    "INSERT INTO mysql_servers (hostgroup_id, hostname, port, comment)"
                    " VALUES (%s, '127.0.0.1', %s, 'Readyset')",
                    (READYSET_HOSTGROUP, rs.port),
                )
            )
        for command in ("SERVERS", "USERS"):
            statements.append((f"LOAD MYSQL {command} TO RUNTIME", ()))
            statements.append((f"SAVE MYSQL {command} TO DISK", ()))
        with self.admin() as conn, conn.cursor() as cur:
            for sql, args in statements:
                # Values here are plain (no quotes or backslashes), so MySQL-style escaping
                # and SQLite agree.
                cur.execute(sql, args)

    def admin(self) -> pymysql.connections.Connection:
        assert self.proxysql is not None
        return pymysql.connect(
            host="127.0.0.1",
            port=self.admin_port,
            user="admin",
            password="admin",
            autocommit=True,
        )

    def app(self, **kwargs: Any) -> pymysql.connections.Connection:
        """An application connection through ProxySQL's traffic port."""
        db = self.mariadb
        assert db is not None
        params: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.traffic_port,
            "user": db.app_user,
            "password": db.app_password,
            "database": db.schema,
            "autocommit": True,
        }
        params.update(kwargs)
        return pymysql.connect(**params)

    def readyset_connection(self, index: int = 0) -> pymysql.connections.Connection:
        db = self.mariadb
        assert db is not None
        return pymysql.connect(
            host="127.0.0.1",
            port=self.readyset[index].port,
            user=db.app_user,
            password=db.app_password,
            database=db.schema,
            autocommit=True,
        )

    def scheduler_config(self, path: Path, **overrides: Any) -> Path:
        """Write a scheduler config for this sandbox; overrides are TOML values."""
        db = self.mariadb
        assert db is not None and self.workdir is not None
        values: dict[str, Any] = {
            "proxysql_user": "admin",
            "proxysql_password": "admin",
            "proxysql_host": "127.0.0.1",
            "proxysql_port": self.admin_port,
            "readyset_user": db.app_user,
            "readyset_password": db.app_password,
            "source_hostgroup": SOURCE_HOSTGROUP,
            "readyset_hostgroup": READYSET_HOSTGROUP,
            "lock_file": str(path.parent / "scheduler.lock"),
            "number_of_queries": 10,
        }
        values.update(overrides)
        lines = []
        for key, value in values.items():
            if value is None:
                continue
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, (list, tuple)):
                items = (str(v).replace("\\", "\\\\").replace('"', '\\"') for v in value)
                lines.append(f"{key} = [" + ", ".join(f'"{v}"' for v in items) + "]")
            elif isinstance(value, (int, float)):
                lines.append(f"{key} = {value}")
            else:
                escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
                lines.append(f'{key} = "{escaped}"')
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
        return path

    def stop(self) -> None:
        for rs in self.readyset:
            rs.stop()
        self.readyset = []
        if self.proxysql is not None:
            self.proxysql.stop()
            self.proxysql = None
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
        if self._own_mariadb and self.mariadb is not None:
            self.mariadb.stop()
            self.mariadb = None
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> Sandbox:
        try:
            return self.start()
        except BaseException:
            self.stop()  # what did start (MariaDB, a temporary directory) goes again
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
