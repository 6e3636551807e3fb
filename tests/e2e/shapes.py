"""Generated SELECT shapes over the sandbox's `shop` schema, for the round-trip property test.

A :class:`Shape` is a statement template with literal slots, the literals of its first send,
fresh literals of the same kinds (and the same IN-list lengths, so ProxySQL gives both sends the
same digest) for its second send, and the set of *features* the generator used. The test's
expectation table is keyed by those features.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Callable, Union

from hypothesis import strategies as st

# --------------------------------------------------------------------------------------------
# Schema (rps_sandbox.mariadb seed) and realistic values, so that most first sends return rows
# (ProxySQL's digest table must show rows sent for the scheduler to consider a digest).

COUNTRIES = ["US", "DE", "FR", "GB", "ES", "IT", "NL", "SE"]
CATEGORIES = ["books", "games", "tools", "garden", "kitchen"]
STATUSES = ["new", "paid", "shipped", "delivered", "cancelled"]

# column type per (table, column); "n..." = nullable
TABLES: dict[str, list[tuple[str, str]]] = {
    "customers": [
        ("id", "int"),
        ("name", "str"),
        ("email", "str"),
        ("country", "str"),
        ("created_at", "date"),
        ("balance", "dec"),
        ("note", "nstr"),
    ],
    "products": [
        ("id", "int"),
        ("sku", "str"),
        ("name", "str"),
        ("category", "str"),
        ("price", "dec"),
        ("stock", "int"),
    ],
    "orders": [
        ("id", "int"),
        ("customer_id", "int"),
        ("status", "str"),
        ("created_at", "datetime"),
        ("total", "dec"),
    ],
    "order_items": [
        ("order_id", "int"),
        ("product_id", "int"),
        ("quantity", "int"),
        ("price", "dec"),
    ],
}

# Literal kinds. The fresh literal of a slot has the same kind (never the same value on purpose).
INT, NEGINT, DECIMAL, NEGDECIMAL, NUMSTR = "int", "negint", "decimal", "negdecimal", "numstr"
STRING, ODDSTRING = "string", "oddstring"
DATESTR, TYPED_DATE, DATETIMESTR, TYPED_TIMESTAMP = "date", "typed_date", "datetime", "typed_ts"
NULL = "null"

KINDS_BY_TYPE: dict[str, list[str]] = {
    "int": [INT, INT, INT, NEGINT, DECIMAL, NUMSTR],
    "dec": [DECIMAL, DECIMAL, NEGDECIMAL, INT],
    "str": [STRING, STRING, ODDSTRING],
    "nstr": [STRING, ODDSTRING],
    "date": [DATESTR, DATESTR, TYPED_DATE],
    "datetime": [DATETIMESTR, DATESTR, TYPED_TIMESTAMP],
}

_ODD_ALPHABET = list("ab'\"\\%_ é0\n\t;#-*/?")


def render_string(value: str, style: int) -> str:
    """A MariaDB string literal (default sql_mode: backslash escapes on)."""
    body = value.replace("\\", "\\\\")
    if style == 0:
        return "'" + body.replace("'", "''") + "'"
    if style == 1:
        return "'" + body.replace("'", "\\'") + "'"
    return '"' + body.replace('"', '""') + '"'


# Seeded values (rps_sandbox.mariadb._seed_rows): (table, column) -> value of row i, as text.
ROWS = {"customers": 200, "products": 100, "orders": 500, "order_items": 500}


def _date(days: int) -> str:
    return (datetime.date(2024, 1, 1) + datetime.timedelta(days=days)).isoformat()


def _stamp(i: int) -> str:
    t = datetime.datetime(2024, 2, 1, 8) + datetime.timedelta(hours=5 * i)
    return t.strftime("%Y-%m-%d %H:%M:%S")


SEEDED: dict[tuple[str, str], Callable[[int], str]] = {
    ("customers", "id"): str,
    ("customers", "name"): lambda i: f"Customer {i}",
    ("customers", "email"): lambda i: f"c{i}@example.com",
    ("customers", "country"): lambda i: COUNTRIES[i % len(COUNTRIES)],
    ("customers", "created_at"): _date,
    ("customers", "balance"): lambda i: f"{(i * 37) % 1000}.{i % 100:02d}",
    # NULL when i % 7 == 0; otherwise with a quote and a backslash: note 1 it's \ ok
    ("customers", "note"): lambda i: f"note {i} it's \\ ok",
    ("products", "id"): str,
    ("products", "sku"): lambda i: f"SKU-{i:04d}",
    ("products", "name"): lambda i: f"Product {i}",
    ("products", "category"): lambda i: CATEGORIES[i % len(CATEGORIES)],
    ("products", "price"): lambda i: f"{(i * 13) % 200}.99",
    ("products", "stock"): lambda i: str((i * 7) % 50),
    ("orders", "id"): str,
    ("orders", "customer_id"): lambda i: str((i * 11) % 200 + 1),
    ("orders", "status"): lambda i: STATUSES[i % len(STATUSES)],
    ("orders", "created_at"): _stamp,
    ("orders", "total"): lambda i: f"{(i * 29) % 900}.50",
    ("order_items", "order_id"): str,
    ("order_items", "product_id"): lambda i: str((i * 3) % 100 + 1),
    ("order_items", "quantity"): lambda i: "1",
    ("order_items", "price"): lambda i: f"{i % 90}.50",
}


@st.composite
def literal(draw: st.DrawFn, kind: str, table: str, column: str, row: int = 0) -> str:
    """One SQL literal of *kind* for a column: the value of seeded row *row* when the kind can
    spell it (so that conjuncts anchored on one row select that row), else an odd value."""
    if not row:
        row = draw(st.integers(1, ROWS[table]))
    v = SEEDED[(table, column)](row)
    number = v.replace(".", "", 1).isdigit()
    if kind == INT:
        return str(int(float(v))) if number else str(row)
    if kind == NEGINT:
        return str(-draw(st.integers(1, 100000)))
    if kind == DECIMAL:
        return (v if "." in v else f"{v}.00") if number else f"{row}.00"
    if kind == NEGDECIMAL:
        return f"-{draw(st.integers(1, 99999)) / 100:.2f}"
    if kind == NUMSTR:
        return f"'{v if number else row}'"
    if kind == STRING:
        return render_string(v, draw(st.integers(0, 2)))
    if kind == ODDSTRING:
        text = draw(st.text(st.sampled_from(_ODD_ALPHABET), max_size=8))
        return render_string(text, draw(st.integers(0, 2)))
    if kind == DATESTR:
        return f"'{v[:10]}'" if v[:4] == "2024" else f"'{_date(row)}'"
    if kind == TYPED_DATE:
        return f"DATE '{v[:10]}'" if v[:4] == "2024" else f"DATE '{_date(row)}'"
    stamp = v if len(v) == 19 else (f"{v} 00:00:00" if v[:4] == "2024" else _stamp(row))
    if kind == DATETIMESTR:
        return f"'{stamp}'"
    if kind == TYPED_TIMESTAMP:
        return f"TIMESTAMP '{stamp}'"
    if kind == NULL:
        return "NULL"
    raise AssertionError(kind)


def rare(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in *one_in* draws (not at the end hypothesis favours)."""
    return draw(st.integers(0, one_in - 1)) == one_in // 2


# --------------------------------------------------------------------------------------------
# Shapes


@dataclass(frozen=True)
class Slot:
    kind: str
    table: str
    column: str


Part = Union[str, Slot]


@dataclass
class Shape:
    """A statement template; ``first``/``fresh`` fill its slots for the first/second send."""

    parts: list[Part]
    first: list[str]
    fresh: list[str]
    features: frozenset[str]
    in_lengths: tuple[int, ...] = ()
    kinds: frozenset[str] = field(default_factory=frozenset)

    def render(self, values: list[str]) -> str:
        it = iter(values)
        return "".join(p if isinstance(p, str) else next(it) for p in self.parts)

    def __repr__(self) -> str:  # hypothesis prints whole batches: keep them readable
        return f"<{self.first_sql} | fresh: {self.fresh_sql}>"

    @classmethod
    def fixed(cls, first: str, fresh: str, *features: str) -> Shape:
        """A hand-written shape: the whole statement is one slot."""
        return cls([Slot("sql", "", "")], [first], [fresh], frozenset(features))

    @property
    def first_sql(self) -> str:
        return self.render(self.first)

    @property
    def fresh_sql(self) -> str:
        return self.render(self.fresh)


class _Builder:
    def __init__(self, draw: st.DrawFn, table: str) -> None:
        self.draw = draw
        self.table = table
        # anchor rows: anchored literals of the first send spell row `first_row`'s values,
        # those of the second send row `fresh_row`'s
        self.first_row = draw(st.integers(1, ROWS[table]))
        self.fresh_row = draw(st.integers(1, ROWS[table]))
        self.parts: list[Part] = []
        self.first: list[str] = []
        self.fresh: list[str] = []
        self.features: set[str] = set()
        self.kinds: set[str] = set()
        self.in_lengths: list[int] = []

    def text(self, s: str) -> None:
        self.parts.append(s)

    def slot(self, column: str, kind: str, table: str = "", anchored: bool = True) -> None:
        """A literal slot; *anchored*: spell the anchor rows' values (else random rows')."""
        table = table or self.table
        own = anchored and table == self.table
        self.parts.append(Slot(kind, table, column))
        self.first.append(self.draw(literal(kind, table, column, self.first_row if own else 0)))
        self.fresh.append(self.draw(literal(kind, table, column, self.fresh_row if own else 0)))
        self.kinds.add(kind)
        if kind in (TYPED_DATE, TYPED_TIMESTAMP):
            self.features.add("typed_literal")

    def value(self, column: str, ctype: str, anchored: bool = True) -> None:
        self.slot(column, self.draw(st.sampled_from(KINDS_BY_TYPE[ctype])), anchored=anchored)


# Conjunct kinds -> the feature each adds (None: nothing special about it).
CONJUNCTS = [
    "eq",
    "eq",
    "eq",
    "eq_swapped",
    "in",
    "in",
    "in",
    "range",
    "between",
    "ne",
    "not_in",
    "like",
    "is_null",
    "nullsafe_null",
    "nullsafe",
    "or",
    "expr",
    "lost_op",
    "const_cmp",
    "subquery",
]


def _conjunct(b: _Builder, kind: str) -> None:
    draw = b.draw
    columns = TABLES[b.table]
    col, ctype = draw(st.sampled_from(columns))
    if kind in ("is_null", "nullsafe_null") and b.table != "customers":
        kind = "eq"
    if kind in ("expr", "lost_op") and ctype not in ("int", "dec"):
        col, ctype = columns[0]  # every table starts with an INT column
    if kind == "like" and ctype not in ("str", "nstr"):
        strings = [c for c in columns if c[1] in ("str", "nstr")]
        if strings:
            col, ctype = draw(st.sampled_from(strings))
        else:
            kind = "eq"
    if kind == "eq":
        b.text(f"{col} = ")
        b.value(col, ctype)
    elif kind == "eq_swapped":
        b.features.add("swapped")
        b.value(col, ctype)
        b.text(f" = {col}")
    elif kind in ("in", "not_in"):
        # 1..4 each have their own digest (grouping_limit=3), 5.. share `IN (?,?,?,...)`
        n = draw(st.sampled_from([1, 2, 3, 4, 5] * 3 + list(range(6, 21))))
        b.in_lengths.append(n)
        b.features.add("not_in" if kind == "not_in" else f"in{min(n, 5)}")
        b.text(f"{col} {'NOT IN' if kind == 'not_in' else 'IN'} (")
        nullable = ctype == "nstr"
        for i in range(n):
            if i:
                b.text(", ")
            if i and nullable and rare(draw, 4):
                b.features.add("in_null")
                b.slot(col, NULL)
            else:
                b.value(col, ctype, anchored=i == 0)
        b.text(")")
    elif kind == "range":
        b.features.add("range")
        b.text(f"{col} {draw(st.sampled_from(['<', '>', '<=', '>=']))} ")
        b.value(col, ctype)
    elif kind == "between":
        b.features.add("range")
        b.text(f"{col} BETWEEN ")
        b.value(col, ctype)
        b.text(" AND ")
        b.value(col, ctype)
    elif kind == "ne":
        b.features.add("ne")
        b.text(f"{col} {draw(st.sampled_from(['<>', '!=']))} ")
        b.value(col, ctype)
    elif kind == "like":
        b.features.add("like")
        b.text(f"{col} LIKE ")
        b.value(col, ctype)
    elif kind == "is_null":
        b.text(f"note IS {draw(st.sampled_from(['', 'NOT ']))}NULL")
    elif kind == "nullsafe_null":
        b.features.add("nullsafe_null")
        b.text("note <=> NULL")
    elif kind == "nullsafe":
        b.features.add("nullsafe")
        b.text(f"{col} <=> ")
        b.value(col, ctype)
    elif kind == "or":
        b.features.add("or")
        col2, ctype2 = draw(st.sampled_from(columns))
        b.text(f"({col} = ")
        b.value(col, ctype)
        b.text(f" OR {col2} = ")
        b.value(col2, ctype2)
        b.text(")")
    elif kind == "expr":
        b.features.add("expr")  # a placeholder in an expression: col * ? = ?
        b.text(f"{col} * ")
        b.slot("quantity", INT, "order_items", anchored=False)  # always 1: rows stay selected
        b.text(" = ")
        b.value(col, ctype)
    elif kind == "lost_op":
        b.features.add("lost_op")  # ProxySQL drops the + / - : `col ? > ?`
        b.text(f"{col} {draw(st.sampled_from(['+', '-']))} ")
        b.slot(col, INT)
        b.text(f" {draw(st.sampled_from(['>', '<', '>=']))} ")
        b.value(col, ctype)
    elif kind == "const_cmp":
        b.features.add("const_cmp")  # WHERE 1 = 1 (the same literal twice: a true condition)
        value = str(draw(st.integers(0, 9)))
        b.parts += [Slot(INT, b.table, "id"), " = ", Slot(INT, b.table, "id")]
        b.first += [value, value]
        b.fresh += [value, value]
        b.kinds.add(INT)
    elif kind == "subquery":
        b.features.add("subquery")
        b.text(f"{columns[0][0]} IN (SELECT id FROM customers WHERE country = ")
        b.slot("country", STRING, "customers")
        b.text(")")
    else:  # pragma: no cover
        raise AssertionError(kind)


@st.composite
def shapes(draw: st.DrawFn) -> Shape:
    table = draw(st.sampled_from(sorted(TABLES)))
    columns = TABLES[table]
    b = _Builder(draw, table)
    names = [c for c, _ in columns]
    select = draw(st.sampled_from(["cols", "cols", "cols", "star", "agg", "group_no_agg"]))
    group_col = ""
    if select == "star":
        b.text("SELECT * FROM ")
    elif select in ("agg", "group_no_agg"):
        group_col = draw(st.sampled_from(names[1:]))
        if select == "agg":
            b.features.add("group_agg")
            b.text(f"SELECT {group_col}, COUNT(*) FROM ")
        else:
            b.features.add("group_no_agg")
            b.text(f"SELECT {group_col} FROM ")
    else:
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
        distinct = rare(draw, 8)
        if distinct:
            b.features.add("distinct")
        sel = ", ".join(chosen)
        if rare(draw, 12):
            b.features.add("select_literal")
            b.text(f"SELECT {'DISTINCT ' if distinct else ''}{sel}, ")
            b.slot(names[0], draw(st.sampled_from([INT, STRING])))
            b.text(" AS tag FROM ")
        else:
            b.text(f"SELECT {'DISTINCT ' if distinct else ''}{sel} FROM ")
    b.text(table)
    n = draw(st.sampled_from([1, 1, 1, 2, 2, 0, 3]))
    for i in range(n):
        b.text(" WHERE " if i == 0 else " AND ")
        _conjunct(b, draw(st.sampled_from(CONJUNCTS)))
    if group_col:
        b.text(f" GROUP BY {group_col}")
        if select == "agg" and rare(draw, 5):
            b.features.add("having")
            b.text(" HAVING COUNT(*) > ")
            b.slot("quantity", INT, "order_items", anchored=False)
    if rare(draw, 4):
        by = group_col or draw(st.sampled_from(names))
        b.text(f" ORDER BY {by}{draw(st.sampled_from(['', ' DESC', ' ASC']))}")
    if rare(draw, 8):
        b.features.add("limit")
        b.text(" LIMIT ")
        b.text(str(draw(st.integers(1, 50))))
        if draw(st.booleans()):
            b.features.add("offset")
            b.text(f" OFFSET {draw(st.integers(0, 20))}")
    if not group_col and rare(draw, 20):
        b.features.add("for_update")
        b.text(" FOR UPDATE")
    return Shape(
        b.parts,
        b.first,
        b.fresh,
        frozenset(b.features),
        tuple(b.in_lengths),
        frozenset(b.kinds),
    )
