"""One pass of the scheduler, top to bottom:

1. health: ask every Readyset host `SHOW READYSET STATUS`, give each the status it deserves in
   ProxySQL (writes only real changes, one LOAD MYSQL SERVERS TO RUNTIME at most);
2. caches: every host that serves traffic gets every cache the scheduler owns, before it is
   set ONLINE;
3. warm-up: mirror rules whose warm-up has passed start routing;
4. discovery: read the digest table once, turn hot digests into queries, ask Readyset which it
   supports, create each cache on every online host, then add the rule that routes it;
5. load the rules to runtime and save them to disk, once, only when something changed.

The admin reads that do not depend on health (the rules, the lifecycle's one read of the digest
table) run while the Readyset hosts of step 1 answer, so the two waits overlap.

Observation and decisions are kept apart: `health.judge`, `rules.place`, `rules.due_for_promotion`
and `translate.translate` are pure; `Actions` carries out (or, in a dry run, only logs) each step.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable, NamedTuple, Optional, Union

from readyset_proxysql_scheduler import health, hosts, profiles, rules
from readyset_proxysql_scheduler import state as state_file
from readyset_proxysql_scheduler.actions import Actions, Live, Summary, cache_name
from readyset_proxysql_scheduler.config import Config, OperationMode
from readyset_proxysql_scheduler.counts import PassCounts
from readyset_proxysql_scheduler.log import Log
from readyset_proxysql_scheduler.profiles import Profile
from readyset_proxysql_scheduler.proxysql import Admin, DigestRow, RuleRow, SampleRow
from readyset_proxysql_scheduler.readyset import Readyset, ReadysetError
from readyset_proxysql_scheduler.rules import Owned, variant_names
from readyset_proxysql_scheduler.state import GAVE_UP, HostFacts, Remembered, refusal_key

if TYPE_CHECKING:
    from readyset_proxysql_scheduler.adoption import Adoption, Skipped
    from readyset_proxysql_scheduler.translate import DigestSettings, NotCacheable


def used(name: str, query: Remembered, ruled: set[tuple[str, str]], variants: set[str]) -> bool:
    """Whether a rule sends traffic to this cache: a variant cache its rule names, or a digest
    cache whose (digest, schema) a rule routes or mirrors."""
    if name.startswith(rules.VARIANT_PREFIX):
        return name in variants
    return (query.digest, query.schema) in ruled


class Answer(NamedTuple):
    """What a Readyset host said on its health-check thread."""

    rows: list[tuple[str, str]]  # SHOW READYSET STATUS
    verdict: health.Verdict
    caches: Optional[dict[str, str]]  # SHOW CACHES (name -> query text), if read


class PassTimeout(Exception):
    """The pass ran out of its time budget (`pass_timeout_s`)."""


class Pass:
    def __init__(
        self,
        config: Config,
        log: Log,
        dry_run: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.log = log
        self.dry_run = dry_run
        self.now = clock()
        self.deadline = time.monotonic() + config.pass_timeout_s
        self.admin = Admin(config)
        self.summary = Summary()
        self.counts = PassCounts()  # for metrics_file only
        self.actions = Actions(self.admin, log, dry_run, self.summary)
        self.state, warning = state_file.load(config.state_path)
        if warning:
            log.warning(warning)
        self.state_changed = False
        self.live: list[Live] = []
        self.profile_key = ""
        self.releases: list[Profile] = []
        self._rules: Optional[list[RuleRow]] = None
        self.sample: Optional[list[SampleRow]] = None  # the lifecycle's digest read, if done
        self.rules_changed = self.state.rules_dirty
        if self.rules_changed:
            log.note("rules written by an interrupted run were never loaded: loading them now")

    # --- the pass ---

    def run(self) -> Summary:
        try:
            self.check_health()
            self.protect_routing()
            if self.config.operation_mode != OperationMode.HEALTH_CHECK:
                self.discover()
            if self.rules_changed:
                self.mark_rules_dirty(True)
                self.actions.load_and_save_rules()
                self.mark_rules_dirty(False)
        finally:
            self.save_state()
            self.admin.close()
            for live in self.live:
                live.client.close()
        return self.summary

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def check_time(self, step: str) -> None:
        if self.remaining() <= 0:
            raise PassTimeout(
                f"pass_timeout_s={self.config.pass_timeout_s:g} reached before {step}"
            )

    # --- 1 and 2: health and caches ---

    def check_health(self) -> None:
        c = self.config
        servers = self.admin.readyset_servers(c.readyset_hostgroup)
        selected = hosts.select(c, servers)
        if not selected:
            self.log.warning(
                f"no Readyset host: no server of hostgroup {c.readyset_hostgroup} has a comment"
                " containing 'readyset' (or set readyset_host)"
            )
            return
        connect_timeout = min(c.connect_timeout_s, max(self.remaining(), 0.05))
        clients = [hosts.client(c, h, connect_timeout, self.deadline) for h in selected]
        if c.operation_mode == OperationMode.QUERY_DISCOVERY:
            # Health is someone else's job in this mode: trust ProxySQL's runtime status.
            for h, client in zip(selected, clients):
                online = h.server is not None and h.server.runtime_status == health.ONLINE
                status = health.ONLINE if online else health.SHUNNED
                verdict = health.Verdict(status, "runtime status")
                self.live.append(Live(h, client, verdict, routable=online))
            return

        results, hung = hosts.run_all(clients, self.ask, self.deadline, meanwhile=self.read_ahead)
        for i, (h, client) in enumerate(zip(selected, clients)):
            result = results.get(i)
            if i in hung:
                verdict = health.judge(
                    None, f"no answer within pass_timeout_s={c.pass_timeout_s:g}"
                )
                self.log.warning(f"Readyset {h.endpoint} hung: {verdict.reason}")
                client.abandon()
            elif isinstance(result, ReadysetError) and result.login_refused:
                verdict = health.Verdict(health.UNKNOWN, str(result))
                self.log.error(
                    f"Readyset {h.endpoint} refused the scheduler's login ({result}): its status"
                    " is left as it is; check readyset_user and readyset_password (the"
                    " application's traffic does not use them; `doctor` checks them)"
                )
                self.summary.problems.append(str(result))
            elif isinstance(result, Exception):
                verdict = health.judge(None, str(result))
                self.log.info(f"Readyset {h.endpoint}: {result}")
            else:
                answer: Answer = result  # type: ignore[assignment]
                live = Live(h, client, answer.verdict, status_rows=answer.rows)
                if answer.caches is not None:
                    live.set_caches(answer.caches)
                self.live.append(live)
                continue
            self.live.append(Live(h, client, verdict))

        # A host that has been ONLINE all along got every cache when it was made; a host coming
        # (back) to ONLINE may have missed some, so it gets them before it takes traffic.
        self.reconcile_caches(
            [
                lv
                for lv in self.live
                if lv.verdict.status == health.ONLINE
                and (lv.host.server is None or lv.host.server.runtime_status != health.ONLINE)
            ]
        )
        self.apply_statuses()

    def ask(self, client: Readyset) -> Answer:
        """A host's status and verdict; and, when it is healthy, its caches, which the rest of
        the pass needs (read here, on the host's thread, while the admin reads go on meanwhile)."""
        rows = client.status()
        verdict = health.judge(rows)
        if (
            self.config.operation_mode == OperationMode.HEALTH_CHECK
            or verdict.status != health.ONLINE
        ):
            return Answer(rows, verdict, None)
        try:
            return Answer(rows, verdict, client.caches())
        except ReadysetError:
            return Answer(rows, verdict, None)  # read again when needed; the verdict stands

    def read_ahead(self) -> None:
        """While the Readyset hosts answer: the admin reads the rest of the pass needs, which
        do not depend on their health (the rules, and the lifecycle's read of the digests)."""
        self.rules()
        if self.config.operation_mode != OperationMode.HEALTH_CHECK:
            from readyset_proxysql_scheduler.upkeep import read_sample

            self.sample = read_sample(self)

    def apply_statuses(self) -> None:
        changed = False
        for live in self.live:
            server = live.host.server
            key = str(live.host.endpoint)
            if server is None:
                self.log.warning(
                    f"Readyset {key} is not in hostgroup {self.config.readyset_hostgroup} of"
                    " mysql_servers: its status cannot be set"
                )
                continue
            wanted = live.verdict.status
            if wanted == health.UNKNOWN:
                live.routable = server.runtime_status == health.ONLINE
                continue
            why = health.hands_off(
                server.runtime_status, server.memory_status, key in self.state.offline_soft
            )
            if why:
                self.log.info(f"Readyset {key} left alone: {why}")
                live.routable = wanted == health.ONLINE == server.runtime_status
                continue
            live.routable = wanted == health.ONLINE
            if wanted == server.runtime_status and wanted == (server.memory_status or wanted):
                continue
            self.actions.set_status(self.config.readyset_hostgroup, live, wanted)
            changed = True
            if wanted == health.OFFLINE_SOFT:
                self.state.offline_soft.add(key)
            else:
                self.state.offline_soft.discard(key)
            self.state_changed = True
        if changed:
            self.actions.load_servers()

    def reconcile_caches(self, online: list[Live]) -> None:
        """Give these hosts every cache the scheduler's rules use."""
        ours = rules.owned(self.rules(), self.config.readyset_hostgroup)
        ruled, variants = self.ruled(ours), variant_names(ours)
        wanted = {n: q for n, q in self.state.queries.items() if used(n, q, ruled, variants)}
        if not wanted or not online:
            return
        for live in online:
            try:
                caches = live.read_caches()
            except ReadysetError as e:
                self.log.warning(f"cannot list caches on {live.host.endpoint}: {e}")
                continue
            for name, query in sorted(wanted.items()):
                if name in caches:
                    continue
                self.check_time("re-creating caches")
                try:
                    self.actions.create_cache(live, name, query)
                    self.counts.caches_created += 1
                except ReadysetError as e:
                    self.counts.caches_failed += 1
                    self.summary.problems.append(str(e))
                    self.log.warning(f"cache {name} on {live.host.endpoint}: {e}")

    # --- 3 and 4: warm-up and discovery ---

    def online(self) -> list[Live]:
        """Hosts that are healthy and that ProxySQL routes to once this pass is applied."""
        return [lv for lv in self.live if lv.routable]

    def rules_as_read(self) -> list[RuleRow]:
        """The rules table as this pass last read it."""
        if self._rules is None:
            self._rules = self.admin.rules()
        return self._rules

    def rules(self) -> list[RuleRow]:
        """The rules table as this pass leaves it: without the rules it deleted (in a dry run,
        would have deleted), so a dry run shows what follows from a deletion."""
        rows, deleted = self.rules_as_read(), self.actions.deleted_rules
        return [r for r in rows if r not in deleted] if deleted else rows

    def protect_routing(self) -> None:
        """While no Readyset host is online, the scheduler's rules are off; back on after.

        A destination rule towards a hostgroup without a usable server makes ProxySQL hold the
        query for mysql-connect_timeout_server_max (10 s) and then fail it; with the rule off,
        the query goes to the source hostgroup instead. Only rules the scheduler switched off
        are switched back on (recorded in the state file); a rule a person set inactive stays.
        """
        hostgroup = self.config.readyset_hostgroup
        ours = rules.owned(self.rules(), hostgroup)
        if not self.online():
            for item in ours:
                if item.rule.active:
                    self.mark_rules_dirty(True)
                    self.actions.set_rule_active(item.rule, False, "no Readyset host is online")
                    self.state.deactivated.add(item.rule.rule_id)
                    self.state_changed = self.rules_changed = True
            return
        for item in ours:
            if not item.rule.active and item.rule.rule_id in self.state.deactivated:
                self.mark_rules_dirty(True)
                self.actions.set_rule_active(item.rule, True, "a Readyset host is online again")
                self.state.deactivated.discard(item.rule.rule_id)
                self.state_changed = self.rules_changed = True

    def detect_profiles(self, online: list[Live]) -> list[Profile]:
        """What each online host's caches serve; steady passes reuse what the state holds."""
        c = self.config
        for live in online:
            if live.profile is not None:
                continue
            key = str(live.host.endpoint)
            try:
                if live.status_rows is None:
                    live.status_rows = live.client.status()
                rows = live.status_rows
                controller = next(
                    (v for n, v in rows if n.strip().lower() == "last started controller"), ""
                )
                facts = self.state.hosts.get(key)
                fresh = facts is None or not controller or controller != facts.controller
                if facts is None or fresh:
                    release = profiles.release_of(live.client.version_rows())
                    probed = None
                    if profiles.needs_mode_probe(
                        profiles.release_date(release), c.readyset_cache_mode
                    ):
                        probed = profiles.mode_from_probe(
                            live.client.probe(profiles.MODE_PROBE), profiles.release_date(release)
                        )
                    facts = HostFacts(controller, release, probed)
                    if not self.dry_run:
                        self.state.hosts[key] = facts
                        self.state_changed = True
                live.profile = profiles.detect(
                    facts.release, rows, facts.probed_mode, c.readyset_cache_mode, c.readyset_topk
                )
                if fresh:
                    self.log.info(f"Readyset {key} runs {live.profile.key}")
            except ReadysetError as e:
                self.log.warning(f"cannot tell which Readyset {key} runs: {e}")
                live.profile = profiles.detect(
                    "", live.status_rows or [], None, c.readyset_cache_mode, c.readyset_topk
                )
        return profiles.distinct(lv.profile for lv in online if lv.profile is not None)

    def discover(self) -> None:
        c = self.config
        online = self.online()
        if not online:
            self.log.info("no online Readyset host: no discovery this pass")
            return
        unjudged = [str(lv.host.endpoint) for lv in online if lv.verdict.status == health.UNKNOWN]
        if unjudged:
            # A cache must exist on every host that takes traffic; these cannot be asked.
            self.log.warning(
                f"no discovery this pass: cannot log in to Readyset {', '.join(unjudged)}"
            )
            return
        judged = self.manage_lifecycle(online)
        all_rules = self.rules()
        ours = rules.owned(all_rules, c.readyset_hostgroup)
        self.releases = self.detect_profiles(online)
        self.profile_key = "+".join(p.key for p in self.releases)
        # Readyset's own record first: rules it does not serve go, learned variants get routed.
        learned: set[str] = set()
        upkeep = getattr(self, "upkeep", None)
        if rules.needs_readyset_record(ours, self.now, upkeep.active if upkeep else None):
            from readyset_proxysql_scheduler.learning import Learning

            learning = Learning(self, ours)
            self.rules_changed |= learning.verify(online, ours)
            self.rules_changed |= learning.advance(online, ours)
            learned = learning.routed
        for item in rules.due_for_promotion(ours, c.warmup_time_s, self.now):
            if item.rule.rule_id in judged:
                continue  # promoted, or not, on evidence (lifecycle.py)
            self.mark_rules_dirty(True)
            self.actions.promote(item, c.readyset_hostgroup, self.now)
            self.rules_changed = True

        slots = c.number_of_queries - rules.counted(ours)
        added: list[tuple[str, str]] = []
        if slots > 0:
            self.check_time("query discovery")
            added = self.add_queries(online, all_rules, slots)
            self.rules_changed |= bool(added)
        self.drop_orphans(online, self.ruled(ours) | set(added), variant_names(ours) | learned)

    # --- lifecycle (issue 11): decisions in lifecycle.py, carried out by upkeep.py ---

    def manage_lifecycle(self, online: list[Live]) -> set[int]:
        """Promote on evidence, demote, evict, replace, repair; the mirror rules it judged."""
        from readyset_proxysql_scheduler.upkeep import Upkeep

        self.upkeep = Upkeep(self)
        return self.upkeep.run(online)

    def candidate_rows(self, limit: int) -> list[DigestRow]:
        """Discovery's candidates: the lifecycle's read of this pass, recently hottest first,
        without denied or idle ones; the plain read of the digest table when it did not run."""
        from readyset_proxysql_scheduler.upkeep import Upkeep

        upkeep: Optional[Upkeep] = getattr(self, "upkeep", None)
        if upkeep is None:
            return self.admin.candidates(limit=limit)
        return upkeep.order_candidates()

    @staticmethod
    def ruled(ours: list[Owned]) -> set[tuple[str, str]]:
        """(digest, schema) of every query the scheduler's rules send to Readyset."""
        return {(o.cache_digest, o.rule.schemaname or "") for o in ours if o.cache_digest}

    def drop_orphans(
        self, online: list[Live], ruled: set[tuple[str, str]], variants: set[str]
    ) -> None:
        """Caches the scheduler made that none of its rules uses (the rule was deleted, a run
        died before writing it, a host refused the cache) are dropped from every online host,
        so nothing is left that nobody owns. A still-hot query is simply found again."""
        for name, query in sorted(self.state.queries.items()):
            if used(name, query, ruled, variants):
                continue
            if query.adopted:  # an operator made it: only the rule was ours
                self.log.note(
                    f"cache {name} kept on the Readyset hosts: it was made by hand; no rule of"
                    f" the scheduler routes digest {query.digest} (schema {query.schema}) to it"
                    " any more"
                )
                if not self.dry_run:
                    del self.state.queries[name]
                    self.state_changed = True
                continue
            for live in online:
                if live.caches is not None and name not in live.caches:
                    continue
                try:
                    self.actions.drop_cache(live, name)
                except ReadysetError as e:
                    self.log.warning(f"cannot drop cache {name} on {live.host.endpoint}: {e}")
                    break
            else:
                if not self.dry_run:
                    del self.state.queries[name]
                    self.state_changed = True

    def add_queries(
        self, online: list[Live], all_rules: list[RuleRow], slots: int
    ) -> list[tuple[str, str]]:
        c = self.config
        settings: Optional[DigestSettings] = None  # read with the first digest to translate
        releases = self.releases
        known = self.state.unsupported
        rows = self.candidate_rows(slots + min(len(known), 10000))
        self.counts.digests_read += len(rows)
        adopted = self.adopt(online, rows, slots) if c.adopt_manual_caches else []
        if adopted:
            keys = {(r.digest, r.schemaname) for a in adopted for r in a.rows}
            rows = [r for r in rows if (r.digest, r.schemaname) not in keys]
            slots -= len(adopted)
        accepted: list[tuple[DigestRow, Remembered]] = []
        learn: list[DigestRow] = []
        for row in rows:
            if len(accepted) + len(learn) >= slots:
                break
            refused = known.get(refusal_key(row.digest, row.schemaname))
            if refused is not None and refused.profile == self.profile_key:
                continue  # asked already, of these same releases
            self.check_time(f"asking Readyset about {row.digest}")
            if settings is None:
                # Only passes with a digest to ask about load the translator and the hash.
                from readyset_proxysql_scheduler.translate import DigestSettings

                settings = DigestSettings.from_variables(self.admin.digest_variables())
            query = self.supported_query(row, settings, online[0], releases)
            if isinstance(query, Remembered):
                accepted.append((row, query))
            elif query is not None:
                learn.append(row)
        self.counts.candidates += len(accepted) + len(learn)
        if not accepted and not learn and not adopted:
            return []
        if learn and not self.dry_run:
            for row in learn:
                self.state.learning[refusal_key(row.digest, row.schemaname)] = Remembered(
                    row.schemaname, row.digest_text, self.now, digest=row.digest
                )
            self.state_changed = True
        if not self.dry_run:
            # Recorded before any cache exists, in one write: a run killed in between leaves
            # caches the next pass adopts or drops, never unknown ones.
            for row, query in accepted:
                self.state.queries[cache_name(row.digest, row.schemaname)] = query
            self.state_changed = True
            self.save_state()
        chosen = [
            row
            for row, query in accepted
            if self.create_everywhere(online, cache_name(row.digest, row.schemaname), query)
        ]
        if not chosen and not learn and not adopted:
            return []
        taken = {(r.digest, r.schemaname or "") for r in all_rules if r.digest}
        taken |= {(row.digest, row.schemaname) for row in chosen}
        new: list[tuple[DigestRow, Optional[tuple[str, str]]]] = []
        adopts: dict[tuple[str, str], str] = {}
        for a in adopted:
            head = a.rows[0]
            adopts[(head.digest, head.schemaname)] = a.name
            new.append((head, None))
            new.extend((head, (sib.digest, sib.digest_text)) for sib in a.rows[1:])
        for row in chosen:
            from readyset_proxysql_scheduler.discovery import in_list_siblings

            assert settings is not None  # a chosen row was translated
            new.append((row, None))
            here = {d for d, schema in taken if schema in ("", row.schemaname)}
            for found in in_list_siblings(row, settings, here):
                new.append((row, found))
                taken.add((found[0], row.schemaname))
        placement = rules.place(all_rules, len(new) + len(learn))
        if placement.warning:
            self.log.warning(placement.warning)
        self.mark_rules_dirty(True)
        for rule_id, (row, sibling) in zip(placement.ids, new):
            adopting = adopts.get((row.digest, row.schemaname))
            self.actions.add_rule(rule_id, c, row, self.now, sibling, adopting)
        for rule_id, row in zip(placement.ids[len(new) :], learn):
            self.actions.add_learning_rule(rule_id, c, row, self.now)
        return [(a.rows[0].digest, a.schema) for a in adopted] + [
            (row.digest, row.schemaname) for row in chosen + learn
        ]

    # --- caches made by hand (adoption.py) ---

    def adopt(self, online: list[Live], rows: list[DigestRow], slots: int) -> list[Adoption]:
        """The hand-made caches that serve candidates, each on every online host: their digests
        are routed like discovery's (the caller adds the rules)."""
        from readyset_proxysql_scheduler import adoption

        hosts: list[tuple[str, dict[str, str]]] = []
        for live in online:
            texts = live.cache_texts
            if texts is None:
                try:
                    live.read_caches()
                except ReadysetError as e:
                    self.log.warning(
                        f"cannot list caches on {live.host.endpoint}: {e}; no adoption this pass"
                    )
                    return []
                texts = live.cache_texts or {}
            hosts.append((str(live.host.endpoint), texts))
        known = self.state.unsupported
        candidates = []
        for row in rows:
            refused = known.get(refusal_key(row.digest, row.schemaname))
            if (
                refused is not None
                and refused.text.startswith(GAVE_UP)
                and refused.profile == self.profile_key
            ):
                continue  # the lifecycle gave up on it: Readyset was not faster
            candidates.append(row)
        plan = adoption.plan(hosts, candidates, set(self.state.queries), slots)
        self.log_not_adopted(plan.skipped)
        return [a for a in plan.adoptions if self.adopt_one(online, a)]

    def adopt_one(self, online: list[Live], a: Adoption) -> bool:
        """The adopted cache on every online host (created from its text where missing),
        recorded as adopted; False when a host refused it (nothing is left behind)."""
        head = a.rows[0]
        names = ", ".join(name for name, _ in a.caches)
        self.log.note(
            f"digest {head.digest} (schema {head.schemaname}) is served by cache {names}, made by"
            f" hand: adopting it ({a.text[:200]})"
        )
        query = Remembered(a.schema, a.text, self.now, digest=head.digest, adopted=True)
        created: list[Live] = []
        for live in online:
            if str(live.host.endpoint) not in a.missing:
                continue
            self.check_time(f"creating cache {a.name}")
            try:
                self.actions.create_cache(live, a.name, query)
                self.counts.caches_created += 1
                created.append(live)
            except ReadysetError as e:
                self.counts.caches_failed += 1
                self.summary.problems.append(str(e))
                self.log.warning(
                    f"cache {a.name} not created on {live.host.endpoint}: {e}; digest"
                    f" {head.digest} not adopted this pass"
                )
                for done in created:
                    try:
                        self.actions.drop_cache(done, a.name, "its adoption failed on another host")
                    except ReadysetError as e2:
                        self.log.warning(f"cannot drop {a.name} on {done.host.endpoint}: {e2}")
                return False
        if not self.dry_run:
            for name, text in a.caches:
                self.state.queries[name] = Remembered(
                    a.schema, text, self.now, digest=head.digest, adopted=True
                )
            self.state_changed = True
        return True

    def log_not_adopted(self, skipped: list[Skipped]) -> None:
        """Why a hand-made cache is not adopted: at Note the first time a lasting reason is
        seen (remembered in the state file), at Info on every other pass."""
        before = self.state.not_adopted
        after = {s.name: before[s.name] for s in skipped if s.name in before}
        for s in skipped:
            line = f"cache {s.name}, made by hand, not adopted: {s.reason}"
            if s.lasting and before.get(s.name) != s.reason:
                self.log.note(line)
            else:
                self.log.info(line)
            if s.lasting:
                after[s.name] = s.reason
        if after != before and not self.dry_run:
            self.state.not_adopted = after
            self.state_changed = True

    def supported_query(
        self, row: DigestRow, settings: DigestSettings, host: Live, found: list[Profile]
    ) -> Union[Remembered, NotCacheable, None]:
        """The query to cache; a NotCacheable whose literal variants Readyset's own identities
        can serve (learning.py); None when refused (logged and remembered)."""
        from readyset_proxysql_scheduler.discovery import supported
        from readyset_proxysql_scheduler.translate import Cacheable, translate

        texts = set()
        learnable: Optional[NotCacheable] = None
        for profile in found or [profiles.CONSERVATIVE]:
            outcome = translate(row.digest_text, settings, profile)
            if isinstance(outcome, Cacheable):
                texts.add(outcome.query)
            elif outcome.identity and self.config.learn_literal_variants:
                learnable = learnable or outcome
            else:
                self.remember_unsupported(row, f"not cacheable: {outcome.reason}")
                return None
        if learnable is not None:
            self.log.note(
                f"digest {row.digest} (schema {row.schemaname}) cannot be cached from its text"
                f" ({learnable.reason}): {'would mirror' if self.dry_run else 'mirroring'} it to"
                " learn the literal variants Readyset"
                f" records: {row.digest_text[:200]}"
            )
            return learnable
        if len(texts) > 1:
            self.remember_unsupported(
                row, "not cacheable: the online Readyset hosts need different query texts"
            )
            return None
        outcome = Cacheable(texts.pop())
        try:
            verdict = host.client.explain(row.schemaname, outcome.query)
        except ReadysetError as e:
            if e.refuses_query:  # Readyset judged the query itself: that is its verdict
                self.remember_unsupported(row, f"Readyset refused it: {e}")
            else:
                self.log.warning(f"EXPLAIN CREATE CACHE for {row.digest} failed: {e}")
                self.summary.problems.append(str(e))
            return None
        if not supported(verdict):
            self.remember_unsupported(row, f"Readyset says {verdict!r}")
            return None
        return Remembered(schema=row.schemaname, text=outcome.query, at=self.now, digest=row.digest)

    def remember_unsupported(self, row: DigestRow, reason: str) -> None:
        self.log.note(
            f"digest {row.digest} (schema {row.schemaname}) skipped, {reason}:"
            f" {row.digest_text[:200]}"
        )
        self.remember_refusal(row.digest, row.schemaname, reason)

    def remember_refusal(self, digest: str, schema: str, reason: str) -> None:
        if not self.dry_run:
            self.state.unsupported[refusal_key(digest, schema)] = Remembered(
                schema, reason, self.now, self.profile_key
            )
            self.state_changed = True

    def create_everywhere(self, online: list[Live], name: str, query: Remembered) -> bool:
        """Create the cache on every online host; a rule may follow only if all succeeded."""
        ok = True
        for live in online:
            try:
                self.actions.create_cache(live, name, query)
                self.counts.caches_created += 1
            except ReadysetError as e:
                self.counts.caches_failed += 1
                ok = False
                self.summary.problems.append(str(e))
                self.log.warning(
                    f"cache {name} not created on {live.host.endpoint}: {e};"
                    " no rule for it this pass"
                )
        return ok

    # --- state ---

    def mark_rules_dirty(self, dirty: bool) -> None:
        if self.dry_run or self.state.rules_dirty == dirty:
            return
        self.state.rules_dirty = dirty
        self.state_changed = True
        self.save_state()

    def save_state(self) -> None:
        if self.dry_run or not self.state_changed:
            return
        state_file.save(self.config.state_path, self.state)
        self.state_changed = False
