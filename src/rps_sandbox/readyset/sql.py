"""What the Readyset emulator refuses to cache whatever the release, and the shared plumbing
(parsing, table checks, query ids). Which cache a statement matches, and the release-dependent
refusals (placeholder positions, post-lookup, LIMIT), live in :mod:`.matching`.

Refusals of a deep cache (a documented subset of Readyset's rules, decided with sqlglot, dialect
``mysql``), with the reason shown by EXPLAIN (``no: <reason>`` from stable-260122), by
``SHOW PROXIED QUERIES`` (``unsupported: <reason>`` from stable-250227) and inside the CREATE
CACHE error:

* UNION / INTERSECT / EXCEPT (any form): ``Unsupported compound select operator <OP>``
* no FROM clause, or FROM DUAL: ``FROM-less statement found``
* RIGHT JOIN: ``RIGHT JOIN is not supported``; FULL JOIN: ``FULL JOIN is not supported`` (*)
* subquery / EXISTS inside WHERE: ``Nested selects not supported in filters``
* subquery in the select list: ``Subqueries are not supported in the select list`` (*)
* GROUP BY with no aggregate: ``Using group by without aggregates is not yet supported``
* NOW(), RAND(), UUID(), CURRENT_TIMESTAMP, USER(), ... (see NON_DETERMINISTIC):
  ``Non-deterministic function <NAME>() is not supported`` (*)
* @@system or @user variables: ``Session and user variables are not supported`` (*)
* FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE:
  ``Row-level locking (FOR UPDATE, FOR SHARE) is not supported`` (*)
* SELECT ... INTO: ``SELECT ... INTO is not supported`` (*)
* table missing upstream, or in a system schema:
  ``Table 'db.t' is not being replicated by Readyset`` (``ReadySet`` before stable-250925)
* unqualified table and no current database: ``Could not find table 't'``

(*) texts invented for the emulator; the others are Readyset's own strings. A statement sqlglot
cannot parse as a SELECT is an *error* (``Query failed to parse: <text>``), not "unsupported";
so are the table errors (Readyset raises them outside the dry-run's "unsupported" branch):
releases before stable-260122 turn them into an EXPLAIN error, later ones into ``no: <reason>``.

Query ids are ``q_`` + lowercase hex (no zero padding) of a blake2b hash of the release, the
cache kind, the database and the rewritten text: deterministic across hosts of one release.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Optional

import sqlglot
from sqlglot import exp

from rps_sandbox.readyset.profile import Profile

SYSTEM_SCHEMAS = frozenset({"information_schema", "mysql", "performance_schema", "sys"})

NON_DETERMINISTIC = frozenset(
    {
        "NOW",
        "SYSDATE",
        "CURRENT_TIMESTAMP",
        "CURRENT_DATE",
        "CURRENT_TIME",
        "CURDATE",
        "CURTIME",
        "LOCALTIME",
        "LOCALTIMESTAMP",
        "UTC_TIMESTAMP",
        "UTC_DATE",
        "UTC_TIME",
        "UNIX_TIMESTAMP",
        "RAND",
        "RANDOM",
        "UUID",
        "UUID_SHORT",
        "CONNECTION_ID",
        "LAST_INSERT_ID",
        "FOUND_ROWS",
        "ROW_COUNT",
        "USER",
        "CURRENT_USER",
        "SESSION_USER",
        "SYSTEM_USER",
        "DATABASE",
        "SCHEMA",
        "CURRENT_SCHEMA",
        "SLEEP",
        "GET_LOCK",
    }
)

DEFAULT_PROFILE = Profile("stable-251023", "deep")

PLACEHOLDER_ERROR = "Query contains placeholders in unsupported positions"


@dataclass(frozen=True)
class Verdict:
    """kind: "yes" | "unsupported" (dry-run said no) | "error" (statement-level failure)."""

    kind: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "yes"


YES = Verdict("yes")


_PLACEHOLDER_RE = re.compile(
    r"""('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`[^`]*`)"""  # quoted: keep
    r"|(?<![\w$:])(?:\$|:)\d+"  # $1 / :1
)


def normalise_placeholders(sql: str) -> str:
    """``$1`` / ``:1`` placeholders (outside quotes) → ``?``."""
    if "$" not in sql and ":" not in sql:
        return sql
    return _PLACEHOLDER_RE.sub(lambda m: m.group(1) if m.group(1) else "?", sql)


def _arg(node: exp.Expression, name: str) -> object:
    # sqlglot renamed some arg keys (from → from_, with → with_) across versions.
    value = node.args.get(name)
    if value is None:
        value = node.args.get(name + "_")
    return value


def _func_name(f: exp.Func) -> str:
    if isinstance(f, exp.Anonymous):
        return str(f.name).upper()
    return f.sql_name().upper()


def static_verdict(select: exp.Select) -> Verdict:
    """What the server refuses in a SELECT whatever its placeholders (deep caches)."""
    tree = select
    if _arg(select, "into") is not None:
        return Verdict("unsupported", "SELECT ... INTO is not supported")
    if select.args.get("locks"):
        return Verdict("unsupported", "Row-level locking (FOR UPDATE, FOR SHARE) is not supported")
    from_ = _arg(select, "from")
    if from_ is None or (
        isinstance(from_, exp.From)
        and isinstance(from_.this, exp.Table)
        and not from_.this.db
        and from_.this.name.lower() == "dual"
        and not select.args.get("joins")
    ):
        return Verdict("unsupported", "FROM-less statement found")
    for sel in tree.find_all(exp.Select):
        for join in sel.args.get("joins") or []:
            side = str(join.args.get("side") or "").upper()
            if side == "RIGHT":
                return Verdict("unsupported", "RIGHT JOIN is not supported")
            if side == "FULL":
                return Verdict("unsupported", "FULL JOIN is not supported")
    where = select.args.get("where")
    if where is not None and any(
        True for _ in where.find_all(exp.Select, exp.Subquery, exp.Exists)
    ):
        return Verdict("unsupported", "Nested selects not supported in filters")
    for e in select.expressions:
        if any(True for _ in e.find_all(exp.Subquery, exp.Select)):
            return Verdict("unsupported", "Subqueries are not supported in the select list")
    for f in tree.find_all(exp.Func):
        name = _func_name(f)
        if name in NON_DETERMINISTIC:
            return Verdict("unsupported", f"Non-deterministic function {name}() is not supported")
    if any(True for _ in tree.find_all(exp.SessionParameter, exp.Parameter)):
        return Verdict("unsupported", "Session and user variables are not supported")
    if select.args.get("group") is not None:
        has_agg = any(True for e in select.expressions for _ in e.find_all(exp.AggFunc)) or (
            select.args.get("having") is not None
        )
        if not has_agg:
            return Verdict("unsupported", "Using group by without aggregates is not yet supported")
    return YES


def _compound_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Union):
        return "UNION" if node.args.get("distinct") else "UNION ALL"
    if isinstance(node, exp.Intersect):
        return "INTERSECT"
    return "EXCEPT"


@lru_cache(maxsize=8192)
def _parse(text: str) -> Optional[exp.Expression]:
    try:
        trees = [t for t in sqlglot.parse(text, read="mysql") if t is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError, ValueError, RecursionError):
        return None
    if len(trees) != 1:
        return None
    tree = trees[0]
    while isinstance(tree, exp.Subquery) and isinstance(tree.this, (exp.Select, exp.SetOperation)):
        tree = tree.this
    if not isinstance(tree, (exp.Select, exp.SetOperation)):
        return None
    return tree


def parse(sql: str) -> Optional[exp.Expression]:
    """One SELECT (or compound SELECT) text as a sqlglot tree, None if it is not one.

    The tree is shared between callers (cached per text): copy it before changing it."""
    return _parse(normalise_placeholders(sql.strip().rstrip(";").strip()))


def _tables(tree: exp.Expression) -> tuple[tuple[Optional[str], str], ...]:
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    seen: list[tuple[Optional[str], str]] = []
    for t in tree.find_all(exp.Table):
        if not isinstance(t.this, exp.Identifier):
            continue
        db = t.db or None
        if db is None and t.name in ctes:
            continue
        if db is None and t.name.lower() == "dual":
            continue
        item = (db, t.name)
        if item not in seen:
            seen.append(item)
    return tuple(seen)


TableLookup = Callable[[str], Optional[frozenset]]
"""schema → names of its tables upstream (None when the schema does not exist)."""


def table_verdict(
    used: tuple[tuple[Optional[str], str], ...],
    schema: Optional[str],
    tables: Optional[TableLookup],
    product: str,
) -> Verdict:
    for db, name in used:
        target = db or schema
        if target is None:
            return Verdict("error", f"Could not find table '{name}'")
        if target.lower() in SYSTEM_SCHEMAS:
            return Verdict("error", f"Table '{target}.{name}' is not being replicated by {product}")
        if tables is None:
            continue
        known = tables(target)
        if known is None or name not in known:
            return Verdict("error", f"Table '{target}.{name}' is not being replicated by {product}")
    return YES


def check(
    sql: str,
    schema: Optional[str],
    tables: Optional[TableLookup] = None,
    product: str = "Readyset",
    profile: Optional[Profile] = None,
) -> Verdict:
    """Full deep-cache verdict for one SELECT text in a schema (default: stable-251023, deep)."""
    from rps_sandbox.readyset import matching

    d = matching.deep(sql, schema, profile or DEFAULT_PROFILE)
    if d.verdict.kind == "error":
        return d.verdict
    tv = table_verdict(d.tables, schema, tables, product)
    if tv.kind != "yes" and d.verdict.ok:
        return tv
    if not d.verdict.ok:
        return d.verdict
    return tv


def support(
    query_sql: str,
    schema: Optional[str],
    tables: Optional[TableLookup] = None,
    profile: Optional[Profile] = None,
) -> tuple[bool, str]:
    """(supported, reason) for one SELECT text; `tables` optionally checks table existence."""
    v = check(query_sql, schema, tables, profile=profile)
    return v.ok, v.reason


def query_id(release: str, kind: str, schema: Optional[str], text: str) -> str:
    """A deterministic id: same release, kind, database and rewritten text → same id."""
    key = f"{release}\x00{kind}\x00{schema or ''}\x00{text}"
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return f"q_{int.from_bytes(digest, 'big'):x}"


_QID_RE = re.compile(r"^q_[0-9a-f]{1,16}$")


def valid_query_id(text: str) -> bool:
    return bool(_QID_RE.match(text))
