"""The lifecycle step of a pass: observe, decide with lifecycle.py, act through Actions.

1. one read of `stats_mysql_query_digest` (`Admin.sample`): the rows of the scheduler's digests
   in both hostgroups, and the candidates executed within `replace_window_s`;
2. each (digest, schema)'s track is brought up to date (history.py): deltas, resets;
3. `SHOW CACHES` on every online Readyset host;
4. `lifecycle.plan` decides; every decision is one `Actions` call per rule, logged at Note with
   its numbers (`dry run: would …` in a dry run);
5. the tracks kept in the state file: the scheduler's queries and the hottest candidates.

Discovery then fills any slot freed here, hottest candidate first (`order_candidates`), and
drops the caches of the queries that lost their rules (`Pass.drop_orphans`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from readyset_proxysql_scheduler import history, lifecycle, rules
from readyset_proxysql_scheduler.actions import Live, cache_name
from readyset_proxysql_scheduler.history import Side, Track
from readyset_proxysql_scheduler.lifecycle import Key
from readyset_proxysql_scheduler.proxysql import DigestRow, SampleRow
from readyset_proxysql_scheduler.readyset import ReadysetError
from readyset_proxysql_scheduler.state import GAVE_UP, Remembered, refusal_key

if TYPE_CHECKING:
    from readyset_proxysql_scheduler.scheduler import Pass

BUCKETS_PER_WINDOW = 12
MIN_TRACKED_CANDIDATES = 20

_VERBS = {
    lifecycle.GIVE_UP: "give up on",
    lifecycle.EVICT: "evict",
    lifecycle.REPLACE: "replace",
    lifecycle.DENY: "remove denied",
    lifecycle.UNREPAIRABLE: "remove",
}


def lifecycle_rules(p: Pass) -> list[rules.Owned]:
    """The scheduler's rules the lifecycle looks after. Rules learning or routing literal
    variants are learning.py's: they have no digest cache to promote, repair or demote."""
    return [
        o
        for o in rules.owned(p.rules(), p.config.readyset_hostgroup)
        if not o.learning and rules.variant_ids(o.rule.comment) is None
    ]


def read_sample(p: Pass) -> list[SampleRow]:
    """This pass's one read of the digest table: the rows of the scheduler's own digests in
    both hostgroups, and the hottest candidates of the replacement window."""
    c = p.config
    digests = [o.rule.digest for o in lifecycle_rules(p) if o.rule.digest]
    limit = 2 * max(MIN_TRACKED_CANDIDATES, 3 * c.number_of_queries)
    limit += min(len(p.state.unsupported), 10000)  # refused ones are read, then skipped
    return p.admin.sample(digests, int(p.now - c.replace_window_s), limit)


def track_key(key: Key) -> str:
    return f"{key[0]}/{key[1]}"


class Upkeep:
    def __init__(self, p: Pass) -> None:
        self.p = p
        self.policy = lifecycle.Policy.from_config(p.config)
        self.preferred: list[DigestRow] = []  # candidates, hottest first (replacements first)
        # (digest, schema) whose statements reached Readyset since the previous pass
        self.active: set[Key] = set()

    def run(self, online: list[Live]) -> set[int]:
        """Carry out this pass's decisions; the ids of the rules it judged, which the plain
        warm-up promotion must leave alone (a rule demoted here is a mirror due at once)."""
        p, c, policy = self.p, self.p.config, self.policy
        now = p.now
        ours = lifecycle_rules(p)
        queries = lifecycle.group(ours)
        owner: dict[tuple[str, str], Key] = {}
        owner_any: dict[str, Key] = {}
        for q in queries:
            for item in q.members:
                if item.rule.digest:
                    if item.rule.schemaname:
                        owner[(item.rule.digest, item.rule.schemaname)] = q.key
                    else:
                        owner_any[item.rule.digest] = q.key
        taken = {(r.digest, r.schemaname or "") for r in p.rules() if r.digest}
        rows = p.sample if p.sample is not None else read_sample(p)

        sides: dict[Key, dict[str, Side]] = {q.key: {} for q in queries}
        texts: dict[Key, str] = {}
        best: dict[Key, SampleRow] = {}  # a candidate's source row
        for row in rows:
            key = owner.get((row.digest, row.schemaname)) or owner_any.get(row.digest)
            if key is None:
                if (row.digest, row.schemaname) in taken or (row.digest, "") in taken:
                    continue  # a user's rule names it
                if row.hostgroup != c.source_hostgroup:
                    continue
                key = (row.digest, row.schemaname)
                best[key] = row
            role = history.SOURCE if row.hostgroup == c.source_hostgroup else history.READYSET
            sides.setdefault(key, {})[f"{role}:{row.digest}/{row.schemaname}"] = Side(
                row.count_star, row.sum_time, row.sum_rows_sent, row.first_seen, row.last_seen
            )
            if row.hostgroup == c.source_hostgroup and key[0] == row.digest:
                texts[key] = row.digest_text
        for q in queries:
            texts.setdefault(q.key, self._query_text(q.key))

        bucket_s = c.replace_window_s / BUCKETS_PER_WINDOW
        tracks: dict[Key, Track] = {}
        deltas: dict[Key, history.Delta] = {}
        for key in sorted(sides):
            old = p.state.tracks.get(track_key(key))
            track, delta = history.observe(old, sides[key], now, bucket_s, c.replace_window_s)
            tracks[key] = track
            deltas[key] = delta
            if delta.readyset.count > 0:
                self.active.add(key)
            if delta.resets:
                p.log.info(
                    f"digest {key[0]} (schema {key[1]}): {delta.resets} counter row(s) reset"
                    " (ProxySQL restarted or stats_mysql_query_digest_reset read); counting anew"
                )
        routed = {q.key for q in queries if not q.mirror}
        for key, delta in deltas.items():
            p.counts.reads_source += delta.source.count
            if key in routed:  # a mirror's executions at Readyset are copies, not answers
                p.counts.reads_readyset += delta.readyset.count
        cumulative = {key: _cumulative(by_row) for key, by_row in sides.items()}
        active = [r for r in rows if r.last_seen >= now - policy.evict_after_s]
        observed_since = float(min(r.first_seen for r in rows)) if active else None

        host_caches: dict[str, Optional[set[str]]] = {}
        for live in online:
            if live.caches is None:
                try:
                    live.read_caches()
                except ReadysetError as e:
                    p.log.warning(f"cannot list caches on {live.host.endpoint}: {e}")
            host_caches[str(live.host.endpoint)] = live.caches
        names: dict[Key, list[str]] = {}
        recreatable: dict[Key, str] = {}
        for q in queries:
            own = cache_name(q.key[0], q.key[1])
            names[q.key] = [own, f"d_{q.key[0]}"]
            for name, query in sorted(p.state.queries.items()):
                if (query.digest, query.schema) == q.key:
                    names[q.key].append(name)
                    recreatable.setdefault(q.key, name)
            if own in p.state.queries:
                recreatable[q.key] = own

        ours_keys = {q.key for q in queries}
        candidates = [
            lifecycle.Candidate(key, tracks[key], best[key].min_time, best[key].max_time)
            for key in sorted(tracks)
            if key not in ours_keys
            and key in best
            # a refused digest cannot take a slot (discovery asks it again after an upgrade)
            and refusal_key(*key) not in p.state.unsupported
        ]
        decisions = lifecycle.plan(
            lifecycle.Inputs(
                queries=queries,
                tracks=tracks,
                deltas=deltas,
                texts=texts,
                cumulative=cumulative,
                observed_since=observed_since,
                host_caches=host_caches,
                cache_names=names,
                recreatable=recreatable,
                candidates=candidates,
                cap=c.number_of_queries,
            ),
            policy,
            now,
        )
        by_key = {q.key: q for q in queries}
        targets: list[Key] = []
        for d in decisions:
            self._apply(d, by_key[d.key], online)
            if d.replaced_by is not None:
                targets.append(d.replaced_by)
        if decisions:
            p._rules = None  # re-read: discovery and drop_orphans see the rules as they are now

        self._rank(tracks, best, targets, ours_keys)
        self._keep(tracks, ours_keys)
        p.state_changed = True
        return {i for q in queries for i in q.rule_ids}

    # --- the candidates discovery tries first ---

    def _rank(
        self,
        tracks: dict[Key, Track],
        best: dict[Key, SampleRow],
        targets: list[Key],
        ours: set[Key],
    ) -> None:
        now, policy = self.p.now, self.policy
        scored = []
        for key, row in best.items():
            if key in ours:
                continue
            if lifecycle.denied(policy, key[0], key[1], row.digest_text) is not None:
                continue
            if policy.evict_after_s and row.last_seen < now - policy.evict_after_s:
                continue
            scored.append((-self._score(key, tracks.get(key), row), key))
        scored.sort()
        order = [k for k in targets if k in best] + [k for _, k in scored if k not in targets]
        self.preferred = [_digest_row(best[k]) for k in order]

    def _score(self, key: Key, track: Optional[Track], row: SampleRow) -> float:
        """Recent heat per second: the window's deltas when the track has buckets, else the
        cumulative counters since the row's first_seen."""
        now, policy = self.p.now, self.policy
        if track is not None and track.buckets:
            counts = history.executions(track, now - policy.replace_window_s)
            span = max(1.0, min(now - track.since, policy.replace_window_s))
            value = lifecycle.metric(policy.mode, counts, row.min_time, row.max_time)
        else:
            counts = history.Counts(row.count_star, row.sum_time, row.sum_rows_sent)
            span = max(1.0, now - row.first_seen)
            value = lifecycle.metric(policy.mode, counts, row.min_time, row.max_time)
        if policy.mode.value in ("CountStar", "SumTime", "SumRowsSent"):
            return value / span
        return value

    def order_candidates(self) -> list[DigestRow]:
        """Discovery's candidates: the digests executed within replace_window_s (this pass's
        sample), recently hottest first; never denied ones, ones idle for evict_after_s, or a
        query whose rule this pass removed. (A read ranked on the counters since ProxySQL
        started would bring back yesterday's hot set.)"""
        return list(self.preferred)

    # --- what is kept ---

    def _keep(self, tracks: dict[Key, Track], ours: set[Key]) -> None:
        p = self.p
        limit = max(MIN_TRACKED_CANDIDATES, 3 * p.config.number_of_queries)
        kept = {k: t for k, t in tracks.items() if k in ours}
        order = {r.digest + "/" + r.schemaname: i for i, r in enumerate(self.preferred)}
        others = sorted(
            (k for k in tracks if k not in ours and track_key(k) in order),
            key=lambda k: order[track_key(k)],
        )
        for k in others[:limit]:
            kept[k] = tracks[k]
        p.state.tracks = {track_key(k): t for k, t in sorted(kept.items())}

    def _query_text(self, key: Key) -> str:
        for query in self.p.state.queries.values():
            if (query.digest, query.schema) == key:
                return query.text
        return ""

    # --- acting ---

    def _apply(self, d: lifecycle.Decision, q: lifecycle.Query, online: list[Live]) -> None:
        p, c = self.p, self.p.config
        hostgroup = c.readyset_hostgroup
        if d.kind == lifecycle.HOLD:
            p.log.info(f"digest {d.key[0]} (schema {d.key[1]}) stays mirrored: {d.reason}")
            return
        if d.kind == lifecycle.RECREATE:
            self._recreate(d, q, online)
            return
        p.mark_rules_dirty(True)
        p.rules_changed = True
        for item in q.members:
            rule = item.rule
            if d.kind == lifecycle.PROMOTE:
                p.actions.promote(item, hostgroup, p.now, d.reason)
            elif d.kind == lifecycle.RETRY:
                comment = lifecycle.mirror_comment(p.now, d.failures, item.sibling_of)
                p.actions.keep_mirroring(rule, comment, d.reason)
            elif d.kind == lifecycle.DEMOTE:
                comment = lifecycle.mirror_comment(p.now, d.failures, item.sibling_of)
                p.actions.demote(rule, hostgroup, comment, d.reason)
            else:
                p.actions.delete_rule(rule, _VERBS[d.kind], d.reason)
        if d.kind == lifecycle.GIVE_UP and not p.dry_run:
            p.state.unsupported[refusal_key(*d.key)] = Remembered(
                d.key[1], GAVE_UP + d.reason, p.now, self._profile()
            )
            p.state_changed = True

    def _profile(self) -> str:
        """The key discovery compares a remembered refusal with (Pass.add_queries)."""
        return "+".join(pr.key for pr in self.p.detect_profiles(self.p.online()))

    def _recreate(self, d: lifecycle.Decision, q: lifecycle.Query, online: list[Live]) -> None:
        p = self.p
        assert d.cache is not None
        live = next((lv for lv in online if str(lv.host.endpoint) == d.host), None)
        query = p.state.queries.get(d.cache)
        if live is None or query is None:
            return
        p.log.note(f"digest {d.key[0]} (schema {d.key[1]}): {d.reason}; re-creating {d.cache}")
        try:
            p.actions.create_cache(live, d.cache, query)
            p.counts.caches_created += 1
        except ReadysetError as e:
            p.counts.caches_failed += 1
            p.mark_rules_dirty(True)
            p.rules_changed = True
            for item in q.members:
                p.actions.delete_rule(
                    item.rule, "remove", f"{d.reason}, and re-creating it failed: {e}"
                )


def _cumulative(rows: dict[str, Side]) -> tuple[history.Counts, history.Counts]:
    source = readyset = history.Counts()
    for key, side in rows.items():
        counts = history.Counts(side.count, side.sum_time_us, side.rows_sent)
        if key.startswith(history.SOURCE + ":"):
            source += counts
        else:
            readyset += counts
    return source, readyset


def _digest_row(row: SampleRow) -> DigestRow:
    return DigestRow(
        row.digest,
        row.digest_text,
        row.schemaname,
        row.count_star,
        row.sum_time,
        row.sum_rows_sent,
        row.min_time,
        row.max_time,
    )
