"""The RUNTIME layer of the ProxySQL emulator: live servers, users, compiled query rules,
variables, scheduler rows and the query-digest map, as Python objects.

The admin side (one thread) replaces these structures on LOAD ... TO RUNTIME and reads them to
regenerate runtime_* / stats_* tables; the traffic side (the asyncio loop) reads them for every
query. Replacement is done by swapping whole objects under `lock`, so readers never see a
half-built rule list.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from . import schema

STATUSES = ("ONLINE", "SHUNNED", "OFFLINE_SOFT", "OFFLINE_HARD")


@dataclass
class Server:
    hostgroup_id: int
    hostname: str
    port: int
    row: dict[str, Any]
    status: str = "ONLINE"
    conn_used: int = 0
    conn_free: int = 0
    conn_ok: int = 0
    conn_err: int = 0
    max_conn_used: int = 0
    queries: int = 0
    bytes_sent: int = 0
    bytes_recv: int = 0
    removed: bool = False  # dropped from the configuration by a LOAD (acts as OFFLINE_HARD)

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.hostgroup_id, self.hostname, self.port)

    @property
    def weight(self) -> int:
        return int(self.row.get("weight") or 0)

    @property
    def max_connections(self) -> int:
        return int(self.row.get("max_connections") or 0)

    def usable(self) -> bool:
        return (
            not self.removed
            and self.status == "ONLINE"
            and self.weight > 0
            and self.conn_used < self.max_connections
        )


def _int_or_none(value: Any) -> Optional[int]:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _compile(pattern: Optional[str], modifiers: Optional[str]) -> Any:
    if pattern is None or pattern == "":
        return None
    flags = 0
    mods = {m.strip().upper() for m in (modifiers or "").split(",")}
    if "CASELESS" in mods:
        flags |= re.IGNORECASE
    try:
        return re.compile(pattern, flags)
    except re.error:
        return False  # an invalid regex never matches


@dataclass
class Rule:
    row: dict[str, Any]
    rule_id: int
    flag_in: int
    username: Optional[str]
    schemaname: Optional[str]
    client_addr: Optional[str]
    proxy_addr: Optional[str]
    proxy_port: Optional[int]
    digest: Optional[int]
    match_digest: Any
    match_pattern: Any
    negate: bool
    flag_out: Optional[int]
    replace_pattern: Optional[str]
    global_replace: bool
    destination_hostgroup: Optional[int]
    mirror_hostgroup: Optional[int]
    mirror_flag_out: Optional[int]
    next_query_flag_in: Optional[int]
    error_msg: Optional[str]
    ok_msg: Optional[str]
    apply: bool
    hits: int = 0

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Optional[Rule]:
        client_addr = row.get("client_addr") or None
        if client_addr is not None and "%" in client_addr[:-1]:
            return None  # ProxySQL skips such rules with an error log
        digest: Optional[int] = None
        raw_digest = row.get("digest")
        if raw_digest not in (None, ""):
            try:
                digest = int(str(raw_digest).strip(), 0)
            except ValueError:
                digest = None
            if digest is not None and not (0 < digest < 2**64):
                digest = None
        mods = row.get("re_modifiers")
        shown = dict(row)
        if digest is not None:
            shown["digest"] = f"0x{digest:016X}"
        return cls(
            row=shown,
            rule_id=int(row["rule_id"]),
            flag_in=int(row.get("flagIN") or 0),
            username=row.get("username") or None,
            schemaname=row.get("schemaname") or None,
            client_addr=client_addr,
            proxy_addr=row.get("proxy_addr") or None,
            proxy_port=_int_or_none(row.get("proxy_port")),
            digest=digest,
            match_digest=_compile(row.get("match_digest"), mods),
            match_pattern=_compile(row.get("match_pattern"), mods),
            negate=bool(row.get("negate_match_pattern")),
            flag_out=_int_or_none(row.get("flagOUT")),
            replace_pattern=row.get("replace_pattern"),
            global_replace="GLOBAL" in (mods or "").upper(),
            destination_hostgroup=_int_or_none(row.get("destination_hostgroup")),
            mirror_hostgroup=_int_or_none(row.get("mirror_hostgroup")),
            mirror_flag_out=_int_or_none(row.get("mirror_flagOUT")),
            next_query_flag_in=_int_or_none(row.get("next_query_flagIN")),
            error_msg=row.get("error_msg"),
            ok_msg=row.get("OK_msg"),
            apply=bool(row.get("apply")),
        )


@dataclass
class QueryOutcome:
    """What the rules decided for one query."""

    destination_hostgroup: Optional[int] = None
    mirror_hostgroup: Optional[int] = None
    mirror_flag_out: Optional[int] = None
    next_query_flag_in: Optional[int] = None
    error_msg: Optional[str] = None
    ok_msg: Optional[str] = None
    query: Optional[str] = None  # rewritten text, if a replace_pattern applied
    matched: list[int] = field(default_factory=list)


@dataclass
class Runtime:
    lock: threading.RLock = field(default_factory=threading.RLock)
    servers: dict[tuple[int, str, int], Server] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    fast_routing_rows: list[dict[str, Any]] = field(default_factory=list)
    fast_routing: dict[tuple[str, str, int], int] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    scheduler: list[dict[str, Any]] = field(default_factory=list)
    scheduler_version: int = 0
    # (hostgroup, schemaname, username, client_address, digest) ->
    #   [count, first_seen, last_seen, sum_time, min_time, max_time, rows_affected, rows_sent, text]
    digests: dict[tuple[int, str, str, str, str], list[Any]] = field(default_factory=dict)
    digest_settings: Any = None
    rules_version: int = 0

    # ---- variables ---
    def var(self, name: str, default: Optional[str] = None) -> Optional[str]:
        value = self.variables.get(name)
        if value is None:
            spec = schema.ALL_VARIABLES.get(name)
            return spec[0] if spec else default
        return value

    def var_int(self, name: str, default: int) -> int:
        try:
            return int(self.var(name, str(default)) or default)
        except ValueError:
            return default

    def var_bool(self, name: str) -> bool:
        return (self.var(name, "false") or "").lower() in ("true", "1")

    # ---- users ---
    def frontend_user(self, username: str) -> Optional[dict[str, Any]]:
        for row in self.users:
            if row["username"] == username and row.get("frontend") and row.get("active"):
                return row
        return None

    def backend_user(self, username: str) -> Optional[dict[str, Any]]:
        for row in self.users:
            if row["username"] == username and row.get("backend") and row.get("active"):
                return row
        return None

    # ---- servers ---
    def pick_server(self, hostgroup: int, exclude: Any = ()) -> Optional[Server]:
        with self.lock:
            candidates = [
                s
                for s in self.servers.values()
                if s.hostgroup_id == hostgroup and s.usable() and s.key not in exclude
            ]
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0]
        return random.choices(candidates, weights=[s.weight for s in candidates])[0]

    def server(self, key: tuple[int, str, int]) -> Optional[Server]:
        return self.servers.get(key)

    # ---- query rules ---
    def process(
        self,
        query: str,
        username: str,
        schemaname: str,
        client_addr: str,
        digest: Optional[int],
        digest_text: Optional[str],
        flag_in: int = 0,
        proxy_addr: str = "",
        proxy_port: int = 0,
    ) -> QueryOutcome:
        out = QueryOutcome()
        rules = self.rules  # swapped atomically by LOAD
        text = query
        last: Optional[Rule] = None
        for rule in rules:
            last = rule
            if rule.flag_in != flag_in:
                continue
            if rule.username is not None and rule.username != username:
                continue
            if rule.schemaname is not None and rule.schemaname != schemaname:
                continue
            if rule.client_addr is not None:
                ca = rule.client_addr
                if ca.endswith("%"):
                    if not client_addr.startswith(ca[:-1]):
                        continue
                elif ca != client_addr:
                    continue
            if rule.proxy_addr is not None and rule.proxy_addr != proxy_addr:
                continue
            if rule.proxy_port is not None and rule.proxy_port != proxy_port:
                continue
            if rule.digest is not None and digest is not None and rule.digest != digest:
                continue
            if rule.match_digest is not None and digest_text is not None:
                found = rule.match_digest is not False and rule.match_digest.search(digest_text)
                if bool(found) == rule.negate:
                    continue
            if rule.match_pattern is not None:
                found = rule.match_pattern is not False and rule.match_pattern.search(text)
                if bool(found) == rule.negate:
                    continue
            # matched
            rule.hits += 1
            out.matched.append(rule.rule_id)
            if rule.destination_hostgroup is not None:
                out.destination_hostgroup = rule.destination_hostgroup
            if rule.mirror_hostgroup is not None:
                out.mirror_hostgroup = rule.mirror_hostgroup
            if rule.mirror_flag_out is not None:
                out.mirror_flag_out = rule.mirror_flag_out
            if rule.next_query_flag_in is not None:
                out.next_query_flag_in = rule.next_query_flag_in
            if rule.error_msg is not None:
                out.error_msg = rule.error_msg
            if rule.ok_msg is not None:
                out.ok_msg = rule.ok_msg
            if (
                rule.replace_pattern is not None
                and rule.match_pattern not in (None, False)
                and not rule.negate
            ):
                try:
                    text = rule.match_pattern.sub(
                        _py_replacement(rule.replace_pattern),
                        text,
                        count=0 if rule.global_replace else 1,
                    )
                    out.query = text
                except (re.error, IndexError):
                    pass
            if rule.flag_out is not None:
                flag_in = rule.flag_out
            if rule.apply:
                break
        if not (last is not None and last.apply):
            hg = self.fast_routing.get((username, schemaname, flag_in))
            if hg is not None:
                out.destination_hostgroup = hg
        return out

    # ---- digests ---
    def record_digest(
        self,
        hostgroup: int,
        schemaname: str,
        username: str,
        client_address: str,
        digest: str,
        text: str,
        micros: int,
        rows_affected: int,
        rows_sent: int,
    ) -> None:
        now = int(time.time())
        key = (hostgroup, schemaname, username, client_address, digest)
        with self.lock:
            entry = self.digests.get(key)
            if entry is None:
                self.digests[key] = [
                    1,
                    now,
                    now,
                    micros,
                    micros,
                    micros,
                    rows_affected,
                    rows_sent,
                    text,
                ]
                return
            entry[0] += 1
            entry[2] = now
            entry[3] += micros
            if micros and (entry[4] == 0 or micros < entry[4]):
                entry[4] = micros
            if micros > entry[5]:
                entry[5] = micros
            entry[6] += rows_affected
            entry[7] += rows_sent

    def digest_rows(self, reset: bool = False) -> list[tuple[Any, ...]]:
        with self.lock:
            items = self.digests
            if reset:
                self.digests = {}
            else:
                items = dict(items)
        return [
            (k[0], k[1], k[2], k[3], k[4], v[8], v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])
            for k, v in items.items()
        ]


def _py_replacement(pattern: str) -> str:
    # PCRE replacement strings use \1 .. \9 like Python; escape nothing else.
    return pattern
