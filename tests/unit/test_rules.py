"""Rule comments, adoption of the original's rules, warm-up promotion and rule_id placement."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

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
