"""What a pass counts on its way, for the metrics file (metrics.py). On the pass path, so a
plain class: a dataclass costs about a millisecond of start-up to build."""

from __future__ import annotations


class PassCounts:
    __slots__ = (
        "digests_read",
        "candidates",
        "caches_created",
        "caches_failed",
        "reads_source",
        "reads_readyset",
    )

    def __init__(self) -> None:
        self.digests_read = 0  # rows read from stats_mysql_query_digest
        self.candidates = 0  # digests Readyset can cache, found this pass
        self.caches_created = 0  # CREATE CACHE statements that succeeded
        self.caches_failed = 0  # and those that failed
        # Since the previous pass, executions of the digests the lifecycle tracks (its queries
        # and the hottest candidates): answered by the source, and by Readyset for routed ones.
        self.reads_source = 0
        self.reads_readyset = 0
