"""`doctor`: checks the setup and explains, one line per check: `✓ what is right`, or
`✗ what is wrong — fix: what to do`. Exit 0 when every check passes, else 1. Read-only.

Checks, in order (a check that cannot run because an earlier one failed is not shown):
config readable, config not readable by others, admin reachable with these credentials, ProxySQL
version, source hostgroup has servers, Readyset hostgroup has Readyset hosts, each Readyset host
answers (release and status), the scheduler row (present, active, this executable, this config,
interval above pass_timeout_s), `mysql-query_digests` on, digest settings that cost coverage
(`no_digits`, `lowercase`, `max_digest_length` below the default 2048), and user rules that
would shadow the scheduler's (active, evaluated before them, matching the source traffic, and
ending the rule walk).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import Callable, Optional

from readyset_proxysql_scheduler import health, hosts, profiles, rules
from readyset_proxysql_scheduler import state as state_file
from readyset_proxysql_scheduler.commands import parser
from readyset_proxysql_scheduler.config import Config, ConfigError, load, readable_by_others
from readyset_proxysql_scheduler.install import (
    RUNTIME_SCHEDULER_ROWS,
    InstallError,
    config_arg,
    executable,
    rows_of,
)
from readyset_proxysql_scheduler.proxysql import Admin, AdminError, literal

OK = "\u2713"
BAD = "\u2717"

VERSION = "SELECT @@version"
SERVERS_IN = (
    "SELECT hostname, port, status, comment FROM runtime_mysql_servers"
    " WHERE hostgroup_id = {hostgroup}"
)
DIGEST_VARIABLES = (
    "SELECT variable_name, variable_value FROM runtime_global_variables"
    " WHERE variable_name LIKE 'mysql-query_digests%'"
)
RUNTIME_RULES = (
    "SELECT rule_id, username, schemaname, flagIN, digest, match_digest, match_pattern,"
    " negate_match_pattern, re_modifiers, flagOUT, apply, comment"
    " FROM runtime_mysql_query_rules ORDER BY rule_id"
)
SET_VARIABLE = "SET {name}='{value}'; LOAD MYSQL VARIABLES TO RUNTIME; SAVE MYSQL VARIABLES TO DISK"
# Fixes shown to the user (never sent).
FIX_SOURCE = (
    "INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES ({hostgroup}, …);"
    " LOAD MYSQL SERVERS TO RUNTIME; SAVE MYSQL SERVERS TO DISK (or correct source_hostgroup)"
)
FIX_READYSET = (
    "INSERT INTO mysql_servers (hostgroup_id, hostname, port, comment) VALUES ({hostgroup}, …,"
    " 'Readyset'); LOAD MYSQL SERVERS TO RUNTIME (or set readyset_host)"
)
FIX_SHADOW = (
    "give it a rule_id above the scheduler's (UPDATE mysql_query_rules SET rule_id = 1000"
    " WHERE rule_id = {rule_id}; LOAD MYSQL QUERY RULES TO RUNTIME; SAVE MYSQL QUERY RULES"
    " TO DISK)"
)
DEFAULT_MAX_DIGEST_LENGTH = 2048
# Texts a catch-all rule is tried against, besides the digest texts the scheduler knows.
SAMPLE_READS = ("SELECT a FROM t WHERE id = ?", "select a from t where id = ?")


@dataclass(frozen=True)
class Check:
    ok: bool
    text: str
    fix: str = ""

    def line(self) -> str:
        if self.ok:
            return f"{OK} {self.text}"
        return f"{BAD} {self.text} \u2014 fix: {self.fix}"


def proxysql_version(text: str) -> Check:
    """ProxySQL 2.x and 3.x have the tables and statements the scheduler uses."""
    match = re.match(r"^(\d+)\.(\d+)", text.strip())
    if match is None:
        return Check(False, f"ProxySQL version {text!r} not understood", "run ProxySQL 2.x or 3.x")
    if int(match.group(1)) < 2:
        return Check(False, f"ProxySQL {text} is too old", "upgrade to ProxySQL 2.x or 3.x")
    return Check(True, f"ProxySQL {text}")


@dataclass(frozen=True)
class UserRule:
    rule_id: int
    username: Optional[str]
    schemaname: Optional[str]
    flag_in: int
    digest: Optional[str]
    match_digest: Optional[str]
    match_pattern: Optional[str]
    negate: bool
    modifiers: str
    flag_out: Optional[int]
    apply: bool
    comment: str

    def describe(self) -> str:
        parts = []
        for name, value in (
            ("username", self.username),
            ("digest", self.digest),
            ("match_digest", self.match_digest),
            ("match_pattern", self.match_pattern),
        ):
            if value:
                parts.append(f"{name} {value!r}")
        parts.append("apply=1" if self.apply else f"flagOUT={self.flag_out}")
        return ", ".join(parts)


def _regex_matches(pattern: str, modifiers: str, texts: list[str]) -> bool:
    flags = re.IGNORECASE if "CASELESS" in modifiers.upper() else 0
    try:
        compiled = re.compile(pattern, flags)
    except re.error:
        return True  # a PCRE-only pattern: assume it may match
    return any(compiled.search(t) for t in texts)


def shadows(rule: UserRule, user: str, ours_digests: set[str], texts: list[str]) -> bool:
    """Whether an active user rule evaluated before the scheduler's catches the source reads
    of `user` and ends the walk there (apply=1, or a flagOUT that leaves chain 0)."""
    if rule.flag_in != 0:
        return False
    if not rule.apply and not rule.flag_out:
        return False
    if rule.username and rule.username != user:
        return False
    if rule.digest and rule.digest not in ours_digests:
        return False
    if rule.match_digest and not _regex_matches(rule.match_digest, rule.modifiers, texts):
        return False
    if rule.match_pattern:
        hit = _regex_matches(rule.match_pattern, rule.modifiers, texts)
        if hit == rule.negate:
            return False
    return True


def _user_rules(admin: Admin) -> list[UserRule]:
    out = []
    for r in admin.execute(RUNTIME_RULES):
        out.append(
            UserRule(
                rule_id=int(r[0]),
                username=r[1],
                schemaname=r[2],
                flag_in=int(r[3] or 0),
                digest=r[4],
                match_digest=r[5],
                match_pattern=r[6],
                negate=str(r[7]) == "1",
                modifiers=str(r[8] or ""),
                flag_out=None if r[9] is None else int(r[9]),
                apply=str(r[10]) == "1",
                comment=str(r[11] or ""),
            )
        )
    return out


class Doctor:
    def __init__(self, config: Config, admin: Admin, say: Callable[[Check], None]) -> None:
        self.config = config
        self.admin = admin
        self.say = say

    def run(self) -> None:
        c = self.config
        try:
            version = str(self.admin.execute(VERSION)[0][0])
        except AdminError as e:
            self.say(
                Check(
                    False,
                    f"ProxySQL admin {c.proxysql_host}:{c.proxysql_port}: {e}",
                    "check proxysql_host, proxysql_port, proxysql_user and proxysql_password"
                    " (the `admin` user is accepted from 127.0.0.1 only)",
                )
            )
            return
        self.say(
            Check(
                True,
                f"ProxySQL admin {c.proxysql_host}:{c.proxysql_port} accepts {c.proxysql_user}",
            )
        )
        self.say(proxysql_version(version))
        self.source_hostgroup()
        self.readyset_hosts()
        self.scheduler_row()
        self.digest_settings()
        self.shadowing_rules()

    def source_hostgroup(self) -> None:
        hg = self.config.source_hostgroup
        servers = self.admin.execute(SERVERS_IN.format(hostgroup=literal(hg)))
        if servers:
            self.say(Check(True, f"source hostgroup {hg} has {len(servers)} server(s)"))
        else:
            self.say(
                Check(
                    False,
                    f"source hostgroup {hg} has no server in runtime_mysql_servers",
                    FIX_SOURCE.format(hostgroup=hg),
                )
            )

    def readyset_hosts(self) -> None:
        c = self.config
        hg = c.readyset_hostgroup
        selected = hosts.select(c, self.admin.readyset_servers(hg))
        if not selected:
            self.say(
                Check(
                    False,
                    f"Readyset hostgroup {hg} has no server whose comment contains 'readyset'",
                    FIX_READYSET.format(hostgroup=hg),
                )
            )
            return
        self.say(Check(True, f"Readyset hostgroup {hg} has {len(selected)} Readyset host(s)"))
        for h in selected:
            client = hosts.client(c, h)
            try:
                release = profiles.release_of(client.version_rows()) or "release unknown"
                verdict = health.judge(client.status())
            except Exception as e:  # noqa: BLE001 - reported as the check's line
                self.say(
                    Check(
                        False,
                        str(e) if str(h.endpoint) in str(e) else f"Readyset {h.endpoint}: {e}",
                        "start it, and let it accept readyset_user with readyset_password"
                        " (Readyset's --allowed-users / upstream URL)",
                    )
                )
                continue
            finally:
                client.close()
            if verdict.status == health.ONLINE:
                self.say(Check(True, f"Readyset {h.endpoint}: {release}, {verdict.reason}"))
            else:
                self.say(
                    Check(
                        False,
                        f"Readyset {h.endpoint}: {release}, {verdict.reason}: not ready to serve",
                        "wait for the snapshot to end, or take it out of maintenance mode",
                    )
                )

    def scheduler_row(self) -> None:
        c = self.config
        try:
            program = executable()
        except InstallError:
            program = "readyset_proxysql_scheduler"
        install = f"{program} install --config={os.path.realpath(c.path)}"
        found = rows_of(self.admin, c, RUNTIME_SCHEDULER_ROWS)
        if not found:
            self.say(
                Check(False, f"no row in runtime_scheduler runs {config_arg(c)}", f"run {install}")
            )
            return
        row = found[0]
        if not row.active:
            self.say(Check(False, f"scheduler row {row.id} is inactive", f"run {install}"))
            return
        try:
            mine = executable()
        except InstallError as e:
            self.say(Check(False, f"scheduler row {row.id}: {e}", "run doctor the same way"))
            return
        if row.filename != mine:
            self.say(
                Check(
                    False,
                    f"scheduler row {row.id} runs {row.filename}, not this executable {mine}",
                    f"run {install}",
                )
            )
            return
        self.say(Check(True, f"scheduler row {row.id} runs {mine} {config_arg(c)}"))
        if row.interval_ms <= c.pass_timeout_s * 1000:
            self.say(
                Check(
                    False,
                    f"scheduler row {row.id} runs every {row.interval_ms} ms, not more than"
                    f" pass_timeout_s={c.pass_timeout_s:g}",
                    f"run {install} --interval-ms {int(c.pass_timeout_s * 1000) + 2000}, or"
                    " lower pass_timeout_s",
                )
            )

    def digest_settings(self) -> None:
        values = {str(k): str(v) for k, v in self.admin.execute(DIGEST_VARIABLES)}

        def flag(name: str) -> bool:
            return values.get(name, "").lower() in ("true", "1")

        if not flag("mysql-query_digests"):
            self.say(
                Check(
                    False,
                    "mysql-query_digests is off: ProxySQL records no digest to discover",
                    SET_VARIABLE.format(name="mysql-query_digests", value="true"),
                )
            )
        else:
            self.say(Check(True, "mysql-query_digests is on"))
        costs = {
            "mysql-query_digests_no_digits": "digits in names become ?, such queries are refused",
            "mysql-query_digests_lowercase": "digest texts lose the case of names and strings",
        }
        for name, cost in costs.items():
            if flag(name):
                self.say(
                    Check(
                        False,
                        f"{name} is true: {cost}",
                        SET_VARIABLE.format(name=name, value="false"),
                    )
                )
            else:
                self.say(Check(True, f"{name} is false"))
        name = "mysql-query_digests_max_digest_length"
        try:
            length = int(values.get(name, str(DEFAULT_MAX_DIGEST_LENGTH)))
        except ValueError:
            length = DEFAULT_MAX_DIGEST_LENGTH
        if length < DEFAULT_MAX_DIGEST_LENGTH:
            self.say(
                Check(
                    False,
                    f"{name} is {length}: longer queries are cut, and a cut text is refused",
                    SET_VARIABLE.format(name=name, value=DEFAULT_MAX_DIGEST_LENGTH),
                )
            )
        else:
            self.say(Check(True, f"{name} is {length}"))

    def shadowing_rules(self) -> None:
        c = self.config
        runtime = _user_rules(self.admin)
        ours = [r for r in runtime if r.comment.startswith((rules.ADDED, rules.MIRROR))]
        if ours:
            first = min(r.rule_id for r in ours)
        else:
            first = rules.place(self.admin.rules(), 1).ids[0]
        ours_digests = {r.digest for r in ours if r.digest}
        remembered, _ = state_file.load(c.state_path)
        texts = [*SAMPLE_READS, *(q.text for q in remembered.queries.values())]
        found = False
        for rule in runtime:
            if rule in ours or rule.rule_id >= first:
                continue
            if shadows(rule, c.readyset_user, ours_digests, texts):
                found = True
                self.say(
                    Check(
                        False,
                        f"user rule {rule.rule_id} ({rule.describe()}) comes before the"
                        f" scheduler's rules (from {first}) and catches {c.readyset_user}'s reads",
                        FIX_SHADOW.format(rule_id=rule.rule_id),
                    )
                )
        if not found:
            self.say(
                Check(True, f"no user rule before the scheduler's (from {first}) catches its reads")
            )


def main(command: str, argv: list[str]) -> int:
    p = parser("doctor", "Check the setup; one line per check with the fix.")
    args = p.parse_args(argv)
    failed = []

    def say(check: Check) -> None:
        print(check.line(), flush=True)
        if not check.ok:
            failed.append(check)

    try:
        config = load(args.config)
    except ConfigError as e:
        say(Check(False, f"config: {e}", "correct the file; nothing else was checked"))
        print("1 problem(s)", file=sys.stderr)
        return 2  # a configuration error, as for a pass
    say(Check(True, f"config {config.path} is valid"))
    if readable_by_others(config.path):
        say(
            Check(
                False,
                f"config {config.path} holds passwords and other users can read it",
                f"chmod 600 {config.path} (owned by the user ProxySQL runs as)",
            )
        )
    else:
        say(Check(True, f"config {config.path} is not readable by other users"))
    admin = Admin(config)
    try:
        Doctor(config, admin, say).run()
    except AdminError as e:
        say(Check(False, f"ProxySQL admin: {e}", "run doctor again once ProxySQL answers"))
    finally:
        admin.close()
    if failed:
        print(f"{len(failed)} problem(s)", file=sys.stderr)
        return 1
    return 0
