"""`install` / `uninstall`: the ProxySQL `scheduler` row that runs this executable.

The row names this executable's absolute path (`sys.argv[0]` with symlinks resolved) and
`--config=<absolute path>` as `arg1`, the form ProxySQL execs (reference proxysql.md §5). The
row of this config is the one whose arguments name the same config file, so a row written by
hand or by the original scheduler is updated, not duplicated, and two configs (two schedulers)
keep a row each. Every statement is printed; `--dry-run` prints them and sends none.

`uninstall --purge` also deletes the scheduler's query rules (loaded and saved), then drops the
scheduler's caches (`d_0x…`) on every Readyset host and deletes the state file.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from readyset_proxysql_scheduler import hosts, rules
from readyset_proxysql_scheduler.commands import load_config, parser
from readyset_proxysql_scheduler.config import Config
from readyset_proxysql_scheduler.lock import LockError, LockHeld, RunLock
from readyset_proxysql_scheduler.proxysql import Admin, AdminError, Value, literal, render
from readyset_proxysql_scheduler.readyset import ReadysetError

EXIT_OK = 0
EXIT_FAILURE = 1

COMMENT = "readyset_proxysql_scheduler"
DEFAULT_INTERVAL_MS = 10000
SCHEDULER_ROWS = (
    "SELECT id, active, interval_ms, filename, arg1, arg2, arg3, arg4, arg5, comment"
    " FROM main.scheduler ORDER BY id"
)
RUNTIME_SCHEDULER_ROWS = (
    "SELECT id, active, interval_ms, filename, arg1, arg2, arg3, arg4, arg5, comment"
    " FROM runtime_scheduler ORDER BY id"
)
INSERT_ROW = (
    "INSERT INTO scheduler (active, interval_ms, filename, arg1, comment)"
    " VALUES (1, {interval_ms}, {filename}, {arg1}, {comment})"
)
UPDATE_ROW = (
    "UPDATE scheduler SET active = 1, interval_ms = {interval_ms}, filename = {filename},"
    " arg1 = {arg1}, arg2 = NULL, arg3 = NULL, arg4 = NULL, arg5 = NULL, comment = {comment}"
    " WHERE id = {id}"
)
DELETE_ROW = "DELETE FROM scheduler WHERE id = {id}"
LOAD_SCHEDULER = "LOAD SCHEDULER TO RUNTIME"
SAVE_SCHEDULER = "SAVE SCHEDULER TO DISK"
DELETE_RULES = "DELETE FROM mysql_query_rules WHERE rule_id IN ({ids})"
LOAD_RULES = "LOAD MYSQL QUERY RULES TO RUNTIME"
SAVE_RULES = "SAVE MYSQL QUERY RULES TO DISK"

# d_<digest> (before caches were per schema) and d_<digest>_<schema or h+hash> (actions.py)
# d_<digest>[_<schema>] for digest caches, v_<query id> for learned literal variants
_OUR_CACHE = re.compile(r"^(d_0x[0-9A-Fa-f]{1,16}(_[A-Za-z0-9_]+)?|v_[0-9a-f]{1,16})$")


class InstallError(Exception):
    """Cannot install; str() says why and what to do."""


@dataclass(frozen=True)
class SchedulerRow:
    id: int
    active: bool
    interval_ms: int
    filename: str
    args: tuple[Optional[str], ...]  # arg1 … arg5
    comment: str

    @staticmethod
    def from_row(r: Sequence[object]) -> SchedulerRow:
        return SchedulerRow(
            id=int(str(r[0])),
            active=str(r[1]) == "1",
            interval_ms=int(str(r[2])),
            filename=str(r[3]),
            args=tuple(None if a is None else str(a) for a in r[4:9]),
            comment=str(r[9] or ""),
        )

    def config_path(self) -> Optional[str]:
        """The config file its arguments name (ProxySQL passes only up to the first NULL)."""
        words: list[str] = []
        for arg in self.args:
            if arg is None:
                break
            try:
                words.extend(shlex.split(arg))
            except ValueError:
                words.append(arg)
        for i, word in enumerate(words):
            if word.startswith("--config="):
                return word[len("--config=") :]
            if word == "--config" and i + 1 < len(words):
                return words[i + 1]
        return None


def executable() -> str:
    """The absolute path ProxySQL should exec to run this program."""
    path = os.path.realpath(sys.argv[0])
    if os.path.basename(path) == "__main__.py":  # `python -m`: name the console script beside it
        script = os.path.join(
            os.path.dirname(os.path.abspath(sys.executable)), "readyset_proxysql_scheduler"
        )
        if os.access(script, os.X_OK):
            return script
        raise InstallError(
            "run install through the readyset_proxysql_scheduler command or the .pyz file:"
            " ProxySQL needs an executable file, not `python -m`"
        )
    if not os.access(path, os.X_OK):
        raise InstallError(f"{path} is not executable: chmod +x {path}")
    return path


def config_arg(config: Config) -> str:
    return "--config=" + os.path.realpath(config.path)


def same_config(row: SchedulerRow, config: Config) -> bool:
    named = row.config_path()
    return named is not None and os.path.realpath(named) == os.path.realpath(config.path)


def rows_of(admin: Admin, config: Config, sql: str = SCHEDULER_ROWS) -> list[SchedulerRow]:
    return [
        row
        for row in (SchedulerRow.from_row(r) for r in admin.execute(sql))
        if same_config(row, config)
    ]


class Runner:
    """Prints each statement, then sends it unless this is a dry run."""

    def __init__(self, admin: Admin, dry_run: bool) -> None:
        self.admin = admin
        self.dry_run = dry_run

    def __call__(self, sql: str) -> None:
        print(sql + ";", flush=True)
        if not self.dry_run:
            self.admin.execute(sql)


def install(config: Config, interval_ms: Optional[int], dry_run: bool) -> int:
    filename = executable()
    arg1 = config_arg(config)
    admin = Admin(config)
    try:
        ours = rows_of(admin, config)
        keep = ours[0] if ours else None
        interval = interval_ms or (keep.interval_ms if keep else DEFAULT_INTERVAL_MS)
        wanted: dict[str, Value] = dict(
            interval_ms=interval, filename=filename, arg1=arg1, comment=COMMENT
        )
        if keep is not None and len(ours) == 1 and _matches(keep, interval, filename, arg1):
            runtime = [r for r in rows_of(admin, config, RUNTIME_SCHEDULER_ROWS) if r == keep]
            if runtime:
                print(f"-- scheduler row {keep.id} is installed and loaded: nothing to do")
                return EXIT_OK
        run = Runner(admin, dry_run)
        if dry_run:
            print("-- dry run: these statements are not sent")
        if keep is None:
            run(render(INSERT_ROW, **wanted))
        else:
            run(render(UPDATE_ROW, id=keep.id, **wanted))
            for extra in ours[1:]:
                run(render(DELETE_ROW, id=extra.id))
        run(LOAD_SCHEDULER)
        run(SAVE_SCHEDULER)
    finally:
        admin.close()
    print(f"-- ProxySQL runs {filename} {arg1} every {interval} ms")
    if interval < config.pass_timeout_s * 1000:
        print(
            f"-- warning: interval {interval} ms is shorter than pass_timeout_s="
            f"{config.pass_timeout_s:g}: slow passes will overlap (the lock makes the late one"
            " exit at once)"
        )
    return EXIT_OK


def _matches(row: SchedulerRow, interval: int, filename: str, arg1: str) -> bool:
    return (
        row.active
        and row.interval_ms == interval
        and row.filename == filename
        and row.args == (arg1, None, None, None, None)
        and row.comment == COMMENT
    )


def uninstall(config: Config, purge: bool, dry_run: bool) -> int:
    admin = Admin(config)
    run = Runner(admin, dry_run)
    if dry_run:
        print("-- dry run: these statements are not sent")
    try:
        ours = rows_of(admin, config)
        if ours:
            for row in ours:
                run(render(DELETE_ROW, id=row.id))
            run(LOAD_SCHEDULER)
            run(SAVE_SCHEDULER)
        else:
            print(f"-- no scheduler row names {config_arg(config)}")
        if not purge:
            return EXIT_OK
        with _wait_for_lock(config):
            return _purge(config, admin, run, dry_run)
    finally:
        admin.close()


def _purge(config: Config, admin: Admin, run: Runner, dry_run: bool) -> int:
    ids = [item.rule.rule_id for item in rules.owned(admin.rules(), config.readyset_hostgroup)]
    if ids:
        run(DELETE_RULES.format(ids=", ".join(literal(i) for i in ids)))
        run(LOAD_RULES)
        run(SAVE_RULES)
    else:
        print("-- no query rule of the scheduler's")
    code = EXIT_OK
    servers = admin.readyset_servers(config.readyset_hostgroup)
    for host in hosts.select(config, servers):
        client = hosts.client(config, host)
        try:
            names = sorted(n for n in client.cache_names() if _OUR_CACHE.match(n))
            print(f"-- on Readyset {host.endpoint}: {len(names)} cache(s) of the scheduler's")
            for name in names:
                print(f"DROP CACHE {name};", flush=True)
                if not dry_run:
                    client.drop_cache(name)
        except ReadysetError as e:
            print(f"-- cannot drop the caches on {host.endpoint}: {e}", file=sys.stderr)
            code = EXIT_FAILURE
        finally:
            client.close()
    state = config.state_path
    if os.path.exists(state):
        print(f"-- delete state file {state}")
        if not dry_run:
            os.unlink(state)
    return code


class _wait_for_lock:
    """The run lock, waiting for a pass in progress to end (at most its deadline and 2 s)."""

    def __init__(self, config: Config) -> None:
        self.lock = RunLock(config.lock_file)
        self.limit = config.pass_timeout_s + 2

    def __enter__(self) -> RunLock:
        give_up = time.monotonic() + self.limit
        while True:
            try:
                return self.lock.__enter__()
            except LockHeld:
                if time.monotonic() > give_up:
                    raise
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self.lock.__exit__(None, None, None)


def main(command: str, argv: list[str]) -> int:
    if command == "install":
        p = parser("install", "Write ProxySQL's scheduler row that runs this executable.")
        p.add_argument(
            "--interval-ms",
            type=int,
            metavar="N",
            help=f"run every N ms (default: keep the row's, else {DEFAULT_INTERVAL_MS})",
        )
    else:
        p = parser("uninstall", "Remove ProxySQL's scheduler row of this config.")
        p.add_argument(
            "--purge",
            action="store_true",
            help="also delete the scheduler's query rules, its caches and its state file",
        )
    p.add_argument("--dry-run", action="store_true", help="print the SQL, send none of it")
    args = p.parse_args(argv)
    config = load_config(args.config)
    try:
        if command == "install":
            if args.interval_ms is not None and not 100 <= args.interval_ms <= 100000000:
                p.error("--interval-ms must be within 100..100000000 (ProxySQL's limits)")
            return install(config, args.interval_ms, args.dry_run)
        return uninstall(config, args.purge, args.dry_run)
    except (InstallError, AdminError, LockError, OSError) as e:
        print(f"{command} failed: {e}", file=sys.stderr)
        return EXIT_FAILURE
    except LockHeld:
        print(f"{command} failed: a pass still holds {config.lock_file}", file=sys.stderr)
        return EXIT_FAILURE
