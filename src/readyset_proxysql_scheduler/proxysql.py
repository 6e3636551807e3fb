"""The ProxySQL admin interface: every statement the scheduler sends, and the rows it reads.

The admin interface hands statement text to SQLite, so values are quoted the SQLite way
(`'` doubled, backslash literal), not with PyMySQL's MySQL escaping: a backslash in a username
or schema name must arrive as itself. Only this module and `readyset.py` import PyMySQL.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple, Optional, Union

import pymysql

from readyset_proxysql_scheduler.config import Config, DiscoveryMode

Value = Union[None, int, str]

SERVERS = (
    "SELECT r.hostname, r.port, r.status, m.status, r.comment"
    " FROM runtime_mysql_servers r LEFT JOIN main.mysql_servers m"
    " ON m.hostgroup_id = r.hostgroup_id AND m.hostname = r.hostname AND m.port = r.port"
    " WHERE r.hostgroup_id = {hostgroup}"
)
SET_SERVER_STATUS = (
    "UPDATE mysql_servers SET status = {status}"
    " WHERE hostgroup_id = {hostgroup} AND hostname = {hostname} AND port = {port}"
)
LOAD_SERVERS = "LOAD MYSQL SERVERS TO RUNTIME"
RULES = (
    "SELECT rule_id, active, username, schemaname, digest, match_digest, match_pattern,"
    " destination_hostgroup, mirror_hostgroup, apply, flagIN, comment"
    " FROM mysql_query_rules ORDER BY rule_id"
)
DIGEST_VARIABLES = (
    "SELECT variable_name, variable_value FROM global_variables"
    " WHERE variable_name LIKE 'mysql-query_digests%'"
)
# The one read of the digest table in a pass. An anti-join through NOT IN costs nothing extra,
# where the original's LEFT JOIN scans the rules once per digest (reference proxysql.md §10).
# A (digest, schema) that a rule names is taken; a rule naming a digest for any schema takes
# the digest in every schema.
CANDIDATES = (
    "SELECT digest, digest_text, schemaname, count_star, sum_time, sum_rows_sent,"
    " min_time, max_time FROM stats_mysql_query_digest"
    " WHERE hostgroup = {hostgroup} AND username = {username}"
    " AND schemaname NOT IN ('sys', 'information_schema', 'performance_schema', 'mysql')"
    " AND (digest_text LIKE 'select%' OR digest_text LIKE 'with%')"
    " AND count_star > {min_execution} AND sum_rows_sent > {min_rows_sent}"
    " AND digest NOT IN (SELECT digest FROM mysql_query_rules"
    " WHERE digest IS NOT NULL AND IFNULL(schemaname, '') = '')"
    " AND digest || '/' || schemaname NOT IN (SELECT digest || '/' || schemaname"
    " FROM mysql_query_rules WHERE digest IS NOT NULL AND schemaname <> '')"
    " ORDER BY {order} DESC, count_star DESC, digest LIMIT {limit}"
)
INSERT_RULE = (
    "INSERT INTO mysql_query_rules (rule_id, active, username, schemaname, digest,"
    " destination_hostgroup, mirror_hostgroup, apply, comment)"
    " VALUES ({rule_id}, 1, {username}, {schemaname}, {digest}, {destination}, {mirror}, 1,"
    " {comment})"
)
PROMOTE_RULE = (
    "UPDATE mysql_query_rules SET mirror_hostgroup = NULL, destination_hostgroup = {hostgroup},"
    " comment = {comment} WHERE rule_id = {rule_id}"
)
ROUTE_VARIANTS = (
    "UPDATE mysql_query_rules SET mirror_hostgroup = NULL, destination_hostgroup = {hostgroup},"
    " match_pattern = {pattern}, re_modifiers = 'CASELESS', negate_match_pattern = 0,"
    " comment = {comment} WHERE rule_id = {rule_id}"
)
DELETE_RULE = "DELETE FROM mysql_query_rules WHERE rule_id = {rule_id}"
DIGEST_TEXT = (
    "SELECT digest_text FROM stats_mysql_query_digest"
    " WHERE digest = {digest} AND schemaname = {schemaname} LIMIT 1"
)
# Lifecycle (lifecycle.py): one read per pass of the rows of the scheduler's digests in both
# hostgroups (a mirrored digest has a row under each) and of the candidates seen lately.
# The candidates are bounded in SQL, hottest first by query_discovery_mode: with 100,000 digests
# a pass must not carry them all into Python (reference proxysql.md §10).
SAMPLE = (
    "SELECT hostgroup, digest, schemaname, digest_text, count_star, sum_time, sum_rows_sent,"
    " min_time, max_time, first_seen, last_seen FROM stats_mysql_query_digest"
    " WHERE hostgroup IN ({source}, {readyset}) AND username = {username}"
    " AND digest IN ({digests})"
    " UNION ALL SELECT * FROM (SELECT hostgroup, digest, schemaname, digest_text, count_star,"
    " sum_time, sum_rows_sent, min_time, max_time, first_seen, last_seen"
    " FROM stats_mysql_query_digest"
    " WHERE hostgroup = {source} AND username = {username}"
    " AND schemaname NOT IN ('sys', 'information_schema', 'performance_schema', 'mysql')"
    " AND last_seen >= {since} AND (digest_text LIKE 'select%' OR digest_text LIKE 'with%')"
    " AND count_star > {min_execution} AND sum_rows_sent > {min_rows_sent}"
    " AND digest NOT IN ({digests})"
    " AND digest NOT IN (SELECT digest FROM mysql_query_rules"
    " WHERE digest IS NOT NULL AND IFNULL(schemaname, '') = '')"
    " AND digest || '/' || schemaname NOT IN (SELECT digest || '/' || schemaname"
    " FROM mysql_query_rules WHERE digest IS NOT NULL AND schemaname <> '')"
    " ORDER BY {order} DESC, count_star DESC, digest LIMIT {limit})"
)
DEMOTE_RULE = (
    "UPDATE mysql_query_rules SET destination_hostgroup = NULL, mirror_hostgroup = {hostgroup},"
    " comment = {comment} WHERE rule_id = {rule_id}"
)
SET_RULE_COMMENT = "UPDATE mysql_query_rules SET comment = {comment} WHERE rule_id = {rule_id}"
SET_RULE_ACTIVE = "UPDATE mysql_query_rules SET active = {active} WHERE rule_id = {rule_id}"
LOAD_RULES = "LOAD MYSQL QUERY RULES TO RUNTIME"
SAVE_RULES = "SAVE MYSQL QUERY RULES TO DISK"

# The original's formulas, computed in floating point (SQLite's integer division would rank
# QueryThroughput as all zeros).
ORDER_BY = {
    DiscoveryMode.COUNT_STAR: "count_star",
    DiscoveryMode.SUM_TIME: "sum_time",
    DiscoveryMode.SUM_ROWS_SENT: "sum_rows_sent",
    DiscoveryMode.MEAN_TIME: "(sum_time * 1.0 / count_star)",
    DiscoveryMode.EXECUTION_TIME_DISTANCE: "(max_time - min_time)",
    DiscoveryMode.QUERY_THROUGHPUT: "(count_star * 1.0 / sum_time)",
    DiscoveryMode.WORST_BEST_CASE: "min_time",
    DiscoveryMode.WORST_WORST_CASE: "max_time",
    DiscoveryMode.DISTANCE_MEAN_MAX: "(max_time - (sum_time * 1.0 / count_star))",
}


class AdminError(Exception):
    """The admin interface failed; str() is one line without secrets."""


def literal(value: Value) -> str:
    """A SQLite literal for the admin interface."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if "\x00" in value:
        raise ValueError("a NUL character cannot be sent to the admin interface")
    return "'" + value.replace("'", "''") + "'"


def render(template: str, **values: Value) -> str:
    return template.format(**{k: literal(v) for k, v in values.items()})


class ServerRow(NamedTuple):
    hostname: str
    port: int
    runtime_status: str
    memory_status: Optional[str]
    comment: str


class RuleRow(NamedTuple):
    rule_id: int
    active: bool
    username: Optional[str]
    schemaname: Optional[str]
    digest: Optional[str]
    match_digest: Optional[str]
    match_pattern: Optional[str]
    destination_hostgroup: Optional[int]
    mirror_hostgroup: Optional[int]
    apply: bool
    flag_in: int
    comment: str


class DigestRow(NamedTuple):
    digest: str
    digest_text: str
    schemaname: str
    count_star: int
    sum_time: int
    sum_rows_sent: int
    min_time: int
    max_time: int


class SampleRow(NamedTuple):
    """A stats_mysql_query_digest row as the lifecycle reads it (both hostgroups)."""

    hostgroup: int
    digest: str
    schemaname: str
    digest_text: str
    count_star: int
    sum_time: int
    sum_rows_sent: int
    min_time: int
    max_time: int
    first_seen: int
    last_seen: int


def _int(value: Any) -> Optional[int]:
    return None if value is None else int(value)


_DIGEST = re.compile(r"^0x[0-9A-Fa-f]{1,16}$")


class Admin:
    """One connection to the admin interface, opened lazily, with timeouts."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.conn: Optional[pymysql.connections.Connection] = None

    def _connect(self) -> pymysql.connections.Connection:
        if self.conn is None:
            c = self.config
            try:
                self.conn = pymysql.connect(
                    host=c.proxysql_host,
                    port=c.proxysql_port,
                    user=c.proxysql_user,
                    password=c.proxysql_password,
                    connect_timeout=c.connect_timeout_s,
                    read_timeout=c.query_timeout_s,
                    write_timeout=c.query_timeout_s,
                    autocommit=None,  # the admin interface has no transactions
                    charset="utf8mb4",
                    ssl_disabled=not c.proxysql_ssl,
                    program_name="readyset_proxysql_scheduler",
                )
            except pymysql.err.MySQLError as e:
                raise AdminError(
                    f"cannot connect to ProxySQL admin at {c.proxysql_host}:{c.proxysql_port}"
                    f" as {c.proxysql_user}: {_reason(e)}"
                ) from None
        return self.conn

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())
        except pymysql.err.MySQLError as e:
            self.close()
            raise AdminError(f"ProxySQL admin statement failed: {_reason(e)}") from None

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - the connection may already be broken
                pass
            self.conn = None

    # --- reads ---

    def readyset_servers(self, hostgroup: int) -> list[ServerRow]:
        rows = self.execute(render(SERVERS, hostgroup=hostgroup))
        return [
            ServerRow(
                hostname=str(r[0]),
                port=int(r[1]),
                runtime_status=str(r[2]).upper(),
                memory_status=None if r[3] is None else str(r[3]).upper(),
                comment=str(r[4] or ""),
            )
            for r in rows
        ]

    def rules(self) -> list[RuleRow]:
        return [
            RuleRow(
                rule_id=int(r[0]),
                active=str(r[1]) == "1",
                username=r[2],
                schemaname=r[3],
                digest=r[4],
                match_digest=r[5],
                match_pattern=r[6],
                destination_hostgroup=_int(r[7]),
                mirror_hostgroup=_int(r[8]),
                apply=str(r[9]) == "1",
                flag_in=int(r[10] or 0),
                comment=str(r[11] or ""),
            )
            for r in self.execute(RULES)
        ]

    def digest_variables(self) -> dict[str, str]:
        return {str(r[0]): str(r[1]) for r in self.execute(DIGEST_VARIABLES)}

    def candidates(self, limit: int) -> list[DigestRow]:
        c = self.config
        sql = CANDIDATES.format(
            hostgroup=literal(c.source_hostgroup),
            username=literal(c.readyset_user),
            min_execution=literal(c.query_discovery_min_execution),
            min_rows_sent=literal(c.query_discovery_min_row_sent),
            order=ORDER_BY[c.query_discovery_mode],
            limit=literal(limit),
        )
        out = []
        for r in self.execute(sql):
            if not _DIGEST.match(str(r[0])):
                continue
            out.append(
                DigestRow(
                    digest=str(r[0]),
                    digest_text=str(r[1]),
                    schemaname=str(r[2]),
                    count_star=int(r[3]),
                    sum_time=int(r[4]),
                    sum_rows_sent=int(r[5]),
                    min_time=int(r[6]),
                    max_time=int(r[7]),
                )
            )
        return out

    def sample(self, digests: list[str], since: int, limit: int) -> list[SampleRow]:
        """The rows of these digests in both hostgroups, and the `limit` hottest candidates
        executed since `since` that no rule names."""
        c = self.config
        sql = SAMPLE.format(
            order=ORDER_BY[c.query_discovery_mode],
            limit=int(limit),
            source=literal(c.source_hostgroup),
            readyset=literal(c.readyset_hostgroup),
            username=literal(c.readyset_user),
            digests=", ".join(literal(d) for d in sorted(set(digests))) or "''",
            since=literal(since),
            min_execution=literal(c.query_discovery_min_execution),
            min_rows_sent=literal(c.query_discovery_min_row_sent),
        )
        return [
            SampleRow(int(r[0]), str(r[1]), str(r[2]), str(r[3]), *(int(x or 0) for x in r[4:11]))
            for r in self.execute(sql)
            if _DIGEST.match(str(r[1]))
        ]

    # --- writes ---

    def delete_rule(self, rule_id: int) -> None:
        self.execute(render(DELETE_RULE, rule_id=rule_id))

    def demote_rule(self, rule_id: int, hostgroup: int, comment: str) -> None:
        self.execute(render(DEMOTE_RULE, rule_id=rule_id, hostgroup=hostgroup, comment=comment))

    def set_rule_comment(self, rule_id: int, comment: str) -> None:
        self.execute(render(SET_RULE_COMMENT, rule_id=rule_id, comment=comment))

    def set_server_status(self, hostgroup: int, hostname: str, port: int, status: str) -> None:
        self.execute(
            render(
                SET_SERVER_STATUS, status=status, hostgroup=hostgroup, hostname=hostname, port=port
            )
        )

    def load_servers(self) -> None:
        self.execute(LOAD_SERVERS)

    def insert_rule(
        self,
        rule_id: int,
        username: str,
        schemaname: str,
        digest: str,
        destination: Optional[int],
        mirror: Optional[int],
        comment: str,
    ) -> None:
        self.execute(
            render(
                INSERT_RULE,
                rule_id=rule_id,
                username=username,
                schemaname=schemaname,
                digest=digest,
                destination=destination,
                mirror=mirror,
                comment=comment,
            )
        )

    def promote_rule(self, rule_id: int, hostgroup: int, comment: str) -> None:
        self.execute(render(PROMOTE_RULE, rule_id=rule_id, hostgroup=hostgroup, comment=comment))

    def route_variants(self, rule_id: int, hostgroup: int, pattern: str, comment: str) -> None:
        self.execute(
            render(
                ROUTE_VARIANTS,
                rule_id=rule_id,
                hostgroup=hostgroup,
                pattern=pattern,
                comment=comment,
            )
        )

    def digest_text(self, digest: str, schemaname: str) -> Optional[str]:
        rows = self.execute(render(DIGEST_TEXT, digest=digest, schemaname=schemaname))
        return str(rows[0][0]) if rows else None

    def set_rule_active(self, rule_id: int, active: bool) -> None:
        self.execute(render(SET_RULE_ACTIVE, rule_id=rule_id, active=1 if active else 0))

    def load_rules(self) -> None:
        self.execute(LOAD_RULES)

    def save_rules(self) -> None:
        self.execute(SAVE_RULES)


def _reason(e: BaseException) -> str:
    if isinstance(e, pymysql.err.MySQLError) and len(e.args) >= 2:
        return f"{e.args[1]} ({e.args[0]})"
    return str(e) or type(e).__name__
