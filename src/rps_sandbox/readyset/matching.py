"""How the emulator decides which cache serves a statement, per :class:`~.profile.Profile`.

Written from readyset-matching.md and readyset-matching-cases.md (row numbers in brackets), not
from the scheduler's own translation. Two identities:

**Deep** (the adapter's rewrite; readyset-matching.md §1, §3):

1. optimiser hints, index hints and quoting are dropped [48]; keyword case never mattered [49];
2. from stable-260331, a statement with no placeholder whose literal equalities pin a NOT NULL
   unique key loses ORDER BY and LIMIT [33, 34];
3. LIMIT/OFFSET: with topk off the whole clause is removed [29, 36, 39]. With topk on, ORDER BY +
   literal LIMIT and no OFFSET is a TopK candidate: the form with the LIMIT is looked up first,
   then the form without [37]; from stable-260730 ``OFFSET 0`` is dropped first and an order-less
   literal LIMIT stays in the form with no second lookup [31, 32, 38]; otherwise the clause is
   removed [30, 38];
4. the top-level WHERE, walked through AND (an OR conjunct keeps its literals [22]):
   ``col = lit`` and ``lit = col`` → ``col = ?`` [1, 4]; ``col IN (lits)`` → placeholders, then
   every all-placeholder IN collapses to ``col = ?`` [7], marked ``/* COLLAPSED WHERE IN */`` from
   stable-250627 [8]; range literals (``<``, ``<=``, ``>``, ``>=``, swapped and flipped when the
   literal is on the left) become placeholders only when no equality is parameterised, unless
   mixed comparisons [16, 18, 20, 21]; BETWEEN, LIKE, ``<>``, NOT IN, ``<=>``, subqueries, the
   select list, HAVING and JOIN ON keep their literals [6, 13, 23, 24, 27, 41, 43, 44];
5. from stable-260331 tables are qualified with the database, ``*`` is expanded and columns are
   qualified with their table [3];
6. identity = the rendered text (``$n`` placeholders, backticked identifiers) + database + release.

Where the text's own ``?`` placeholders may stand (detect_unsupported_placeholders, errors, not
"unsupported"): in the top-level WHERE as ``col = ?``, ``col IN (?, ...)``, a range or BETWEEN
(not next to an equality placeholder unless mixed comparisons [19]), inside a derived table's or a
WHERE subquery's WHERE [41], and in LIMIT/OFFSET; anything else is ``Query contains
placeholders in unsupported positions`` [6, 13, 24, 27, 43, 44, 45]. A placeholder under OR is
refused by the server: ``can't handle OR expressions between query parameter predicates`` [22].

**Shallow** (stable-260226+; readyset-matching.md §2): every literal value becomes ``$n`` wherever
it is (LIMIT, ordinals, function arguments, select list [25, 28, 40, 45]); a minus stays outside
(``-$1``) [51]; an IN/NOT IN list of values becomes one ``IN ($n)`` whose entry key is the sorted,
de-duplicated value set [11, 12]; nothing is swapped or unaliased [5, 50]; identity = the
re-rendered text (keyword case and spacing normalised, quoting and identifier case kept) +
database + release [46, 50].

Deliberate approximations: texts are rendered by sqlglot, not by Readyset's printers (same
identities, slightly different spelling); deep columns are qualified with the table name or alias
only, not with the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional

from sqlglot import exp

from rps_sandbox.readyset import sql as rsql
from rps_sandbox.readyset.profile import Profile
from rps_sandbox.readyset.sql import PLACEHOLDER_ERROR, YES, Verdict

POST_LOOKUP = "Queries which perform operations post-lookup are not supported"
OR_PARAMS = "can't handle OR expressions between query parameter predicates"
DISTINCT_IN = "DISTINCT with parameterized IN is not supported"
LIMIT_ZERO = "LIMIT 0 is not supported"
COLLAPSED = " /* COLLAPSED WHERE IN */"


@dataclass(frozen=True)
class TableMeta:
    columns: tuple[str, ...]
    unique_keys: tuple[frozenset[str], ...] = ()  # NOT NULL unique keys, lower-case names


MetaLookup = Callable[[str, str], Optional[TableMeta]]
"""(database, table) → the table's columns and unique keys, or None when unknown."""


@dataclass(frozen=True)
class Form:
    text: str  # the rewritten statement as Readyset displays it
    topk: bool = False  # the TopK form (literal LIMIT kept) of a TopK candidate


@dataclass(frozen=True)
class Deep:
    forms: tuple[Form, ...]  # lookup order; forms[0] is what a CREATE from this text caches
    verdict: Verdict  # what EXPLAIN / CREATE of this text says, before looking at tables
    server_text: str = ""  # the server's form (table aliases removed) of the last form [52]
    tables: tuple[tuple[Optional[str], str], ...] = ()

    @property
    def text(self) -> str:
        return self.forms[0].text if self.forms else ""


@dataclass(frozen=True)
class Shallow:
    text: str
    params: tuple[object, ...]  # the entry key: literal values, IN lists as sorted tuples
    verdict: Verdict  # static refusals; the upstream PREPARE is the server's part
    probe: str = ""  # what the upstream is asked to PREPARE
    tables: tuple[tuple[Optional[str], str], ...] = field(default=(), compare=False)


# ------------------------------------------------------------------------------ helpers
def _is_value(node: exp.Expression) -> bool:
    if isinstance(node, exp.Paren):
        return _is_value(node.this)
    if isinstance(node, exp.Literal):
        return True
    if isinstance(node, exp.Boolean):
        return True
    return isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal)


def _is_param(node: exp.Expression) -> bool:
    return isinstance(node, exp.Placeholder) or (
        isinstance(node, exp.Paren) and _is_param(node.this)
    )


def _col(node: exp.Expression) -> bool:
    return isinstance(node, exp.Column) and not isinstance(node.this, exp.Star)


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _and(parts: list[exp.Expression]) -> exp.Expression:
    wrapped = [exp.Paren(this=p) if isinstance(p, exp.Or) else p for p in parts]
    out = wrapped[0]
    for p in wrapped[1:]:
        out = exp.And(this=out, expression=p)
    return out


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


_FLIP: dict[type, type] = {exp.GT: exp.LT, exp.LT: exp.GT, exp.GTE: exp.LTE, exp.LTE: exp.GTE}
_RANGES = (exp.GT, exp.LT, exp.GTE, exp.LTE)


def _own_placeholders(node: exp.Expression) -> list[exp.Placeholder]:
    """Placeholders of `node` that are not inside a subquery of it."""
    out = []
    for ph in node.find_all(exp.Placeholder):
        p = ph.parent
        inside = False
        while p is not None and p is not node:
            if isinstance(p, (exp.Select, exp.Subquery)):
                inside = True
                break
            p = p.parent
        if not inside:
            out.append(ph)
    return out


def _shape(conj: exp.Expression) -> Optional[str]:
    """ "eq" | "range" | "between" when `conj` is a position a placeholder may take."""
    conj = _unparen(conj)
    if isinstance(conj, exp.EQ):
        a, b = conj.this, conj.expression
        if (_col(a) and (_is_param(b) or _is_value(b))) or (
            _col(b) and (_is_param(a) or _is_value(a))
        ):
            return "eq"
        return None
    if isinstance(conj, exp.In):
        items = conj.expressions
        if (
            _col(conj.this)
            and items
            and not conj.args.get("query")
            and all(_is_param(e) or _is_value(e) for e in items)
        ):
            return "eq"
        return None
    if isinstance(conj, _RANGES):
        a, b = conj.this, conj.expression
        if (_col(a) and (_is_param(b) or _is_value(b))) or (
            _col(b) and (_is_param(a) or _is_value(a))
        ):
            return "range"
        return None
    if isinstance(conj, exp.Between) and _col(conj.this):
        return "between"
    return None


# ------------------------------------------------------------------------------ deep
def _placeholder_verdict(select: exp.Select, profile: Profile) -> Verdict:
    where = select.args.get("where")
    in_where: set[int] = set()
    eq = rng = under_or = False
    if where is not None:
        for conj in _conjuncts(where.this):
            own = _own_placeholders(conj)
            if not own:
                continue
            in_where.update(id(p) for p in own)
            if any(True for _ in _unparen(conj).find_all(exp.Or)) or isinstance(
                _unparen(conj), exp.Or
            ):
                under_or = True
                continue
            shape = _shape(conj)
            if shape is None:
                return Verdict("error", PLACEHOLDER_ERROR)
            eq = eq or shape == "eq"
            rng = rng or shape in ("range", "between")
    for ph in select.find_all(exp.Placeholder):
        if id(ph) in in_where:
            continue
        if not _allowed_elsewhere(ph, select):
            return Verdict("error", PLACEHOLDER_ERROR)
    if eq and rng and not profile.mixed_comparisons:
        return Verdict("error", PLACEHOLDER_ERROR)
    if under_or:
        return Verdict("unsupported", OR_PARAMS)
    return YES


def _allowed_elsewhere(ph: exp.Expression, top: exp.Select) -> bool:
    """LIMIT/OFFSET of the statement, or the WHERE of a nested SELECT [41]."""
    node: exp.Expression = ph
    while node.parent is not None:
        parent = node.parent
        if isinstance(parent, exp.Select):
            key = node.arg_key
            if parent is top:
                return key in ("limit", "offset")
            return key == "where"
        node = parent
    return False


def _pins_unique_key(select: exp.Select, schema: Optional[str], meta: MetaLookup) -> bool:
    from_ = rsql._arg(select, "from")
    if select.args.get("joins") or not isinstance(from_, exp.From):
        return False
    table = from_.this
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
        return False
    db = table.db or schema
    info = meta(db, table.name) if db else None
    if info is None or not info.unique_keys:
        return False
    where = select.args.get("where")
    if where is None:
        return False
    names = {table.alias_or_name.lower(), table.name.lower()}
    pinned = set()
    for conj in _conjuncts(where.this):
        conj = _unparen(conj)
        if not isinstance(conj, exp.EQ):
            continue
        for c, v in ((conj.this, conj.expression), (conj.expression, conj.this)):
            if _col(c) and _is_value(v) and (not c.table or c.table.lower() in names):
                pinned.add(c.name.lower())
    return any(key <= pinned for key in info.unique_keys)


def _int_literal(node: Optional[exp.Expression], value: Optional[int] = None) -> bool:
    if not isinstance(node, exp.Literal) or node.is_string:
        return False
    try:
        n = int(str(node.this))
    except ValueError:
        return False
    return value is None or n == value


def _limit_variants(select: exp.Select, profile: Profile) -> list[tuple[exp.Select, bool]]:
    limit = select.args.get("limit")
    offset = select.args.get("offset")
    lim = limit.expression if isinstance(limit, exp.Limit) else None
    off = offset.expression if isinstance(offset, exp.Offset) else None
    if profile.offset_zero_dropped and _int_literal(off, 0):
        select.set("offset", None)
        off = None

    def stripped() -> exp.Select:
        c = select.copy()
        c.set("limit", None)
        c.set("offset", None)
        return c

    if not profile.topk or lim is None or off is not None or not _int_literal(lim):
        return [(stripped(), False)]
    if select.args.get("order") is not None:
        return [(select.copy(), True), (stripped(), False)]
    if profile.literal_limit_kept:
        return [(select.copy(), False)]
    return [(stripped(), False)]


@dataclass
class _Params:
    collapsed: bool = False
    range_param: bool = False


def _autoparameterise(select: exp.Select, profile: Profile, autoparam: bool) -> _Params:
    info = _Params()
    where = select.args.get("where")
    if where is not None:
        conjs = _conjuncts(where.this)
        eq_present = any(
            _shape(c) == "eq" and (autoparam or _own_placeholders(c))
            for c in conjs
            if not isinstance(_unparen(c), exp.Or)
        )
        ranges = profile.ranges_parameterised and (profile.mixed_comparisons or not eq_present)
        out = []
        for conj in conjs:
            c = _unparen(conj)
            shape = _shape(c) if not isinstance(c, exp.Or) else None
            if isinstance(c, exp.NEQ) and _is_value(c.this) and _col(c.expression):
                c = exp.NEQ(this=c.expression.copy(), expression=c.this.copy())
            elif shape == "eq" and isinstance(c, exp.EQ):
                a, b = c.this, c.expression
                col, val = (a, b) if _col(a) else (b, a)
                if autoparam or _is_param(val):
                    c = exp.EQ(this=col.copy(), expression=exp.Placeholder())
                else:
                    c = exp.EQ(this=col.copy(), expression=val.copy())
            elif shape == "eq" and isinstance(c, exp.In):
                if autoparam or all(_is_param(e) for e in c.expressions):
                    items = [
                        exp.Placeholder() if (autoparam or _is_param(e)) else e.copy()
                        for e in c.expressions
                    ]
                    c = exp.In(this=c.this.copy(), expressions=items)
            elif shape == "range":
                a, b = c.this, c.expression
                if _col(a):
                    col, val, cls = a, b, type(c)
                else:
                    col, val, cls = b, a, _FLIP[type(c)]
                if _is_param(val):
                    info.range_param = True
                    c = cls(this=col.copy(), expression=exp.Placeholder())
                elif ranges and autoparam:
                    info.range_param = True
                    c = cls(this=col.copy(), expression=exp.Placeholder())
                else:
                    c = cls(this=col.copy(), expression=val.copy())
            elif shape == "between" and _own_placeholders(c):
                info.range_param = True
            if isinstance(c, exp.In) and all(isinstance(e, exp.Placeholder) for e in c.expressions):
                c = exp.EQ(this=c.this.copy(), expression=exp.Placeholder())
                info.collapsed = True
            out.append(c if c is not _unparen(conj) else conj)
        where.set("this", _and(out))
    offset = select.args.get("offset")
    if isinstance(offset, exp.Offset) and isinstance(offset.expression, exp.Literal):
        offset.set("expression", exp.Placeholder())
    return info


def _post_lookup(select: exp.Select, info: _Params, profile: Profile) -> Verdict:
    if profile.order_by_needs_post_lookup and select.args.get("order") is not None:
        return Verdict("unsupported", POST_LOOKUP)
    if info.collapsed and select.args.get("distinct") is not None:
        return Verdict("unsupported", DISTINCT_IN)
    has_agg = any(True for e in select.expressions for _ in e.find_all(exp.AggFunc))
    if info.collapsed and has_agg:
        return Verdict("unsupported", POST_LOOKUP)
    if info.range_param and has_agg:
        return Verdict("unsupported", POST_LOOKUP)
    if info.range_param and profile.distinct_needs_post_lookup and select.args.get("distinct"):
        return Verdict("unsupported", POST_LOOKUP)
    if profile.in_or_range_needs_post_lookup and (info.collapsed or info.range_param):
        return Verdict("unsupported", POST_LOOKUP)
    limit = select.args.get("limit")
    if isinstance(limit, exp.Limit) and _int_literal(limit.expression, 0):
        return Verdict("unsupported", LIMIT_ZERO)
    return YES


def _sources(select: exp.Select) -> list[exp.Expression]:
    out: list[exp.Expression] = []
    from_ = rsql._arg(select, "from")
    if isinstance(from_, exp.From):
        out.append(from_.this)
    for j in select.args.get("joins") or []:
        out.append(j.this)
    return out


def _qualify(select: exp.Select, schema: Optional[str], meta: Optional[MetaLookup]) -> None:
    """stable-260331+: ``*`` expanded, columns qualified with their table, tables with the db."""
    sources = _sources(select)
    tables = [t for t in sources if isinstance(t, exp.Table) and isinstance(t.this, exp.Identifier)]
    simple = len(tables) == len(sources)

    def info(t: exp.Table) -> Optional[TableMeta]:
        db = t.db or schema
        return meta(db, t.name) if (meta is not None and db) else None

    metas = {id(t): info(t) for t in tables}
    if simple and all(metas[id(t)] is not None for t in tables):
        expanded: list[exp.Expression] = []
        for e in select.expressions:
            if isinstance(e, exp.Star):
                targets = tables
            elif isinstance(e, exp.Column) and isinstance(e.this, exp.Star):
                targets = [t for t in tables if t.alias_or_name == e.table]
            else:
                expanded.append(e)
                continue
            for t in targets:
                m = metas[id(t)]
                assert m is not None
                expanded.extend(exp.column(c, table=t.alias_or_name) for c in m.columns)
        select.set("expressions", expanded)
    for col in list(select.find_all(exp.Column)):
        if col.table or isinstance(col.this, exp.Star):
            continue
        if col.find_ancestor(exp.Select) is not select:
            continue
        owner: Optional[exp.Table] = None
        if simple and len(tables) == 1:
            m = metas[id(tables[0])]
            if m is None or col.name.lower() in (c.lower() for c in m.columns):
                owner = tables[0]
        else:
            for t in tables:
                m = metas[id(t)]
                if m is not None and col.name.lower() in (c.lower() for c in m.columns):
                    owner = t
                    break
        if owner is not None:
            col.set("table", exp.to_identifier(owner.alias_or_name))
    for t in tables:
        if not t.db and schema:
            t.set("db", exp.to_identifier(schema))


def _dealias(select: exp.Select) -> exp.Select:
    """The server's rewrite removes table aliases [52]."""
    s = select.copy()
    aliases = {}
    for t in _sources(s):
        if isinstance(t, exp.Table) and t.alias:
            aliases[t.alias] = t.name
            t.set("alias", None)
    if aliases:
        for col in s.find_all(exp.Column):
            if col.table in aliases:
                col.set("table", exp.to_identifier(aliases[col.table]))
    return s


_QUESTION = re.compile(r"""('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`)|\?""")


def _dollars(text: str) -> str:
    """``?`` placeholders (outside quotes) → ``$1``, ``$2``… in the order they are written."""
    n = [0]

    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(1)
        n[0] += 1
        return f"${n[0]}"

    return _QUESTION.sub(repl, text)


def _render_deep(tree: exp.Expression, collapsed: bool) -> str:
    text = _dollars(tree.sql(dialect="mysql", identify=True, comments=False))
    return text + COLLAPSED if collapsed else text


def _strip_hints(tree: exp.Expression, index_hints: bool) -> None:
    for sel in tree.find_all(exp.Select):
        sel.set("hint", None)
    if index_hints:
        for t in tree.find_all(exp.Table):
            t.set("hints", None)


def deep(
    sql: str,
    schema: Optional[str],
    profile: Profile,
    meta: Optional[MetaLookup] = None,
    autoparam: bool = True,
) -> Deep:
    """The deep form(s) of one statement in one database."""
    parsed = rsql.parse(sql)
    if parsed is None:
        return Deep((), Verdict("error", f"Query failed to parse: {sql.strip()}"))
    tree = parsed.copy()
    _strip_hints(tree, index_hints=True)
    tables = rsql._tables(tree)
    if isinstance(tree, exp.SetOperation):
        op = rsql._compound_name(tree)
        form = Form(_render_deep(tree, False))
        return Deep((form,), Verdict("unsupported", f"Unsupported compound select operator {op}"))
    assert isinstance(tree, exp.Select)
    verdict = _placeholder_verdict(tree, profile)
    if verdict.ok:
        verdict = rsql.static_verdict(tree)
    has_ph = any(True for _ in tree.find_all(exp.Placeholder))
    if profile.schema_aware_deep and not has_ph and meta is not None:
        if _pins_unique_key(tree, schema, meta):
            for key in ("order", "limit", "offset"):
                tree.set(key, None)
    forms = []
    server_text = ""
    for i, (variant, is_topk) in enumerate(_limit_variants(tree, profile)):
        info = _autoparameterise(variant, profile, autoparam)
        if i == 0 and verdict.ok:
            verdict = _post_lookup(variant, info, profile)
        if profile.schema_aware_deep:
            _qualify(variant, schema, meta)
        marker = info.collapsed and profile.collapsed_in_marker
        forms.append(Form(_render_deep(variant, marker), is_topk))
        server_text = _render_deep(_dealias(variant), marker)
    return Deep(tuple(forms), verdict, server_text, tables)


# ------------------------------------------------------------------------------ shallow
def _value_text(node: exp.Expression) -> object:
    node = _unparen(node)
    if isinstance(node, exp.Neg):
        return "-" + str(node.this.this)
    if isinstance(node, exp.Literal):
        return ("s:" if node.is_string else "n:") + str(node.this)
    return node.sql(dialect="mysql")


def shallow(sql: str, schema: Optional[str], profile: Profile) -> Shallow:
    """The shallow form of one statement (stable-260226+): every literal a parameter."""
    parsed = rsql.parse(sql)
    if parsed is None:
        return Shallow("", (), Verdict("error", f"Query failed to parse: {sql.strip()}"))
    tree = parsed.copy()
    _strip_hints(tree, index_hints=False)
    tables = rsql._tables(tree)
    verdict = YES
    for sel in tree.find_all(exp.Select):
        if sel.args.get("locks"):
            verdict = Verdict(
                "unsupported", "Row-level locking (FOR UPDATE, FOR SHARE) cannot be shallow-cached"
            )
        elif rsql._arg(sel, "into") is not None:
            verdict = Verdict("unsupported", "SELECT ... INTO cannot be shallow-cached")
    params: list[object] = []

    def repl(node: exp.Expression) -> exp.Expression:
        if (
            isinstance(node, exp.In)
            and node.expressions
            and not node.args.get("query")
            and all(_is_value(e) or _is_param(e) for e in node.expressions)
        ):
            values = {_value_text(e) for e in node.expressions if not _is_param(e)}
            params.append(tuple(sorted(values, key=str)))
            return exp.In(this=node.this, expressions=[exp.Placeholder()])
        if isinstance(node, (exp.Literal, exp.Boolean)) and not node.find_ancestor(exp.DataType):
            params.append(_value_text(node))
            return exp.Placeholder()
        if isinstance(node, exp.Null) and not isinstance(node.parent, exp.Is):
            params.append("NULL")
            return exp.Placeholder()
        return node

    shaped = tree.transform(repl, copy=True)
    probe = shaped.sql(dialect="mysql", comments=False)
    text = _dollars(probe)
    if profile.shallow_prepare_original:
        probe = rsql.normalise_placeholders(sql.strip().rstrip(";").strip())
    return Shallow(text, tuple(params), verdict, probe, tables)
