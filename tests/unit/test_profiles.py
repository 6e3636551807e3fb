"""Release profiles: what a host reports → what its caches serve (reference readyset.md §7.6)."""

from __future__ import annotations

import pytest

from readyset_proxysql_scheduler import profiles
from readyset_proxysql_scheduler.profiles import CONSERVATIVE, DEEP, HEAD, SHALLOW, Profile


@pytest.mark.parametrize(
    ("release", "date"),
    [
        ("stable-250123", 250123),
        ("stable-260423-1-gabcdef", 260423),
        ("readyset stable-240117", 240117),
        ("unknown-release-version", HEAD),
        (" Unknown-Release-Version ", HEAD),
        ("", None),
        ("beta-2023-11-29", None),
        ("stable-2501", None),
    ],
)
def test_release_date(release: str, date: object) -> None:
    assert profiles.release_date(release) == date


def test_release_of_reads_the_release_row() -> None:
    rows = [("commit id", "abc"), ("Release Version", " stable-260423 "), ("platform", "x")]
    assert profiles.release_of(rows) == "stable-260423"
    assert profiles.release_of([("commit id", "abc")]) == ""


def test_enabled_features() -> None:
    assert profiles.enabled_features([("Status", "Online")]) is None
    assert profiles.enabled_features([("Enabled Features", "None")]) == set()
    assert profiles.enabled_features([("Enabled Features", "")]) == set()
    assert profiles.enabled_features([("enabled features", "Top K, Mixed Comparisons")]) == {
        "top k",
        "mixed comparisons",
    }


STATUS_TOPK = [("Status", "Online"), ("Enabled Features", "Post-Lookup, Top K")]
STATUS_NONE = [("Status", "Online"), ("Enabled Features", "None")]
STATUS_OLD = [("Snapshot Status", "Completed")]


def test_detect_classic_release_is_deep_without_topk() -> None:
    p = profiles.detect("stable-250123", STATUS_OLD, None)
    assert p == Profile("stable-250123", 250123, DEEP, False, False)
    assert p.key == "stable-250123/deep/no-topk"


def test_detect_reads_features() -> None:
    p = profiles.detect("unknown-release-version", STATUS_TOPK, DEEP)
    assert (p.date, p.mode, p.topk, p.mixed_comparisons) == (HEAD, DEEP, True, False)
    mixed = profiles.detect("stable-260423", [("Enabled Features", "Mixed Comparisons")], DEEP)
    assert mixed.mixed_comparisons and mixed.topk is False
    assert mixed.key == "stable-260423/deep/no-topk/mixed"


def test_detect_without_features_row_after_topk_default_leaves_topk_unknown() -> None:
    p = profiles.detect("stable-260720", STATUS_OLD, DEEP)
    assert p.topk is None
    assert p.key == "stable-260720/deep/topk?"


def test_detect_topk_default_starts_at_stable_260630() -> None:
    # without an Enabled Features row, Top K is known to be off only before its default release
    assert profiles.detect("stable-260629", STATUS_OLD, DEEP).topk is False
    assert profiles.detect("stable-260630", STATUS_OLD, DEEP).topk is None


def test_detect_unknown_release() -> None:
    p = profiles.detect("", STATUS_OLD, None)
    assert p == Profile("", None, DEEP, None)
    assert p.key == "unknown/deep/topk?"


def test_detect_mode_from_probe_and_default() -> None:
    assert profiles.detect("stable-260423", STATUS_NONE, SHALLOW).mode == SHALLOW
    assert profiles.detect("stable-260423", STATUS_NONE, None).mode == SHALLOW
    assert profiles.detect("stable-260226", STATUS_NONE, None).mode == DEEP
    assert profiles.detect("stable-260423", STATUS_NONE, DEEP).mode == DEEP
    # shallow is the default from stable-260331 itself, not only after it
    assert profiles.detect("stable-260331", STATUS_OLD, None).mode == SHALLOW
    assert profiles.detect("stable-260330", STATUS_OLD, None).mode == DEEP


def test_config_wins_over_what_was_seen() -> None:
    p = profiles.detect("stable-260423", STATUS_TOPK, SHALLOW, "deep", "off")
    assert (p.mode, p.topk) == (DEEP, False)
    q = profiles.detect("stable-250123", STATUS_OLD, None, "shallow", "on")
    assert (q.mode, q.topk) == (SHALLOW, True)
    assert q.key == "stable-250123/shallow"
    assert not q.shallow  # no shallow identity before stable-260226


def test_mode_probe() -> None:
    assert profiles.needs_mode_probe(260122, "auto")
    assert not profiles.needs_mode_probe(260121, "auto")
    assert not profiles.needs_mode_probe(None, "auto")
    assert not profiles.needs_mode_probe(HEAD, "deep")
    assert profiles.mode_from_probe("SELECT $1", 260423) == SHALLOW
    assert profiles.mode_from_probe("SELECT 1", 260423) == DEEP
    assert profiles.mode_from_probe(None, 260331) == SHALLOW
    assert profiles.mode_from_probe(None, 260226) == DEEP
    assert profiles.mode_from_probe(None, None) == DEEP


@pytest.mark.parametrize(
    ("profile", "ordered", "served"),
    [
        (Profile("stable-250123", 250123, DEEP, False), False, True),
        (Profile("stable-260720", 260720, DEEP, True), False, True),
        (Profile("stable-260730", 260730, DEEP, True), False, False),
        (Profile("stable-260730", 260730, DEEP, True), True, True),
        (Profile("stable-260730", 260730, DEEP, False), False, True),
        (Profile("stable-260423", 260423, SHALLOW, True), False, True),
        (CONSERVATIVE, False, False),
        (CONSERVATIVE, True, True),
    ],
)
def test_limit_served(profile: Profile, ordered: bool, served: bool) -> None:
    assert profile.limit_served(ordered) is served


def test_ranges() -> None:
    assert not Profile("stable-240328", 240328, DEEP, False).ranges_parameterised()
    assert Profile("stable-240425", 240425, DEEP, False).ranges_parameterised()
    assert not CONSERVATIVE.ranges_parameterised()
    assert Profile("stable-260226", 260226, SHALLOW, False).shallow
    assert not Profile("stable-260122", 260122, SHALLOW, False).shallow


def test_distinct_is_stable() -> None:
    a = Profile("stable-250123", 250123, DEEP, False)
    b = Profile("unknown-release-version", HEAD, SHALLOW, True)
    assert profiles.distinct([b, a, b]) == [a, b]
    assert len(profiles.distinct([a, a])) == 1
    # ordered by the key refusals are remembered under: an unreadable release is "unknown"
    known = Profile("stable-250123", 250123, DEEP, True)
    assert profiles.distinct([CONSERVATIVE, known]) == [known, CONSERVATIVE]
    # and never by comparing fields (None against a bool would fail)
    unsure = Profile("stable-250123", 250123, DEEP, None)
    assert profiles.distinct([unsure, known]) == [known, unsure]
