"""Turn a ProxySQL digest text into a query Readyset can be asked to cache.

ProxySQL's ``stats_mysql_query_digest.digest_text`` is not a query: it is the output of ProxySQL's
normaliser (literals became ``?``, whitespace collapsed, comments removed, long value lists
compressed, ...). :func:`translate` decides whether a digest text can be turned back into a
statement that means what the application ran, with ``?`` placeholders where the literals were,
and returns either :class:`Cacheable` (the text to put after ``EXPLAIN CREATE CACHE FROM`` /
``CREATE CACHE d_<digest> FROM``) or :class:`NotCacheable` (a short reason for the log).

The text is tokenised by a small tokenizer of our own (quotes, backquotes, comments, ``?``,
``...``); everything that is not rewritten below is kept byte for byte, because Readyset parses
it. Text that only *looks* like a placeholder or a comment (``?``, ``#``, ``--`` inside backquoted
identifiers or strings) is left alone, and keywords are matched in any case.

Why being cautious is cheap: a ProxySQL rule routes by digest, but Readyset matches the *real*
query text against its caches and proxies anything it has no cache for to the upstream. A wrong
translation therefore never returns wrong rows; it costs a useless cache and an extra hop. Rules
below that reject a digest do so because the translation is certainly useless, or because
Readyset would refuse it anyway (saving a round trip and giving a better log line).

Decisions
---------
Not cacheable (reason keyword in brackets):

* ``mysql-query_digests=false`` ["digests are disabled"]; empty text ["empty"].
* Truncation ["truncated"]: ProxySQL stores at most ``max_digest_length`` bytes (and its
  tokenizer writes at most ``max_query_length - 1``), so a text whose UTF-8 length reaches that
  limit may have been cut, even if it happens to look complete. A text that ends inside a quote,
  backquote or comment, with open parentheses, or with a cut multi-byte character is truncated too.
* More than one statement ["more than one statement"]: a ``;`` outside quotes (a single trailing
  ``;`` is dropped).
* Comment markers: ``#`` or ``-- `` outside quotes (ProxySQL always removes real ones, so Readyset
  would read the rest of the text as a comment) ["comment marker"]; a stray ``*/``
  ["comment terminator"].
* Not a plain SELECT ["not a SELECT"]: the first word (after any opening parentheses) must be
  ``SELECT``, or ``WITH`` whose main statement is a SELECT. ``UNION`` & co are left to Readyset.
* ``SELECT ... INTO`` ["INTO"]; locking reads ``FOR UPDATE`` / ``FOR SHARE`` (with or without
  ``NOWAIT`` / ``SKIP LOCKED``) and ``LOCK IN SHARE MODE`` ["locking read"];
  ``SQL_CALC_FOUND_ROWS`` ["SQL_CALC_FOUND_ROWS"], because a cached answer would break the
  following ``SELECT FOUND_ROWS()``.
* ``no_digits``: a ``?`` glued to identifier characters, a ``.`` or another ``?`` (``table_?``,
  ``t?.c?``, ``_utf??``), or a ``?`` inside a backquoted identifier: the digits of the identifier
  are lost ["no_digits"]. Without ``no_digits``, a glued ``?`` is only legal after a charset
  introducer (see rewrites); anything else is rejected ["glued"].
* An operator lost by ProxySQL ["operator lost by ProxySQL's digest"]: ProxySQL drops a ``+``/``-``
  that follows a word character and a space, so ``price - stock`` becomes ``price  stock`` (two
  spaces) and ``stock + 1`` becomes ``stock ?``. Any run of two or more spaces, and any ``?``
  that follows a space and a non-keyword word, a backquoted identifier, a ``)`` or another ``?``,
  is that quirk (no SQL puts a value right after those). (``price -stock`` becomes
  ``price stock``, which is indistinguishable from ``column alias``: not detectable.)
* ProxySQL's list compression outside an ``IN`` list: ``(?,?,?,...)`` in a function call or a
  tuple ["value list compressed"], and multi-row compression ``(...),(...),...``
  ["multi-row list compressed"]. The number of elided values is unknown there.
* Placeholders where Readyset does not accept them (reference: only WHERE and LIMIT/OFFSET, and the
  server refuses a parameterised LIMIT): in the select list, FROM / JOIN ... ON, GROUP BY, HAVING,
  ORDER BY, WINDOW, and LIMIT ["placeholder in <clause>"]. Digest texts never keep a LIMIT
  literal, so **every query with a LIMIT is rejected**, including Django's ``.get()`` (``LIMIT
  21``) and WordPress' ``LIMIT 1``: we cannot know the value and a cache for another value would
  never be hit (Readyset keeps LIMIT literals in its query identity). ``OFFSET ?`` alone is
  allowed (Readyset parameterises OFFSET). Placeholders in a subquery's WHERE are left to Readyset.
* A placeholder in WHERE that Readyset would not parameterise in the application's real query
  ["would not parameterise"]: Readyset turns literals into parameters only in top-level
  ``AND`` conjuncts ``col = ?``, ``? = col`` and ``col IN (?, ...)``. Ranges (``<``, ``>``,
  ``BETWEEN``), ``<>``, ``LIKE``, ``NOT IN``, ``<=>``, ``OR``, expressions (``a * ? = ?``,
  ``DATE(d) = ?``) and ``IN`` lists holding a ``NULL`` keep their literals there, so a cache made
  with a placeholder in their place never matches what the application sends: every routed
  query would be proxied. Placeholders inside a subquery are left to Readyset. Typed literals
  (``DATE ?``) likewise ["typed literal"]. Found by the round-trip property test.
* A comparison of two bare placeholders such as ``?=?`` (``WHERE 1=1``) ["constant comparison"]
  (the original scheduler skipped these too).
* A SELECT without any FROM (``SELECT @@version_comment``, ``SELECT DATABASE()``) ["FROM-less"]:
  Readyset refuses them ("FROM-less statement found").

Rewrites (everything else is kept verbatim):

* Comments kept by ``keep_comment`` (and optimizer hints ``/*+ */``) are removed; executable
  comments ``/*! ... */`` / ``/*M! ... */`` are replaced by their body (version number dropped).
* Charset introducers: ``N?``, ``X?``, ``B?``, ``_utf8mb4?``, ``_latin1 ?`` become ``?``.
* ``?-?-?`` (an unquoted ``2024-01-01``, i.e. arithmetic) becomes ``?`` only where it is a whole
  comparison operand (``col = ?-?-?``, ``BETWEEN ?-?-? AND ?-?-?``), as the original scheduler did;
  elsewhere it is left for Readyset to judge.
* ``IN``-lists: ``IN (?,?,?,...)`` loses its ``,...``, keeping the ``grouping_limit`` values that
  ProxySQL kept. Readyset's deep caches turn an ``IN`` list into lookup keys, so one cache serves
  every list length on that column. ProxySQL gives lists of length ``1 .. grouping_limit+1``
  each their own digest, and only longer lists share the compressed one, so a rule for one
  digest routes one length: :func:`sibling_digest_texts` lists the digest texts of the other
  lengths, and the scheduler adds rules for them (scheduler.in_list_siblings).
* ``replace_null``: ``IS ?`` / ``IS NOT ?`` can only have been ``IS [NOT] NULL`` (``TRUE``,
  ``FALSE`` and ``UNKNOWN`` are never replaced) and get their ``NULL`` back, whatever the setting
  says (it may have changed since the digest was recorded). Any other ``?`` is treated as a
  value placeholder: ``col = ?`` may have been the (always false) ``col = NULL``, but one digest
  covers both spellings and the value form is the one worth caching; Readyset still answers the
  real query itself. A ``NULL`` that became ``?`` in the select list makes the digest
  not cacheable (placeholder in select list).

``lowercase``: the digest keeps no original case. Keywords, function, column and alias names are
case-insensitive in MySQL, string literals are already ``?``; only database and table names are
case-sensitive (``lower_case_table_names=0``, the Linux default). We translate anyway: if the
real table is ``Users``, Readyset answers the EXPLAIN with an error (unknown table) and the
digest is recorded as unsupported; if both ``users`` and ``Users`` exist, the cache is built on
``users`` and queries on ``Users`` are simply proxied by Readyset. Either way no wrong result, and
the (much more common) all-lowercase schemas work.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Callable, ClassVar, Optional, Union

from readyset_proxysql_scheduler.profiles import CONSERVATIVE, Profile

__all__ = [
    "Cacheable",
    "DigestSettings",
    "NotCacheable",
    "sibling_digest_texts",
    "translate",
]


# --------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class DigestSettings:
    """ProxySQL's ``mysql-query_digests*`` variables that shape a digest text."""

    enabled: bool = True
    lowercase: bool = False
    replace_null: bool = False
    no_digits: bool = False
    keep_comment: bool = False
    max_digest_length: int = 2048
    grouping_limit: int = 3
    groups_grouping_limit: int = 10
    max_query_length: int = 65000

    # field name -> (ProxySQL variable, minimum, maximum); bounds only for ints.
    _VARIABLES: ClassVar[dict[str, tuple[str, int, int]]] = {
        "enabled": ("mysql-query_digests", 0, 0),
        "lowercase": ("mysql-query_digests_lowercase", 0, 0),
        "replace_null": ("mysql-query_digests_replace_null", 0, 0),
        "no_digits": ("mysql-query_digests_no_digits", 0, 0),
        "keep_comment": ("mysql-query_digests_keep_comment", 0, 0),
        "max_digest_length": ("mysql-query_digests_max_digest_length", 16, 1048576),
        "grouping_limit": ("mysql-query_digests_grouping_limit", 1, 2089),
        "groups_grouping_limit": ("mysql-query_digests_groups_grouping_limit", 0, 2089),
        "max_query_length": ("mysql-query_digests_max_query_length", 16, 1048576),
    }
    VARIABLE_NAMES: ClassVar[tuple[str, ...]] = tuple(v[0] for v in _VARIABLES.values())

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> DigestSettings:
        """Build settings from ``global_variables`` rows (name -> value).

        Missing, unknown or unparsable values keep the ProxySQL 2.7 default.
        """
        defaults = cls()
        values: dict[str, object] = {}
        for f in fields(cls):
            name, low, high = cls._VARIABLES[f.name]
            raw = variables.get(name)
            if raw is None:
                continue
            default = getattr(defaults, f.name)
            parsed: object
            if isinstance(default, bool):
                parsed = _parse_bool(raw)
            else:
                parsed = _parse_int(raw, low, high)
            if parsed is not None:
                values[f.name] = parsed
        return cls(**values)  # type: ignore[arg-type]


def _parse_bool(raw: str) -> Optional[bool]:
    text = str(raw).strip().lower()
    if text in ("true", "1", "on", "yes"):
        return True
    if text in ("false", "0", "off", "no"):
        return False
    return None


def _parse_int(raw: str, low: int, high: int) -> Optional[int]:
    try:
        value = int(str(raw).strip())
    except ValueError:
        return None
    return value if low <= value <= high else None


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Cacheable:
    """The statement to send to Readyset (after ``USE <schema>``)."""

    query: str


@dataclass(frozen=True)
class NotCacheable:
    """Why the digest text cannot be turned into a cacheable query.

    `identity`: the digest lost only literals that Readyset keeps in its cache key (a range
    beside an equality, a select-list literal, an order-less LIMIT on a Top K release, …), so
    Readyset's own record of the statements (SHOW PROXIED QUERIES) can still name caches that
    serve them, literal variant by literal variant (identity.py)."""

    reason: str
    identity: bool = False


class _Reject(Exception):
    def __init__(self, reason: str, identity: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.identity = identity


# --------------------------------------------------------------------------------------------
# Tokenizer

_WS = "ws"
_WORD = "word"
_BQ = "bq"  # `backquoted identifier`
_STR = "str"  # 'string' or "string" (only survive in executable comment bodies)
_COMMENT = "comment"
_SEP = "sep"  # where a comment was removed
_PARAM = "param"
_ELLIPSIS = "ellipsis"
_OP = "op"


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper()


_WHITESPACE = " \t\n\r"
_WORD_ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$_")
_MULTI_OPS = ("<=>", "->>", "<=", ">=", "<>", "!=", ":=", "->", "||", "&&", "<<", ">>")


def _is_word_char(c: str) -> bool:
    return c in _WORD_ASCII or c >= "\x80"


def _tokenize(text: str) -> list[_Tok]:
    """Split *text*; raise :class:`_Reject` for unterminated quotes/comments and comment markers."""
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _WHITESPACE:
            j = i
            while j < n and text[j] in _WHITESPACE:
                j += 1
            toks.append(_Tok(_WS, text[i:j]))
            i = j
        elif _is_word_char(c):
            j = i
            while j < n and _is_word_char(text[j]):
                j += 1
            toks.append(_Tok(_WORD, text[i:j]))
            i = j
        elif c in "`'\"":
            j = _end_of_quoted(text, i)
            if j < 0:
                what = "backquoted identifier" if c == "`" else "string"
                raise _Reject(f"truncated digest text (unterminated {what})")
            toks.append(_Tok(_BQ if c == "`" else _STR, text[i:j]))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise _Reject("truncated digest text (unterminated comment)")
            toks.append(_Tok(_COMMENT, text[i : j + 2]))
            i = j + 2
        elif text.startswith("*/", i):
            raise _Reject("unmatched comment terminator */ (executable comment residue)")
        elif c == "#" or (text.startswith("--", i) and (i + 2 == n or text[i + 2] in _WHITESPACE)):
            raise _Reject(f"comment marker {c if c == '#' else '--'} outside quotes")
        elif c == "?":
            toks.append(_Tok(_PARAM, "?"))
            i += 1
        elif text.startswith("...", i):
            toks.append(_Tok(_ELLIPSIS, "..."))
            i += 3
        else:
            for op in _MULTI_OPS:
                if text.startswith(op, i):
                    toks.append(_Tok(_OP, op))
                    i += len(op)
                    break
            else:
                toks.append(_Tok(_OP, c))
                i += 1
    return toks


def _end_of_quoted(text: str, start: int) -> int:
    """Index just past the quoted token opening at *start*, or -1 if it never closes."""
    quote = text[start]
    i, n = start + 1, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and quote != "`":
            i += 2
            continue
        if c == quote:
            if i + 1 < n and text[i + 1] == quote:  # doubled quote
                i += 2
                continue
            return i + 1
        i += 1
    return -1


def _render(toks: Sequence[_Tok]) -> str:
    return "".join(t.text for t in toks)


# --------------------------------------------------------------------------------------------
# Keyword tables

_COMPARISON_OPS = frozenset(("=", "<>", "!=", "<", "<=", ">", ">=", "<=>"))
_ARITHMETIC_OPS = frozenset(("+", "-", "*", "/", "%", "^", "&", "|", "<<", ">>", "DIV", "MOD"))

# Words after which "<space>?" is legitimate SQL; after any other word it is the sign quirk.
_VALUE_KEYWORDS = frozenset(
    """
    SELECT DISTINCT DISTINCTROW ALL ANY SOME AND OR XOR NOT IS LIKE RLIKE REGEXP BETWEEN IN
    WHEN THEN ELSE CASE LIMIT OFFSET INTERVAL DATE TIME TIMESTAMP BINARY ESCAPE DIV MOD BY WHERE
    HAVING ON SEPARATOR AGAINST USING RETURN ELSEIF SET VALUES VALUE DEFAULT LEADING TRAILING
    BOTH FROM FOR ROWS RANGE HIGH_PRIORITY STRAIGHT_JOIN SQL_SMALL_RESULT SQL_BIG_RESULT
    SQL_BUFFER_RESULT SQL_NO_CACHE SQL_CACHE SQL_CALC_FOUND_ROWS EXISTS SOUNDS MEMBER OF UNION
    EXCEPT INTERSECT WITH RETURNING PATH
    """.split()
)

_CHARSETS = frozenset(
    """
    armscii8 ascii big5 binary cp1250 cp1251 cp1256 cp1257 cp850 cp852 cp866 cp932 dec8
    eucjpms euckr gb18030 gb2312 gbk geostd8 greek hebrew hp8 keybcs2 koi8r koi8u latin1 latin2
    latin5 latin7 macce macroman sjis swe7 tis620 ucs2 ujis utf16 utf16le utf32 utf8 utf8mb3
    utf8mb4
    """.split()
)

_TYPED_LITERALS = frozenset(("DATE", "TIME", "TIMESTAMP"))

_STATEMENT_WORDS = frozenset(("SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "TABLE", "VALUES"))

# Query-level keywords that open a clause; value = clause name used in reasons.
_CLAUSES = {
    "SELECT": "select list",
    "FROM": "FROM clause",
    "JOIN": "FROM clause",
    "STRAIGHT_JOIN": "FROM clause",
    "USING": "FROM clause",
    "ON": "JOIN ... ON",
    "WHERE": "WHERE",
    "GROUP": "GROUP BY",
    "HAVING": "HAVING",
    "WINDOW": "WINDOW",
    "ORDER": "ORDER BY",
    "LIMIT": "LIMIT",
    "UNION": "compound",
    "INTERSECT": "compound",
    "EXCEPT": "compound",
}
_PLACEHOLDER_OK = frozenset(("WHERE", "OFFSET"))


def _is_introducer(word: str) -> bool:
    w = word.lower()
    return w in ("n", "x", "b") or (w.startswith("_") and w[1:] in _CHARSETS)


# --------------------------------------------------------------------------------------------
# Token-list helpers


def _sig(toks: Sequence[_Tok]) -> list[int]:
    """Indexes of significant tokens (not whitespace, not removed-comment markers)."""
    return [i for i, t in enumerate(toks) if t.kind not in (_WS, _SEP)]


def _prev_sig(toks: Sequence[_Tok], i: int) -> Optional[_Tok]:
    j = i - 1
    while j >= 0 and toks[j].kind in (_WS, _SEP):
        j -= 1
    return toks[j] if j >= 0 else None


def _next_sig_index(toks: Sequence[_Tok], i: int) -> int:
    j = i + 1
    while j < len(toks) and toks[j].kind in (_WS, _SEP):
        j += 1
    return j


def _next_sig(toks: Sequence[_Tok], i: int) -> Optional[_Tok]:
    j = _next_sig_index(toks, i)
    return toks[j] if j < len(toks) else None


def _is_word(tok: Optional[_Tok], *words: str) -> bool:
    return tok is not None and tok.kind == _WORD and tok.upper in words


def _is_op(tok: Optional[_Tok], ops: frozenset[str]) -> bool:
    return tok is not None and (
        (tok.kind == _OP and tok.text in ops) or (tok.kind == _WORD and tok.upper in ops)
    )


# --------------------------------------------------------------------------------------------
# Passes


def _strip_comments(toks: list[_Tok]) -> list[_Tok]:
    """Remove ordinary comments, unwrap executable ones, keep single spaces where they were."""
    expanded: list[_Tok] = []
    for t in toks:
        if t.kind != _COMMENT:
            expanded.append(t)
            continue
        expanded.append(_Tok(_SEP, ""))
        body = t.text[2:-2]
        if body.startswith("!") or body.startswith("M!"):
            body = body[body.index("!") + 1 :].lstrip("0123456789")
            # (no comment inside: the body ends at the first */, so a /* in it is unterminated)
            expanded.extend(_tokenize(" ".join(body.split())))
            expanded.append(_Tok(_SEP, ""))
    out: list[_Tok] = []
    pending = False
    for t in expanded:
        if t.kind == _SEP:
            pending = True
            continue
        if pending:
            pending = False
            if t.kind == _WS:
                if not out or out[-1].kind == _WS:
                    continue
            elif out and out[-1].kind != _WS:
                out.append(_Tok(_WS, " "))
        out.append(t)
    while out and out[0].kind == _WS:
        out.pop(0)
    while out and out[-1].kind == _WS:
        out.pop()
    return out


def _check_structure(toks: list[_Tok]) -> list[_Tok]:
    depth = 0
    for t in toks:
        if t.kind == _OP and t.text == "(":
            depth += 1
        elif t.kind == _OP and t.text == ")":
            depth -= 1
            if depth < 0:
                raise _Reject("unbalanced parentheses")
    if depth > 0:
        raise _Reject("truncated digest text (unbalanced parentheses)")
    semis = [i for i, t in enumerate(toks) if t.kind == _OP and t.text == ";"]
    if semis:
        last = _sig(toks)[-1]
        if semis != [last]:
            raise _Reject("more than one statement")
        toks = toks[:last]
        while toks and toks[-1].kind == _WS:
            toks.pop()
    return toks


def _check_statement(toks: list[_Tok]) -> None:
    sig = [toks[i] for i in _sig(toks)]
    k = 0
    while k < len(sig) and sig[k].kind == _OP and sig[k].text == "(":
        k += 1
    if k == len(sig) or sig[k].kind != _WORD:
        raise _Reject("not a SELECT statement")
    first = sig[k].upper
    if first == "WITH":
        depth = 0
        for t in sig[k + 1 :]:
            if t.kind == _OP and t.text == "(":
                depth += 1
            elif t.kind == _OP and t.text == ")":
                depth -= 1
            elif depth == 0 and t.kind == _WORD and t.upper in _STATEMENT_WORDS:
                first = t.upper
                break
    if first != "SELECT":
        raise _Reject(f"not a SELECT statement ({first})")
    for i, t in enumerate(sig):
        if t.kind != _WORD:
            continue
        word = t.upper
        nxt = sig[i + 1].upper if i + 1 < len(sig) else ""
        if word == "INTO":
            raise _Reject("SELECT ... INTO")
        if word == "FOR" and nxt in ("UPDATE", "SHARE"):
            raise _Reject(f"locking read (FOR {nxt})")
        if word == "LOCK" and [s.upper for s in sig[i + 1 : i + 4]] == ["IN", "SHARE", "MODE"]:
            raise _Reject("locking read (LOCK IN SHARE MODE)")
        if word == "SQL_CALC_FOUND_ROWS":
            raise _Reject("SQL_CALC_FOUND_ROWS (FOUND_ROWS() needs the real execution)")


def _glued(tok: Optional[_Tok]) -> bool:
    return tok is not None and (
        tok.kind in (_WORD, _PARAM) or (tok.kind == _OP and tok.text == ".")
    )


def _rewrite_glued(toks: list[_Tok], settings: DigestSettings, profile: Profile) -> list[_Tok]:
    """Charset introducers -> ``?``; reject other ``?`` glued to identifiers (``no_digits``).

    A shallow cache's identity is the application's text with its introducer, which the
    digest has lost the spelling of (``_utf8mb4 'x'`` and ``_utf8mb4'x'`` both give ``_utf8mb4?``).
    """
    if settings.no_digits:
        for i, t in enumerate(toks):
            if t.kind == _BQ and "?" in t.text:
                raise _Reject(
                    "digits in identifiers replaced by ? (mysql-query_digests_no_digits): " + t.text
                )
            if t.kind == _PARAM and (
                _glued(toks[i - 1] if i else None)
                or _glued(toks[i + 1] if i + 1 < len(toks) else None)
            ):
                lo, hi = i, i + 1
                while lo > 0 and _glued(toks[lo - 1]):
                    lo -= 1
                while hi < len(toks) and _glued(toks[hi]):
                    hi += 1
                raise _Reject(
                    "digits in identifiers replaced by ? (mysql-query_digests_no_digits): "
                    + _render(toks[lo:hi])
                )
    out: list[_Tok] = []
    for i, t in enumerate(toks):
        if t.kind != _PARAM:
            out.append(t)
            continue
        after = toks[i + 1] if i + 1 < len(toks) else None
        before = out[-1] if out else None
        if _glued(after):
            raise _Reject(f"placeholder glued to identifier: ?{after.text if after else ''}")
        if _glued(before):
            assert before is not None
            if before.kind == _WORD and _is_introducer(before.text):
                if len(out) >= 2 and _glued(out[-2]):
                    raise _Reject(f"placeholder glued to identifier: {before.text}?")
                _no_introducer_in_shallow(profile, before.text)
                out.pop()
            else:
                raise _Reject(f"placeholder glued to identifier: {before.text}?")
        elif (
            before is not None
            and before.kind == _WS
            and len(out) >= 2
            and out[-2].kind == _WORD
            and out[-2].text.startswith("_")
            and _is_introducer(out[-2].text)
        ):
            _no_introducer_in_shallow(profile, out[-2].text)
            del out[-2:]
        out.append(t)
    return out


def _no_introducer_in_shallow(profile: Profile, word: str) -> None:
    if profile.shallow:
        raise _Reject(f"charset introducer ({word}?): a shallow cache keys on its exact spelling")


def _check_lost_operator(toks: list[_Tok]) -> None:
    for i, t in enumerate(toks):
        if t.kind == _WS and len(t.text) > 1:
            context = _render(toks[max(0, i - 1) : i + 2])
            raise _Reject(f"operator lost by ProxySQL's digest ({context!r})")
        if t.kind == _PARAM and i >= 2 and toks[i - 1].kind == _WS:
            prev = toks[i - 2]
            if (
                (prev.kind == _WORD and prev.upper not in _VALUE_KEYWORDS)
                or prev.kind in (_BQ, _PARAM)
                or (prev.kind == _OP and prev.text == ")")
            ):
                raise _Reject(f"operator lost by ProxySQL's digest ({prev.text + ' ?'!r})")


def _open_paren_is_in_list(toks: list[_Tok], i: int) -> bool:
    prev = _prev_sig(toks, i)
    return _is_word(prev, "IN")


def _rewrite_ellipses(toks: list[_Tok]) -> list[_Tok]:
    """Drop ``,...`` from scalar IN lists; reject every other ProxySQL list compression."""
    sig = [toks[i] for i in _sig(toks)]
    for a, b, c in zip(sig, sig[1:], sig[2:]):
        if a.text == ")" and b.text == "," and c.kind == _ELLIPSIS:
            raise _Reject(
                "multi-row list compressed by ProxySQL (mysql-query_digests_groups_grouping_limit)"
            )
    stack: list[bool] = []  # for each open paren: is it an IN list?
    drop: set[int] = set()
    for i, t in enumerate(toks):
        if t.kind == _OP and t.text == "(":
            stack.append(_open_paren_is_in_list(toks, i))
        elif t.kind == _OP and t.text == ")":
            stack.pop()
        elif t.kind == _ELLIPSIS:
            j = i - 1
            while j >= 0 and toks[j].kind == _WS:
                j -= 1
            comma = j
            k = comma - 1
            while k >= 0 and toks[k].kind == _WS:
                k -= 1
            before = toks[k] if k >= 0 and comma >= 0 else None
            if comma < 0 or toks[comma].text != "," or before is None:
                raise _Reject("value list compressed by ProxySQL in an unknown position")
            after = _next_sig(toks, i)
            # (a `(...),...` after a list is multi-row compression, refused above)
            if (
                not stack
                or not stack[-1]
                or before.kind != _PARAM
                or after is None
                or after.text not in ",)"
            ):
                raise _Reject(
                    "value list compressed by ProxySQL outside an IN list "
                    "(mysql-query_digests_grouping_limit)"
                )
            drop.update(range(comma, i + 1))
    return [t for i, t in enumerate(toks) if i not in drop]


def _rewrite_values(toks: list[_Tok], settings: DigestSettings, profile: Profile) -> list[_Tok]:
    """Typed literals, ``IS [NOT] ?`` under replace_null, ``?-?-?`` comparison operands.

    A shallow cache keeps ``?-?-?`` as it is: the application's unquoted ``2024-01-01`` is
    arithmetic whose three numbers each become a parameter.
    """
    out: list[_Tok] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind == _PARAM and len(out) >= 2 and out[-1].kind == _WS:
            word = out[-2]
            if _is_word(word, *_TYPED_LITERALS) and _starts_operand(_prev_sig(out, len(out) - 2)):
                raise _Reject(
                    f"typed literal ({word.upper} ?): Readyset keeps it as a literal, so a cache"
                    " made from the digest would never match the application's queries"
                )
            elif _is_word(word, "IS") or (
                _is_word(word, "NOT")
                and len(out) >= 4
                and out[-3].kind == _WS
                and _is_word(out[-4], "IS")
            ):
                lower = settings.lowercase or word.text.islower()
                out.append(_Tok(_WORD, "null" if lower else "NULL"))
                i += 1
                continue
        if t.kind == _PARAM and not profile.shallow and _is_date_arithmetic(toks, i):
            out.append(t)
            i += 5
            continue
        out.append(t)
        i += 1
    return out


def _starts_operand(prev: Optional[_Tok]) -> bool:
    """Whether a value may start after *prev* (an operator, ``(``, ``,`` or a keyword)."""
    if prev is None:
        return True
    if prev.kind == _OP:
        return prev.text != ")"
    return prev.kind == _WORD and prev.upper in _VALUE_KEYWORDS


def _is_date_arithmetic(toks: list[_Tok], i: int) -> bool:
    seq = toks[i : i + 5]
    if [x.kind for x in seq] != [_PARAM, _OP, _PARAM, _OP, _PARAM] or any(
        x.text != "-" for x in seq[1::2]
    ):
        return False
    before = _prev_sig(toks, i)
    after = _next_sig(toks, i + 4)
    if i > 0 and toks[i - 1].kind == _OP and toks[i - 1].text in _ARITHMETIC_OPS:
        return False
    if i + 5 < len(toks) and toks[i + 5].kind == _OP and toks[i + 5].text in _ARITHMETIC_OPS:
        return False
    if _is_op(before, _COMPARISON_OPS) or _is_op(after, _COMPARISON_OPS):
        return True
    if _is_word(before, "BETWEEN"):
        return True
    if _is_word(before, "AND"):
        # the AND of "BETWEEN <operand> AND ?-?-?": walk back over one operand to BETWEEN
        j = i - 1
        while j >= 0 and toks[j].kind in (_WS, _SEP):
            j -= 1
        j -= 1  # skip the AND
        while j >= 0:
            x = toks[j]
            if _is_word(x, "BETWEEN"):
                return True
            if (x.kind == _OP and x.text in ("(", ")", ",")) or _is_op(x, _COMPARISON_OPS):
                return False
            if _is_word(x, "AND", "OR", "WHERE", "ON", "NOT", "XOR", "HAVING"):
                return False
            j -= 1
    return False


def _check_constant_comparison(toks: list[_Tok]) -> None:
    sig = _sig(toks)
    for a, b, c in zip(sig, sig[1:], sig[2:]):
        if (
            toks[a].kind == _PARAM
            and toks[b].kind == _OP
            and toks[b].text in _COMPARISON_OPS
            and toks[c].kind == _PARAM
        ):
            before = _prev_sig(toks, a)
            after = _next_sig(toks, c)
            if not _is_op(before, _ARITHMETIC_OPS) and not _is_op(after, _ARITHMETIC_OPS):
                raise _Reject(f"constant comparison ({_render(toks[a : c + 1])})", True)


@dataclass
class _Frame:
    query: bool  # a (sub)query, as opposed to an expression's parentheses
    top: bool  # the statement itself, or one of its parenthesised UNION operands
    clause: str = "start"
    ordered: bool = False  # an ORDER BY came before


def _check_placeholders(toks: list[_Tok], profile: Profile) -> tuple[bool, Optional[_Reject]]:
    """Whether there is a FROM, and the first placeholder the profile's caches do not serve.

    Shallow caches make every literal a parameter, so a ``?`` is fine anywhere. Deep caches
    parameterise WHERE (judged later) and OFFSET, and serve any literal LIMIT from a ``LIMIT ?``
    cache where the LIMIT is stripped before the lookup (:meth:`Profile.limit_served`).
    """
    frames: list[_Frame] = [_Frame(True, True)]
    has_from = False
    problem: Optional[_Reject] = None
    for i, t in enumerate(toks):
        if t.kind in (_WS, _SEP):
            continue
        query = next(f for f in reversed(frames) if f.query)
        if t.kind == _OP and t.text == "(":
            j = _next_sig_index(toks, i)
            while j < len(toks) and toks[j].kind == _OP and toks[j].text == "(":
                j = _next_sig_index(toks, j)
            nxt = toks[j] if j < len(toks) else None
            top = query.top and query.clause in ("start", "UNION", "INTERSECT", "EXCEPT")
            frames.append(_Frame(_is_word(nxt, "SELECT", "WITH"), top))
            continue
        if t.kind == _OP and t.text == ")":
            frames.pop()
            continue
        if t.kind == _WORD and frames[-1].query:
            word = t.upper
            if word in _CLAUSES:
                query.clause = word
                query.ordered = query.ordered or word == "ORDER"
                has_from = has_from or (word == "FROM" and query.top)
            elif word == "OFFSET" and query.clause == "LIMIT":
                query.clause = "OFFSET"
            elif word == "WITH" and query.clause == "start":
                query.clause = "WITH"
        elif (
            t.kind == _PARAM
            and query.clause not in _PLACEHOLDER_OK
            and not profile.shallow
            and problem is None
        ):
            if query.clause == "LIMIT" and query.top:
                if profile.limit_served(query.ordered):
                    continue
                problem = _Reject(
                    f"placeholder in an order-less LIMIT (Readyset {profile.key} keeps a"
                    " literal LIMIT in the cache key: one cache per LIMIT value)",
                    True,
                )
                continue
            where = _CLAUSES.get(query.clause, query.clause)
            problem = _Reject(f"placeholder in {where}{_deep(profile)}", True)
    return has_from, problem


def _deep(profile: Profile) -> str:
    return f" (deep caches of Readyset {profile.key} keep that literal)"


# Words that end a top-level WHERE clause.
_AFTER_WHERE = frozenset(
    "GROUP HAVING ORDER LIMIT OFFSET WINDOW FOR LOCK UNION INTERSECT EXCEPT".split()
)


def _check_where_parameters(toks: list[_Tok], profile: Profile) -> None:
    """Reject placeholders in WHERE that a deep cache would not parameterise in the real query.

    Readyset's deep rewrite turns a literal into a parameter only in a top-level WHERE conjunct
    ``col = lit``, ``lit = col`` or ``col IN (lit, ...)``, and in range conjuncts (``col < lit``)
    from stable-240425 when no equality stands beside them, unless mixed comparisons are on
    (reference readyset.md §7.2, §7.6). A cache made from ``price LIKE ?`` has a parameter where
    the application's ``price LIKE 'a%'`` keeps its literal: the two never match, every routed
    query is proxied, and the cache is dead weight. Conjuncts whose placeholders sit inside a
    subquery are left for Readyset to judge. Shallow caches parameterise everything.
    """
    if profile.shallow:
        return
    sig = [t for t in toks if t.kind not in (_WS, _SEP)]
    depth = 0
    start = None
    where: list[_Tok] = []
    for i, t in enumerate(sig):
        if t.kind == _OP and t.text == "(":
            depth += 1
        elif t.kind == _OP and t.text == ")":
            depth -= 1
        elif depth == 0 and t.kind == _WORD and t.upper == "WHERE" and start is None:
            start = i + 1
        elif depth == 0 and start is not None and t.kind == _WORD and t.upper in _AFTER_WHERE:
            where = sig[start:i]
            break
    else:
        if start is not None:
            where = sig[start:]
    kinds: set[str] = set()
    _check_conjuncts(where, kinds)
    if "range" in kinds:
        if not profile.ranges_parameterised():
            raise _Reject(
                f"range placeholder (Readyset {profile.key} keeps range literals; ranges are"
                " parameterised from stable-240425)",
                True,
            )
        if "equality" in kinds and not profile.mixed_comparisons:
            raise _Reject(
                "equality and range placeholders together (Readyset parameterises only the"
                " equality unless --feature-mixed-comparisons is on)",
                True,
            )


def _check_conjuncts(where: list[_Tok], kinds: set[str]) -> None:
    conjunct: list[_Tok] = []
    depth = 0
    between = False
    for t in where + [_Tok(_WORD, "AND")]:
        if t.kind == _OP and t.text in "()":
            depth += 1 if t.text == "(" else -1
        if depth == 0 and t.kind == _WORD and t.upper == "BETWEEN":
            between = True
        elif depth == 0 and t.kind == _WORD and t.upper == "AND":
            if between:
                between = False
            else:
                _check_conjunct(conjunct, kinds)
                conjunct = []
                continue
        conjunct.append(t)


def _check_conjunct(conjunct: list[_Tok], kinds: set[str]) -> None:
    if not any(t.kind == _PARAM for t in conjunct):
        return
    if any(t.kind == _WORD and t.upper in ("SELECT", "WITH") for t in conjunct):
        return  # a subquery: Readyset decides
    if (
        len(conjunct) >= 2
        and conjunct[0].text == "("
        and conjunct[-1].text == ")"
        and _closes_at_end(conjunct)
    ):
        _check_conjuncts(conjunct[1:-1], kinds)  # (a = ? AND b = ?) is two conjuncts
        return
    kind = _parameter_kind(conjunct)
    if kind is None:
        text = " ".join(t.text for t in conjunct)
        raise _Reject(f"placeholder Readyset would not parameterise ({text[:60]})", True)
    kinds.add(kind)


def _closes_at_end(toks: list[_Tok]) -> bool:
    depth = 0
    for i, t in enumerate(toks):
        if t.kind == _OP and t.text == "(":
            depth += 1
        elif t.kind == _OP and t.text == ")":
            depth -= 1
            if depth == 0 and i < len(toks) - 1:
                return False
    return True


def _column_end(toks: list[_Tok], i: int) -> int:
    """Index after a (qualified) column reference starting at *i*, or -1."""
    if i >= len(toks) or toks[i].kind not in (_WORD, _BQ):
        return -1
    i += 1
    while i + 1 < len(toks) and toks[i].text == "." and toks[i + 1].kind in (_WORD, _BQ):
        i += 2
    return i


_RANGE_OPS = frozenset(("<", "<=", ">", ">="))


def _parameter_kind(toks: list[_Tok]) -> Optional[str]:
    """ "equality" or "range" for a conjunct a deep cache parameterises, else None."""
    n = len(toks)
    end = _column_end(toks, 0)
    if end > 0 and end + 2 == n and toks[end + 1].kind == _PARAM:
        if toks[end].text == "=":
            return "equality"  # col = ?
        if toks[end].kind == _OP and toks[end].text in _RANGE_OPS:
            return "range"  # col < ?
    if n >= 3 and toks[0].kind == _PARAM and _column_end(toks, 2) == n:
        if toks[1].text == "=":
            return "equality"  # ? = col (swapped by Readyset)
        if toks[1].kind == _OP and toks[1].text in _RANGE_OPS:
            return "range"  # ? > col (swapped and flipped)
    if end > 0 and end + 3 <= n and _is_word(toks[end], "IN") and toks[end + 1].text == "(":
        items = toks[end + 2 :]
        if not items or items[-1].text != ")":
            return None
        values = items[:-1]
        if (
            len(values) % 2 == 1
            and all(t.kind == _PARAM for t in values[0::2])
            and all(t.text == "," for t in values[1::2])
        ):
            return "equality"
    return None


# --------------------------------------------------------------------------------------------
# Entry points


def translate(
    digest_text: str, settings: DigestSettings, profile: Profile = CONSERVATIVE
) -> Union[Cacheable, NotCacheable]:
    """Translate a ``stats_mysql_query_digest.digest_text`` into a query for Readyset.

    *profile* says which statements the host's caches serve; the default assumes nothing
    about the release (deep caches, Top K possibly on, ranges not parameterised).
    """
    try:
        return Cacheable(_translate(digest_text, settings, profile))
    except _Reject as exc:
        return NotCacheable(exc.reason, exc.identity)


def _translate(digest_text: str, settings: DigestSettings, profile: Profile) -> str:
    if not settings.enabled:
        raise _Reject("query digests are disabled (mysql-query_digests=false)")
    if not digest_text.strip():
        raise _Reject("empty digest text")
    size = len(digest_text.encode("utf-8", "replace"))
    if size >= settings.max_digest_length:
        raise _Reject(
            f"truncated digest text ({size} bytes >= "
            f"mysql-query_digests_max_digest_length={settings.max_digest_length})"
        )
    if size >= settings.max_query_length - 1:
        raise _Reject(
            f"truncated digest text ({size} bytes, "
            f"mysql-query_digests_max_query_length={settings.max_query_length})"
        )
    if digest_text.endswith("\ufffd"):
        raise _Reject("truncated digest text (cut multi-byte character)")

    toks = _strip_comments(_tokenize(digest_text))
    if not toks:
        raise _Reject("empty digest text (only comments)")
    toks = _check_structure(toks)
    _check_statement(toks)
    toks = _rewrite_glued(toks, settings, profile)
    _check_lost_operator(toks)
    toks = _rewrite_ellipses(toks)
    toks = _rewrite_values(toks, settings, profile)
    # Problems an exact statement can get around are raised last: a hard one wins.
    soft: list[_Reject] = []
    if not profile.shallow:
        _softly(soft, _check_constant_comparison, toks)
    has_from, problem = _check_placeholders(toks, profile)
    if not has_from:
        raise _Reject("FROM-less SELECT (Readyset caches only queries reading tables)")
    soft += [problem] if problem else []
    _softly(soft, _check_where_parameters, toks, profile)
    if soft:
        raise soft[0]
    return _render(toks)


def _softly(soft: list[_Reject], check: Callable[..., None], *args: object) -> None:
    try:
        check(*args)
    except _Reject as exc:
        if not exc.identity:
            raise
        soft.append(exc)


def sibling_digest_texts(
    digest_text: str, settings: DigestSettings, max_results: int = 1024
) -> list[str]:
    """Digest texts ProxySQL gives the same query with IN lists of other lengths.

    For every ``IN (...)`` list made only of ``?`` (optionally compressed to
    ``?,?,?,...``), the variants are the lengths ``1 .. grouping_limit + 1`` and the compressed
    form (``grouping_limit`` values then ``...``), which ProxySQL uses for every longer list.
    With several lists all combinations are produced (up to *max_results* texts, in a stable
    order). The input text itself is not included; a text without such a list gives ``[]``.
    Texts are not cut to ``max_digest_length``.
    """
    try:
        toks = _tokenize(digest_text)
    except _Reject:
        return []
    limit = settings.grouping_limit
    variants = [",".join(["?"] * n) for n in range(1, limit + 2)]
    variants.append(",".join(["?"] * limit) + ",...")
    # (start, end) token ranges of IN-list bodies (between the parentheses)
    spans: list[tuple[int, int]] = []
    for i, t in enumerate(toks):
        if not (t.kind == _OP and t.text == "(" and _open_paren_is_in_list(toks, i)):
            continue
        j = i + 1
        expect_value = True
        ok = True
        while j < len(toks) and not (toks[j].kind == _OP and toks[j].text == ")"):
            x = toks[j]
            if x.kind == _WS:
                pass
            elif expect_value and x.kind in (_PARAM, _ELLIPSIS):
                expect_value = False
            elif not expect_value and x.kind == _OP and x.text == ",":
                expect_value = True
            else:
                ok = False
                break
            j += 1
        if ok and j < len(toks) and not expect_value:
            spans.append((i + 1, j))
    if not spans:
        return []
    results: list[str] = []
    seen = {digest_text}
    for combo in itertools.product(variants, repeat=len(spans)):
        parts: list[str] = []
        pos = 0
        for (start, end), body in zip(spans, combo):
            parts.append(_render(toks[pos:start]))
            parts.append(body)
            pos = end
        parts.append(_render(toks[pos:]))
        text = "".join(parts)
        if text not in seen:
            seen.add(text)
            results.append(text)
            if len(results) >= max_results:
                break
    return results
