"""translate() over realistic digest texts, in the exact form ProxySQL 2.7 stores them.

``data/digest_corpus.json`` holds digest texts as produced from Django, Rails, Hibernate,
WordPress, Laravel and hand-written queries (ProxySQL's normalisation applied by hand: literals
to ``?``, no spaces around commas or inside parentheses, ``IN (?,?,?,...)`` compression, kept
comments, truncation at ``max_digest_length`` bytes), each with non-default
``mysql-query_digests_*`` settings where given. Each entry has either ``query`` (the expected
Cacheable text) or ``reason`` (a stable keyword of the NotCacheable reason) for a Readyset whose
release is not known (the conservative profile), and under ``profiles`` what differs for a named
release profile: ``"="`` (cacheable as the digest text), ``"!keyword"`` (refused) or the query.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from readyset_proxysql_scheduler.profiles import CONSERVATIVE, Profile
from readyset_proxysql_scheduler.translate import (
    Cacheable,
    DigestSettings,
    NotCacheable,
    sibling_digest_texts,
    translate,
)

CORPUS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "digest_corpus.json").read_text(encoding="utf-8")
)


# The release profiles of issue 10's test matrix (reference readyset.md §7.6).
PROFILES = {
    "stable-250123 deep": Profile("stable-250123", 250123, "deep", False),
    "stable-260423 deep": Profile("stable-260423", 260423, "deep", False),
    "stable-260423 shallow": Profile("stable-260423", 260423, "shallow", False),
    "HEAD deep topk": Profile("unknown-release-version", 999999, "deep", True),
    "HEAD shallow": Profile("unknown-release-version", 999999, "shallow", True),
}


def _id(entry: dict[str, Any]) -> str:
    settings = ",".join(f"{k}={v}" for k, v in entry.get("settings", {}).items())
    return f"{entry['source']}:{entry['digest_text'][:60]}" + (f"[{settings}]" if settings else "")


def test_corpus_shape() -> None:
    assert len(CORPUS) >= 100
    sources = Counter(e["source"] for e in CORPUS)
    for source in ("django", "rails", "hibernate", "wordpress", "laravel", "plain"):
        assert sources[source] >= 5, sources
    for e in CORPUS:
        assert ("query" in e) != ("reason" in e), e
        assert set(e.get("settings", {})) <= {
            f.name for f in DigestSettings.__dataclass_fields__.values()
        }
    # every non-default digest setting appears at least once
    used = {k for e in CORPUS for k in e.get("settings", {})}
    assert used >= {
        "enabled",
        "lowercase",
        "replace_null",
        "no_digits",
        "keep_comment",
        "max_digest_length",
        "grouping_limit",
        "groups_grouping_limit",
    }
    assert sum("reason" in e and "truncated" in e["reason"] for e in CORPUS) >= 5


def _expected(entry: dict[str, Any], profile: str) -> tuple[str, str]:
    """("query", text) or ("reason", keyword) for one profile."""
    override = entry.get("profiles", {}).get(profile)
    if override is None:
        return ("query", entry["query"]) if "query" in entry else ("reason", entry["reason"])
    if override == "=":
        return "query", entry["digest_text"]
    if override.startswith("!"):
        return "reason", override[1:]
    return "query", override


def _check(entry: dict[str, Any], profile_name: str, profile: Profile) -> None:
    settings = DigestSettings(**entry.get("settings", {}))
    result = translate(entry["digest_text"], settings, profile)
    kind, value = _expected(entry, profile_name)
    if kind == "query":
        assert result == Cacheable(value)
    else:
        assert isinstance(result, NotCacheable), result
        assert value in result.reason


@pytest.mark.parametrize("entry", CORPUS, ids=[_id(e) for e in CORPUS])
def test_corpus(entry: dict[str, Any]) -> None:
    _check(entry, "", CONSERVATIVE)


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("entry", CORPUS, ids=[_id(e) for e in CORPUS])
def test_corpus_per_release(entry: dict[str, Any], profile: str) -> None:
    _check(entry, profile, PROFILES[profile])


def test_corpus_profiles_are_known() -> None:
    for entry in CORPUS:
        assert set(entry.get("profiles", {})) <= set(PROFILES), entry


def test_each_profile_serves_more_orm_reads_than_the_conservative_one() -> None:
    """Per release, how many ORM digests are cacheable: the numbers the README quotes."""
    orm = [e for e in CORPUS if e["source"] != "plain"]
    counts = {
        name: sum(_expected(e, name)[0] == "query" for e in orm) for name in [""] + sorted(PROFILES)
    }
    assert counts[""] < counts["stable-250123 deep"] <= counts["stable-260423 deep"]
    assert counts["stable-260423 deep"] < counts["stable-260423 shallow"]
    assert counts["HEAD deep topk"] < counts["stable-260423 deep"]


@pytest.mark.parametrize("entry", CORPUS, ids=[_id(e) for e in CORPUS])
def test_corpus_translation_is_stable(entry: dict[str, Any]) -> None:
    """A Cacheable text translates to itself (no rewrite applies twice)."""
    settings = DigestSettings(**entry.get("settings", {}))
    for profile in [CONSERVATIVE, *PROFILES.values()]:
        result = translate(entry["digest_text"], settings, profile)
        if isinstance(result, Cacheable):
            assert translate(result.query, settings, profile) == result


def test_corpus_siblings_translate_like_their_digest() -> None:
    """Every IN-list sibling of a cacheable corpus digest is cacheable too."""
    checked = 0
    for entry in CORPUS:
        settings = DigestSettings(**entry.get("settings", {}))
        if "query" not in entry:
            continue
        for sibling in sibling_digest_texts(entry["digest_text"], settings):
            assert isinstance(translate(sibling, settings), Cacheable), sibling
            checked += 1
    assert checked > 20
