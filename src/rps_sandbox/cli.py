"""`rps-sandbox`: start the whole sandbox and keep it running until Ctrl-C.

MariaDB (hostgroup 1), the ProxySQL emulator and Readyset emulators (hostgroup 99, comment
`Readyset`). Prints ports and credentials, and a scheduler config to use against it. On Ctrl-C
(or SIGTERM) it stops every server and removes its temporary directories. The ProxySQL emulator
does not run its `scheduler` table: run the scheduler by hand (or with `run --interval`).
"""

from __future__ import annotations

import argparse
import signal
import sys
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
        help="Readyset release to emulate: B stable-250123, C stable-251023 (default),"
        " D stable-260226, E stable-260528 (deep mode)",
    )
    parser.add_argument("--readysets", type=int, default=1, help="number of Readyset hosts")
    parser.add_argument(
        "--admin-port", type=int, default=6032, help="ProxySQL admin port (0: any free port)"
    )
    parser.add_argument(
        "--traffic-port", type=int, default=6033, help="ProxySQL traffic port (0: any free port)"
    )
    parser.add_argument(
        "--readyset-port",
        type=int,
        default=3307,
        help="port of the first Readyset host; the others take the next ones (0: free ports)",
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
            readyset_ports=[
                args.readyset_port + i if args.readyset_port else 0 for i in range(args.readysets)
            ],
        )
        try:
            sb.start()
        except OSError as e:
            sb.stop()
            print(
                f"rps-sandbox: cannot start: {e} (is another sandbox, ProxySQL or Readyset"
                " running? choose other ports with --admin-port, --traffic-port, --readyset-port)",
                file=sys.stderr,
            )
            return 1
        try:
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
        finally:
            sb.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
