"""`rps-sandbox`: start the whole sandbox and keep it running until Ctrl-C.

MariaDB (hostgroup 1), the ProxySQL emulator and Readyset emulators (hostgroup 99, comment
`Readyset`). Prints ports and credentials, and a scheduler config to use against it. On Ctrl-C
(or SIGTERM) it stops every server and removes its temporary directories.
"""

from __future__ import annotations

import argparse
import signal
import tempfile
import threading
from pathlib import Path
from typing import Optional

from rps_sandbox.sandbox import Sandbox


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="rps-sandbox", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--era",
        default="C",
        choices=["B", "C", "D", "E"],
        help="Readyset release era to emulate (default C)",
    )
    parser.add_argument("--readysets", type=int, default=1, help="number of Readyset hosts")
    parser.add_argument("--admin-port", type=int, default=6032)
    parser.add_argument("--traffic-port", type=int, default=6033)
    parser.add_argument(
        "--readyset-port",
        type=int,
        default=3307,
        help="port of the first Readyset host; the others take the next ones",
    )
    args = parser.parse_args(argv)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    with tempfile.TemporaryDirectory(prefix="rps-sandbox-cfg-") as tmp:
        sb = Sandbox(
            readysets=args.readysets,
            era=args.era,
            admin_port=args.admin_port,
            traffic_port=args.traffic_port,
            readyset_ports=[args.readyset_port + i for i in range(args.readysets)],
        )
        with sb:
            assert sb.mariadb is not None
            config = sb.scheduler_config(Path(tmp) / "scheduler.cnf")
            db = sb.mariadb
            print(
                f"MariaDB          127.0.0.1:{db.port}  user {db.app_user} / {db.app_password},"
                f" root / {db.root_password}, schema {db.schema}"
            )
            print(
                f"ProxySQL admin   127.0.0.1:{sb.admin_port}  admin / admin (loopback only),"
                " radmin / radmin"
            )
            print(
                f"ProxySQL traffic 127.0.0.1:{sb.traffic_port}  {db.app_user} / {db.app_password}"
            )
            for rs in sb.readyset:
                credentials = f"{db.app_user} / {db.app_password}"
                print(f"Readyset ({args.era})     127.0.0.1:{rs.port}  {credentials}")
            print(f"data             {db.basedir} {sb.workdir}")
            print(f"scheduler config {config}:")
            print("  " + config.read_text().replace("\n", "\n  ").rstrip())
            print("Ctrl-C stops everything.", flush=True)
            stop.wait()
            print("stopping…", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
