"""Everything that differs between Readyset releases, in one table (reference §0).

Each era imitates one representative release tag:

* B = stable-250123 (classic 2024 surface, last of its era)
* C = stable-251023 (``Status`` row, maintenance mode, ``unsupported: <reason>``,
  ``Enabled Features``, "Readyset" spelling, DEEP/SHALLOW keywords)
* D = stable-260226 (``properties`` column, EXPLAIN ``no: <reason>``; still deep by default,
  before the ``Replication Status`` row of stable-260331)
* E = stable-260528 (snake_case columns, CREATE CACHE returns a row, ``Replication Status``).
  Real stable-260331+ defaults to ``--cache-mode shallow``; an emulator built with ``era="E"``
  (no ``release``) behaves as if started with ``--cache-mode deep`` so that EXPLAIN keeps
  answering ``no: <reason>``.

Any other release tag gets its surface from :func:`era_for_release`: the era of its date range,
with each visible change switched on at the tag that introduced it (reference readyset.md §0-§6).
The four representative tags above give exactly the four eras.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Optional


@dataclass(frozen=True)
class Era:
    name: str
    release: str
    product: str  # "ReadySet" (≤ stable-250828) or "Readyset"
    # SHOW READYSET STATUS
    status_row: str
    status_online: str
    status_snapshot: str
    status_maintenance: Optional[str]  # None: no maintenance mode in this era
    replication_status_row: bool
    enabled_features_row: bool
    # cache commands
    show_caches_columns: tuple[str, ...]
    properties_column: bool  # False: `fallback behavior` words
    show_caches_bare_id: bool  # SHOW CACHES WHERE query_id = q_x (unquoted) accepted
    explain_columns: tuple[str, ...]
    explain_reasons: bool  # `no: <reason>` and table failures as rows
    proxied_columns: tuple[str, ...]
    proxied_reasons: bool  # `unsupported: <reason>`
    create_result_columns: Optional[tuple[str, ...]]  # None: CREATE CACHE answers OK
    recreate_on_collision: bool  # stable-250627+: same id or name → drop and re-create
    cache_type_keywords: bool  # CREATE [DEEP|SHALLOW] CACHE
    shallow_needs_policy: bool  # stable-250925/251023: SHALLOW without POLICY fails
    # misc statements
    version_columns: tuple[str, str]
    connections_columns: tuple[str, ...]
    last_statement_columns: tuple[str, str]
    explain_caches_column: str
    table_online_word: str
    drop_typed_caches: bool  # DROP ALL DEEP|SHALLOW CACHES, SHOW DEEP|SHALLOW CACHES


_CLASSIC_CACHES = ("query id", "cache name", "query text", "fallback behavior", "count")
_PROPS_CACHES = ("query id", "cache name", "query text", "properties", "count")
_SNAKE_CACHES = ("query_id", "name", "query", "properties", "count")
_CLASSIC_EXPLAIN = ("query id", "query", "readyset supported")
_SNAKE_EXPLAIN = ("query_id", "query", "readyset_supported")
_CLASSIC_PROXIED = ("query id", "proxied query", "readyset supported", "count")
_SNAKE_PROXIED = ("query_id", "query", "readyset_supported", "count")

# Each era is the previous one plus what that release changed (reference readyset.md §0).
_B = Era(
    name="B",
    release="stable-250123",
    product="ReadySet",
    status_row="Snapshot Status",
    status_online="Completed",
    status_snapshot="In Progress",
    status_maintenance=None,
    replication_status_row=False,
    enabled_features_row=False,
    show_caches_columns=_CLASSIC_CACHES,
    properties_column=False,
    show_caches_bare_id=False,
    explain_columns=_CLASSIC_EXPLAIN,
    explain_reasons=False,
    proxied_columns=_CLASSIC_PROXIED,
    proxied_reasons=False,
    create_result_columns=None,
    recreate_on_collision=False,
    cache_type_keywords=False,
    shallow_needs_policy=False,
    version_columns=("ReadySet", "Version Information"),
    connections_columns=("remote_addr",),
    last_statement_columns=("Query_destination", "ReadySet_error"),
    explain_caches_column="query text",
    table_online_word="Snapshotted",
    drop_typed_caches=False,
)
_C = replace(
    _B,
    name="C",
    release="stable-251023",
    product="Readyset",
    status_row="Status",
    status_online="Online",
    status_snapshot="Snapshot In Progress",
    status_maintenance="Maintenance Mode",
    enabled_features_row=True,
    proxied_reasons=True,
    recreate_on_collision=True,
    cache_type_keywords=True,
    shallow_needs_policy=True,
    version_columns=("Readyset", "Version Information"),
    last_statement_columns=("Query_destination", "Readyset_error"),
    table_online_word="Online",
)
_D = replace(
    _C,
    name="D",
    release="stable-260226",
    show_caches_columns=_PROPS_CACHES,
    properties_column=True,
    show_caches_bare_id=True,
    explain_reasons=True,
    shallow_needs_policy=False,
    drop_typed_caches=True,
)
_E = replace(
    _D,
    name="E",
    release="stable-260528",
    replication_status_row=True,
    show_caches_columns=_SNAKE_CACHES,
    explain_columns=_SNAKE_EXPLAIN,
    proxied_columns=_SNAKE_PROXIED,
    create_result_columns=("query_id", "name", "query", "cache_type"),
    connections_columns=("client_addr", "username"),
    explain_caches_column="query",
)
ERAS: dict[str, Era] = {era.name: era for era in (_B, _C, _D, _E)}

HEAD = "unknown-release-version"
HEAD_DATE = 999999  # a build without a release tag: the newest behaviour


def release_date(release: str) -> int:
    """``stable-YYMMDD`` → YYMMDD; ``beta-YYYY-MM-DD`` → YYMMDD; HEAD → :data:`HEAD_DATE`."""
    if release == HEAD:
        return HEAD_DATE
    m = re.fullmatch(r"stable-(\d{6})", release)
    if m:
        return int(m.group(1))
    m = re.fullmatch(r"beta-20(\d\d)-(\d\d)-(\d\d)", release)
    if m:
        return int("".join(m.groups()))
    raise ValueError(f"unknown Readyset release {release!r}; use stable-YYMMDD or {HEAD!r}")


def era_for_release(release: str) -> Era:
    """The client-visible surface of one release: its era's table, switched per tag."""
    d = release_date(release)
    if d < 230928:
        raise ValueError(f"{release}: the emulator imitates releases from beta-2023-09-28 on")
    base = _B if d < 250227 else _C if d < 251204 else _D if d < 260528 else _E
    snake = d >= 260528
    return replace(
        base,
        release=release,
        product="Readyset" if d >= 250925 else "ReadySet",
        status_row="Status" if d >= 250227 else "Snapshot Status",
        status_online="Online" if d >= 250227 else "Completed",
        status_snapshot="Snapshot In Progress" if d >= 250227 else "In Progress",
        status_maintenance="Maintenance Mode" if d >= 250227 else None,
        replication_status_row=d >= 260331,
        enabled_features_row=d >= 250925,
        show_caches_columns=_SNAKE_CACHES
        if snake
        else _PROPS_CACHES
        if d >= 251204
        else _CLASSIC_CACHES,
        properties_column=d >= 251204,
        show_caches_bare_id=d >= 260226,
        explain_columns=_SNAKE_EXPLAIN if snake else _CLASSIC_EXPLAIN,
        explain_reasons=d >= 260122,
        proxied_columns=_SNAKE_PROXIED if snake else _CLASSIC_PROXIED,
        proxied_reasons=d >= 250227,
        create_result_columns=("query_id", "name", "query", "cache_type") if snake else None,
        recreate_on_collision=d >= 250627,
        cache_type_keywords=d >= 250925,
        shallow_needs_policy=250925 <= d < 251204,
        version_columns=("Readyset" if d >= 250925 else "ReadySet", "Version Information"),
        connections_columns=("client_addr", "username") if d >= 260331 else ("remote_addr",),
        last_statement_columns=(
            "Query_destination",
            "Readyset_reason"
            if d >= 260730
            else "Readyset_error"
            if d >= 250925
            else "ReadySet_error",
        ),
        explain_caches_column="query" if snake else "query text",
        table_online_word="Online" if d >= 250925 else "Snapshotted",
        drop_typed_caches=d >= 251204,
    )
