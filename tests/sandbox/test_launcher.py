"""`rps-sandbox` starts everything, prints ports and credentials, and Ctrl-C leaves nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pymysql

LAUNCHER = str(Path(sys.executable).parent / "rps-sandbox")


def test_start_print_and_stop_cleanly() -> None:
    proc = subprocess.Popen(
        [LAUNCHER, "--admin-port", "0", "--traffic-port", "0", "--readyset-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while not any("Ctrl-C" in line for line in lines):
        assert time.monotonic() < deadline and proc.poll() is None, lines
        lines.append(proc.stdout.readline())
    text = "".join(lines)
    admin_port = int(re.search(r"ProxySQL admin\s+127\.0\.0\.1:(\d+)", text).group(1))
    traffic_port = int(re.search(r"ProxySQL traffic\s+127\.0\.0\.1:(\d+)", text).group(1))
    readyset_port = int(re.search(r"Readyset \(C\)\s+127\.0\.0\.1:(\d+)", text).group(1))
    dirs = re.search(r"data\s+(\S+) (\S+)", text).groups()
    assert all(Path(d).is_dir() for d in dirs)

    with pymysql.connect(host="127.0.0.1", port=admin_port, user="admin", password="admin") as c:
        with c.cursor() as cur:
            cur.execute("SELECT hostgroup_id, comment FROM runtime_mysql_servers ORDER BY 1")
            assert cur.fetchall() == (("1", "MariaDB"), ("99", "Readyset"))
    with (
        pymysql.connect(
            host="127.0.0.1", port=traffic_port, user="app", password="app-secret", database="shop"
        ) as c,
        c.cursor() as cur,
    ):
        cur.execute("SELECT COUNT(*) FROM customers")
        assert cur.fetchone() == (200,)
    with (
        pymysql.connect(
            host="127.0.0.1", port=readyset_port, user="app", password="app-secret"
        ) as c,
        c.cursor() as cur,
    ):
        cur.execute("SHOW READYSET STATUS")
        assert ("Status", "Online") in cur.fetchall()

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    assert not any(Path(d).exists() for d in dirs)
    assert not processes_mentioning(dirs[0]), "a server outlived the sandbox"


def processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(entry)
    return found


def test_a_busy_port_is_one_line_and_leaves_nothing_running(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = dict(os.environ, TMPDIR=str(tmp_path))  # where MariaDB's data would be left
        proc = subprocess.run(
            [LAUNCHER, "--admin-port", str(port), "--traffic-port", "0", "--readyset-port", "0"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert line.startswith("rps-sandbox: cannot start: ") and str(port) in line
    assert list(tmp_path.iterdir()) == []  # MariaDB stopped, its directories removed
