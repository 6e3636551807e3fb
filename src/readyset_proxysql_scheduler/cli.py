"""Command line: `readyset_proxysql_scheduler --config=PATH [--dry-run]`.

Exit codes: 0 success (or another run holds the lock), 1 runtime failure, 2 configuration or
usage error. ProxySQL execs the program with an empty environment and may pass every option in
`arg1`, so a single argument holding several options is split like a shell would.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import traceback
from collections.abc import Sequence
from typing import Optional

from readyset_proxysql_scheduler import __version__
from readyset_proxysql_scheduler.config import ConfigError, load, readable_by_others
from readyset_proxysql_scheduler.lock import LockError, LockHeld, RunLock
from readyset_proxysql_scheduler.log import Log
from readyset_proxysql_scheduler.proxysql import AdminError
from readyset_proxysql_scheduler.readyset import ReadysetError
from readyset_proxysql_scheduler.scheduler import Pass, PassTimeout

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

DESCRIPTION = """\
Caches a MySQL application's hot read queries in Readyset through ProxySQL. Run it from
ProxySQL's scheduler table; each run health-checks the Readyset hosts, finds hot queries in
stats_mysql_query_digest, creates their caches in Readyset and adds the query rules that send
them there."""

EPILOG = """\
exit codes: 0 done (or another run holds the lock), 1 runtime failure, 2 configuration error.
register in ProxySQL:
  INSERT INTO scheduler (active, interval_ms, filename, arg1) VALUES (1, 10000,
    '/path/to/venv/bin/readyset_proxysql_scheduler', '--config=/etc/readyset_scheduler.cnf');"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="readyset_proxysql_scheduler",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", required=True, metavar="PATH", help="TOML configuration file")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="log every change the run would make, and make none",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _arguments(argv: Sequence[str]) -> list[str]:
    if len(argv) == 1 and " " in argv[0].strip():
        return shlex.split(argv[0])
    return list(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    args = _parser().parse_args(_arguments(sys.argv[1:] if argv is None else argv))
    log = Log()
    try:
        config = load(args.config)
    except ConfigError as e:
        log.error(f"configuration error: {e}")
        return EXIT_USAGE
    log.level = config.log_verbosity
    if readable_by_others(config.path):
        log.warning(
            f"{config.path} holds passwords and is readable by other users: chmod 600 {config.path}"
        )

    try:
        with RunLock(config.lock_file):
            summary = Pass(config, log, dry_run=args.dry_run).run()
    except LockHeld:
        log.note(f"another run holds {config.lock_file}: this run exits without doing anything")
        return EXIT_OK
    except (LockError, AdminError, ReadysetError, PassTimeout, OSError) as e:
        log.error(f"run failed: {e}")
        return EXIT_FAILURE
    except Exception as e:  # noqa: BLE001 - one line for the ProxySQL log, details on request
        log.error(f"run failed: unexpected {type(e).__name__}: {e}")
        if os.environ.get("RPS_DEBUG"):
            traceback.print_exc()
        return EXIT_FAILURE

    if summary.changes:
        verb = "would make" if args.dry_run else "made"
        log.note(f"pass done: {verb} {len(summary.changes)} change(s)")
    else:
        log.info("pass done: nothing to change")
    return EXIT_FAILURE if summary.problems else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
