"""Query rules: recognising the scheduler's own, placing new ones, deciding promotions.

Rule comments keep the original's tokens (`Added by readyset scheduler at: …`, `Mirror by
readyset scheduler at: …`), so rules written by the original v0.6.0 are adopted, counted and
promoted, never duplicated. Ours add ` UTC` after the time: the original wrote local time, which
is read back with the local zone rules of that date (DST-safe except inside the repeated hour).

Placement: ProxySQL evaluates rules by ascending rule_id, and a matching rule with apply=1 ends
the walk. A new rule takes the lowest free rule_id below every active rule that is not the
scheduler's, so it is evaluated before a user's catch-all `^SELECT` rule. When no id is free
below the first user rule, the rule goes after the last rule and a warning says which user rule
shadows it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import NamedTuple, Optional

from readyset_proxysql_scheduler.proxysql import RuleRow

ADDED = "Added by readyset scheduler at: "
MIRROR = "Mirror by readyset scheduler at: "
# Marks a rule that routes the digest of the same query with an IN-list of another length
# (it uses that query's cache and does not count toward number_of_queries).
SIBLING = "; IN-list sibling of "
# A mirror rule without a cache: its statements reach Readyset, which records them in SHOW
# PROXIED QUERIES, so that caches can be made from Readyset's own identities (identity.py).
LEARNING = "; learning literal variants"
# A routing rule with a match_pattern: only the literal variants cached are sent to Readyset.
VARIANTS = "; literal variants "
# The time right after the comment's prefix: ` UTC` in ours, the original's local time without.
_STAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})( UTC)?", re.ASCII)
_SIBLING = re.compile(re.escape(SIBLING) + r"(0x[0-9A-Fa-f]{1,16})")


def is_ours(rule: RuleRow) -> bool:
    return rule.comment.startswith((ADDED, MIRROR))


def stamp(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d %H:%M:%S") + " UTC"


def added_comment(now: float, sibling_of: Optional[str] = None) -> str:
    return ADDED + stamp(now) + (SIBLING + sibling_of if sibling_of else "")


def learning_comment(now: float) -> str:
    return MIRROR + stamp(now) + LEARNING


def variants_comment(now: float, query_ids: Sequence[str]) -> str:
    return ADDED + stamp(now) + VARIANTS + ",".join(query_ids)


def mirror_comment(now: float, sibling_of: Optional[str] = None) -> str:
    return MIRROR + stamp(now) + (SIBLING + sibling_of if sibling_of else "")


def sibling_of(comment: str) -> Optional[str]:
    match = _SIBLING.search(comment)
    return match.group(1) if match else None


_VARIANT_IDS = re.compile(re.escape(VARIANTS) + r"(q_[0-9a-f]+(?:,q_[0-9a-f]+)*)")


# How long after a rule starts routing (or mirroring) its statements are checked (learning.py).
CHECK_WINDOW_S = 3600


VARIANT_PREFIX = "v_"


def variant_cache_name(query_id: str) -> str:
    """One cache per Readyset query id (the id covers the statement and the schema): two
    digests whose statements Readyset rewrites alike share it, as they share Readyset's cache."""
    return VARIANT_PREFIX + query_id[2:]


def variant_names(ours: Iterable[Owned]) -> set[str]:
    """The variant caches that the scheduler's rules route to."""
    return {
        variant_cache_name(query_id)
        for item in ours
        for query_id in variant_ids(item.rule.comment) or []
    }


def needs_readyset_record(
    ours: Iterable[Owned], now: float, active: Optional[set[tuple[str, str]]] = None
) -> bool:
    """Whether a pass must read SHOW PROXIED QUERIES: a rule learns variants, a variant rule
    started routing within CHECK_WINDOW_S, or a rule did and its statements reached Readyset
    since the last pass (`active`: the (digest, schema) with Readyset executions; None when
    unknown). A pass that saw no such statement has nothing new to check."""
    for item in ours:
        if item.learning:
            return True
        since = mirrored_at(item.rule.comment) if item.mirror else routed_at(item.rule.comment)
        if since is None or now - since >= CHECK_WINDOW_S:
            continue
        key = (item.cache_digest or "", item.rule.schemaname or "")
        if active is None or variant_ids(item.rule.comment) is not None or key in active:
            return True
    return False


def variant_ids(comment: str) -> Optional[list[str]]:
    """The query ids a variant rule routes; None for a rule that routes its whole digest."""
    match = _VARIANT_IDS.search(comment)
    return match.group(1).split(",") if match else None


def routed_at(comment: str) -> Optional[float]:
    """Epoch seconds written in an `Added by readyset scheduler at:` comment."""
    if not comment.startswith(ADDED):
        return None
    return _stamp_time(comment, len(ADDED))


def mirrored_at(comment: str) -> Optional[float]:
    """Epoch seconds written in a `Mirror by readyset scheduler at:` comment."""
    if not comment.startswith(MIRROR):
        return None
    return _stamp_time(comment, len(MIRROR))


def _stamp_time(comment: str, start: int) -> Optional[float]:
    match = _STAMP.match(comment, start)
    if match is None:
        return None
    try:  # not strptime: its module costs every pass a few milliseconds of start-up
        year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
        naive = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    if match.group(7):
        return naive.replace(tzinfo=timezone.utc).timestamp()
    return time.mktime(naive.timetuple())  # the original's local time, with that date's offset


class Owned(NamedTuple):
    """A rule of the scheduler's (or the original's) and what it does now."""

    rule: RuleRow
    mirror: bool  # still mirroring, not yet routing
    sibling_of: Optional[str] = None  # the digest whose query (and cache) this rule routes

    @property
    def learning(self) -> bool:
        """Mirrors the digest to Readyset, without a cache, to learn its literal variants."""
        return self.mirror and LEARNING in self.rule.comment

    @property
    def cache_digest(self) -> Optional[str]:
        """The digest that names the cache this rule sends traffic to (`d_<digest>`)."""
        return self.sibling_of or self.rule.digest


def counted(rules: Iterable[Owned]) -> int:
    """Queries routed or mirrored to Readyset: IN-list siblings ride on their query's count."""
    return sum(1 for item in rules if item.sibling_of is None)


def owned(rules: Iterable[RuleRow], readyset_hostgroup: int) -> list[Owned]:
    out = []
    for rule in rules:
        if not is_ours(rule):
            continue
        mirror = rule.mirror_hostgroup == readyset_hostgroup and rule.destination_hostgroup is None
        out.append(Owned(rule, mirror, sibling_of(rule.comment)))
    return out


def due_for_promotion(rules: Sequence[Owned], warmup_s: int, now: float) -> list[Owned]:
    """Mirror rules whose warm-up has passed (all of them when warm-up is now 0); rules learning
    literal variants have no cache to promote to and are left to the identity step."""
    due = []
    for item in rules:
        if not item.mirror or item.learning:
            continue
        since = mirrored_at(item.rule.comment)
        if since is None or now - since >= warmup_s:
            due.append(item)
    return due


class Placement(NamedTuple):
    ids: list[int]
    warning: str = ""


def place(rules: Sequence[RuleRow], count: int) -> Placement:
    """rule_ids for `count` new rules: free ids below the first active rule that is not ours."""
    if count <= 0:
        return Placement([])
    taken = {r.rule_id for r in rules}
    user_ids = [r.rule_id for r in rules if r.active and not is_ours(r)]
    ceiling = min(user_ids) if user_ids else None
    if ceiling is None:
        start = max(taken) + 1 if taken else 1
        return Placement(list(range(start, start + count)))
    free = [i for i in range(1, ceiling) if i not in taken][:count]
    if len(free) == count:
        return Placement(free)
    start = max(taken) + 1
    extra = list(range(start, start + count - len(free)))
    return Placement(
        free + extra,
        f"no free rule_id below user rule {ceiling}: rules {extra[0]}..{extra[-1]} come after it"
        f" and never fire if it matches with apply=1; leave ids 1..{count + len(taken)} free"
        " for the scheduler",
    )
