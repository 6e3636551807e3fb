"""Caches an operator made by hand on the Readyset hosts, adopted (`adopt_manual_caches`).

Pure: what `SHOW CACHES` lists on each online host and the candidate digests go in; what to
adopt, and why the others are not, come out. `scheduler.Pass.add_queries` carries it out.

A cache that is neither the scheduler's (`d_0x…`, `v_q_…`) nor in the state file:

| its text (Readyset's, `$n` placeholders), against the candidates | outcome |
|---|---|
| a digest's statement, every `?` of the digest a parameter | adopted: a rule routes the digest |
| … the same digest executed in several schemas | not adopted (which database? see below) |
| a digest's statement, a literal kept for a `?` | not adopted: other literals would hop in vain |
| no candidate's (none executed within `replace_window_s`) | not adopted, for now |
| a digest's, but no slot left under `number_of_queries` | not adopted, for now |

Candidates are the digests without a rule, hottest first, so the hottest take the slots; other
digests of the same query in that schema (IN-lists of other lengths) ride along as siblings.
A host that serves the digest from no cache gets one, created from the adopted cache's text
under its name. The database of a cache is taken to be its digest's schema: SHOW CACHES does
not say it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from readyset_proxysql_scheduler.identity import match
from readyset_proxysql_scheduler.proxysql import DigestRow

# The scheduler's own names: d_<digest>_<schema>, d_<digest> (older), v_<query id>.
OURS = re.compile(r"^(?:d_0x[0-9A-Fa-f]{1,16}(?:_[A-Za-z0-9_]+)?|v_q_[0-9a-f]{1,16})$")
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class Adoption:
    rows: tuple[DigestRow, ...]  # the digest routed first, then its IN-list siblings
    name: str  # the cache created, under this name, on the hosts that serve it from none
    text: str  # Readyset's text of that cache
    caches: tuple[tuple[str, str], ...]  # (name, text) of every hand-made cache that serves it
    missing: tuple[str, ...]  # hosts that serve it from no cache yet

    @property
    def schema(self) -> str:
        return self.rows[0].schemaname


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str
    lasting: bool  # a property of the cache (logged at Note once), not of this pass


@dataclass(frozen=True)
class Plan:
    adoptions: list[Adoption] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def plan(
    hosts: Sequence[tuple[str, Mapping[str, str]]],
    candidates: Sequence[DigestRow],
    known: set[str],
    slots: int,
) -> Plan:
    """`hosts`: (host, {cache name: Readyset's text}) of every online host; `candidates`: the
    digests without a rule, hottest first; `known`: cache names the state file holds."""
    manual: dict[str, list[tuple[str, str]]] = {}  # name -> [(host, text)]
    for host, caches in hosts:
        for name, text in sorted(caches.items()):
            if name not in known and not OURS.match(name):
                manual.setdefault(name, []).append((host, text))
    out = Plan()
    serves: dict[str, list[DigestRow]] = {}  # name -> candidates it serves, every ? a parameter
    keeps: dict[str, tuple[DigestRow, tuple[str, ...]]] = {}  # name -> a candidate, kept literals
    for name, where in manual.items():
        texts = list(dict.fromkeys(text for _, text in where))
        for row in candidates:
            for text in texts:
                kept = match(row.digest_text, text)
                if kept is None:
                    continue
                if all(k is None for k in kept):
                    serves.setdefault(name, []).append(row)
                    break
                if name not in keeps:
                    literal = tuple(
                        f"{k} for the {_ordinal(i + 1)} ?" for i, k in enumerate(kept) if k
                    )
                    keeps[name] = (row, literal)
    used: set[str] = set()
    done: set[tuple[str, str]] = set()
    for row in candidates:
        if (row.digest, row.schemaname) in done:
            continue
        names = [n for n in manual if n not in used and row in serves.get(n, ())]
        if not names:
            continue
        used.update(names)
        rows = [r for r in candidates if any(r in serves[n] for n in names)]
        done.update((r.digest, r.schemaname) for r in rows)
        schemas = sorted({r.schemaname for r in rows})
        if len(schemas) > 1:
            for n in names:
                out.skipped.append(
                    Skipped(
                        n,
                        f"its query is digest {row.digest}'s, executed in schemas"
                        f" {', '.join(schemas)}, and SHOW CACHES does not say which database the"
                        " cache was made in",
                        lasting=True,
                    )
                )
            continue
        if len(out.adoptions) >= slots:
            for n in names:
                out.skipped.append(
                    Skipped(n, f"serves digest {row.digest}; number_of_queries is reached", False)
                )
            continue
        plain = [n for n in names if _NAME.match(n)]
        if not plain:
            for n in names:
                out.skipped.append(
                    Skipped(n, "its name is not a plain identifier the scheduler can send", True)
                )
            continue
        # the name most hosts already use is the one the others get
        name = min(plain, key=lambda n: (-len(manual[n]), n))
        have = {host for n in names for host, _ in manual[n]}
        out.adoptions.append(
            Adoption(
                rows=tuple(rows),
                name=name,
                text=manual[name][0][1],
                caches=tuple(sorted((n, manual[n][0][1]) for n in names)),
                missing=tuple(host for host, _ in hosts if host not in have),
            )
        )
    for name in manual:
        if name in used:
            continue
        if name in keeps:
            row, literal = keeps[name]
            out.skipped.append(
                Skipped(
                    name,
                    f"its query keeps the literal {', '.join(literal)} of digest {row.digest}"
                    f" ({row.digest_text[:120]}): a rule for the digest would send its other"
                    " literal variants to Readyset for nothing",
                    lasting=True,
                )
            )
        else:
            out.skipped.append(
                Skipped(
                    name,
                    "it serves no digest executed within replace_window_s that has no rule",
                    lasting=False,
                )
            )
    return out
