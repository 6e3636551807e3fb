"""Which Readyset the scheduler talks to, and so which application statements its caches serve.

A cache made from a digest text (``… WHERE id = ? LIMIT ?``) is only worth a routing rule when
the application's real statements (``… WHERE id = 5 LIMIT 21``) hit it, and that depends on the
release and the cache mode (reference readyset.md §7.6, readyset-matching.md):

* deep caches parameterise only top-level ``col = lit`` / ``col IN (…)`` conjuncts, ranges when
  the WHERE has no equality (from stable-240425; with ``--feature-mixed-comparisons`` also beside
  equalities), and strip LIMIT/OFFSET before the lookup unless Top K keeps an order-less LIMIT
  (stable-260730 on, Top K being the default from stable-260630);
* shallow caches (identity from stable-260226, the default mode from stable-260331) replace every
  literal with a parameter, so the digest text is the identity.

A :class:`Profile` holds those facts for one host; :func:`detect` reads them from what the host
answers (``SHOW READYSET VERSION``, the ``Enabled Features`` row, an EXPLAIN probe), and the
config can state what cannot be seen (``readyset_cache_mode``, ``readyset_topk``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Optional

DEEP = "deep"
SHALLOW = "shallow"
HEAD = 999999  # `unknown-release-version`: a build of the main branch, newer than every tag

# Release dates (stable-YYMMDD) where matching changed.
RANGES_PARAMETERISED = 240425
ENABLED_FEATURES_ROW = 250925
CACHE_MODE_FLAG = 260122
SHALLOW_IDENTITY = 260226  # every literal a parameter
SHALLOW_DEFAULT = 260331
TOPK_DEFAULT = 260630
TOPK_KEEPS_LIMIT = 260730  # an order-less literal LIMIT stays in the key

_STABLE = re.compile(r"stable-(\d{6})\b")

# The probe whose answer tells the mode: a shallow host parameterises the select list's literal.
MODE_PROBE = "SELECT 1"


class Profile(NamedTuple):
    release: str  # as the host reports it; "" when it could not be read
    date: Optional[int]  # YYMMDD of the release, HEAD for a main-branch build, None if unknown
    mode: str  # DEEP or SHALLOW
    topk: Optional[bool]  # None: not known (treated as possibly on)
    mixed_comparisons: bool = False

    @property
    def key(self) -> str:
        """Short, stable description; remembered refusals are tied to it."""
        parts = [self.release or "unknown", self.mode]
        if self.mode == DEEP:
            parts.append({True: "topk", False: "no-topk", None: "topk?"}[self.topk])
            if self.mixed_comparisons:
                parts.append("mixed")
        return "/".join(parts)

    @property
    def shallow(self) -> bool:
        """Every literal of the statement is a parameter of the cache's identity."""
        return self.mode == SHALLOW and self.date is not None and self.date >= SHALLOW_IDENTITY

    def ranges_parameterised(self) -> bool:
        return self.shallow or (self.date is not None and self.date >= RANGES_PARAMETERISED)

    def limit_served(self, ordered: bool) -> bool:
        """Whether a cache made from ``… LIMIT ?`` serves the application's ``… LIMIT 21``."""
        if self.shallow or self.topk is False:
            return True  # a parameter / stripped before the lookup
        if ordered:
            return True  # Top K tries the LIMIT form, then the LIMIT-less cache
        return self.date is not None and self.date < TOPK_KEEPS_LIMIT


CONSERVATIVE = Profile(release="", date=None, mode=DEEP, topk=None)


def release_date(release: str) -> Optional[int]:
    """``stable-250123`` → 250123; ``unknown-release-version`` (a main build) → HEAD."""
    found = _STABLE.search(release)
    if found:
        return int(found.group(1))
    if release.strip().lower() == "unknown-release-version":
        return HEAD
    return None


def release_of(version_rows: Sequence[tuple[str, str]]) -> str:
    """The `release version` row of SHOW READYSET VERSION ("" when absent)."""
    for name, value in version_rows:
        if name.strip().lower() == "release version":
            return value.strip()
    return ""


def enabled_features(status_rows: Sequence[tuple[str, str]]) -> Optional[set[str]]:
    """The `Enabled Features` row of SHOW READYSET STATUS, lowercased; None before it existed."""
    for name, value in status_rows:
        if name.strip().lower() == "enabled features":
            if value.strip().lower() in ("", "none"):
                return set()
            return {f.strip().lower() for f in value.split(",") if f.strip()}
    return None


def needs_mode_probe(date: Optional[int], configured_mode: str) -> bool:
    return configured_mode == "auto" and date is not None and date >= CACHE_MODE_FLAG


def mode_from_probe(probe_query: Optional[str], date: Optional[int]) -> str:
    """The mode from EXPLAIN CREATE CACHE FROM ``SELECT 1``'s query column (None: no answer)."""
    if probe_query is not None:
        return SHALLOW if "$1" in probe_query else DEEP
    return SHALLOW if date is not None and date >= SHALLOW_DEFAULT else DEEP


def detect(
    release: str,
    status_rows: Sequence[tuple[str, str]],
    probed_mode: Optional[str],
    configured_mode: str = "auto",
    configured_topk: str = "auto",
) -> Profile:
    """One host's profile; what the config states wins over what was seen."""
    date = release_date(release)
    if configured_mode in (DEEP, SHALLOW):
        mode = configured_mode
    elif probed_mode is not None:
        mode = probed_mode
    else:
        mode = SHALLOW if date is not None and date >= SHALLOW_DEFAULT else DEEP
    features = enabled_features(status_rows)
    topk: Optional[bool]
    if configured_topk in ("on", "off"):
        topk = configured_topk == "on"
    elif features is not None:
        topk = "top k" in features
    elif date is not None:
        topk = False if date < TOPK_DEFAULT else None
    else:
        topk = None
    mixed = features is not None and "mixed comparisons" in features
    return Profile(release, date, mode, topk, mixed)


def distinct(profiles: Iterable[Profile]) -> list[Profile]:
    """The different profiles among the online hosts, in a stable order."""
    return sorted(set(profiles), key=lambda p: p.key)
