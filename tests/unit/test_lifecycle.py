"""lifecycle.py: each rule of the table, with the numbers in its reason, and no I/O."""

from __future__ import annotations

import time
from typing import Any, Optional

import pytest

from readyset_proxysql_scheduler import lifecycle, rules
from readyset_proxysql_scheduler.config import DiscoveryMode
from readyset_proxysql_scheduler.history import Counts, Delta, Track
from readyset_proxysql_scheduler.lifecycle import (
    DEMOTE,
    DENY,
    EVICT,
    GIVE_UP,
    HOLD,
    PROMOTE,
    RECREATE,
    REPLACE,
    RETRY,
    UNREPAIRABLE,
    Candidate,
    Decision,
    DenyEntry,
    Inputs,
    Key,
    Policy,
    Query,
)
from readyset_proxysql_scheduler.proxysql import RuleRow

NOW = 1_800_000_000.0
KEY = ("0xA", "shop")


def rule(rule_id: int, comment: str, **kw: Any) -> RuleRow:
    base: dict[str, Any] = dict(
        active=True,
        username="app",
        schemaname="shop",
        digest="0xA",
        match_digest=None,
        match_pattern=None,
        destination_hostgroup=99,
        mirror_hostgroup=None,
        apply=True,
        flag_in=0,
    )
    base.update(kw)
    return RuleRow(rule_id=rule_id, comment=comment, **base)


def mirrored(since: float, failures: int = 0, rule_id: int = 1, **kw: Any) -> Query:
    r = rule(
        rule_id,
        lifecycle.mirror_comment(since, failures),
        destination_hostgroup=None,
        mirror_hostgroup=99,
        **kw,
    )
    return lifecycle.group(rules.owned([r], 99))[0]


def routed(since: float, failures: int = 0, rule_id: int = 1, **kw: Any) -> Query:
    comment = rules.added_comment(since) + (lifecycle.FAILED + str(failures) if failures else "")
    return lifecycle.group(rules.owned([rule(rule_id, comment, **kw)], 99))[0]


def track(trial: Optional[list[int]] = None, stamp: Optional[float] = None, **kw: Any) -> Track:
    t = Track(since=NOW - 7200, at=NOW, **kw)
    if trial is not None:
        t.trial = trial
        t.trial_stamp = stamp
    return t


def decided(
    d: Optional[Decision], kind: str, key: Key = KEY, ids: tuple[int, ...] = (1,)
) -> Decision:
    """The decision, about the query and rules it names."""
    assert d is not None and (d.kind, d.key, d.rule_ids) == (kind, key, ids), d
    return d


# --- comments ---


def test_comments_carry_failures_and_stay_the_originals() -> None:
    text = lifecycle.mirror_comment(NOW, 2, "0xB")
    assert text == (
        "Mirror by readyset scheduler at: 2027-01-15 08:00:00 UTC; failed warm-ups: 2;"
        " IN-list sibling of 0xB"
    )
    owned = rules.owned([rule(1, text, mirror_hostgroup=99, destination_hostgroup=None)], 99)
    assert owned[0].mirror and owned[0].sibling_of == "0xB"
    assert rules.mirrored_at(text) == NOW
    assert lifecycle.failures_of(text) == 2
    assert lifecycle.failures_of(lifecycle.mirror_comment(NOW, 0)) == 0
    assert lifecycle.mirror_comment(NOW, 0) == rules.mirror_comment(NOW)
    assert lifecycle.failures_of("; failed warm-ups: 13") == 13


def test_stamped_at_reads_both_prefixes_and_local_time() -> None:
    assert lifecycle.stamped_at(rules.added_comment(NOW)) == NOW
    assert lifecycle.stamped_at(rules.mirror_comment(NOW)) == NOW
    local = "2025-06-01 12:00:00"
    expected = time.mktime(time.strptime(local, "%Y-%m-%d %H:%M:%S"))
    assert lifecycle.stamped_at(rules.ADDED + local) == expected
    assert lifecycle.stamped_at("my rule") is None
    assert lifecycle.stamped_at("x" + rules.added_comment(NOW)) is None


def test_group_puts_each_query_first_then_its_siblings() -> None:
    main = rule(7, rules.added_comment(NOW))
    sib = rule(3, rules.added_comment(NOW, "0xA"), digest="0xS")
    other = rule(5, rules.added_comment(NOW), digest="0xB", schemaname=None)
    theirs = rule(1, "user rule", digest="0xC")
    no_digest = rule(2, rules.added_comment(NOW), digest=None)
    queries = lifecycle.group(rules.owned([sib, other, main, theirs, no_digest], 99))
    assert [(q.key, q.rule_ids) for q in queries] == [
        (("0xA", "shop"), (7, 3)),
        (("0xB", ""), (5,)),
    ]
    q = queries[0]
    assert q.head.rule.rule_id == 7 and not q.mirror and q.active and q.stamp == NOW
    assert q.failures == 0
    inactive = lifecycle.group(rules.owned([rule(1, rules.added_comment(NOW), active=False)], 99))
    assert not inactive[0].active


def test_group_skips_a_rule_without_a_digest_wherever_it_is_listed() -> None:
    no_digest = rule(1, rules.added_comment(NOW), digest=None)
    queries = lifecycle.group(rules.owned([no_digest, rule(2, rules.added_comment(NOW))], 99))
    assert [(q.key, q.rule_ids) for q in queries] == [(KEY, (2,))]


# --- deny ---


def test_deny_entries() -> None:
    assert DenyEntry.parse("0xab") == DenyEntry(digest="0xAB")
    assert DenyEntry.parse("0XAB/shop") == DenyEntry(digest="0xAB", schema="shop")
    assert DenyEntry.parse("FROM secrets") == DenyEntry(pattern="FROM secrets")
    with pytest.raises(Exception):  # noqa: B017 - re.error
        DenyEntry.parse("(")
    assert DenyEntry.parse("0xAB").matches("0xab", "any", "")
    assert not DenyEntry.parse("0xAB").matches("0xABC", "any", "")
    assert DenyEntry.parse("0xAB/shop").matches("0xAB", "shop", "")
    assert not DenyEntry.parse("0xAB/shop").matches("0xAB", "blog", "")
    assert DenyEntry.parse("from SECRETS").matches("0x1", "shop", "SELECT * FROM secrets")
    assert not DenyEntry.parse("from secrets$").matches("0x1", "shop", "FROM secrets x")
    policy = Policy(deny=(DenyEntry.parse("0x1"), DenyEntry.parse("orders")))
    assert lifecycle.denied(policy, "0x2", "s", "SELECT 1 FROM orders") == DenyEntry(
        pattern="orders"
    )
    assert lifecycle.denied(policy, "0x2", "s", "SELECT 1") is None


def test_deny_by_digest_and_schema() -> None:
    policy = Policy(deny=(DenyEntry.parse("0xA/shop"),))
    assert lifecycle.denied(policy, "0xA", "shop", "") == DenyEntry(digest="0xA", schema="shop")
    assert lifecycle.denied(policy, "0xA", "blog", "") is None


# --- metric ---


@pytest.mark.parametrize(
    "mode, expected",
    [
        (DiscoveryMode.COUNT_STAR, 4.0),
        (DiscoveryMode.SUM_TIME, 400.0),
        (DiscoveryMode.SUM_ROWS_SENT, 8.0),
        (DiscoveryMode.MEAN_TIME, 100.0),
        (DiscoveryMode.QUERY_THROUGHPUT, 0.01),
        (DiscoveryMode.WORST_BEST_CASE, 10.0),
        (DiscoveryMode.WORST_WORST_CASE, 300.0),
        (DiscoveryMode.EXECUTION_TIME_DISTANCE, 290.0),
        (DiscoveryMode.DISTANCE_MEAN_MAX, 200.0),
    ],
)
def test_metric_per_mode(mode: DiscoveryMode, expected: float) -> None:
    assert lifecycle.metric(mode, Counts(4, 400, 8), 10, 300) == pytest.approx(expected)
    assert lifecycle.metric(mode, Counts(), 10, 300) == 0.0


def test_query_throughput_with_zero_time() -> None:
    assert lifecycle.metric(DiscoveryMode.QUERY_THROUGHPUT, Counts(3, 0)) == 3.0


# --- warm-up ---


def test_warmup_not_over_opens_the_trial_only() -> None:
    t = track()
    q = mirrored(NOW - 59)
    assert lifecycle.judge_warmup(q, t, Policy(warmup_s=60), NOW, (Counts(), Counts())) is None
    assert t.trial_stamp == NOW - 59 and t.trial == [0, 0, 0, 0]
    t.trial = [5, 5, 5, 5]  # the same warm-up: kept
    assert lifecycle.judge_warmup(q, t, Policy(warmup_s=60), NOW, (Counts(), Counts())) is None
    assert t.trial == [5, 5, 5, 5]
    assert lifecycle.judge_warmup(routed(NOW - 999), t, Policy(), NOW, (Counts(), Counts())) is None


def test_obvious_win_is_promoted_at_the_warmup_boundary() -> None:
    policy = Policy(warmup_s=60)
    t = track(trial=[100, 200_000, 100, 50_000], stamp=NOW - 60)
    d = lifecycle.judge_warmup(mirrored(NOW - 60), t, policy, NOW, (Counts(), Counts()))
    d = decided(d, PROMOTE)
    assert d.rule_ids == (1,)
    assert d.reason == (
        "Readyset 0.50 ms mean over 100 mirrored executions, source 2.00 ms over 100 during the"
        " warm-up, ratio 0.25 <= max_latency_ratio 1.5"
    )
    assert t.source_mean_us == 2000 and t.judged == [0, 0] and t.bad_windows == 0


def test_ratio_exactly_at_the_limit_is_promoted_and_above_it_is_not() -> None:
    policy = Policy(max_latency_ratio=1.5)
    at = track(trial=[20, 20_000, 20, 30_000], stamp=NOW - 1)
    d = lifecycle.judge_warmup(mirrored(NOW - 1), at, policy, NOW, (Counts(), Counts()))
    d = decided(d, PROMOTE)
    above = track(trial=[20, 20_000, 20, 30_020], stamp=NOW - 1)
    d = lifecycle.judge_warmup(mirrored(NOW - 1), above, policy, NOW, (Counts(), Counts()))
    d = decided(d, RETRY)
    assert d.failures == 1
    assert d.reason.endswith("ratio 1.50 > max_latency_ratio 1.5; failed warm-up 1 of 3")
    assert above.source_mean_us is None


def test_slow_readyset_retries_then_gives_up() -> None:
    policy = Policy(max_failed_warmups=3)
    trial = [50, 50_000, 50, 500_000]
    d = lifecycle.judge_warmup(
        mirrored(NOW - 5, failures=1), track(trial, NOW - 5), policy, NOW, (Counts(), Counts())
    )
    d = decided(d, RETRY)
    assert d.failures == 2
    d = lifecycle.judge_warmup(
        mirrored(NOW - 5, failures=2), track(trial, NOW - 5), policy, NOW, (Counts(), Counts())
    )
    d = decided(d, GIVE_UP)
    assert d.failures == 3
    assert "failed warm-up 3 of max_failed_warmups 3" in d.reason
    assert "Readyset 10.00 ms mean over 50 mirrored executions, source 1.00 ms" in d.reason


def test_missing_mirrored_executions_fail_the_warmup() -> None:
    policy = Policy(min_executions=20)
    t = track(trial=[40, 40_000, 19, 1_000], stamp=NOW - 1)
    d = lifecycle.judge_warmup(mirrored(NOW - 1), t, policy, NOW, (Counts(), Counts()))
    d = decided(d, RETRY)
    assert d.reason.startswith("Readyset answered 19 of 40 mirrored executions")
    half = track(trial=[40, 40_000, 20, 1_000], stamp=NOW - 1)
    d = lifecycle.judge_warmup(mirrored(NOW - 1), half, policy, NOW, (Counts(), Counts()))
    d = decided(d, PROMOTE)
    few = track(trial=[19, 19_000, 0, 0], stamp=NOW - 1)  # too few at the source to tell
    d = lifecycle.judge_warmup(mirrored(NOW - 1), few, policy, NOW, (Counts(), Counts()))
    d = decided(d, PROMOTE)
    assert "too few executions" in d.reason


def test_too_few_executions_promote_first_then_hold_after_a_failure() -> None:
    policy = Policy(min_executions=20)
    t = track(trial=[30, 3_000, 19, 100_000], stamp=NOW - 1)
    d = lifecycle.judge_warmup(mirrored(NOW - 1), t, policy, NOW, (Counts(), Counts()))
    d = decided(d, PROMOTE)
    assert d.reason == (
        "warm-up over, too few executions to judge (Readyset 5.26 ms mean over 19 mirrored"
        " executions, source 0.10 ms over 30 during the warm-up; min_evidence_executions = 20)"
    )
    t = track(trial=[30, 3_000, 19, 100], stamp=NOW - 1)
    d = lifecycle.judge_warmup(mirrored(NOW - 1, failures=1), t, policy, NOW, (Counts(), Counts()))
    d = decided(d, HOLD)
    assert d.reason == (
        "after a failed warm-up, routing again needs 20 mirrored executions, has 19"
    )


def test_a_trial_opened_now_is_judged_on_proxysqls_cumulative_rows() -> None:
    policy = Policy(min_executions=20)
    cumulative = (Counts(1000, 1_000_000), Counts(40, 400_000))
    t = track()
    d = lifecycle.judge_warmup(mirrored(NOW - 600), t, policy, NOW, cumulative)
    d = decided(d, RETRY)
    assert "over 40 mirrored executions, source 1.00 ms over 1000 since ProxySQL" in d.reason
    assert t.trial_stamp == NOW - 600
    # the half-answered check needs a window: cumulative source rows predate the mirror
    fast = (Counts(1000, 1_000_000), Counts(40, 4_000))
    d = lifecycle.judge_warmup(mirrored(NOW - 600), track(), policy, NOW, fast)
    d = decided(d, PROMOTE)


def test_source_latency_unknown_holds() -> None:
    t = track(trial=[0, 0, 30, 3_000], stamp=NOW - 1)
    d = lifecycle.judge_warmup(mirrored(NOW - 1), t, Policy(), NOW, (Counts(), Counts()))
    d = decided(d, HOLD)
    assert d.reason.startswith("source latency unknown")
    t = track(trial=[0, 0, 30, 3_000], stamp=NOW - 1)  # falls back to the cumulative source
    d = lifecycle.judge_warmup(mirrored(NOW - 1), t, Policy(), NOW, (Counts(10, 1_000), Counts()))
    d = decided(d, PROMOTE)
    assert "ratio 1.00" in d.reason
    zero = track(trial=[30, 0, 30, 3_000], stamp=NOW - 1)  # a source of 0 µs cannot be beaten
    d = lifecycle.judge_warmup(mirrored(NOW - 1), zero, Policy(), NOW, (Counts(), Counts()))
    d = decided(d, RETRY)
    assert "ratio inf" in d.reason


def test_evidence_off_promotes_when_the_warmup_is_over() -> None:
    t = track(trial=[50, 50, 50, 999_999], stamp=NOW - 1)
    policy = Policy(max_latency_ratio=0)
    d = lifecycle.judge_warmup(mirrored(NOW - 1), t, policy, NOW, (Counts(), Counts()))
    d = decided(d, PROMOTE)
    assert d.reason == "warm-up over"
    assert lifecycle.judge_routed(routed(NOW), t, Delta(), policy, 1.0) is None


def test_original_mirror_rule_without_a_stamp_is_due() -> None:
    r = rule(1, rules.MIRROR + "garbage", destination_hostgroup=None, mirror_hostgroup=99)
    q = lifecycle.group(rules.owned([r], 99))[0]
    t = track()
    d = lifecycle.judge_warmup(q, t, Policy(warmup_s=3600), NOW, (Counts(), Counts()))
    d = decided(d, PROMOTE)
    assert t.trial_stamp == 0.0


def test_a_ratio_of_one_still_asks_for_evidence() -> None:
    policy = Policy(max_latency_ratio=1.0)
    t = track(trial=[30, 30_000, 30, 45_000], stamp=NOW - 1)
    d = decided(
        lifecycle.judge_warmup(mirrored(NOW - 1), t, policy, NOW, (Counts(), Counts())), RETRY
    )
    assert d.reason.endswith("ratio 1.50 > max_latency_ratio 1; failed warm-up 1 of 3")


def test_half_answered_boundary_and_its_reason() -> None:
    policy = Policy(min_executions=20)
    t = track(trial=[20, 20_000, 9, 900], stamp=NOW - 1)
    d = decided(
        lifecycle.judge_warmup(mirrored(NOW - 1), t, policy, NOW, (Counts(), Counts())), RETRY
    )
    assert d.reason == (
        "Readyset answered 9 of 20 mirrored executions (errors, or mirrors dropped);"
        " failed warm-up 1 of 3"
    )
    last = mirrored(NOW - 1, failures=2)
    d = decided(lifecycle.judge_warmup(last, t, policy, NOW, (Counts(), Counts())), GIVE_UP)
    assert d.failures == 3 and d.reason.endswith("failed warm-up 3 of max_failed_warmups 3")


def test_nothing_at_readyset_shows_no_mean() -> None:
    t = track(trial=[19, 19_000, 0, 0], stamp=NOW - 1)
    d = lifecycle.judge_warmup(mirrored(NOW - 1), t, Policy(), NOW, (Counts(), Counts()))
    assert decided(d, PROMOTE).reason == (
        "warm-up over, too few executions to judge (Readyset - mean over 0 mirrored executions,"
        " source 1.00 ms over 19 during the warm-up; min_evidence_executions = 20)"
    )


def test_a_source_faster_than_a_microsecond_is_still_a_ratio() -> None:
    # ProxySQL sums whole microseconds: a mean of 0.5 µs is a real measurement, not zero
    t = track(trial=[40, 20, 40, 12], stamp=NOW - 1)
    d = lifecycle.judge_warmup(mirrored(NOW - 1), t, Policy(), NOW, (Counts(), Counts()))
    assert "ratio 0.60 <= max_latency_ratio 1.5" in decided(d, PROMOTE).reason
    routed_t = track(source_mean_us=0.5)
    policy = Policy(min_executions=1, demote_after=1)
    fine = Delta(readyset=Counts(10, 4))
    assert lifecycle.judge_routed(routed(NOW), routed_t, fine, policy, None) is None


def test_the_warmup_ends_exactly_at_warmup_s() -> None:
    policy = Policy(warmup_s=60)
    t = track(trial=[100, 100_000, 100, 10_000], stamp=NOW - 59)
    assert lifecycle.judge_warmup(mirrored(NOW - 59), t, policy, NOW, (Counts(), Counts())) is None
    t = track(trial=[100, 100_000, 100, 10_000], stamp=NOW - 60)
    d = lifecycle.judge_warmup(mirrored(NOW - 60), t, policy, NOW, (Counts(), Counts()))
    assert decided(d, PROMOTE).reason.endswith("ratio 0.10 <= max_latency_ratio 1.5")


# --- demotion ---


def test_routed_query_is_demoted_after_demote_after_bad_windows() -> None:
    policy = Policy(min_executions=10, demote_after=2)
    t = track(source_mean_us=1000.0)
    slow = Delta(readyset=Counts(10, 20_000))
    assert (
        lifecycle.judge_routed(routed(NOW), t, Delta(readyset=Counts(9, 90_000)), policy, None)
        is None
    )
    assert t.judged == [9, 90_000]  # not yet a window
    assert (
        lifecycle.judge_routed(routed(NOW), t, Delta(readyset=Counts(1, 0)), policy, None) is None
    )
    assert t.bad_windows == 1 and t.judged == [0, 0]
    d = lifecycle.judge_routed(routed(NOW), t, slow, policy, None)
    d = decided(d, DEMOTE)
    assert d.failures == 1
    assert d.reason == (
        "Readyset 2.00 ms mean over the last 10 executions vs source 1.00 ms, ratio 2.00 >"
        " max_latency_ratio 1.5 for 2 windows in a row; failed warm-up 1 of 3"
    )
    assert t.bad_windows == 0


def test_a_good_window_resets_the_bad_count() -> None:
    policy = Policy(min_executions=10, demote_after=2)
    t = track(source_mean_us=1000.0)
    lifecycle.judge_routed(routed(NOW), t, Delta(readyset=Counts(10, 20_000)), policy, None)
    assert t.bad_windows == 1
    at = Delta(readyset=Counts(10, 15_000))
    assert lifecycle.judge_routed(routed(NOW), t, at, policy, None) is None
    assert t.bad_windows == 0  # exactly at the ratio is fine
    lifecycle.judge_routed(routed(NOW), t, Delta(readyset=Counts(10, 20_000)), policy, None)
    assert t.bad_windows == 1


def test_demotion_uses_the_cumulative_source_mean_when_nothing_is_remembered() -> None:
    policy = Policy(min_executions=1, demote_after=1)
    t = track()
    d = lifecycle.judge_routed(routed(NOW), t, Delta(readyset=Counts(1, 2_000)), policy, 1000.0)
    d = decided(d, DEMOTE)
    t = track()
    assert (
        lifecycle.judge_routed(routed(NOW), t, Delta(readyset=Counts(1, 2_000)), policy, None)
        is None
    )
    assert t.judged == [0, 0]
    d = lifecycle.judge_routed(
        routed(NOW, failures=2), track(), Delta(readyset=Counts(1, 9)), policy, 0.0
    )
    d = decided(d, GIVE_UP)


def test_mirrored_or_inactive_queries_are_not_watched() -> None:
    policy = Policy(min_executions=1, demote_after=1)
    t = track(source_mean_us=1.0)
    slow = Delta(readyset=Counts(5, 5_000))
    assert lifecycle.judge_routed(mirrored(NOW), t, slow, policy, None) is None
    assert lifecycle.judge_routed(routed(NOW, active=False), t, slow, policy, None) is None
    assert t.judged == [0, 0]


def test_routed_queries_are_watched_at_a_ratio_of_one_and_not_at_zero() -> None:
    slow = Delta(readyset=Counts(1, 2_000))
    one = Policy(max_latency_ratio=1.0, min_executions=1, demote_after=1)
    d = lifecycle.judge_routed(routed(NOW), track(source_mean_us=1000.0), slow, one, None)
    assert decided(d, DEMOTE).failures == 1
    off = Policy(max_latency_ratio=0, min_executions=1, demote_after=1)
    assert (
        lifecycle.judge_routed(routed(NOW), track(source_mean_us=1000.0), slow, off, None) is None
    )


# --- eviction ---


def test_eviction_after_evict_after_s_of_no_execution() -> None:
    policy = Policy(evict_after_s=86400)
    t = track(last_active=NOW - 86400)
    q = routed(NOW - 200_000)
    d = lifecycle.judge_idle(q, t, policy, NOW, NOW - 300_000)
    d = decided(d, EVICT)
    assert d.reason == (
        "no execution for 24.0 h (since 2027-01-14 08:00 UTC; evict_after_s = 86400)"
    )
    assert lifecycle.judge_idle(q, track(last_active=NOW - 86399), policy, NOW, 0.0) is None
    # the rule's own stamp counts as activity (a new rule is not idle)
    assert lifecycle.judge_idle(routed(NOW - 10), None, policy, NOW, 0.0) is None
    assert lifecycle.judge_idle(routed(NOW - 86400), None, policy, NOW, 0.0) is not None
    # a ProxySQL that started counting lately cannot tell (restart)
    assert lifecycle.judge_idle(q, t, policy, NOW, NOW - 3600) is None
    # a node that serves no traffic judges nothing; evict_after_s = 0 never evicts
    assert lifecycle.judge_idle(q, t, policy, NOW, None) is None
    assert lifecycle.judge_idle(q, t, Policy(evict_after_s=0), NOW, 0.0) is None
    no_stamp = lifecycle.group(rules.owned([rule(1, rules.ADDED + "?")], 99))[0]
    assert lifecycle.judge_idle(no_stamp, None, policy, NOW, 0.0) is not None


def test_eviction_reports_long_idleness_and_utc_in_any_local_zone(new_york: None) -> None:
    policy = Policy(evict_after_s=86400)
    q = routed(NOW - 900_000)
    d = lifecycle.judge_idle(q, track(last_active=NOW - 720_000), policy, NOW, 0.0)
    assert decided(d, EVICT).reason == (
        "no execution for 200.0 h (since 2027-01-07 00:00 UTC; evict_after_s = 86400)"
    )


# --- repair ---


def test_repairs() -> None:
    q = routed(NOW)
    names = {KEY: ["d_0xA_shop", "d_0xA"]}
    hosts: dict[str, Optional[set[str]]] = {"h2": set(), "h1": {"d_0xA"}, "h3": None}
    out = lifecycle.repairs([q], hosts, names, {KEY: "d_0xA_shop"})
    assert [(d.kind, d.host, d.cache) for d in out] == [(RECREATE, "h2", "d_0xA_shop")]
    assert out[0].reason == "cache missing on Readyset h2 (restarted, or dropped by hand)"
    out = lifecycle.repairs([q], {"h1": set(), "h2": set()}, names, {})
    assert [(d.kind, d.rule_ids) for d in out] == [(UNREPAIRABLE, (1,))]
    assert "missing on Readyset h1" in out[0].reason
    assert lifecycle.repairs([routed(NOW, active=False)], {"h1": set()}, names, {}) == []
    assert lifecycle.repairs([q], {"h1": {"d_0xA_shop"}}, names, {}) == []


def test_repairs_name_the_query_and_its_rules_in_every_order() -> None:
    names = {KEY: ["d_0xA_shop"]}
    off = routed(NOW, rule_id=1, active=False, digest="0x0")
    q = routed(NOW, rule_id=2)
    [d] = lifecycle.repairs([off, q], {"h1": set()}, names, {KEY: "d_0xA_shop"})
    assert (d.kind, d.key, d.rule_ids, d.host, d.cache) == (RECREATE, KEY, (2,), "h1", "d_0xA_shop")
    [d] = lifecycle.repairs([off, q], {"h1": set()}, names, {})
    assert (d.kind, d.key, d.rule_ids) == (UNREPAIRABLE, KEY, (2,))
    assert d.reason == (
        "its cache is missing on Readyset h1 and this scheduler does not know its query (state"
        " file lost): discovery finds it again"
    )
    # a query whose cache names are unknown is missing everywhere
    [d] = lifecycle.repairs([q], {"h1": {"d_0xA_shop"}}, {}, {KEY: "d_0xA_shop"})
    assert (d.kind, d.host) == (RECREATE, "h1")


# --- replacement ---


def warm(count: int, readyset: int = 0, time_us: int = 0, since: float = NOW - 7200) -> Track:
    t = Track(since=since, at=NOW)
    t.buckets = [[NOW - 600, NOW - 300, count, time_us, 0, readyset, 0, 0]]
    return t


def test_replacement_needs_the_hysteresis_and_a_whole_window() -> None:
    policy = Policy(replace_window_s=3600, replace_hysteresis=2.0, max_replacements=1)
    q = routed(NOW - 7200)
    tracks = {KEY: warm(0, readyset=10)}
    hot = Candidate(("0xB", "shop"), warm(21))
    d = lifecycle.replacements([q], tracks, [hot], policy, NOW, {})
    assert [(x.kind, x.key, x.replaced_by) for x in d] == [(REPLACE, KEY, ("0xB", "shop"))]
    assert d[0].reason == (
        "0xB (schema shop) is hotter over the last 1.0 h: CountStar 21 (21 executions) >"
        " replace_hysteresis 2 x 10 (10 executions)"
    )
    assert (
        lifecycle.replacements([q], tracks, [Candidate(("0xB", "shop"), warm(20))], policy, NOW, {})
        == []
    )
    young = Candidate(("0xB", "shop"), warm(99, since=NOW - 3599))
    assert lifecycle.replacements([q], tracks, [young], policy, NOW, {}) == []
    assert lifecycle.replacements([routed(NOW - 3599)], tracks, [hot], policy, NOW, {}) == []
    assert (
        lifecycle.replacements([q], {KEY: warm(0, since=NOW - 3599)}, [hot], policy, NOW, {}) == []
    )
    assert lifecycle.replacements([mirrored(NOW - 7200)], tracks, [hot], policy, NOW, {}) == []
    assert (
        lifecycle.replacements([routed(NOW - 7200, active=False)], tracks, [hot], policy, NOW, {})
        == []
    )
    assert lifecycle.replacements([q], {}, [hot], policy, NOW, {}) == []
    off = Policy(max_replacements=0)
    assert lifecycle.replacements([q], tracks, [hot], off, NOW, {}) == []
    idle = Candidate(("0xB", "shop"), warm(0))
    assert lifecycle.replacements([q], {KEY: warm(0)}, [idle], policy, NOW, {}) == []
    # buckets that ended before the window do not count
    stale = Track(since=NOW - 9000, at=NOW, buckets=[[NOW - 5000, NOW - 3600, 99, 0, 0, 0, 0, 0]])
    assert (
        lifecycle.replacements([q], tracks, [Candidate(("0xB", "shop"), stale)], policy, NOW, {})
        == []
    )


def test_replacements_pair_coldest_with_hottest_and_are_bounded() -> None:
    policy = Policy(replace_hysteresis=2.0, max_replacements=2)
    queries = [routed(NOW - 9999, rule_id=i, digest=f"0x{i}") for i in (1, 2, 3)]
    tracks = {
        ("0x1", "shop"): warm(0, readyset=5),
        ("0x2", "shop"): warm(0, readyset=1),
        ("0x3", "shop"): warm(0, readyset=50),
    }
    candidates = [
        Candidate(("0xC", "shop"), warm(9)),
        Candidate(("0xD", "shop"), warm(30)),
        Candidate(("0xE", "shop"), warm(200)),
    ]
    d = lifecycle.replacements(queries, tracks, candidates, policy, NOW, {})
    assert [(x.key[0], x.replaced_by) for x in d] == [
        ("0x2", ("0xE", "shop")),
        ("0x1", ("0xD", "shop")),
    ]
    one = Policy(replace_hysteresis=2.0, max_replacements=1)
    assert len(lifecycle.replacements(queries, tracks, candidates, one, NOW, {})) == 1
    # the pairing stops at the first pair that misses the hysteresis
    strict = Policy(replace_hysteresis=7.0, max_replacements=3)
    d = lifecycle.replacements(queries, tracks, candidates, strict, NOW, {})
    assert [x.key[0] for x in d] == ["0x2"]


def test_sum_time_credits_a_routed_query_with_the_source_latency() -> None:
    policy = Policy(mode=DiscoveryMode.SUM_TIME, replace_hysteresis=2.0)
    q = routed(NOW - 9999)
    t = warm(0, readyset=10)  # 10 executions, fast at Readyset (0 µs in the bucket)
    cand = Candidate(("0xB", "shop"), warm(10, time_us=15_000))
    assert lifecycle.replacements([q], {KEY: t}, [cand], policy, NOW, {KEY: 1000.0}) == []
    assert len(lifecycle.replacements([q], {KEY: t}, [cand], policy, NOW, {})) == 1
    t.source_mean_us = 1000.0
    assert lifecycle.replacements([q], {KEY: t}, [cand], policy, NOW, {KEY: None}) == []


def test_min_max_modes_use_the_candidates_row() -> None:
    policy = Policy(mode=DiscoveryMode.WORST_WORST_CASE, replace_hysteresis=1.0)
    q = routed(NOW - 9999)
    cand = Candidate(("0xB", "shop"), warm(1), min_us=1, max_us=5)
    d = lifecycle.replacements([q], {KEY: warm(0, readyset=1)}, [cand], policy, NOW, {})
    assert len(d) == 1 and "WorstWorstCase 5" in d[0].reason


def test_replacement_boundaries_are_whole_windows() -> None:
    policy = Policy(replace_window_s=3600, replace_hysteresis=2.0)
    exact = routed(NOW - 3600)  # routed exactly one window ago, tracked exactly as long
    tracks = {KEY: warm(0, readyset=10, since=NOW - 3600)}
    hot = Candidate(("0xB", "shop"), warm(50, since=NOW - 3600))
    [d] = lifecycle.replacements([exact], tracks, [hot], policy, NOW, {})
    assert (d.kind, d.key, d.rule_ids, d.replaced_by) == (REPLACE, KEY, (1,), ("0xB", "shop"))


def test_replacement_looks_past_queries_and_candidates_it_skips() -> None:
    policy = Policy(replace_window_s=3600, replace_hysteresis=2.0)
    skipped = [
        mirrored(NOW - 9999, rule_id=1, digest="0x1"),
        routed(NOW - 10, rule_id=2, digest="0x2"),
        routed(NOW - 9999, rule_id=3, digest="0x3"),  # tracked too briefly
    ]
    q = routed(NOW - 9999, rule_id=4)
    tracks = {
        ("0x1", "shop"): warm(0, readyset=1),
        ("0x2", "shop"): warm(0, readyset=1),
        ("0x3", "shop"): warm(0, readyset=1, since=NOW - 10),
        KEY: warm(0, readyset=10),
    }
    candidates = [
        Candidate(("0xB", "shop"), warm(99, since=NOW - 10)),
        Candidate(("0xC", "shop"), warm(0)),
        Candidate(("0xD", "shop"), warm(50)),
    ]
    [d] = lifecycle.replacements(skipped + [q], tracks, candidates, policy, NOW, {})
    assert (d.key, d.rule_ids, d.replaced_by) == (KEY, (4,), ("0xD", "shop"))


def test_ties_go_by_digest() -> None:
    policy = Policy(replace_hysteresis=2.0, max_replacements=2)
    queries = [routed(NOW - 9999, rule_id=i, digest=f"0x{i}") for i in (2, 1)]
    tracks = {("0x1", "shop"): warm(0, readyset=5), ("0x2", "shop"): warm(0, readyset=5)}
    candidates = [Candidate(("0xE", "shop"), warm(50)), Candidate(("0xD", "shop"), warm(50))]
    d = lifecycle.replacements(queries, tracks, candidates, policy, NOW, {})
    assert [(x.key[0], x.replaced_by) for x in d] == [
        ("0x1", ("0xD", "shop")),
        ("0x2", ("0xE", "shop")),
    ]


@pytest.mark.parametrize(
    "mode, candidate, replaced",
    [
        # a routed query has no min/max of its own: it ranks 0 under the min/max modes
        (DiscoveryMode.WORST_BEST_CASE, dict(min_us=1, max_us=9), True),
        (DiscoveryMode.WORST_WORST_CASE, dict(min_us=0, max_us=1), True),
        (DiscoveryMode.EXECUTION_TIME_DISTANCE, dict(min_us=1, max_us=2), True),
        (DiscoveryMode.WORST_BEST_CASE, dict(min_us=0, max_us=9), False),
    ],
)
def test_min_max_modes_rank_a_routed_query_at_zero(
    mode: DiscoveryMode, candidate: dict[str, int], replaced: bool
) -> None:
    policy = Policy(mode=mode, replace_hysteresis=1.0)
    cand = Candidate(("0xB", "shop"), warm(1), **candidate)
    d = lifecycle.replacements(
        [routed(NOW - 9999)], {KEY: warm(0, readyset=1)}, [cand], policy, NOW, {}
    )
    assert len(d) == int(replaced)


def test_sum_rows_sent_keeps_a_routed_querys_rows() -> None:
    policy = Policy(mode=DiscoveryMode.SUM_ROWS_SENT, replace_hysteresis=2.0)
    t = Track(since=NOW - 7200, at=NOW)
    t.buckets = [[NOW - 600, NOW - 300, 0, 0, 0, 10, 1_000, 10]]  # 10 rows answered by Readyset
    cand = Candidate(("0xB", "shop"), Track(since=NOW - 7200, at=NOW))
    cand.track.buckets = [[NOW - 600, NOW - 300, 10, 1_000, 15, 0, 0, 0]]
    q = routed(NOW - 9999)
    assert lifecycle.replacements([q], {KEY: t}, [cand], policy, NOW, {KEY: 100.0}) == []
    cand.track.buckets[0][4] = 21
    assert len(lifecycle.replacements([q], {KEY: t}, [cand], policy, NOW, {KEY: 100.0})) == 1


# --- the plan ---


def inputs(queries: list[Query], **kw: Any) -> Inputs:
    base: dict[str, Any] = dict(
        queries=queries,
        tracks={q.key: track() for q in queries},
        deltas={},
        texts={},
        cumulative={},
        observed_since=None,
        host_caches={},
        cache_names={},
        recreatable={},
        candidates=[],
        cap=10,
    )
    base.update(kw)
    return Inputs(**base)


def test_plan_orders_deny_evict_repair_warmup() -> None:
    policy = Policy(deny=(DenyEntry.parse("secret"),), evict_after_s=100)
    q = mirrored(NOW - 1000)
    denied = lifecycle.plan(inputs([q], texts={KEY: "SELECT secret"}), policy, NOW)
    assert [(d.kind, d.reason) for d in denied] == [(DENY, "on the deny list (pattern 'secret')")]
    evicted = lifecycle.plan(inputs([q], observed_since=0.0), policy, NOW)
    assert [d.kind for d in evicted] == [EVICT]
    broken = inputs([q], host_caches={"h": set()}, cache_names={KEY: ["d_0xA_shop"]})
    assert [d.kind for d in lifecycle.plan(broken, Policy(), NOW)] == [UNREPAIRABLE]
    fixable = inputs(
        [q],
        host_caches={"h": set()},
        cache_names={KEY: ["d_0xA_shop"]},
        recreatable={KEY: "d_0xA_shop"},
    )
    assert [d.kind for d in lifecycle.plan(fixable, Policy(), NOW)] == [RECREATE, PROMOTE]


def test_plan_watches_routed_queries_and_replaces_only_at_the_cap() -> None:
    policy = Policy(min_executions=1, demote_after=1)
    q = routed(NOW - 9999)
    slow = inputs(
        [q],
        deltas={KEY: Delta(readyset=Counts(1, 5_000))},
        cumulative={KEY: (Counts(10, 10_000), Counts())},
    )
    assert [d.kind for d in lifecycle.plan(slow, policy, NOW)] == [DEMOTE]
    t = warm(0, readyset=1)
    cand = [Candidate(("0xB", "shop"), warm(50))]
    at_cap = inputs([q], tracks={KEY: t}, candidates=cand, cap=1)
    assert [d.kind for d in lifecycle.plan(at_cap, Policy(), NOW)] == [REPLACE]
    below = inputs([q], tracks={KEY: t}, candidates=cand, cap=2)
    assert lifecycle.plan(below, Policy(), NOW) == []
    # a query that loses its rule this pass frees its slot: no replacement needed
    gone = inputs([q], tracks={KEY: t}, candidates=cand, cap=1, observed_since=0.0)
    assert [d.kind for d in lifecycle.plan(gone, Policy(evict_after_s=1), NOW)] == [EVICT]


def test_plan_denies_by_digest_and_goes_on_to_the_next_query() -> None:
    other = routed(NOW - 1000, rule_id=2, digest="0xB")
    for entry, shown in (("0xA", "0xA"), ("0xa/shop", "0xA/shop")):
        policy = Policy(deny=(DenyEntry.parse(entry),), evict_after_s=100)
        out = lifecycle.plan(inputs([routed(NOW - 1000), other], observed_since=0.0), policy, NOW)
        assert [(d.kind, d.key, d.rule_ids, d.reason) for d in out] == [
            (DENY, KEY, (1,), f"on the deny list ({shown})"),
            (EVICT, ("0xB", "shop"), (2,), out[1].reason),
        ]
    # a pattern never matches a query whose text is unknown
    policy = Policy(deny=(DenyEntry.parse("x"),))
    assert lifecycle.plan(inputs([routed(NOW)]), policy, NOW) == []


def test_plan_counts_the_tracks_activity_as_activity() -> None:
    t = track(last_active=NOW - 10)
    out = lifecycle.plan(
        inputs([routed(NOW - 1000)], tracks={KEY: t}, observed_since=0.0),
        Policy(evict_after_s=100),
        NOW,
    )
    assert out == []


def test_plan_credits_routed_queries_with_the_source_mean_not_readysets() -> None:
    policy = Policy(mode=DiscoveryMode.SUM_TIME, replace_hysteresis=2.0)
    q = routed(NOW - 9999)
    t = warm(0, readyset=10)
    cand = [Candidate(("0xB", "shop"), warm(10, time_us=15_000))]
    # source 1 ms a statement (10 ms over the window), Readyset 0.1 ms
    cumulative = {KEY: (Counts(100, 100_000), Counts(100, 10_000))}
    at_cap = inputs([q], tracks={KEY: t}, candidates=cand, cap=1, cumulative=cumulative)
    assert lifecycle.plan(at_cap, policy, NOW) == []


def test_plan_without_a_track_only_judges_idleness() -> None:
    q = mirrored(NOW - 1000)
    assert lifecycle.plan(inputs([q], tracks={}), Policy(), NOW) == []


def test_policy_from_config() -> None:
    from readyset_proxysql_scheduler.config import parse

    doc = dict(
        proxysql_user="a",
        proxysql_password="b",
        proxysql_host="h",
        proxysql_port=1,
        readyset_user="u",
        readyset_password="p",
        source_hostgroup=1,
        readyset_hostgroup=2,
        warmup_time_s=5,
        max_latency_ratio=1.1,
        min_evidence_executions=7,
        max_failed_warmups=2,
        demote_after_windows=4,
        evict_after_s=60,
        replace_window_s=600,
        replace_hysteresis=3,
        max_replacements_per_pass=2,
        query_discovery_mode="SumTime",
        deny=["0x1", "orders"],
    )
    p = Policy.from_config(parse(doc, "x.cnf"))
    assert p == Policy(
        warmup_s=5,
        max_latency_ratio=1.1,
        min_executions=7,
        max_failed_warmups=2,
        demote_after=4,
        evict_after_s=60,
        replace_window_s=600,
        replace_hysteresis=3.0,
        max_replacements=2,
        mode=DiscoveryMode.SUM_TIME,
        deny=(DenyEntry(digest="0x1"), DenyEntry(pattern="orders")),
    )
    defaults = Policy.from_config(parse({k: doc[k] for k in list(doc)[:8]}, "x.cnf"))
    assert defaults == Policy()
