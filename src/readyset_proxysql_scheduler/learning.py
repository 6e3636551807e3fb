"""Caches from Readyset's own identities, and the check that routed digests are really served.

Two steps of a pass, both reading `SHOW PROXIED QUERIES` (once per host and pass, and only when
there is something to do):

* **learn**: a digest whose text lost literals that Readyset keeps in its cache key (a range
  beside an equality, `SELECT 1 AS one`, an order-less LIMIT on a Top K release) gets a mirror
  rule without a cache. Its statements reach Readyset, which proxies them and records them with
  its rewritten text and id. Once the warm-up is over, the most executed literal variants
  (:data:`MAX_VARIANTS`) get caches (`CREATE CACHE FROM q_<id>` on the hosts that saw them, from
  Readyset's text elsewhere) and the rule routes only those variants (`match_pattern`); other
  statements of the digest stay on the source. Nothing learned after :func:`patience` → the
  rule goes and the reason is remembered.
* **verify** (no hop for nothing): for :data:`VERIFY_WINDOW_S` after a rule starts routing, a
  statement of its digest that Readyset lists as proxied is a statement the rule sent to
  Readyset for nothing: the rule and its caches are dropped, the reason remembered and logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from readyset_proxysql_scheduler import identity, rules
from readyset_proxysql_scheduler.actions import Live
from readyset_proxysql_scheduler.identity import Proxied, Variant
from readyset_proxysql_scheduler.proxysql import RuleRow
from readyset_proxysql_scheduler.readyset import ReadysetError
from readyset_proxysql_scheduler.rules import variant_cache_name, variant_names
from readyset_proxysql_scheduler.state import Remembered, refusal_key

if TYPE_CHECKING:
    from readyset_proxysql_scheduler.scheduler import Pass

Kept = tuple[Optional[str], ...]
MAX_VARIANTS = 5  # caches per learned digest
VERIFY_WINDOW_S = rules.CHECK_WINDOW_S
COUNTS_LIVE = 260423  # how long after routing a rule's statements are checked
_REFUSED = ("unsupported", "no")  # `readyset supported` values of statements it cannot cache


def patience(warmup_s: int) -> float:
    """How long a digest may be mirrored without Readyset recording one of its statements."""
    return max(900.0, 3.0 * warmup_s)


@dataclass
class Seen:
    """What the online hosts listed in SHOW PROXIED QUERIES this pass."""

    entries: list[Proxied] = field(default_factory=list)
    hosts_of: dict[str, set[str]] = field(default_factory=dict)  # query id -> hosts
    failed: bool = False


class Learning:
    def __init__(self, run: Pass, ours: list[rules.Owned]) -> None:
        self.run = run
        self.ours = ours
        self.routed: set[str] = set()  # variant caches routed this pass
        self._seen: Optional[Seen] = None
        # From stable-260423 a proxied entry's count is live: an entry that never ran upstream
        # (Top K's LIMIT form, tried before the LIMIT-less cache that answered) is no miss.
        self.counts_live = bool(run.releases) and all(
            p.date is not None and p.date >= COUNTS_LIVE for p in run.releases
        )

    # --- reading Readyset ---

    def seen(self, online: list[Live]) -> Seen:
        if self._seen is None:
            seen = Seen()
            for live in online:
                try:
                    entries = live.client.proxied_queries()
                except ReadysetError as err:
                    self.run.log.warning(
                        f"cannot read SHOW PROXIED QUERIES on {live.host.endpoint}: {err}"
                    )
                    seen.failed = True
                    continue
                for entry in entries:
                    seen.entries.append(entry)
                    seen.hosts_of.setdefault(entry.query_id, set()).add(str(live.host.endpoint))
            self._seen = seen
        return self._seen

    def digest_text(self, digest: str, schema: str) -> Optional[str]:
        known = self.run.state.learning.get(refusal_key(digest, schema))
        if known is not None:
            return known.text
        text = self.run.admin.digest_text(digest, schema)
        if text is not None and not self.run.dry_run:
            self.run.state.learning[refusal_key(digest, schema)] = Remembered(
                schema, text, self.run.now, digest=digest
            )
            self.run.state_changed = True
        return text

    # --- learn ---

    def advance(self, online: list[Live], ours: list[rules.Owned]) -> bool:
        """Route the learned variants of every learning rule that is ready; True if rules
        changed."""
        changed = False
        c = self.run.config
        for item in ours:
            if not item.learning:
                continue
            rule = item.rule
            schema = rule.schemaname or ""
            since = rules.mirrored_at(rule.comment) or self.run.now
            age = self.run.now - since
            if age < c.warmup_time_s:
                continue
            text = self.digest_text(rule.digest or "", schema)
            seen = self.seen(online)
            matched = identity.variants(text, seen.entries) if text else []
            found = [v for v in matched if _cacheable(v, seen)]
            if not found:
                if matched and not seen.failed:
                    # Readyset has seen its statements and refuses each: mirroring on until
                    # patience() would only send Readyset more statements it proxies.
                    changed |= self.give_up(
                        item,
                        "Readyset refuses every statement of it that it recorded"
                        f" ({_status(matched[0], seen)})",
                    )
                elif age >= patience(c.warmup_time_s) and not seen.failed:
                    changed |= self.give_up(
                        item, "no statement of it reached Readyset while it was mirrored"
                    )
                continue
            cached = self.cache_variants(online, item, found[:MAX_VARIANTS], seen)
            if not cached:
                continue
            assert text is not None
            self.routed |= {variant_cache_name(v.query_id) for v in cached}
            self.run.mark_rules_dirty(True)
            self.run.actions.route_variants(
                rule,
                c.readyset_hostgroup,
                identity.route_pattern(text, [v.kept for v in cached]),
                [v.query_id for v in cached],
                self.run.now,
            )
            changed = True
        return changed

    def cache_variants(
        self, online: list[Live], item: rules.Owned, found: list[Variant], seen: Seen
    ) -> list[Variant]:
        """Create each variant's cache on every online host; the variants that made it."""
        rule = item.rule
        digest, schema = rule.digest or "", rule.schemaname or ""
        cached = []
        for v in found:
            name = variant_cache_name(v.query_id)
            query = Remembered(schema, v.text, self.run.now, digest=digest)
            if name in self.run.state.queries:
                cached.append(v)  # made for another digest's rule already
                continue
            if not self.run.dry_run:
                self.run.state.queries[name] = query  # before the cache exists, as for digests
                self.run.state_changed = True
                self.run.save_state()
            ok = True
            for live in online:
                self.run.check_time(f"creating cache {name}")
                try:
                    if str(live.host.endpoint) in seen.hosts_of.get(v.query_id, set()):
                        self.run.actions.create_cache_from_id(live, name, v.query_id)
                    else:
                        self.run.actions.create_cache(live, name, query)
                except ReadysetError as e:
                    ok = False
                    self.run.summary.problems.append(str(e))
                    self.run.log.warning(
                        f"cache {name} not created on {live.host.endpoint}: {e};"
                        f" variant {v.query_id} not routed"
                    )
                    break
            if ok:
                cached.append(v)
        return cached

    def give_up(self, item: rules.Owned, why: str) -> bool:
        rule = item.rule
        digest, schema = rule.digest or "", rule.schemaname or ""
        self.run.mark_rules_dirty(True)
        self.run.actions.delete_rule(rule, "delete", why)
        self.run.remember_refusal(digest, schema, f"not cached: {why}")
        if not self.run.dry_run:
            self.run.state.learning.pop(refusal_key(digest, schema), None)
        return True

    # --- verify ---

    def verify(self, online: list[Live], ours: list[rules.Owned]) -> bool:
        """Drop routed rules whose statements Readyset proxies; True if rules changed."""
        recent = [
            item
            for item in ours
            if not item.mirror
            and item.sibling_of is None
            and self.run.now - (rules.routed_at(item.rule.comment) or 0) < VERIFY_WINDOW_S
        ]
        if not recent:
            return False
        seen = self.seen(online)
        changed = False
        for item in recent:
            rule = item.rule
            digest, schema = rule.digest or "", rule.schemaname or ""
            text = self._text_of(digest, schema)
            if text is None:
                continue
            routed = self._routed_kept(rule, text)
            missed = [
                e
                for e in seen.entries
                if (kept := identity.match(text, e.text)) is not None
                and (routed is None or kept in routed)
                and (e.count > 0 or not self.counts_live)
            ]
            if not missed:
                continue
            example = max(missed, key=lambda e: e.count)
            why = (
                f"Readyset proxied {len(missed)} of its statement identities instead of serving"
                f" them from the cache (e.g. {example.query_id}: {example.text[:160]})"
            )
            self.drop(online, item, why)
            changed = True
        return changed

    def _text_of(self, digest: str, schema: str) -> Optional[str]:
        learned = self.run.state.learning.get(refusal_key(digest, schema))
        if learned is not None:
            return learned.text
        for query in self.run.state.queries.values():
            if query.digest == digest and query.schema == schema:
                return query.text  # the translated digest text: its `?` are where they were
        return None

    def _routed_kept(self, rule: RuleRow, text: str) -> Optional[set[Kept]]:
        """For a variant rule, the kept literals of the variants it routes (None: all)."""
        ids = rules.variant_ids(rule.comment)
        if ids is None:
            return None
        kept = set()
        for query_id in ids:
            query = self.run.state.queries.get(variant_cache_name(query_id))
            if query is not None:
                found = identity.match(text, query.text)
                if found is not None:
                    kept.add(found)
        return kept

    def drop(self, online: list[Live], item: rules.Owned, why: str) -> None:
        rule = item.rule
        digest, schema = rule.digest or "", rule.schemaname or ""
        self.run.mark_rules_dirty(True)
        self.run.actions.delete_rule(rule, "delete", why)
        self.run.remember_refusal(digest, schema, f"not cached: {why}")
        # Its caches go with it, unless another rule routes to one of them.
        others = [o for o in self.ours if o.rule.rule_id != rule.rule_id]
        keep = variant_names(others)
        mine = {variant_cache_name(q) for q in rules.variant_ids(rule.comment) or []}
        for name, query in sorted(self.run.state.queries.items()):
            own = name in mine or (
                not name.startswith(rules.VARIANT_PREFIX)
                and (query.digest, query.schema) == (digest, schema)
            )
            if not own or name in keep:
                continue
            for live in online:
                try:
                    self.run.actions.drop_cache(live, name, "its rule was dropped")
                except ReadysetError as e:
                    self.run.log.warning(f"cannot drop cache {name} on {live.host.endpoint}: {e}")
            if not self.run.dry_run:
                del self.run.state.queries[name]


def _status(v: Variant, seen: Seen) -> str:
    return next((e.supported for e in seen.entries if e.query_id == v.query_id), "")


def _cacheable(v: Variant, seen: Seen) -> bool:
    statuses = {e.supported.strip().lower() for e in seen.entries if e.query_id == v.query_id}
    return not any(s.startswith(_REFUSED) for s in statuses)
