"""Simulated traffic in simulated time: digest counters without sending a statement.

For lifecycle tests and the week-long benchmark. Each `run()` walks the ProxySQL emulator's
runtime query rules for the digest exactly as a real statement would (`Runtime.process`), then
adds the executions to the counters of the hostgroup the rules chose, and to the Readyset
hostgroup as well when a mirror rule matched, with the latency given for each side and
`first_seen`/`last_seen` at the simulated time. `publish()` puts the counters into
`stats_mysql_query_digest`; `reset()` forgets them, as a ProxySQL restart or a read of
`stats_mysql_query_digest_reset` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rps_sandbox.proxysql import ProxySQL


@dataclass
class Row:
    count: int = 0
    sum_time: int = 0
    rows_sent: int = 0
    first_seen: int = 0
    last_seen: int = 0
    min_time: int = 0
    max_time: int = 0
    text: str = ""


@dataclass
class Served:
    source: int = 0
    readyset: int = 0  # routed to the Readyset hostgroup
    mirrored: int = 0  # also sent there as mirrors


class Workload:
    def __init__(
        self,
        proxysql: ProxySQL,
        user: str = "app",
        source_hostgroup: int = 1,
        readyset_hostgroup: int = 99,
    ) -> None:
        self.proxysql = proxysql
        self.user = user
        self.source = source_hostgroup
        self.readyset = readyset_hostgroup
        self.rows: dict[tuple[int, str, str], Row] = {}  # (hostgroup, schema, digest)

    def run(
        self,
        digest: str,
        text: str,
        count: int,
        now: float,
        source_us: int,
        readyset_us: int,
        schema: str = "shop",
        readyset_errors: bool = False,
        rows_sent: int = 1,
    ) -> Served:
        """`count` executions of one digest at time `now`, where the rules send them."""
        served = Served()
        if count <= 0:
            return served
        outcome = self.proxysql.runtime.process(text, self.user, schema, "", int(digest, 16), text)
        hostgroup = outcome.destination_hostgroup
        if hostgroup is None:
            hostgroup = self.source
        routed_to_readyset = hostgroup == self.readyset
        if not (routed_to_readyset and readyset_errors):
            self._add(
                hostgroup,
                schema,
                digest,
                text,
                count,
                now,
                readyset_us if routed_to_readyset else source_us,
                rows_sent,
            )
        if routed_to_readyset:
            served.readyset = count
        else:
            served.source = count
        if outcome.mirror_hostgroup == self.readyset and not routed_to_readyset:
            served.mirrored = count
            if not readyset_errors:
                self._add(self.readyset, schema, digest, text, count, now, readyset_us, rows_sent)
        return served

    def _add(
        self,
        hostgroup: int,
        schema: str,
        digest: str,
        text: str,
        count: int,
        now: float,
        latency_us: int,
        rows_sent: int,
    ) -> None:
        key = (hostgroup, schema, digest)
        row = self.rows.get(key)
        t = int(now)
        if row is None:
            row = self.rows[key] = Row(first_seen=t, min_time=latency_us, text=text)
        row.count += count
        row.sum_time += count * latency_us
        row.rows_sent += count * rows_sent
        row.last_seen = t
        row.min_time = min(row.min_time, latency_us)
        row.max_time = max(row.max_time, latency_us)

    def publish(self) -> None:
        rows: list[dict[str, Any]] = [
            dict(
                hostgroup=hostgroup,
                schemaname=schema,
                username=self.user,
                digest=digest,
                digest_text=row.text,
                count_star=row.count,
                first_seen=row.first_seen,
                last_seen=row.last_seen,
                sum_time=row.sum_time,
                min_time=row.min_time,
                max_time=row.max_time,
                sum_rows_sent=row.rows_sent,
            )
            for (hostgroup, schema, digest), row in self.rows.items()
        ]
        with self.proxysql.runtime.lock:
            self.proxysql.runtime.digests.clear()
        self.proxysql.add_digest_rows(rows)

    def reset(self) -> None:
        self.rows.clear()
        with self.proxysql.runtime.lock:
            self.proxysql.runtime.digests.clear()
