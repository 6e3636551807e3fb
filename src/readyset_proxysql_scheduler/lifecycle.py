"""Keeping the cache set right: promotion on evidence, demotion, eviction, replacement, repair.

Pure: rules, history tracks (history.py) and what the hosts hold go in; decisions, each with
the numbers that justify it, come out. `scheduler.Pass.manage_lifecycle` carries them out
through `Actions`. Per query (a digest rule and its IN-list siblings, which share one cache):

- on the `deny` list: DENY (its rules go; its caches follow as orphans);
- no execution for `evict_after_s` (ProxySQL's last_seen, the track, the rule's own stamp),
  while this node serves the user's traffic: EVICT;
- mirrored, warm-up not over: its trial window is opened, nothing else;
- mirrored, warm-up over (the trial window holds the deltas since the warm-up began):
  - Readyset answered fewer than half of the source's executions: a failed warm-up;
  - fewer than `min_executions` at Readyset: PROMOTE on a first warm-up (nothing to judge, as
    before), HOLD after a failed one;
  - Readyset mean <= `max_latency_ratio` x source mean: PROMOTE;
  - slower: a failed warm-up;
- a failed warm-up: RETRY (mirrored for another warm-up, `; failed warm-ups: N` in the comment),
  or GIVE_UP at `max_failed_warmups` (rules removed, reason remembered as a refusal);
- routed, `demote_after` windows of `min_executions` in a row slower than `max_latency_ratio` x
  the source mean (remembered at promotion, else the source row's cumulative mean, which stops
  growing once routed): DEMOTE to a mirror rule, a failed warm-up (or GIVE_UP);
- active, its cache missing on an online host: RECREATE from the remembered query, else
  UNREPAIRABLE (rules go, discovery finds it again);
- at the cap, routed for a whole window, and a candidate beats it by `replace_hysteresis` x
  over the window (ranked by `query_discovery_mode`): REPLACE, coldest first, at most
  `max_replacements` per pass.

Several ProxySQL nodes can run this: the warm-up start and the failed warm-ups are in the rule's
comment, idleness and latencies come from ProxySQL's rows, caches from the hosts. A node with a
fresh state file first takes a baseline (HOLD, no replacement until its tracks span a window), so
it converges instead of undoing another node's work; a node that sees no traffic evicts nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import NamedTuple, Optional

from readyset_proxysql_scheduler import rules
from readyset_proxysql_scheduler.config import Config, DiscoveryMode
from readyset_proxysql_scheduler.history import Counts, Delta, Track, executions

Key = tuple[str, str]  # (digest, schema)

PROMOTE = "promote"
HOLD = "hold"
RETRY = "retry"
GIVE_UP = "give up"
DEMOTE = "demote"
EVICT = "evict"
REPLACE = "replace"
DENY = "deny"
RECREATE = "recreate"
UNREPAIRABLE = "unrepairable"
# Decisions after which the query's rules are deleted.
REMOVING = (GIVE_UP, EVICT, REPLACE, DENY, UNREPAIRABLE)

FAILED = "; failed warm-ups: "
_FAILED = re.compile(re.escape(FAILED) + r"(\d+)")


class DenyEntry(NamedTuple):
    """`0x…` (every schema), `0x…/schema`, or a regular expression on the digest text."""

    digest: Optional[str] = None
    schema: Optional[str] = None
    pattern: Optional[str] = None

    @classmethod
    def parse(cls, text: str) -> DenyEntry:
        head, _, schema = text.partition("/")
        if re.fullmatch(r"0[xX][0-9A-Fa-f]{1,16}", head):
            return cls(digest=head.upper().replace("0X", "0x"), schema=schema or None)
        re.compile(text)  # raises re.error for a bad pattern
        return cls(pattern=text)

    def matches(self, digest: str, schema: str, text: str) -> bool:
        if self.digest is not None:
            return self.digest.lower() == digest.lower() and self.schema in (None, schema)
        assert self.pattern is not None
        return re.search(self.pattern, text, re.IGNORECASE) is not None


class Policy(NamedTuple):
    warmup_s: int = 0
    max_latency_ratio: float = 1.5  # 0: promote without evidence, never demote
    min_executions: int = 20
    max_failed_warmups: int = 3
    demote_after: int = 3
    evict_after_s: int = 86400  # 0: never evict
    replace_window_s: int = 3600
    replace_hysteresis: float = 2.0
    max_replacements: int = 1  # per pass; 0: never replace
    mode: DiscoveryMode = DiscoveryMode.COUNT_STAR
    deny: tuple[DenyEntry, ...] = ()

    @classmethod
    def from_config(cls, c: Config) -> Policy:
        return cls(
            warmup_s=c.warmup_time_s,
            max_latency_ratio=c.max_latency_ratio,
            min_executions=c.min_evidence_executions,
            max_failed_warmups=c.max_failed_warmups,
            demote_after=c.demote_after_windows,
            evict_after_s=c.evict_after_s,
            replace_window_s=c.replace_window_s,
            replace_hysteresis=c.replace_hysteresis,
            max_replacements=c.max_replacements_per_pass,
            mode=c.query_discovery_mode,
            deny=tuple(DenyEntry.parse(d) for d in c.deny),
        )


class Query(NamedTuple):
    """One query the scheduler sends to Readyset: its rule and its IN-list siblings' rules."""

    key: Key
    members: tuple[rules.Owned, ...]  # the query's own rule first

    @property
    def head(self) -> rules.Owned:
        return self.members[0]

    @property
    def mirror(self) -> bool:
        return self.head.mirror

    @property
    def active(self) -> bool:
        return self.head.rule.active

    @property
    def stamp(self) -> Optional[float]:
        return stamped_at(self.head.rule.comment)

    @property
    def failures(self) -> int:
        return failures_of(self.head.rule.comment)

    @property
    def rule_ids(self) -> tuple[int, ...]:
        return tuple(o.rule.rule_id for o in self.members)


class Decision(NamedTuple):
    kind: str
    key: Key
    rule_ids: tuple[int, ...]
    reason: str
    host: Optional[str] = None  # RECREATE: the host; REPLACE: None
    cache: Optional[str] = None  # RECREATE: the cache name
    failures: int = 0  # RETRY, DEMOTE: the query's failed warm-ups after this one
    replaced_by: Optional[Key] = None  # REPLACE: the candidate that takes the slot


# --- rule comments ---


def stamped_at(comment: str) -> Optional[float]:
    """The time in an `Added by …` or `Mirror by …` comment (UTC, or the original's local time)."""
    if rules.mirrored_at(comment) is not None:
        return rules.mirrored_at(comment)
    if not comment.startswith(rules.ADDED):
        return None
    return rules.mirrored_at(rules.MIRROR + comment[len(rules.ADDED) :])


def failures_of(comment: str) -> int:
    match = _FAILED.search(comment)
    return int(match.group(1)) if match else 0


def mirror_comment(now: float, failures: int, sibling_of: Optional[str] = None) -> str:
    """A mirror rule's comment that also counts its failed warm-ups (read by every node)."""
    text = rules.MIRROR + rules.stamp(now)
    if failures:
        text += FAILED + str(failures)
    if sibling_of:
        text += rules.SIBLING + sibling_of
    return text


def group(ours: Iterable[rules.Owned]) -> list[Query]:
    """The scheduler's rules by the query (cache) they serve, each query's own rule first."""
    by_key: dict[Key, list[rules.Owned]] = {}
    for item in ours:
        digest = item.cache_digest
        if digest is None:
            continue
        by_key.setdefault((digest, item.rule.schemaname or ""), []).append(item)
    out = []
    for key in sorted(by_key):
        items = sorted(by_key[key], key=lambda o: (o.sibling_of is not None, o.rule.rule_id))
        out.append(Query(key, tuple(items)))
    return out


# --- numbers ---


def _ms(us: Optional[float]) -> str:
    return "-" if us is None else f"{us / 1000:.2f} ms"


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


def metric(mode: DiscoveryMode, counts: Counts, min_us: int = 0, max_us: int = 0) -> float:
    """The ranking of `query_discovery_mode`, over a window's executions."""
    if counts.count <= 0:
        return 0.0
    mean = counts.sum_time_us / counts.count
    if mode == DiscoveryMode.COUNT_STAR:
        return float(counts.count)
    if mode == DiscoveryMode.SUM_TIME:
        return float(counts.sum_time_us)
    if mode == DiscoveryMode.SUM_ROWS_SENT:
        return float(counts.rows_sent)
    if mode == DiscoveryMode.MEAN_TIME:
        return mean
    if mode == DiscoveryMode.QUERY_THROUGHPUT:
        return counts.count / max(counts.sum_time_us, 1)
    if mode == DiscoveryMode.WORST_BEST_CASE:
        return float(min_us)
    if mode == DiscoveryMode.WORST_WORST_CASE:
        return float(max_us)
    if mode == DiscoveryMode.EXECUTION_TIME_DISTANCE:
        return float(max_us - min_us)
    return max_us - mean  # DISTANCE_MEAN_MAX


# --- the rules of the table ---


def judge_warmup(
    q: Query, track: Track, policy: Policy, now: float, cumulative: tuple[Counts, Counts]
) -> Optional[Decision]:
    """A mirrored query: open its trial window; at the end of the warm-up, judge it on the
    trial's deltas, or, when the trial opens only now (a fresh state file, an adopted rule), on
    ProxySQL's cumulative rows (`cumulative`: source, Readyset), which every node reads alike."""
    if not q.mirror:
        return None
    since = q.stamp if q.stamp is not None else 0.0
    opened_now = track.trial_stamp != since
    if opened_now:
        track.trial_stamp = since
        track.trial = [0, 0, 0, 0]
    if now - since < policy.warmup_s:
        return None
    if policy.max_latency_ratio <= 0:
        return Decision(PROMOTE, q.key, q.rule_ids, "warm-up over")
    if opened_now:
        source, readyset = cumulative
        over = "since ProxySQL counted them"
    else:
        source = Counts(track.trial[0], track.trial[1])
        readyset = Counts(track.trial[2], track.trial[3])
        over = "during the warm-up"
    numbers = (
        f"Readyset {_ms(readyset.mean_us)} mean over {readyset.count} mirrored executions,"
        f" source {_ms(source.mean_us)} over {source.count} {over}"
    )
    if (
        not opened_now
        and source.count >= policy.min_executions
        and 2 * readyset.count < source.count
    ):
        return _failed(
            q,
            policy,
            f"Readyset answered {readyset.count} of {source.count} mirrored executions"
            " (errors, or mirrors dropped)",
        )
    if readyset.count < policy.min_executions:
        if q.failures == 0:
            return Decision(
                PROMOTE,
                q.key,
                q.rule_ids,
                f"warm-up over, too few executions to judge ({numbers};"
                f" min_evidence_executions = {policy.min_executions})",
            )
        return Decision(
            HOLD,
            q.key,
            q.rule_ids,
            f"after a failed warm-up, routing again needs {policy.min_executions} mirrored"
            f" executions, has {readyset.count}",
        )
    base = source.mean_us if source.mean_us is not None else cumulative[0].mean_us
    assert readyset.mean_us is not None
    if base is None:
        return Decision(HOLD, q.key, q.rule_ids, f"source latency unknown ({numbers})")
    ratio = readyset.mean_us / base if base > 0 else float("inf")
    if ratio <= policy.max_latency_ratio:
        track.source_mean_us = base
        track.judged = [0, 0]
        track.bad_windows = 0
        return Decision(
            PROMOTE,
            q.key,
            q.rule_ids,
            f"{numbers}, ratio {ratio:.2f} <= max_latency_ratio {policy.max_latency_ratio:g}",
        )
    return _failed(
        q, policy, f"{numbers}, ratio {ratio:.2f} > max_latency_ratio {policy.max_latency_ratio:g}"
    )


def _failed(q: Query, policy: Policy, why: str) -> Decision:
    failures = q.failures + 1
    if failures >= policy.max_failed_warmups:
        return Decision(
            GIVE_UP,
            q.key,
            q.rule_ids,
            f"{why}; failed warm-up {failures} of max_failed_warmups {policy.max_failed_warmups}",
            failures=failures,
        )
    kind = RETRY if q.mirror else DEMOTE
    return Decision(
        kind,
        q.key,
        q.rule_ids,
        f"{why}; failed warm-up {failures} of {policy.max_failed_warmups}",
        failures=failures,
    )


def judge_routed(
    q: Query, track: Track, delta: Delta, policy: Policy, source_mean_us: Optional[float]
) -> Optional[Decision]:
    """A routed query: judge its Readyset latency, window by window, against the source's."""
    if q.mirror or not q.active or policy.max_latency_ratio <= 0:
        return None
    track.judged = [
        track.judged[0] + delta.readyset.count,
        track.judged[1] + delta.readyset.sum_time_us,
    ]
    if track.judged[0] < policy.min_executions:
        return None
    window = Counts(track.judged[0], track.judged[1])
    track.judged = [0, 0]
    base = track.source_mean_us if track.source_mean_us is not None else source_mean_us
    if base is None:
        return None
    assert window.mean_us is not None
    ratio = window.mean_us / base if base > 0 else float("inf")
    if ratio <= policy.max_latency_ratio:
        track.bad_windows = 0
        return None
    track.bad_windows += 1
    if track.bad_windows < policy.demote_after:
        return None
    track.bad_windows = 0
    return _failed(
        q,
        policy,
        f"Readyset {_ms(window.mean_us)} mean over the last {window.count} executions vs source"
        f" {_ms(base)}, ratio {ratio:.2f} > max_latency_ratio {policy.max_latency_ratio:g}"
        f" for {policy.demote_after} windows in a row",
    )


def judge_idle(
    q: Query, track: Optional[Track], policy: Policy, now: float, observed_since: Optional[float]
) -> Optional[Decision]:
    """No execution for evict_after_s. `observed_since`: since when this node's ProxySQL has
    counted the user's traffic (None: it serves none, so it judges nothing)."""
    if policy.evict_after_s <= 0 or observed_since is None:
        return None
    last = max(
        track.last_active if track is not None else 0.0,
        q.stamp if q.stamp is not None else 0.0,
        observed_since,
    )
    idle = now - last
    if idle < policy.evict_after_s:
        return None
    return Decision(
        EVICT,
        q.key,
        q.rule_ids,
        f"no execution for {_hours(idle)} (since {_when(last)};"
        f" evict_after_s = {policy.evict_after_s})",
    )


def denied(policy: Policy, digest: str, schema: str, text: str) -> Optional[DenyEntry]:
    for entry in policy.deny:
        if entry.matches(digest, schema, text):
            return entry
    return None


class Candidate(NamedTuple):
    """A digest without a rule, as replacement sees it."""

    key: Key
    track: Track
    min_us: int = 0
    max_us: int = 0


def _window_metric(
    policy: Policy, track: Track, now: float, source_mean_us: Optional[float], routed: bool
) -> tuple[float, Counts]:
    total = executions(track, now - policy.replace_window_s)
    if routed and source_mean_us is not None:
        # Readyset's faster answers must not make a routed query look cold under SumTime.
        total = Counts(total.count, int(total.count * source_mean_us), total.rows_sent)
    return metric(policy.mode, total), total


def replacements(
    queries: Sequence[Query],
    tracks: Mapping[Key, Track],
    candidates: Sequence[Candidate],
    policy: Policy,
    now: float,
    source_means: Mapping[Key, Optional[float]],
) -> list[Decision]:
    """At the cap: the coldest routed queries that a candidate beats by the hysteresis factor
    over a whole window, coldest first, at most max_replacements."""
    if policy.max_replacements <= 0:
        return []
    start = now - policy.replace_window_s
    cold = []
    for q in queries:
        track = tracks.get(q.key)
        if q.mirror or not q.active or track is None or track.since > start:
            continue
        if q.stamp is not None and q.stamp > start:
            continue
        mean = track.source_mean_us or source_means.get(q.key)
        value, counts = _window_metric(policy, track, now, mean, routed=True)
        cold.append((value, q.key, q, counts))
    hot = []
    for c in candidates:
        if c.track.since > start:
            continue
        total = executions(c.track, start)
        if total.count <= 0:
            continue
        value = metric(policy.mode, total, c.min_us, c.max_us)
        hot.append((-value, c.key, total))
    cold.sort(key=lambda x: (x[0], x[1]))
    hot.sort(key=lambda x: (x[0], x[1]))
    out: list[Decision] = []
    for (value, key, q, counts), (neg, cand, cand_counts) in zip(cold, hot):
        if len(out) >= policy.max_replacements:
            break
        if -neg <= policy.replace_hysteresis * value:
            break
        out.append(
            Decision(
                REPLACE,
                key,
                q.rule_ids,
                f"{cand[0]} (schema {cand[1]}) is hotter over the last"
                f" {_hours(policy.replace_window_s)}: {policy.mode.value} {-neg:g}"
                f" ({cand_counts.count} executions) > replace_hysteresis"
                f" {policy.replace_hysteresis:g} x {value:g} ({counts.count} executions)",
                replaced_by=cand,
            )
        )
    return out


def repairs(
    queries: Sequence[Query],
    host_caches: Mapping[str, Optional[set[str]]],
    names: Mapping[Key, Sequence[str]],
    recreatable: Mapping[Key, str],
) -> list[Decision]:
    """Active queries whose cache is missing on an online host: RECREATE it there from the
    remembered query, or, when no query is remembered for it, UNREPAIRABLE."""
    out: list[Decision] = []
    for q in queries:
        if not q.active:
            continue
        wanted = names.get(q.key, ())
        for host in sorted(host_caches):
            caches = host_caches[host]
            if caches is None or any(n in caches for n in wanted):
                continue
            cache = recreatable.get(q.key)
            if cache is None:
                out.append(
                    Decision(
                        UNREPAIRABLE,
                        q.key,
                        q.rule_ids,
                        f"its cache is missing on Readyset {host} and this scheduler does not"
                        " know its query (state file lost): discovery finds it again",
                    )
                )
                break
            out.append(
                Decision(
                    RECREATE,
                    q.key,
                    q.rule_ids,
                    f"cache missing on Readyset {host} (restarted, or dropped by hand)",
                    host=host,
                    cache=cache,
                )
            )
    return out


class Inputs(NamedTuple):
    queries: Sequence[Query]
    tracks: Mapping[Key, Track]
    deltas: Mapping[Key, Delta]
    texts: Mapping[Key, str]  # digest text (or query text) for the deny patterns
    # ProxySQL's cumulative rows (source, Readyset): what any node reads alike
    cumulative: Mapping[Key, tuple[Counts, Counts]]
    observed_since: Optional[float]
    host_caches: Mapping[str, Optional[set[str]]]
    cache_names: Mapping[Key, Sequence[str]]
    recreatable: Mapping[Key, str]
    candidates: Sequence[Candidate]
    cap: int


def plan(inputs: Inputs, policy: Policy, now: float) -> list[Decision]:
    """Every decision of this pass: per query, the first of deny, evict, repair, warm-up,
    demotion that applies (a repair that re-creates a cache lets the others follow); then, at
    the cap, replacements among the queries that keep their rules."""
    out: list[Decision] = []
    kept: list[Query] = []
    for q in inputs.queries:
        digest, schema = q.key
        track = inputs.tracks.get(q.key)
        entry = denied(policy, digest, schema, inputs.texts.get(q.key, ""))
        if entry is not None:
            out.append(Decision(DENY, q.key, q.rule_ids, f"on the deny list ({_deny_text(entry)})"))
            continue
        decision = judge_idle(q, track, policy, now, inputs.observed_since)
        if decision is None:
            fixes = repairs([q], inputs.host_caches, inputs.cache_names, inputs.recreatable)
            out.extend(fix for fix in fixes if fix.kind == RECREATE)
            decision = next((fix for fix in fixes if fix.kind == UNREPAIRABLE), None)
        if decision is None and track is not None:
            cumulative = inputs.cumulative.get(q.key, (Counts(), Counts()))
            decision = judge_warmup(q, track, policy, now, cumulative)
            if decision is None:
                delta = inputs.deltas.get(q.key, Delta())
                decision = judge_routed(q, track, delta, policy, cumulative[0].mean_us)
        if decision is not None:
            out.append(decision)
        if decision is None or decision.kind not in REMOVING:
            kept.append(q)
    if len(kept) >= inputs.cap:
        means = {k: v[0].mean_us for k, v in inputs.cumulative.items()}
        out.extend(replacements(kept, inputs.tracks, inputs.candidates, policy, now, means))
    return out


def _deny_text(entry: DenyEntry) -> str:
    if entry.digest is not None:
        return entry.digest + (f"/{entry.schema}" if entry.schema else "")
    return f"pattern {entry.pattern!r}"
