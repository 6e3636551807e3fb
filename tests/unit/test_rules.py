"""Rule comments, adoption of the original's rules, warm-up promotion and rule_id placement."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Optional

from readyset_proxysql_scheduler import rules
from readyset_proxysql_scheduler.proxysql import RuleRow


def rule(rule_id: int, comment: str = "", active: bool = True, **kw: Any) -> RuleRow:
    base: dict[str, Any] = dict(
        username=None,
        schemaname=None,
        digest=None,
        match_digest=None,
        match_pattern=None,
        destination_hostgroup=None,
        mirror_hostgroup=None,
        apply=True,
        flag_in=0,
    )
    base.update(kw)
    return RuleRow(rule_id=rule_id, active=active, comment=comment, **base)


def test_comments_keep_the_original_tokens() -> None:
    now = datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc).timestamp()
    assert rules.added_comment(now) == "Added by readyset scheduler at: 2026-03-29 01:30:00 UTC"
    assert rules.mirror_comment(now).startswith("Mirror by readyset scheduler at: ")
    assert rules.mirrored_at(rules.mirror_comment(now)) == now


def test_original_local_time_comment_is_read_in_local_time() -> None:
    local = "2025-06-01 12:00:00"
    expected = time.mktime(time.strptime(local, "%Y-%m-%d %H:%M:%S"))
    assert rules.mirrored_at(rules.MIRROR + local) == expected


def test_owned_and_promotion() -> None:
    now = 1_800_000_000.0
    old = rule(5, rules.mirror_comment(now - 100), mirror_hostgroup=99, digest="0x1")
    young = rule(6, rules.mirror_comment(now - 2), mirror_hostgroup=99, digest="0x2")
    routing = rule(7, rules.added_comment(now), destination_hostgroup=99, digest="0x3")
    theirs = rule(8, "my rule", destination_hostgroup=2, match_digest="^SELECT")
    mine = rules.owned([old, young, routing, theirs], 99)
    assert [m.rule.rule_id for m in mine] == [5, 6, 7]
    assert [o.rule.rule_id for o in rules.due_for_promotion(mine, 60, now)] == [5]
    assert [o.rule.rule_id for o in rules.due_for_promotion(mine, 0, now)] == [5, 6]


def test_in_list_siblings_ride_on_their_query() -> None:
    now = 1_800_000_000.0
    main = rule(1, rules.added_comment(now), destination_hostgroup=99, digest="0xA")
    sib = rule(2, rules.added_comment(now, "0xA"), destination_hostgroup=99, digest="0xB")
    mirror_sib = rule(3, rules.mirror_comment(now - 99, "0xA"), mirror_hostgroup=99, digest="0xC")
    mine = rules.owned([main, sib, mirror_sib], 99)
    assert [o.cache_digest for o in mine] == ["0xA", "0xA", "0xA"]
    assert rules.counted(mine) == 1
    assert sib.comment.endswith("; IN-list sibling of 0xA")
    assert rules.mirrored_at(mirror_sib.comment) == now - 99


def test_place_before_the_users_catch_all() -> None:
    users = [rule(100, "read split", match_digest="^SELECT", destination_hostgroup=2)]
    assert rules.place(users, 3).ids == [1, 2, 3]
    mixed = users + [rule(1, rules.ADDED + "x"), rule(3, rules.ADDED + "y")]
    assert rules.place(mixed, 2).ids == [2, 4]


def test_place_after_everything_without_user_rules() -> None:
    assert rules.place([], 2).ids == [1, 2]
    assert rules.place([rule(7, rules.ADDED + "x")], 1).ids == [8]


def test_place_warns_when_no_room() -> None:
    users = [rule(1, "catch-all"), rule(2, "other")]
    placement = rules.place(users, 2)
    assert placement.ids == [3, 4]
    assert "user rule 1" in placement.warning


def test_inactive_user_rules_do_not_block() -> None:
    users = [rule(1, "off", active=False), rule(50, "on")]
    assert rules.place(users, 2).ids == [2, 3]


NOW = datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc).timestamp()


def test_our_stamps_are_utc_in_any_local_zone(new_york: None) -> None:
    assert rules.stamp(NOW) == "2026-03-29 01:30:00 UTC"
    assert rules.added_comment(NOW) == "Added by readyset scheduler at: 2026-03-29 01:30:00 UTC"
    assert rules.routed_at(rules.added_comment(NOW)) == NOW
    assert rules.mirrored_at(rules.mirror_comment(NOW)) == NOW


def test_the_originals_local_time_is_read_with_that_dates_offset(new_york: None) -> None:
    summer = rules.mirrored_at(rules.MIRROR + "2025-06-01 12:00:00")  # EDT, UTC-4
    assert summer == datetime(2025, 6, 1, 16, 0, tzinfo=timezone.utc).timestamp()
    winter = rules.routed_at(rules.ADDED + "2025-01-15 12:00:00")  # EST, UTC-5
    assert winter == datetime(2025, 1, 15, 17, 0, tzinfo=timezone.utc).timestamp()


def test_times_are_read_only_right_after_their_own_prefix() -> None:
    assert rules.routed_at(rules.added_comment(NOW)) == NOW
    assert rules.routed_at(rules.mirror_comment(NOW)) is None
    assert rules.mirrored_at(rules.added_comment(NOW)) is None
    assert rules.routed_at(rules.ADDED + "2026-13-45 00:00:00 UTC") is None  # no such date
    assert rules.routed_at(rules.ADDED + "2026-02-29 00:00:00 UTC") is None  # not a leap year
    assert rules.routed_at(rules.ADDED + "2026-03-29 24:00:00 UTC") is None
    assert rules.routed_at(rules.ADDED + "2028-02-29 23:59:59 UTC") == 1835481599
    assert rules.routed_at(rules.ADDED + "soon, 2026-03-29 01:30:00 UTC") is None
    # the original's promotion appends its own line: the mirror's time is the one read
    promoted = rules.MIRROR + "2026-03-29 01:30:00 UTC\n " + rules.ADDED + "2026-03-30 00:00:00"
    assert rules.mirrored_at(promoted) == NOW


def test_learning_and_variant_rules_say_so_in_their_comments() -> None:
    learning = rules.learning_comment(NOW)
    assert learning == (
        "Mirror by readyset scheduler at: 2026-03-29 01:30:00 UTC; learning literal variants"
    )
    [item] = rules.owned([rule(1, learning, mirror_hostgroup=99, digest="0x1")], 99)
    assert item.mirror and item.learning
    variants = rules.variants_comment(NOW, ["q_1a", "q_2b"])
    assert variants == (
        "Added by readyset scheduler at: 2026-03-29 01:30:00 UTC; literal variants q_1a,q_2b"
    )
    assert rules.variant_ids(variants) == ["q_1a", "q_2b"]
    assert rules.variant_ids(rules.variants_comment(NOW, ["q_9"])) == ["q_9"]
    assert rules.variant_ids(rules.added_comment(NOW)) is None
    assert rules.routed_at(variants) == NOW


def test_a_user_rule_listed_before_ours_is_skipped_not_the_end() -> None:
    theirs = rule(1, "read split", destination_hostgroup=2, match_digest="^SELECT")
    routing = rule(2, rules.added_comment(NOW), destination_hostgroup=99, digest="0x2")
    learning = rule(3, rules.learning_comment(NOW - 999), mirror_hostgroup=99, digest="0x3")
    warm = rule(4, rules.mirror_comment(NOW - 60), mirror_hostgroup=99, digest="0x4")
    mine = rules.owned([theirs, routing, learning, warm], 99)
    assert [(m.rule.rule_id, m.mirror) for m in mine] == [(2, False), (3, True), (4, True)]
    # routing and learning rules listed first are passed over; the warm-up ends at warmup_s
    assert [o.rule.rule_id for o in rules.due_for_promotion(mine, 60, NOW)] == [4]
    assert rules.due_for_promotion(mine, 61, NOW) == []


def test_mirroring_elsewhere_is_not_mirroring_to_readyset() -> None:
    elsewhere = rule(1, rules.mirror_comment(NOW), mirror_hostgroup=5, digest="0x1")
    both = rule(2, rules.added_comment(NOW), mirror_hostgroup=99, destination_hostgroup=99)
    assert [o.mirror for o in rules.owned([elsewhere, both], 99)] == [False, False]


def test_place_a_partial_fit_below_a_user_rule() -> None:
    users = [rule(5, "catch-all", match_digest="^SELECT", destination_hostgroup=2)]
    ours = [rule(i, rules.ADDED + "x") for i in (1, 2, 4)]
    placement = rules.place(users + ours, 4)
    # id 3 is free below the user rule; the other three go after the last rule
    assert placement.ids == [3, 6, 7, 8]
    assert placement.warning == (
        "no free rule_id below user rule 5: rules 6..8 come after it and never fire if it matches"
        " with apply=1; leave ids 1..8 free for the scheduler"
    )


def test_place_nothing() -> None:
    assert rules.place([rule(1, "catch-all")], 0) == rules.Placement([])


def test_needs_readyset_record() -> None:
    now = 1_700_000_000.0
    routed = rule(1, rules.added_comment(now - 60), digest="0xA", schemaname="shop")
    old = rule(2, rules.added_comment(now - rules.CHECK_WINDOW_S), digest="0xB")
    learning = rule(3, rules.learning_comment(now - 10**6), mirror_hostgroup=99)
    variants = rule(4, rules.variants_comment(now - 60, ["q_1"]), digest="0xC")

    def needs(rows: list[RuleRow], active: Optional[set[tuple[str, str]]]) -> bool:
        return rules.needs_readyset_record(rules.owned(rows, 99), now, active)

    # a rule routed within the window: read when its statements reached Readyset, or unknown
    assert needs([routed], None)
    assert needs([routed], {("0xA", "shop")})
    assert not needs([routed], set())
    assert not needs([routed], {("0xA", "other")})
    # past the window: never
    assert not needs([old], None)
    # learning, and variant rules within the window: always
    assert needs([learning], set())
    assert needs([variants], set())
    assert not needs([], None)


def test_only_ascii_digits_make_a_time() -> None:
    assert rules.routed_at(rules.ADDED + "2026-03-29 ٠١:30:00 UTC") is None
