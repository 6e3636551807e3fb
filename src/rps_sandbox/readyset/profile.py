"""What one Readyset deployment matches, decided by its release and its start-up flags.

The table a reader checks against readyset-matching.md and readyset-matching-cases.md (rows in
brackets); :class:`Profile` implements exactly it. Dates are release tags ``stable-YYMMDD``.

| Rule                                                              | From        | Until      |
|-------------------------------------------------------------------|-------------|------------|
| deep: range literals parameterised when no equality [15, 16]      | 240425      | -          |
| deep: ORDER BY needs post-lookup (refused) [35]                   | -           | 250522     |
| deep: every IN or range cache needs post-lookup [10]              | 250627      | 250723     |
| deep: a range parameter with aggregates needs post-lookup (†)     | -           | -          |
| deep: a range parameter with DISTINCT needs post-lookup (†)       | -           | 260423     |
| deep: collapsed IN carries ``/* COLLAPSED WHERE IN */`` [8]       | 250627      | -          |
| ``--cache-mode`` flag exists                                      | 260122      | -          |
| shallow: every literal a parameter, identity = text + db [25, 50] | 260226      | -          |
| default cache mode shallow                                        | 260331      | -          |
| deep: tables qualified, ``*`` expanded, unique-key pin drops      | 260331      | -          |
| ORDER BY/LIMIT [3, 33, 34]                                        |             |            |
| per-query counts live by default [53, matching §4]                | 260423      | -          |
| shallow-only mode refuses ``CREATE DEEP CACHE`` (matching §2)     | 260528      | -          |
| shallow mode skips the deep rewrite of app statements (§1)        | 260528      | -          |
| ``WITH (AUTOPARAM OFF)`` [60]                                     | 260630      | -          |
| topk: order-less literal LIMIT kept, OFFSET 0 dropped [31, 38]    | 260730      | -          |
| shallow EXPLAIN: PREPARE of the original text, not the ``?`` form | 260730      | -          |

(†) Not in the reference files; read in Readyset's source: a range parameter makes the reader a
BTreeMap index whose lookups are repeated reads, and their aggregates (DISTINCT too, counted as a
grouping through stable-260423) are post-lookup work, refused without ``--feature-post-lookup``
(stable-250123:readyset-server/src/controller/sql/mir/mod.rs:2567-2614 and
…/mir/grouped.rs:270-290; HEAD: …/mir/mod.rs:2917-3003, and …/mir/grouped.rs:392-400 where
DISTINCT is left to the reader from stable-260528).

Flags: ``topk`` (``--feature-topk``; the emulator's default is off whatever the release, so a
profile says it when it wants it), ``mixed_comparisons`` (``--feature-mixed-comparisons``,
default off everywhere), ``query_log_verbose`` (``--query-log-mode verbose``: gives the proxied
counts of releases before stable-260423 [matching §1]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from rps_sandbox.readyset.eras import HEAD, release_date


@dataclass(frozen=True)
class Profile:
    release: str
    cache_mode: str  # "deep" | "shallow"
    topk: bool = False
    mixed_comparisons: bool = False
    query_log_verbose: bool = False

    @staticmethod
    def make(
        release: str,
        cache_mode: Optional[str] = None,
        topk: Optional[bool] = None,
        mixed_comparisons: bool = False,
        query_log_verbose: bool = False,
        default_mode: Optional[str] = None,
    ) -> Profile:
        d = release_date(release)
        if cache_mode is None:
            cache_mode = default_mode or ("shallow" if d >= 260331 else "deep")
        elif cache_mode not in ("deep", "shallow"):
            raise ValueError(f"cache_mode must be 'deep' or 'shallow', not {cache_mode!r}")
        elif d < 260122:
            raise ValueError(f"{release} has no --cache-mode (stable-260122+)")
        return Profile(release, cache_mode, bool(topk), mixed_comparisons, query_log_verbose)

    @property
    def date(self) -> int:
        return release_date(self.release)

    @property
    def is_head(self) -> bool:
        return self.release == HEAD

    # ---------------------------------------------------------------- deep rewrite
    @property
    def ranges_parameterised(self) -> bool:
        return self.date >= 240425

    @property
    def order_by_needs_post_lookup(self) -> bool:
        return self.date < 250627

    @property
    def in_or_range_needs_post_lookup(self) -> bool:
        return 250627 <= self.date < 250724

    @property
    def distinct_needs_post_lookup(self) -> bool:
        """DISTINCT over a range parameter (†)."""
        return self.date < 260528

    @property
    def collapsed_in_marker(self) -> bool:
        return self.date >= 250627

    @property
    def schema_aware_deep(self) -> bool:
        return self.date >= 260331

    @property
    def literal_limit_kept(self) -> bool:
        """topk on from stable-260730: an order-less literal LIMIT stays in the form."""
        return self.topk and self.date >= 260730

    @property
    def offset_zero_dropped(self) -> bool:
        return self.topk and self.date >= 260730

    @property
    def autoparam_option(self) -> bool:
        return self.date >= 260630

    # ---------------------------------------------------------------- shallow
    @property
    def shallow_fully_parameterised(self) -> bool:
        return self.date >= 260226

    @property
    def shallow(self) -> bool:
        return self.cache_mode == "shallow"

    @property
    def shallow_only(self) -> bool:
        """Shallow mode that refuses deep caches and skips the deep rewrite (stable-260528+)."""
        return self.shallow and self.date >= 260528

    @property
    def shallow_prepare_original(self) -> bool:
        return self.date >= 260730

    # ---------------------------------------------------------------- counters
    @property
    def live_counts(self) -> bool:
        return self.date >= 260423

    @property
    def proxied_counts(self) -> bool:
        return self.live_counts or (self.query_log_verbose and self.date >= 230928)

    @property
    def cache_counts(self) -> bool:
        # A wrote every label as database_type="upstream" (fixed in stable-250327).
        return self.live_counts or (self.query_log_verbose and self.date >= 250327)

    def enabled_features(self) -> str:
        names = []
        if self.mixed_comparisons:
            names.append("Mixed Comparisons")
        if self.topk:
            names.append("Top K")
        return ", ".join(names) or "None"
