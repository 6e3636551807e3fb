"""Discovery decisions that need no I/O: Readyset's verdicts, and the digests ProxySQL gives
the same query with IN-lists of other lengths."""

from __future__ import annotations

from readyset_proxysql_scheduler.proxysql import DigestRow
from readyset_proxysql_scheduler.spooky import digest_of
from readyset_proxysql_scheduler.translate import DigestSettings, sibling_digest_texts

# EXPLAIN CREATE CACHE answers that mean "supported" (any era; `no: <reason>` is not).
SUPPORTED = ("yes", "cached")


def supported(verdict: str) -> bool:
    return verdict.strip().lower() in SUPPORTED


MAX_SIBLINGS = 16  # rules per query for the other IN-list lengths (two lists give 25 variants)


def in_list_siblings(
    row: DigestRow, settings: DigestSettings, taken: set[str]
) -> list[tuple[str, str]]:
    """(digest, digest text) of the same query with IN-lists of other lengths, which ProxySQL
    digests apart (lengths 1 .. grouping_limit+1 each, longer ones together), minus digests that
    a rule already names."""
    out = []
    for text in sibling_digest_texts(row.digest_text, settings):
        if len(text.encode("utf-8")) >= settings.max_digest_length:
            continue  # ProxySQL would have cut it: it is not a digest we can name
        digest = digest_of(text, settings.max_digest_length)
        if digest not in taken:
            out.append((digest, text))
        if len(out) >= MAX_SIBLINGS:
            break
    return out
