"""Command line: `readyset_proxysql_scheduler --config=PATH [--dry-run]` runs one pass (what
ProxySQL's scheduler row does); `readyset_proxysql_scheduler COMMAND …` runs an operator tool
(`status`, `doctor`, `install`, `uninstall`, `run`), each in its own module, imported only then.

Exit codes: 0 success (or another run holds the lock), 1 runtime failure, 2 configuration or
usage error. ProxySQL execs the program with an empty environment and may pass every option in
`arg1`, so a single argument holding several options is split like a shell would.
"""

from __future__ import annotations

import sys

from readyset_proxysql_scheduler import __version__

TYPE_CHECKING = False  # not typing's: --version and the pass's argument parsing need no typing
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Optional

# command -> the module that runs it (its `main(command, argv)`)
COMMANDS = {
    "status": "status",
    "doctor": "doctor",
    "install": "install",
    "uninstall": "install",
    "run": "daemon",
}

DESCRIPTION = """\
Caches a MySQL application's hot read queries in Readyset through ProxySQL. Run it from
ProxySQL's scheduler table; each run health-checks the Readyset hosts, finds hot queries in
stats_mysql_query_digest, creates their caches in Readyset and adds the query rules that send
them there."""

EPILOG = """\
commands (each takes --config PATH and --help):
  status [--json] [--plan]   what the scheduler caches, its hosts, the next pass (read-only)
  doctor                     check the setup, one line per check with the fix
  install [--interval-ms N]  write the ProxySQL scheduler row for this executable and config
  uninstall [--purge]        remove it (--purge: also the scheduler's rules and caches)
  run --interval 10s         run passes in this process instead (systemd), same lock
exit codes: 0 done (or another run holds the lock), 1 runtime failure, 2 configuration error."""


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
    return [a for a in argv if a]  # a scheduler row's arg2 = '' is passed as an empty argument


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


def _command(argv: list[str]) -> Optional[tuple[str, list[str]]]:
    """The command named in `argv` (perhaps a misspelt one) and the other arguments, or None
    for a pass."""
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg == "--config":
            skip = True
        elif not arg.startswith("-"):
            return arg, argv[:i] + argv[i + 1 :]
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    arguments = _arguments(sys.argv[1:] if argv is None else argv)
    if arguments == ["--version"]:  # without argparse
        print(f"readyset_proxysql_scheduler {__version__}")
        return 0
    command = _command(arguments)
    if command is not None:
        import importlib

        name, rest = command
        if name not in COMMANDS:
            known = ", ".join(dict.fromkeys(COMMANDS))
            print(
                f"readyset_proxysql_scheduler: unknown command {name!r} (commands: {known};"
                " a pass takes only --config and --dry-run)",
                file=sys.stderr,
            )
            return 2
        module = importlib.import_module(f"readyset_proxysql_scheduler.{COMMANDS[name]}")
        code: int = module.main(name, rest)
        return code

    args = _parse(arguments)
    # Imported here, so that --version and --help do not load the pass and PyMySQL.
    from readyset_proxysql_scheduler.config import ConfigError, load, readable_by_others
    from readyset_proxysql_scheduler.log import Log
    from readyset_proxysql_scheduler.runner import EXIT_USAGE, run_pass

    log = Log()
    try:
        config = load(args.config)
    except ConfigError as e:
        log.error(f"configuration error: {e}")
        return EXIT_USAGE
    log.level = config.log_verbosity
    log.file = config.log_file
    if readable_by_others(config.path):
        log.warning(
            f"{config.path} holds passwords and is readable by other users: chmod 600 {config.path}"
        )
    return run_pass(config, log, args.dry_run)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
