"""A throwaway MariaDB server: installed binaries, a temporary directory, a free loopback port.

Used by the tests, the demo and the benchmark as the real upstream database. Nothing here
depends on a server that happens to be running on the machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pymysql

INSTALL_HINT = (
    "MariaDB server binaries not found (mariadbd). Install them with: "
    "sudo apt-get install -y mariadb-server   (Debian/Ubuntu), "
    "or point RPS_MARIADBD at a mariadbd binary."
)

APP_USER = "app"
APP_PASSWORD = "app-secret"
APP_SCHEMA = "shop"

# A small shop: enough rows for reads that return something and joins that mean something.
SEED_SQL = f"""
CREATE DATABASE IF NOT EXISTS {APP_SCHEMA};
USE {APP_SCHEMA};
CREATE TABLE customers (
  id INT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  email VARCHAR(200) NOT NULL,
  country CHAR(2) NOT NULL,
  created_at DATE NOT NULL,
  balance DECIMAL(10,2) NOT NULL DEFAULT 0,
  note VARCHAR(200) NULL
);
CREATE TABLE products (
  id INT PRIMARY KEY,
  sku VARCHAR(20) NOT NULL,
  name VARCHAR(100) NOT NULL,
  category VARCHAR(30) NOT NULL,
  price DECIMAL(10,2) NOT NULL,
  stock INT NOT NULL
);
CREATE TABLE orders (
  id INT PRIMARY KEY,
  customer_id INT NOT NULL,
  status VARCHAR(20) NOT NULL,
  created_at DATETIME NOT NULL,
  total DECIMAL(10,2) NOT NULL,
  KEY (customer_id)
);
CREATE TABLE order_items (
  order_id INT NOT NULL,
  product_id INT NOT NULL,
  quantity INT NOT NULL,
  price DECIMAL(10,2) NOT NULL,
  PRIMARY KEY (order_id, product_id)
);
CREATE TABLE canary (id INT PRIMARY KEY, note VARCHAR(50));
INSERT INTO canary VALUES (1, 'still here');
"""


def _seed_rows() -> list[str]:
    countries = ["US", "DE", "FR", "GB", "ES", "IT", "NL", "SE"]
    categories = ["books", "games", "tools", "garden", "kitchen"]
    statuses = ["new", "paid", "shipped", "delivered", "cancelled"]
    stmts = []
    customers = []
    for i in range(1, 201):
        note = "NULL" if i % 7 == 0 else f"'note {i} it''s \\\\ ok'"
        customers.append(
            f"({i}, 'Customer {i}', 'c{i}@example.com', '{countries[i % len(countries)]}', "
            f"DATE('2024-01-01') + INTERVAL {i} DAY, {(i * 37) % 1000}.{i % 100:02d}, {note})"
        )
    stmts.append("INSERT INTO customers VALUES " + ",".join(customers))
    products = []
    for i in range(1, 101):
        products.append(
            f"({i}, 'SKU-{i:04d}', 'Product {i}', '{categories[i % len(categories)]}', "
            f"{(i * 13) % 200 + 0.99}, {(i * 7) % 50})"
        )
    stmts.append("INSERT INTO products VALUES " + ",".join(products))
    orders = []
    items = []
    for i in range(1, 501):
        orders.append(
            f"({i}, {(i * 11) % 200 + 1}, '{statuses[i % len(statuses)]}', "
            f"TIMESTAMP('2024-02-01 08:00:00') + INTERVAL {i * 5} HOUR, {(i * 29) % 900}.50)"
        )
        for k in range(1, (i % 3) + 2):
            items.append(f"({i}, {(i * k * 3) % 100 + 1}, {k}, {(i * k) % 90 + 0.5})")
    stmts.append("INSERT INTO orders VALUES " + ",".join(orders))
    stmts.append("INSERT IGNORE INTO order_items VALUES " + ",".join(items))
    return stmts


def find_mariadbd() -> Optional[str]:
    explicit = os.environ.get("RPS_MARIADBD")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in ("mariadbd", "mysqld"):
        found = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/usr/local/sbin")
        if found:
            return found
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class MariaDB:
    """A running throwaway server. Use as a context manager or call start()/stop()."""

    port: int = 0
    host: str = "127.0.0.1"
    root_password: str = "root-secret"
    basedir: Optional[Path] = None
    seed: bool = True
    _proc: Optional[subprocess.Popen[bytes]] = field(default=None, repr=False)
    _own_dir: bool = field(default=False, repr=False)

    @property
    def app_user(self) -> str:
        return APP_USER

    @property
    def app_password(self) -> str:
        return APP_PASSWORD

    @property
    def schema(self) -> str:
        return APP_SCHEMA

    def start(self, timeout: float = 60.0) -> MariaDB:
        mariadbd = find_mariadbd()
        if mariadbd is None:
            raise RuntimeError(INSTALL_HINT)
        if self.basedir is None:
            self.basedir = Path(tempfile.mkdtemp(prefix="rps-mariadb-"))
            self._own_dir = True
        datadir = self.basedir / "data"
        datadir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port(self.host)
        install_db = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        if install_db is None:
            raise RuntimeError(INSTALL_HINT)
        user_args = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run(
            [
                install_db,
                "--no-defaults",
                f"--datadir={datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *user_args,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._proc = subprocess.Popen(
            [
                mariadbd,
                "--no-defaults",
                f"--datadir={datadir}",
                f"--socket={self.basedir / 'mariadb.sock'}",
                f"--pid-file={self.basedir / 'mariadb.pid'}",
                f"--port={self.port}",
                f"--bind-address={self.host}",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M",
                "--skip-log-bin",
                "--max-connections=500",
                f"--log-error={self.basedir / 'error.log'}",
                *user_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                log = (self.basedir / "error.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"mariadbd exited with code {self._proc.returncode}:\n{log}")
            try:
                conn = pymysql.connect(
                    unix_socket=str(self.basedir / "mariadb.sock"), user="root", password=""
                )
                break
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("mariadbd did not accept connections in time") from None
                time.sleep(0.1)
        with conn.cursor() as cur:
            for stmt in (
                f"ALTER USER 'root'@'localhost' IDENTIFIED BY '{self.root_password}'",
                "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'"
                f" IDENTIFIED BY '{self.root_password}'",
                f"ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '{self.root_password}'",
                "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
                f"CREATE USER '{APP_USER}'@'%' IDENTIFIED BY '{APP_PASSWORD}'",
                f"GRANT ALL ON *.* TO '{APP_USER}'@'%'",
            ):
                cur.execute(stmt)
            if self.seed:
                for stmt in [s for s in SEED_SQL.split(";") if s.strip()] + _seed_rows():
                    cur.execute(stmt)
            conn.commit()
        conn.close()
        return self

    def connect(self, **kwargs: object) -> pymysql.connections.Connection:
        params: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "user": APP_USER,
            "password": APP_PASSWORD,
            "database": APP_SCHEMA,
        }
        params.update(kwargs)
        return pymysql.connect(**params)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._own_dir and self.basedir is not None:
            shutil.rmtree(self.basedir, ignore_errors=True)
            self.basedir = None

    def __enter__(self) -> MariaDB:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
