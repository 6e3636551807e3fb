"""What the Readyset emulator can cache, and how it recognises a query it has cached.

Support decision (a documented subset of Readyset's deep-cache rules, decided with sqlglot,
dialect ``mysql``). A query is **supported** when it is

* a single plain ``SELECT`` (common table expressions allowed, derived tables in FROM allowed);
* with a FROM clause naming tables (``FROM DUAL`` counts as FROM-less);
* whose placeholders (``?``, ``$n``, ``:n``) sit only in the top-level WHERE clause or in
  LIMIT/OFFSET;
* over tables that exist upstream in the resolved schema (unqualified names resolve against the
  session's current database).

Unsupported, with the reason shown by EXPLAIN (``no: <reason>`` in eras D/E), by
``SHOW PROXIED QUERIES`` (``unsupported: <reason>`` from era C) and inside the CREATE CACHE error:

* UNION / INTERSECT / EXCEPT (any form): ``Unsupported compound select operator <OP>``
* no FROM clause, or FROM DUAL: ``FROM-less statement found``
* RIGHT JOIN: ``RIGHT JOIN is not supported``; FULL JOIN: ``FULL JOIN is not supported`` (*)
* subquery / EXISTS inside WHERE: ``Nested selects not supported in filters``
* subquery in the select list: ``Subqueries are not supported in the select list`` (*)
* ``LIMIT ?``: ``Readyset does not support parameterized LIMIT fields``
* ``LIMIT 0``: ``LIMIT 0 is not supported``
* GROUP BY with no aggregate: ``Using group by without aggregates is not yet supported``
* NOW(), RAND(), UUID(), CURRENT_TIMESTAMP, USER(), ... (see NON_DETERMINISTIC):
  ``Non-deterministic function <NAME>() is not supported`` (*)
* @@system or @user variables: ``Session and user variables are not supported`` (*)
* FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE:
  ``Row-level locking (FOR UPDATE, FOR SHARE) is not supported`` (*)
* SELECT ... INTO: ``SELECT ... INTO is not supported`` (*)
* table missing upstream, or in a system schema:
  ``Table 'db.t' is not being replicated by Readyset`` (``ReadySet`` in era B)
* unqualified table and no current database: ``Could not find table 't'``

(*) texts invented for the emulator; the others are Readyset's own strings. Two failures are
*errors*, not "unsupported": a statement sqlglot cannot parse as a SELECT
(``Query failed to parse: <text>``) and placeholders anywhere else
(``Query contains placeholders in unsupported positions``). The table errors are ``kind ==
"error"`` too (Readyset raises them outside the dry-run's "unsupported" branch); eras B/C turn
them into an EXPLAIN error, eras D/E into ``no: <reason>``.

Shapes (autoparameterisation, reference §7.2). In the top-level WHERE, walking AND conjuncts
(an OR stops the walk; parentheses are looked through): ``col = <literal>`` and
``<literal> = col`` become ``col = ?``, ``col IN (<literals or placeholders>)`` becomes an IN of
placeholders; a literal OFFSET becomes a placeholder; LIMIT literals and range comparisons keep
their literals. Existing placeholders count as parameters. Choice for IN lists: the *shape key*
collapses an IN list of placeholders to one marker, so a cache created from ``id IN (?,?,?)``
(ProxySQL's digest form) serves ``id IN (1, 2)`` and ``id IN (1, 2, 3, 4, 5)`` alike -- what
Readyset's shallow caches do and what the scheduler relies on (deep caches explode the list into
lookup keys). The shape key is the normalised SQL (sqlglot, backticked identifiers) plus the
schema; the query id is ``q_`` + 16 hex digits of blake2b(schema, key).

The displayed query text (EXPLAIN ``query``, SHOW CACHES ``query text``) is the rewritten
statement with backticked identifiers and ``$1``, ``$2``... placeholders (sqlglot's printing, so
spacing/parenthesisation differs slightly from Readyset's own printer).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Optional

import sqlglot
from sqlglot import exp

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

PLACEHOLDER_ERROR = "Query contains placeholders in unsupported positions"
LIMIT_PARAM = "Readyset does not support parameterized LIMIT fields"


@dataclass(frozen=True)
class Verdict:
    """kind: "yes" | "unsupported" (dry-run said no) | "error" (statement-level failure)."""

    kind: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "yes"


YES = Verdict("yes")


@dataclass(frozen=True)
class Analysis:
    """Schema-independent facts about one SELECT text (cached per text)."""

    parse_error: Optional[str] = None  # not a parseable single SELECT
    is_select: bool = False
    key: str = ""  # normalised shape, without schema
    display: str = ""  # rewritten text with $n placeholders
    static: Verdict = YES  # verdict before looking at tables
    tables: tuple[tuple[Optional[str], str], ...] = ()  # (qualifier or None, name)
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)


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


def _is_param_value(node: exp.Expression) -> bool:
    if isinstance(node, exp.Paren):
        return _is_param_value(node.this)
    if isinstance(node, (exp.Literal, exp.Placeholder)):
        return True
    return isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal)


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    """Top-level AND conjuncts, looking through parentheses; an OR is one opaque conjunct."""
    while isinstance(node, exp.Paren) and isinstance(node.this, (exp.And, exp.Predicate)):
        node = node.this
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _autoparameterise(select: exp.Select, collapse_in: bool) -> None:
    where = select.args.get("where")
    if where is not None:
        parts = []
        for conj in _conjuncts(where.this):
            if isinstance(conj, exp.EQ):
                left, right = conj.this, conj.expression
                if isinstance(left, exp.Column) and _is_param_value(right):
                    conj = exp.EQ(this=left.copy(), expression=exp.Placeholder())
                elif isinstance(right, exp.Column) and _is_param_value(left):
                    conj = exp.EQ(this=right.copy(), expression=exp.Placeholder())
            elif (
                isinstance(conj, exp.In)
                and isinstance(conj.this, exp.Column)
                and conj.expressions
                and not conj.args.get("query")
                and all(_is_param_value(e) for e in conj.expressions)
            ):
                items: list[exp.Expression] = (
                    [exp.var("?...")]
                    if collapse_in
                    else [exp.Placeholder() for _ in conj.expressions]
                )
                conj = exp.In(this=conj.this.copy(), expressions=items)
            parts.append(conj)
        rebuilt = parts[0]
        for p in parts[1:]:
            rebuilt = exp.And(this=rebuilt, expression=p)
        where.set("this", rebuilt)
    offset = select.args.get("offset")
    if offset is not None and isinstance(offset.expression, exp.Literal):
        offset.set("expression", exp.Placeholder())


def _number_placeholders(tree: exp.Expression) -> exp.Expression:
    counter = [0]

    def repl(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder):
            counter[0] += 1
            return exp.var(f"${counter[0]}")
        return node

    return tree.transform(repl, copy=True)


def _placeholder_position(ph: exp.Expression, root: exp.Expression) -> str:
    """'where' | 'limit' | 'offset' | 'bad' for a placeholder in the original tree."""
    node = ph
    while node.parent is not None and node.parent is not root:
        if isinstance(node.parent, (exp.Select, exp.Subquery)):
            return "bad"
        node = node.parent
    key = node.arg_key
    if key in ("where", "limit", "offset"):
        return key
    return "bad"


def _func_name(f: exp.Func) -> str:
    if isinstance(f, exp.Anonymous):
        return str(f.name).upper()
    return f.sql_name().upper()


def _static_verdict(tree: exp.Expression, select: exp.Select) -> Verdict:
    # Placeholder positions are checked by the adapter's rewrite: an error, not a dry-run "no".
    limit_param = False
    for ph in tree.find_all(exp.Placeholder):
        pos = _placeholder_position(ph, tree)
        if pos == "bad":
            return Verdict("error", PLACEHOLDER_ERROR)
        if pos == "limit":
            limit_param = True
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
    if limit_param:
        return Verdict("unsupported", LIMIT_PARAM)
    limit = select.args.get("limit")
    if limit is not None:
        value = limit.expression if isinstance(limit, exp.Limit) else limit
        if isinstance(value, exp.Literal) and not value.is_string and str(value.this) == "0":
            return Verdict("unsupported", "LIMIT 0 is not supported")
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
def analyse(sql: str) -> Analysis:
    """Parse one SELECT text and compute its shape (cached per exact text)."""
    text = normalise_placeholders(sql.strip().rstrip(";").strip())
    try:
        trees = [t for t in sqlglot.parse(text, read="mysql") if t is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError, ValueError, RecursionError):
        return Analysis(parse_error=sql.strip())
    if len(trees) != 1:
        return Analysis(parse_error=sql.strip())
    tree = trees[0]
    while isinstance(tree, exp.Subquery) and isinstance(tree.this, (exp.Select, exp.SetOperation)):
        tree = tree.this
    if isinstance(tree, exp.SetOperation):
        key = tree.sql(dialect="mysql", identify=True)
        display = _number_placeholders(tree).sql(dialect="mysql", identify=True)
        return Analysis(
            is_select=True,
            key=key,
            display=display,
            static=Verdict(
                "unsupported", f"Unsupported compound select operator {_compound_name(tree)}"
            ),
            tables=_tables(tree),
        )
    if not isinstance(tree, exp.Select):
        return Analysis(parse_error=sql.strip())
    static = _static_verdict(tree, tree)
    shown = tree.copy()
    _autoparameterise(shown, collapse_in=False)
    display = _number_placeholders(shown).sql(dialect="mysql", identify=True)
    keyed = tree.copy()
    _autoparameterise(keyed, collapse_in=True)
    key = keyed.sql(dialect="mysql", identify=True)
    return Analysis(is_select=True, key=key, display=display, static=static, tables=_tables(tree))


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
    analysis: Analysis, schema: Optional[str], tables: Optional[TableLookup], product: str
) -> Verdict:
    for db, name in analysis.tables:
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
) -> Verdict:
    """Full verdict for one SELECT text in a schema."""
    a = analyse(sql)
    if a.parse_error is not None:
        return Verdict("error", f"Query failed to parse: {a.parse_error}")
    if a.static.kind == "error":
        return a.static
    tv = table_verdict(a, schema, tables, product)
    if tv.kind != "yes" and a.static.kind == "yes":
        return tv
    if a.static.kind != "yes":
        return a.static
    return tv


def support(
    query_sql: str, schema: Optional[str], tables: Optional[TableLookup] = None
) -> tuple[bool, str]:
    """(supported, reason) for one SELECT text; `tables` optionally checks table existence."""
    v = check(query_sql, schema, tables)
    return v.ok, v.reason


def shape_key(sql: str, schema: Optional[str]) -> Optional[str]:
    """The cache-matching key of a statement in a schema, or None if it is not a SELECT."""
    a = analyse(sql)
    if not a.is_select:
        return None
    return f"{schema or ''}\x00{a.key}"


def query_id_for_key(key: str) -> str:
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()
    return "q_" + digest


_QID_RE = re.compile(r"^q_[0-9a-f]{1,16}$")


def valid_query_id(text: str) -> bool:
    return bool(_QID_RE.match(text))
