"""Passwords never appear in a log line, an error message, a dry-run listing or argv."""

from __future__ import annotations

import time
from pathlib import Path

from rps_sandbox.mariadb import MariaDB
from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import app_queries, run_scheduler, spawn_scheduler

ADMIN_SECRET = "Adm1n-S3cret-Value"
APP_SECRET = "App-S3cret-Value"


def test_passwords_never_printed(sandbox: Sandbox, config, mariadb: MariaDB) -> None:
    with mariadb.connect(user="root", password=mariadb.root_password) as conn:
        with conn.cursor() as cur:
            cur.execute("CREATE USER IF NOT EXISTS 'sec'@'%%' IDENTIFIED BY %s", (APP_SECRET,))
            cur.execute("GRANT SELECT ON shop.* TO 'sec'@'%'")
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO mysql_users (username, password, default_hostgroup, default_schema)"
            f" VALUES ('sec', '{APP_SECRET}', 1, 'shop')"
        )
        cur.execute("LOAD MYSQL USERS TO RUNTIME")
        cur.execute(f"SET admin-admin_credentials = 'admin:admin;secadmin:{ADMIN_SECRET}'")
        cur.execute("LOAD ADMIN VARIABLES TO RUNTIME")
    sandbox.readyset[0].users["sec"] = APP_SECRET
    with sandbox.app(user="sec", password=APP_SECRET) as conn, conn.cursor() as cur:
        for _ in range(2):
            cur.execute("SELECT name FROM customers WHERE id = 4")

    good = dict(
        proxysql_user="secadmin",
        proxysql_password=ADMIN_SECRET,
        readyset_user="sec",
        readyset_password=APP_SECRET,
        log_verbosity="Info",
    )
    outputs = [
        run_scheduler(config(**good), "--dry-run"),
        run_scheduler(config(**good)),
        run_scheduler(config(**{**good, "proxysql_password": ADMIN_SECRET + "x"})),
        run_scheduler(config(**{**good, "readyset_password": APP_SECRET + "x"})),
        run_scheduler(config(**{**good, "proxysql_port": 1})),
    ]
    # a wrong readyset_password is a setup error (exit 1), not an unhealthy host
    assert [o.code for o in outputs] == [0, 0, 1, 1, 1]
    assert any("refused the scheduler's login" in line for line in outputs[3].lines)
    for out in outputs:
        for line in out.lines:
            assert ADMIN_SECRET not in line and APP_SECRET not in line, line


def test_password_not_in_process_arguments(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    cfg = config(readyset_password="app-secret")
    sandbox.readyset[0].query_delay = 0.5
    proc = spawn_scheduler(cfg)
    try:
        time.sleep(0.3)
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes()
    finally:
        proc.wait(timeout=30)
    assert cmdline.split(b"\0")[-2:] == [f"--config={cfg}".encode(), b""]
    assert b"app-secret" not in cmdline
    assert b"app-secret" not in environ
