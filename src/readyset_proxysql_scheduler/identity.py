"""Readyset's own identity for a digest: which `SHOW PROXIED QUERIES` entries are its statements,
which literals Readyset kept in them, and the ProxySQL pattern that routes only those variants.

A deep cache keeps some literals in its key (``cat = 5 AND stock > 8`` is cached as ``cat = $1
AND stock > 8``), so a digest text (``cat = ? AND stock > ?``) cannot name a cache that the
application's statements hit. Readyset records every statement it proxies, rewritten, with a
deterministic id (reference readyset-matching.md §1). While a digest is mirrored to Readyset,
its statements appear there; :func:`variants` finds them, ``CREATE CACHE FROM q_<id>`` makes the
caches, and :func:`route_pattern` writes the `match_pattern` that sends only those literal
variants to Readyset (the others stay on the source: no hop for nothing).

Matching is tolerant of how Readyset renders its text: case, whitespace, quoting, parentheses,
table qualifiers, ``AS``, comments, ``<>``/``!=``, a reversed comparison, ``*`` expanded to a
column list, ``IN (…)`` collapsed to ``= $n``, and a LIMIT/OFFSET it stripped. A ``?`` of the
digest matches a literal (kept) or a placeholder (parameterised).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Optional

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>/\*.*?\*/|--[^\n]*|\#[^\n]*)
  | (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<bq>`(?:[^`]|``)*`)
  | (?P<num>0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)
  | (?P<param>\?|\$\d+)
  | (?P<word>[^\W\d][\w$]*)  # \w, not \u0080-\uffff ranges: 10x cheaper to compile
  | (?P<op><=>|<=|>=|<>|!=|\|\||&&|.)
    """,
    re.VERBOSE | re.DOTALL,
)

_COMPARE_FLIP = {"=": "=", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_VALUE_WORDS = frozenset(("null", "true", "false"))
_NOT_CALLS = frozenset(
    "in exists not and or on using values from join where select any all some over as"
    " when then else by".split()
)
_BEFORE_VALUE = frozenset(
    "= != < > <= >= <=> + - * / % , ( and or not in like between then when else select by"
    " limit offset".split()
)
# A literal in the application's text, in ProxySQL's regex dialect (PCRE or RE2).
_VALUE = (
    r"(?:'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|-?\s*(?:0x[0-9a-f]+|\d+(?:\.\d*)?"
    r"(?:e[+-]?\d+)?|\.\d+)|null|true|false|[a-z_0-9]*'(?:[^'\\]|\\.|'')*')"
)
_EDGE = r"(?:\s|/\*.*?\*/)*"  # comments an ORM adds before or after the statement


@dataclass(frozen=True)
class Tok:
    kind: str  # word, func, str, num, param, op
    text: str  # words lowercased and unquoted; other tokens as written
    n: int = field(default=-1, compare=False)  # params: their position in the text

    @property
    def value(self) -> bool:
        return self.kind in ("str", "num", "param") or (
            self.kind == "word" and self.text in _VALUE_WORDS
        )


@dataclass(frozen=True)
class Proxied:
    """One row of SHOW PROXIED QUERIES."""

    query_id: str
    text: str
    supported: str = ""
    count: int = 0


@dataclass(frozen=True)
class Variant:
    """Statements of a digest that Readyset gives one identity."""

    query_id: str
    text: str  # Readyset's rewritten text (CREATE CACHE FROM it where the id is unknown)
    kept: tuple[Optional[str], ...]  # per `?` of the digest: the literal kept, None if a parameter
    count: int


def _raw_tokens(text: str) -> list[tuple[str, str]]:
    return [(m.lastgroup or "op", m.group()) for m in _TOKEN.finditer(text)]


def tokens(text: str) -> list[Tok]:
    """The normalised token stream both sides are compared in."""
    out: list[Tok] = []
    params = 0
    for kind, raw in _raw_tokens(text):
        if kind == "param":
            out.append(Tok(kind, raw, params))
            params += 1
            continue
        if raw == "(" and out and out[-1].kind == "word" and out[-1].text not in _NOT_CALLS:
            out[-1] = Tok("func", out[-1].text)  # a function's name, not a column's
        if kind in ("ws", "comment") or raw in ("(", ")", ";"):
            continue
        if kind == "bq":
            out.append(Tok("word", raw[1:-1].replace("``", "`").lower()))
        elif kind == "word":
            if raw.lower() == "as":
                continue
            out.append(Tok("word", raw.lower()))
        elif kind == "op":
            out.append(Tok("op", "!=" if raw == "<>" else raw))
        elif kind == "num" and out and out[-1].text == "-" and _unary(out):
            out[-1] = Tok("num", "-" + raw)
        else:
            out.append(Tok(kind, raw))
    return _reorder(_unqualify(out))


def _unary(out: list[Tok]) -> bool:
    before = out[-2] if len(out) >= 2 else None
    return before is None or before.text in _BEFORE_VALUE


def _unqualify(toks: list[Tok]) -> list[Tok]:
    """`shop.t.col` → `col`, `t.*` → `*`: Readyset qualifies columns and tables by itself from
    stable-260331."""
    out: list[Tok] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if (
            t.text == "."
            and out
            and out[-1].kind == "word"
            and i + 1 < len(toks)
            and (toks[i + 1].kind == "word" or toks[i + 1].text == "*")
        ):
            out[-1] = toks[i + 1]
            i += 2
            continue
        out.append(t)
        i += 1
    return out


def _reorder(toks: list[Tok]) -> list[Tok]:
    """`5 = col` → `col = 5`, `8 < col` → `col > 8` (deep caches swap them); `LIMIT a, b` →
    `LIMIT b OFFSET a`."""
    out = list(toks)
    for i in range(len(out) - 2):
        a, op, b = out[i], out[i + 1], out[i + 2]
        nxt = out[i + 3] if i + 3 < len(out) else None
        prev = out[i - 1] if i else None
        if (
            a.value
            and op.kind == "op"
            and op.text in _COMPARE_FLIP
            and b.kind == "word"
            and not b.value
            and (prev is None or prev.text in ("where", "and", "on", "having"))
            and (nxt is None or nxt.kind == "word")
        ):
            out[i], out[i + 1], out[i + 2] = b, Tok("op", _COMPARE_FLIP[op.text]), a
    for i in range(len(out) - 3):
        if out[i].text == "limit" and out[i + 2].text == "," and out[i + 1].value:
            out[i : i + 4] = [out[i], out[i + 3], Tok("word", "offset"), out[i + 1]]
    return out


def match(digest_text: str, proxied_text: str) -> Optional[tuple[Optional[str], ...]]:
    """Per `?` of the digest, the literal Readyset kept (None: a parameter), or None when the
    proxied statement is not one of the digest's."""
    if "..." in digest_text:
        return None  # a compressed list: its length is unknown
    d, p = tokens(digest_text), tokens(proxied_text)
    kept: dict[int, Optional[str]] = {}
    i = j = 0
    while i < len(d):
        t = d[i]
        if j >= len(p):
            if _optional_tail(d[i:]):
                kept.update((x.n, None) for x in d[i:] if x.kind == "param")
                return _ordered(kept)
            return None
        if t.kind == "op" and t.text == "*" and i and d[i - 1].text in ("select", "distinct"):
            # `*` expanded by Readyset into a column list: skip to the digest's next token
            following = d[i + 1] if i + 1 < len(d) else None
            while j < len(p) and (following is None or p[j] != following):
                if p[j].text != "*" and p[j].text != "," and (p[j].kind != "word" or p[j].value):
                    return None  # a column list holds column names only
                j += 1
            i += 1
            continue
        if t.kind == "word" and t.text == "in" and p[j].text == "=":
            # `col IN (?, ?)` collapsed by Readyset into `col = $1`
            k = i + 1
            values: list[Tok] = []
            while k < len(d) and d[k].kind == "param":
                values.append(d[k])
                k += 1
                if k < len(d) and d[k].text == ",":
                    k += 1
                else:
                    break
            if not values or j + 1 >= len(p) or p[j + 1].kind != "param":
                return None
            kept.update((v.n, None) for v in values)
            i, j = k, j + 2
            continue
        if t.kind == "param":
            other = p[j]
            if not other.value:
                return None
            kept[t.n] = None if other.kind == "param" else other.text
        elif t != p[j]:
            return None
        i += 1
        j += 1
    return _ordered(kept) if j == len(p) else None


def _ordered(kept: dict[int, Optional[str]]) -> tuple[Optional[str], ...]:
    return tuple(kept[n] for n in sorted(kept))


def _optional_tail(rest: Sequence[Tok]) -> bool:
    """A trailing `LIMIT ? [OFFSET ?]` that Readyset stripped before recording the statement."""
    texts = [t.text if t.kind != "param" else "?" for t in rest]
    return texts in (["limit", "?"], ["limit", "?", "offset", "?"], ["offset", "?"])


def variants(digest_text: str, entries: Iterable[Proxied]) -> list[Variant]:
    """The entries that are the digest's statements, most executed first (then by id)."""
    found: dict[str, Variant] = {}
    for e in entries:
        kept = match(digest_text, e.text)
        if kept is None:
            continue
        seen = found.get(e.query_id)
        if seen is None or e.count > seen.count:
            found[e.query_id] = Variant(e.query_id, e.text, kept, e.count)
    return sorted(found.values(), key=lambda v: (-v.count, v.query_id))


def route_pattern(digest_text: str, kept_sets: Sequence[Sequence[Optional[str]]]) -> str:
    """A case-insensitive regex (ProxySQL `match_pattern`, `re_modifiers = 'CASELESS'`) matching
    the application's statements of this digest whose kept literals are one of *kept_sets*."""
    alternatives = []
    for kept in dict.fromkeys(tuple(k) for k in kept_sets):
        alternatives.append(_pattern(digest_text, kept))
    return "^" + _EDGE + "(?:" + "|".join(alternatives) + ")" + _EDGE + ";?" + _EDGE + "$"


def _pattern(digest_text: str, kept: Sequence[Optional[str]]) -> str:
    parts: list[str] = []
    n = 0
    for kind, raw in _raw_tokens(digest_text):
        if kind in ("ws", "comment"):
            continue
        if kind == "param":
            value = kept[n] if n < len(kept) else None
            n += 1
            parts.append(_VALUE if value is None else _literal(value))
        else:
            parts.append(re.escape(raw))
    return r"\s*".join(parts)


def _literal(value: str) -> str:
    if value[:1] in ("'", '"'):
        inner = value[1:-1]
        return "(?:'" + re.escape(inner) + "'|\"" + re.escape(inner) + '")'
    if value.startswith("-"):
        return r"-\s*" + re.escape(value[1:])
    return re.escape(value)
