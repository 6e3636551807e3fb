"""Command line: `readyset_proxysql_scheduler --config=PATH [--dry-run]`.

Exit codes: 0 success (or another run holds the lock), 1 runtime failure, 2 configuration or
usage error. ProxySQL execs the program with an empty environment and may pass every option in
`arg1`, so a single argument holding several options is split like a shell would.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

from readyset_proxysql_scheduler import __version__
from readyset_proxysql_scheduler.config import ConfigError, load, readable_by_others
from readyset_proxysql_scheduler.lock import LockError, LockHeld, RunLock
from readyset_proxysql_scheduler.log import Log
from readyset_proxysql_scheduler.proxysql import AdminError
from readyset_proxysql_scheduler.readyset import ReadysetError
from readyset_proxysql_scheduler.scheduler import Pass, PassTimeout

if TYPE_CHECKING:
    import argparse

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
    import argparse

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
        import shlex  # only for ProxySQL's everything-in-arg1 form

        return shlex.split(argv[0])
    return list(argv)


class _Args:
    def __init__(self, config: str, dry_run: bool) -> None:
        self.config = config
        self.dry_run = dry_run


def _parse(argv: list[str]) -> _Args:
    """The usual `--config=PATH [--dry-run]` without importing argparse (ProxySQL starts us
    every few seconds); anything else, --help included, goes through argparse."""
    rest = [a for a in argv if a != "--dry-run"]
    dry_run = len(rest) < len(argv)
    if len(argv) - len(rest) <= 1:
        if len(rest) == 1 and rest[0].startswith("--config=") and len(rest[0]) > 9:
            return _Args(rest[0][9:], dry_run)
        if len(rest) == 2 and rest[0] == "--config" and not rest[1].startswith("-"):
            return _Args(rest[1], dry_run)
    parsed = _parser().parse_args(argv)
    return _Args(parsed.config, parsed.dry_run)


def main(argv: Optional[Sequence[str]] = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    args = _parse(_arguments(sys.argv[1:] if argv is None else argv))
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
            import traceback

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
