"""Every change the scheduler makes, in one place: logged as one line, then done unless this
is a dry run (which logs the same line as `dry run: would …`)."""

from __future__ import annotations

import hashlib
import re
from typing import Callable, Optional

from readyset_proxysql_scheduler import health, hosts, rules
from readyset_proxysql_scheduler.config import Config
from readyset_proxysql_scheduler.log import Log
from readyset_proxysql_scheduler.profiles import Profile
from readyset_proxysql_scheduler.proxysql import Admin, DigestRow, RuleRow
from readyset_proxysql_scheduler.readyset import Readyset
from readyset_proxysql_scheduler.state import Remembered

_PLAIN_SCHEMA = re.compile(r"[A-Za-z0-9_]{1,40}")


def cache_name(digest: str, schema: str) -> str:
    """One cache per (digest, schema): `d_<digest>_<schema>`, the schema hashed when it is not
    a plain name. Deterministic, so that every scheduler names a query's cache alike."""
    if _PLAIN_SCHEMA.fullmatch(schema):
        return f"d_{digest}_{schema}"
    return f"d_{digest}_h{hashlib.sha1(schema.encode('utf-8')).hexdigest()[:10]}"


class Live:
    """A Readyset host during this pass."""

    def __init__(
        self,
        host: hosts.Host,
        client: Readyset,
        verdict: health.Verdict,
        routable: bool = False,  # healthy, and ProxySQL sends it traffic (ONLINE at runtime)
        status_rows: Optional[list[tuple[str, str]]] = None,  # SHOW READYSET STATUS, if read
    ) -> None:
        self.host = host
        self.client = client
        self.verdict = verdict
        self.routable = routable
        self.status_rows = status_rows
        self.caches: Optional[set[str]] = None  # names seen by SHOW CACHES, None until read
        self.profile: Optional[Profile] = None  # what its caches serve, once detected
        self.cache_texts: Optional[dict[str, str]] = None  # SHOW CACHES: name -> query text

    def read_caches(self) -> set[str]:
        """SHOW CACHES on this host, kept for the rest of the pass."""
        return self.set_caches(self.client.caches())

    def set_caches(self, texts: dict[str, str]) -> set[str]:
        """What SHOW CACHES said (name -> query text), kept for the rest of the pass."""
        self.cache_texts = texts
        self.caches = set(texts)
        return self.caches


class Summary:
    """What a pass changed, and what went wrong, for its last log line."""

    def __init__(self) -> None:
        self.changes: list[str] = []
        self.problems: list[str] = []


class Actions:
    """Every change the scheduler makes goes through here: logged, then done unless dry run."""

    def __init__(self, admin: Admin, log: Log, dry_run: bool, summary: Summary) -> None:
        self.admin = admin
        self.log = log
        self.dry_run = dry_run
        self.summary = summary
        # rules this pass deleted (or, in a dry run, would have): the rest of the pass reads the
        # rules table without them, so a dry run shows what follows, e.g. the cache drop. Whole
        # rows, not ids: a rule added later in the pass may take a deleted rule's id.
        self.deleted_rules: set[RuleRow] = set()

    def _do(self, message: str, apply: Callable[[], None]) -> None:
        if self.dry_run:
            self.log.note("dry run: would " + message)
        else:
            apply()
            self.log.note(message)
        self.summary.changes.append(message)

    def set_status(self, hostgroup: int, live: Live, status: str) -> None:
        server = live.host.server
        assert server is not None
        self._do(
            f"set Readyset {live.host.endpoint} {server.runtime_status} -> {status}"
            f" ({live.verdict.reason})",
            lambda: self.admin.set_server_status(hostgroup, server.hostname, server.port, status),
        )

    def load_servers(self) -> None:
        self._do("load MYSQL SERVERS to runtime", self.admin.load_servers)

    def create_cache(self, live: Live, name: str, query: Remembered) -> None:
        def apply() -> None:
            live.client.create_cache(query.schema, name, query.text)
            if live.caches is not None:
                live.caches.add(name)

        self._do(f"create cache {name} on {live.host.endpoint} (schema {query.schema})", apply)

    def create_cache_from_id(self, live: Live, name: str, query_id: str) -> None:
        def apply() -> None:
            live.client.create_cache_from_id(name, query_id)
            if live.caches is not None:
                live.caches.add(name)

        self._do(f"create cache {name} on {live.host.endpoint} from {query_id}", apply)

    def add_learning_rule(self, rule_id: int, config: Config, row: DigestRow, now: float) -> None:
        hostgroup = config.readyset_hostgroup
        self._do(
            f"add rule {rule_id}: mirrors digest {row.digest} (user {config.readyset_user},"
            f" schema {row.schemaname}) to hostgroup {hostgroup} to learn the literal variants"
            f" Readyset records: {row.digest_text[:200]}",
            lambda: self.admin.insert_rule(
                rule_id,
                config.readyset_user,
                row.schemaname,
                row.digest,
                None,
                hostgroup,
                rules.learning_comment(now),
            ),
        )

    def route_variants(
        self, rule: RuleRow, hostgroup: int, pattern: str, query_ids: list[str], now: float
    ) -> None:
        self._do(
            f"route rule {rule.rule_id} (digest {rule.digest}) to hostgroup {hostgroup} for"
            f" {len(query_ids)} cached literal variant(s) ({', '.join(query_ids)}); other"
            " statements of the digest stay on the source",
            lambda: self.admin.route_variants(
                rule.rule_id, hostgroup, pattern, rules.variants_comment(now, query_ids)
            ),
        )

    def add_rule(
        self,
        rule_id: int,
        config: Config,
        row: DigestRow,
        now: float,
        sibling: Optional[tuple[str, str]] = None,
        adopting: Optional[str] = None,
    ) -> None:
        """A rule for `row`'s digest, or for `sibling` (digest, digest text): the same query
        with an IN-list of another length, served by `row`'s cache (`adopting`: a cache made by
        hand, when it is not `d_<digest>_<schema>`)."""
        mirror = config.warmup_time_s > 0
        hostgroup = config.readyset_hostgroup
        verb = "mirrors" if mirror else "routes"
        digest, text = sibling or (row.digest, row.digest_text)
        of = row.digest if sibling else None
        self._do(
            f"add rule {rule_id}: {verb} digest {digest} (user {config.readyset_user},"
            f" schema {row.schemaname}) to hostgroup {hostgroup}"
            + (f", IN-list sibling of {row.digest}" if of else "")
            + (f", served by cache {adopting} (made by hand)" if adopting else "")
            + f": {text[:200]}",
            lambda: self.admin.insert_rule(
                rule_id,
                config.readyset_user,
                row.schemaname,
                digest,
                None if mirror else hostgroup,
                hostgroup if mirror else None,
                rules.mirror_comment(now, of) if mirror else rules.added_comment(now, of),
            ),
        )

    def promote(
        self, item: rules.Owned, hostgroup: int, now: float, why: str = "warm-up over"
    ) -> None:
        rule = item.rule
        comment = rules.added_comment(now, item.sibling_of)
        self._do(
            f"promote rule {rule.rule_id} (digest {rule.digest}) from mirroring to routing to"
            f" hostgroup {hostgroup}: {why}",
            lambda: self.admin.promote_rule(rule.rule_id, hostgroup, comment),
        )

    # --- lifecycle (lifecycle.py decides, with the numbers in `why`) ---

    def keep_mirroring(self, rule: RuleRow, comment: str, why: str) -> None:
        self._do(
            f"keep rule {rule.rule_id} (digest {rule.digest}) mirroring for another warm-up: {why}",
            lambda: self.admin.set_rule_comment(rule.rule_id, comment),
        )

    def demote(self, rule: RuleRow, hostgroup: int, comment: str, why: str) -> None:
        self._do(
            f"demote rule {rule.rule_id} (digest {rule.digest}) from routing to mirroring to"
            f" hostgroup {hostgroup}, the source answers again: {why}",
            lambda: self.admin.demote_rule(rule.rule_id, hostgroup, comment),
        )

    def delete_rule(self, rule: RuleRow, verb: str, why: str) -> None:
        self._do(
            f"{verb} rule {rule.rule_id} (digest {rule.digest}, schema {rule.schemaname}): {why}",
            lambda: self.admin.delete_rule(rule.rule_id),
        )
        self.deleted_rules.add(rule)

    def set_rule_active(self, rule: RuleRow, active: bool, why: str) -> None:
        verb = "activate" if active else "deactivate"
        self._do(
            f"{verb} rule {rule.rule_id} (digest {rule.digest}): {why}",
            lambda: self.admin.set_rule_active(rule.rule_id, active),
        )

    def drop_cache(self, live: Live, name: str, why: str = "no rule uses it") -> None:
        def apply() -> None:
            live.client.drop_cache(name)
            if live.caches is not None:
                live.caches.discard(name)

        self._do(f"drop cache {name} on {live.host.endpoint}: {why}", apply)

    def load_and_save_rules(self) -> None:
        def apply() -> None:
            self.admin.load_rules()
            self.admin.save_rules()

        self._do("load MYSQL QUERY RULES to runtime and save them to disk", apply)
