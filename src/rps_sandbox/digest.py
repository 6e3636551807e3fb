"""ProxySQL 2.7 query digest normaliser (re-derived behaviour, no ProxySQL code).

ProxySQL turns every query into a *digest text* (literals replaced by ``?``, comments and extra
spaces removed, long value lists folded) and hashes it with SpookyHash V2 into the 64-bit
``digest`` shown by ``stats_mysql_query_digest``.  This module reproduces that normaliser as
described in the project's ProxySQL reference (§3 "Query digests") and checked against the
public test vectors of the ProxySQL repository.

The normaliser is a byte-oriented machine working on an output buffer of
``min(len(query), max_query_length)`` bytes, in passes:

* stage 1 copies the query into the buffer, replacing literals, removing comments and
  collapsing whitespace;
* stage 2 (in place) removes spaces around ``,`` ``(`` ``)`` and operators and drops unary signs;
* stage 3 (in place) folds long ``(?,?,?,...)`` value lists;
* stage 4 (in place) folds long runs of already folded groups;
* when the buffer filled up but the later stages freed room, stage 1 resumes where it stopped
  and the stages run again over the new part; finally trailing spaces and ``;`` are stripped.

Several odd-looking results are deliberate, because ProxySQL produces them too (for example
``SELECT price - stock`` gives ``SELECT price  stock``, and ``select 1#c`` followed by a new line
glues the next word to ``?``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Optional, Union

# The hash is the product's (one implementation, checked against ProxySQL's published vectors);
# the normaliser around it is the emulator's own.
from readyset_proxysql_scheduler.spooky import hash64

__all__ = [
    "DigestSettings",
    "digest_text",
    "digest_text_bytes",
    "digest_of",
    "stored_text",
    "first_comment",
    "stage1",
    "stage2",
]

# --------------------------------------------------------------------------------------------
# settings


def _as_bool(value: object, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "on", "yes"):
        return True
    if text in ("false", "0", "off", "no", ""):
        return False
    try:
        return int(text) != 0
    except ValueError:
        return default


def _as_int(value: object, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        return default
    if number < low or number > high:
        return default
    return number


@dataclass(frozen=True)
class DigestSettings:
    """The ``mysql-query_digests_*`` variables that shape the digest text."""

    lowercase: bool = False
    replace_null: bool = False
    no_digits: bool = False
    keep_comment: bool = False
    max_digest_length: int = 2048
    max_query_length: int = 65000
    grouping_limit: int = 3
    groups_grouping_limit: int = 10

    @classmethod
    def from_global_variables(cls, variables: Mapping[str, str]) -> DigestSettings:
        """Build settings from ``global_variables`` rows (``variable_name -> variable_value``).

        Missing keys (and values ProxySQL would reject as out of range) keep the defaults.
        """
        d = cls()

        def get(name: str) -> Optional[str]:
            value = variables.get("mysql-" + name)
            return None if value is None else str(value)

        return cls(
            lowercase=_as_bool(get("query_digests_lowercase"), d.lowercase),
            replace_null=_as_bool(get("query_digests_replace_null"), d.replace_null),
            no_digits=_as_bool(get("query_digests_no_digits"), d.no_digits),
            keep_comment=_as_bool(get("query_digests_keep_comment"), d.keep_comment),
            max_digest_length=_as_int(
                get("query_digests_max_digest_length"), d.max_digest_length, 16, 1048576
            ),
            max_query_length=_as_int(
                get("query_digests_max_query_length"), d.max_query_length, 16, 1048576
            ),
            grouping_limit=_as_int(get("query_digests_grouping_limit"), d.grouping_limit, 1, 2089),
            groups_grouping_limit=_as_int(
                get("query_digests_groups_grouping_limit"), d.groups_grouping_limit, 0, 2089
            ),
        )


_DEFAULT = DigestSettings()

# --------------------------------------------------------------------------------------------
# character classes (bytes)


def _class(chars: bytes) -> bytearray:
    """A 256-entry membership table: table[byte] is 1 for the given characters."""
    table = bytearray(256)
    for c in chars:
        table[c] = 1
    return table


_NORMAL = _class(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$_")
_SPACE = _class(b" \t\n\r")
_DIGIT = _class(b"0123456789")
_HEX = _class(b"0123456789abcdefABCDEF")
_ARITH = _class(b"+-*/%")
_LOWER_TABLE = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
_LOWER = bytes(range(256)).translate(_LOWER_TABLE)

_SP = 0x20
_QMARK = 0x3F
_COMMA = 0x2C
_LPAR = 0x28
_RPAR = 0x29
_DOT = 0x2E
_SLASH = 0x2F
_STAR = 0x2A
_MINUS = 0x2D
_PLUS = 0x2B
_HASH = 0x23
_BSLASH = 0x5C
_SQUOTE = 0x27
_DQUOTE = 0x22
_BANG = 0x21
_SEMI = 0x3B
_ZERO = 0x30
_X_MARK = 0x58  # 'X', the "escaped" marker used while scanning strings
_NL = 0x0A
_CR = 0x0D

FIRST_COMMENT_MAX_LENGTH = 1024
_FCML_CAP = FIRST_COMMENT_MAX_LENGTH - 1

_S2_SPECIAL = re.compile(rb"[ +\-]")
_S2_SPECIAL_DIGITS = re.compile(rb"[ +\-0-9]")
_S3_CANDIDATE_SPECIAL = re.compile(rb"[?().]")
_S4_SPECIAL = re.compile(rb"[(.]")

# parser states of stage 1
_ST_NONE = 0
_ST_CMNT1 = 1  # /* ... */
_ST_CMNT2 = 2  # # ...
_ST_CMNT3 = 3  # -- ...
_ST_STRING = 4
_ST_NUMBER = 5
_ST_NULL = 6


# --------------------------------------------------------------------------------------------
# the machine


class _Normalizer:
    """One normalisation run; all positions are indices into ``self.buf``."""

    def __init__(self, query: bytes, settings: DigestSettings) -> None:
        self.q = query
        self.qlen = len(query)
        self.lowercase = settings.lowercase
        self.replace_null = settings.replace_null
        self.no_digits = settings.no_digits
        self.keep_comment = settings.keep_comment
        self.grouping_limit = max(0, settings.grouping_limit)
        self.groups_grouping_limit = max(0, settings.groups_grouping_limit)
        max_len = max(0, settings.max_query_length)
        self.dmax = self.qlen if self.qlen <= max_len else max_len
        # C uses a (dmax + 1)-byte buffer and reads a little past the end here and there;
        # the slack keeps those reads at 0 (the terminator) instead of raising.
        self.buf = bytearray(self.dmax + 32)
        self.it_init = 0  # start of the current iteration's output
        self.cur = 0
        self.pre = 0
        self.qpos = 0
        self.st = _ST_NONE
        self.prev = 0
        self.keep_prev = False
        self.copy_next = False
        # /* */ comment state
        self.is_cmd = False
        self.cmd = bytearray()
        self.fst_done = False
        self.fst: Optional[bytearray] = None
        # string literal state
        self.delim_num = 0
        self.delim = 0
        self.str_start = 0
        # number literal state
        self.first_digit = True
        self.num_start: Optional[int] = None
        # per stage bookkeeping between iterations
        self.s1_pre_it = 0
        self.s1_new_end: Optional[int] = None
        self.s2_pre_it = 0
        self.s2_off = 0
        self.s3_pre_it = 0
        self.s3_off = 0
        self.s4_pre_it = 0
        self.gl_off = 0

    # ---------------------------------------------------------------- helpers

    def _inc(self) -> None:
        if self.keep_prev:
            self.keep_prev = False
        else:
            self.prev = self.q[self.qpos]
        self.qpos += 1

    def _copy(self) -> None:
        c = self.q[self.qpos]
        if _SPACE[c]:
            c = _SP
        elif self.lowercase:
            c = _LOWER[c]
        self.buf[self.cur] = c
        self.cur += 1
        self._inc()

    def _next_state(self) -> int:
        q = self.q
        pos = self.qpos
        c = q[pos]
        qlen = self.qlen
        if c == _SLASH and pos < qlen - 2 and q[pos + 1] == _STAR:
            return _ST_CMNT1
        if c == _HASH:
            return _ST_CMNT2
        if c == _MINUS and pos < qlen - 2 and q[pos + 1] == _MINUS and _SPACE[q[pos + 2]]:
            if self.prev != _MINUS or pos == 0:
                return _ST_CMNT3
            return _ST_NONE
        if c == _SQUOTE or c == _DQUOTE:
            return _ST_STRING
        if not _NORMAL[self.prev]:
            if _DIGIT[c]:
                return _ST_NUMBER
            if self.replace_null and (c == 0x4E or c == 0x6E):
                return _ST_NULL
        return _ST_NONE

    # ---------------------------------------------------------------- stage 1 states

    def _comment1(self) -> int:
        q = self.q
        buf = self.buf
        final = self.dmax  # one past the last writable byte
        if self.qpos <= self.qlen - 2 and q[self.qpos] == _SLASH and q[self.qpos + 1] == _STAR:
            self.cmd = bytearray()
            if self.qpos != self.qlen - 2 and q[self.qpos + 2] == _BANG:
                self.is_cmd = True
            if self.keep_comment:
                self.cmd += b"/*"
            self.qpos += 3 if self.is_cmd else 2
            if self.qpos >= self.qlen - 1:
                return _ST_NONE
        c = q[self.qpos]
        if (
            c != _SLASH
            and (self.fst_done or (self.fst is not None and len(self.fst) >= _FCML_CAP))
            and (not (self.is_cmd or self.keep_comment) or len(self.cmd) >= _FCML_CAP)
        ):
            # fast path: nothing but a '/' can end (or restart) the comment and nothing is
            # being recorded any more, so jump to the next '/'.
            j = q.find(b"/", self.qpos)
            if j < 0:
                j = self.qlen - 1
            if j > self.qpos:
                self.prev = q[j - 1]
                self.qpos = j
                c = q[j]
        if self.is_cmd or self.keep_comment:
            if len(self.cmd) < FIRST_COMMENT_MAX_LENGTH - 1:
                self.cmd.append(c)
        closing = self.prev == _STAR and c == _SLASH
        if not self.fst_done:
            if self.fst is None:
                self.fst = bytearray()
            if len(self.fst) < FIRST_COMMENT_MAX_LENGTH - 1:
                self.fst.append(_SP if _SPACE[c] else c)
            if closing:
                if len(self.fst) >= 2:
                    del self.fst[-2:]
                self.fst_done = True
        if not closing:
            return _ST_CMNT1
        if self.is_cmd or self.keep_comment:
            cmd = self.cmd
            if len(cmd) >= 2:
                if not self.keep_comment:
                    del cmd[-2:]
                annot = 0
                n = len(cmd)
                while annot < n:
                    ch = cmd[annot]
                    if ch in (_SLASH, _STAR, _BANG, _SP) or _DIGIT[ch]:
                        annot += 1
                    else:
                        break
                if annot < n:
                    body = cmd if self.keep_comment else cmd[annot:]
                    take = min(final - self.cur, len(body))
                    if take > 0:
                        buf[self.cur : self.cur + take] = body[:take]
                        self.cur += take
                    if buf[self.cur - 1] != _SP and self.cur != final:
                        buf[self.cur] = _SP
                        self.cur += 1
            self.is_cmd = False
            self.cmd = bytearray()
        if self.cur != 0 and self.cur != final and buf[self.cur - 1] != _SP:
            buf[self.cur] = _SP
            self.cur += 1
        self.prev = _SP
        self.is_cmd = False
        self.qpos += 1
        return _ST_NONE

    def _next_eol(self, pos: int) -> int:
        """First new line / carriage return at or after ``pos`` (else the last position)."""
        q = self.q
        stop = q.find(b"\n", pos)
        if stop < 0:
            stop = self.qlen - 1
        cr = q.find(b"\r", pos, stop)
        return cr if cr >= 0 else stop

    def _comment_eol(self, three: bool) -> int:
        """``#`` / ``-- `` comments, consumed in one go.

        Walking the comment one character at a time, ProxySQL skips ``-- `` (three
        characters, even when the third one is a new line) or ``#`` before looking for the
        line end; everything else inside the comment has no effect.  So only the marker
        characters and the line ends need to be visited."""
        q = self.q
        qlen = self.qlen
        pos = self.qpos
        marker = b"-" if three else b"#"
        eol = self._next_eol(pos)
        while True:
            if three:
                if (
                    pos <= qlen - 4
                    and q[pos] == _MINUS
                    and q[pos + 1] == _MINUS
                    and _SPACE[q[pos + 2]]
                ):
                    pos += 3
            elif q[pos] == _HASH and pos <= qlen - 2:
                pos += 1
            if pos > eol:
                eol = self._next_eol(pos)
            c = q[pos]
            if c == _NL or c == _CR or pos >= qlen - 1:
                self.prev = _SP
                self.qpos = pos + 1
                return _ST_NONE
            pos += 1
            if pos > eol:
                eol = self._next_eol(pos)
            m = q.find(marker, pos, eol)
            pos = m if m >= 0 else eol

    def _string(self) -> int:
        q = self.q
        pos = self.qpos
        c = q[pos]
        if self.delim_num == 0:
            self.str_start = pos
            self.delim = c
            self.delim_num = 1
            return _ST_STRING
        if pos > self.str_start + 1:
            prev = self.prev
            if (prev == _BSLASH and (c == _BSLASH or c == self.delim)) or (
                prev == self.delim and c == self.delim
            ):
                self.keep_prev = True
                self.prev = _X_MARK
                return _ST_STRING
        if c == self.delim and (pos == self.qlen - 1 or q[pos + 1] != self.delim):
            self.cur = self.pre
            self.buf[self.cur] = _QMARK
            self.cur += 1
            self.prev = _QMARK
            if pos == self.qlen - 1:
                self.copy_next = False
                return _ST_STRING
            self.delim = 0
            self.delim_num = 0
            self.str_start = 0
            self.prev = 0
            self.qpos += 1
            return _ST_NONE
        return _ST_STRING

    def _string_skip(self) -> None:
        """Fast path inside a string: jump over characters that only update ``prev``."""
        q = self.q
        pos = self.qpos
        c = q[pos]
        if c == _BSLASH or c == self.delim or self.keep_prev:
            return
        if self.delim == _SQUOTE:
            stop = q.find(b"'", pos)
        else:
            stop = q.find(b'"', pos)
        if stop < 0:
            stop = self.qlen
        b = q.find(b"\\", pos, stop)
        if b >= 0:
            stop = b
        if stop > pos + 1:
            self.prev = q[stop - 1]
            self.qpos = stop
            # if the string runs to the end of the query, nothing else happens
        elif stop == pos + 1:
            self.prev = c
            self.qpos = stop

    def _is_digit_string(self, f: int, t: int) -> bool:
        buf = self.buf
        if f == t:
            return bool(_DIGIT[buf[f]])
        is_hex = False
        i = 0
        while f != t:
            c = buf[f]
            if f > 0:
                is_float = (
                    c == _DOT
                    or _LOWER[c] == 0x65
                    or (_LOWER[buf[f - 1]] == 0x65 and (c == _PLUS or c == _MINUS))
                )
            else:
                is_float = c == _DOT or _LOWER[c] == 0x65
            if f > 0 and i == 1 and buf[f - 1] == _ZERO and (c == 0x78 or c == 0x58):
                is_hex = True
            elif not is_hex and not _DIGIT[c] and not is_float:
                return False
            elif is_hex and not _HEX[c]:
                return False
            f += 1
            i += 1
        return True

    def _number(self) -> int:
        q = self.q
        pos = self.qpos
        c = q[pos]
        if self.first_digit and not _NORMAL[self.prev] and _DIGIT[c]:
            self.num_start = self.pre
            self.buf[self.cur] = c
            self.first_digit = False
        is_float_char = c == _DOT or (_LOWER[self.prev] == 0x65 and (c == _MINUS or c == _PLUS))
        last = pos == self.qlen - 1
        if (not _NORMAL[c] and not is_float_char) or last:
            start = self.num_start if self.num_start is not None else self.cur
            if self._is_digit_string(start, self.cur):
                self.cur = start
                self.buf[self.cur] = _QMARK
                self.cur += 1
                self.prev = _QMARK
                if _NORMAL[c] and last:
                    self.copy_next = False
                    return _ST_NUMBER
            self.num_start = None
            self.first_digit = False
            return _ST_NONE
        return _ST_NUMBER

    def _null(self) -> int:
        q = self.q
        pos = self.qpos
        left = self.qlen - pos
        found = False
        if left >= 4 and q[pos : pos + 4].translate(_LOWER_TABLE) == b"null":
            found = left == 4 or not _NORMAL[q[pos + 4]]
        if found:
            self.cur = self.pre
            self.buf[self.cur] = _QMARK
            self.cur += 1
            self.prev = _QMARK
            self.qpos += 4
        else:
            self._copy()
        return _ST_NONE

    # ---------------------------------------------------------------- stage 1

    def stage1(self) -> None:
        q = self.q
        qlen = self.qlen
        buf = self.buf
        last_pos = self.dmax - 1
        st = self.st
        if self.s1_new_end is not None:
            self.cur = self.s1_new_end
            self.pre = self.s1_new_end
        if self.it_init != 0:
            self.prev = buf[self.pre - 1] if self.pre > 0 else 0
        lowercase = self.lowercase
        while self.cur <= last_pos and self.qpos < qlen:
            if st == _ST_NONE:
                self.pre = self.cur
                st = self._next_state()
                if st != _ST_NONE:
                    continue
                c = q[self.qpos]
                if _SPACE[c]:
                    if self.cur == 0:
                        self.qpos += 1
                        continue
                    if _SPACE[self.prev]:
                        if not _SPACE[buf[self.cur - 1]]:
                            # ProxySQL steps over one (uninitialised) byte here; we put a
                            # space there so the result stays deterministic.
                            buf[self.cur] = _SP
                            self.cur += 1
                        self.prev = _SP
                        buf[self.cur] = _SP
                        self.qpos += 1
                        continue
                    buf[self.cur] = _SP
                    self.cur += 1
                    self.prev = c
                    self.qpos += 1
                    continue
                if _NORMAL[c]:
                    # a run of identifier characters: after the first one none of them can
                    # start a special state, so copy the run at once.
                    end = self.qpos + 1
                    limit = min(qlen, self.qpos + (last_pos + 1 - self.cur))
                    while end < limit and _NORMAL[q[end]]:
                        end += 1
                    chunk = q[self.qpos : end]
                    if lowercase:
                        chunk = chunk.translate(_LOWER_TABLE)
                    n = end - self.qpos
                    buf[self.cur : self.cur + n] = chunk
                    self.cur += n
                    self.prev = q[end - 1]
                    self.qpos = end
                    continue
                self._copy()
                continue
            if st == _ST_CMNT1:
                self.copy_next = False
                st = self._comment1()
                if st == _ST_NONE:
                    self.copy_next = True
                    continue
            elif st == _ST_CMNT2 or st == _ST_CMNT3:
                st = self._comment_eol(st == _ST_CMNT3)
                self.copy_next = True
                continue
            elif st == _ST_STRING:
                self.copy_next = False
                if self.delim_num == 1 and self.qpos > self.str_start + 1:
                    self._string_skip()
                    if self.qpos >= qlen:
                        break
                st = self._string()
                if st == _ST_NONE:
                    self.copy_next = True
                    continue
            elif st == _ST_NUMBER:
                self.copy_next = True
                st = self._number()
                if st == _ST_NONE:
                    self.first_digit = True
                    self.copy_next = True
                    continue
            elif st == _ST_NULL:
                st = self._null()
                self.copy_next = True
                continue
            if self.copy_next:
                self._copy()
            else:
                self._inc()
        buf[self.cur] = 0
        self.st = st
        self.s1_pre_it = self.cur
        self.s1_new_end = self.cur if st == _ST_NUMBER else None

    # ---------------------------------------------------------------- shared stage helpers

    def _digest_end(self) -> int:
        if self.st == _ST_NUMBER and self.num_start is not None:
            return self.num_start - 1
        return self.cur - 1

    def _set_start(self, digest_end: int, next_start: int) -> None:
        if self.it_init != 0 and 0 <= next_start < digest_end:
            self.cur = next_start
            self.pre = next_start
        else:
            self.cur = 0
            self.pre = 0

    def _end_stage(self, digest_end: int) -> int:
        """Terminate the compressed text; carry a number still being parsed behind it.

        Returns the stage's end position (``pre_it_pos`` of the stage)."""
        buf = self.buf
        if (
            self.num_start is not None
            and digest_end == self.num_start - 1
            and self.s1_new_end is not None
        ):
            f = self.num_start
            self.num_start = self.pre
            end_pos = self.num_start
            end = self.s1_new_end
            while f < end:
                buf[self.pre] = buf[f]
                self.pre += 1
                f += 1
            buf[self.pre] = 0
            self.s1_new_end = self.pre
            return end_pos
        buf[self.pre] = 0
        return self.pre

    # ---------------------------------------------------------------- stage 2

    def stage2(self) -> None:
        buf = self.buf
        digest_end = self._digest_end()
        self._set_start(digest_end, self.s2_pre_it - (self.gl_off - self.s2_off) - 6)
        cur = self.cur
        pre = self.pre
        keep_comment = self.keep_comment
        no_digits = self.no_digits
        special = _S2_SPECIAL_DIGITS if no_digits else _S2_SPECIAL
        while cur <= digest_end:
            c = buf[cur]
            if c == _SP:
                lc = buf[cur - 1] if cur > 0 else _ZERO
                rc = buf[cur + 1]
                if lc == _LPAR or rc == _RPAR:
                    cur += 1
                elif (_ARITH[lc] and rc == _QMARK) or lc == _COMMA or rc == _COMMA:
                    llc = buf[cur - 2] if cur > 1 else _ZERO
                    if keep_comment and llc == _STAR and lc == _SLASH:
                        buf[pre] = buf[cur]
                        pre += 1
                    cur += 1
                elif _ARITH[rc] and lc == _QMARK:
                    cur += 1
                else:
                    buf[pre] = c
                    pre += 1
                    cur += 1
            elif c == _PLUS or c == _MINUS:
                llc = buf[cur - 2] if cur > 1 else _ZERO
                lc = buf[cur - 1] if cur > 0 else _ZERO
                rc = buf[cur + 1]
                if lc == _SP:
                    if _NORMAL[llc]:
                        cur += 1
                    elif llc != _QMARK and llc != _RPAR and (rc == _QMARK or rc == _SP):
                        cur += 1
                    else:
                        buf[pre] = c
                        pre += 1
                        cur += 1
                elif (
                    not _NORMAL[lc] and lc != _QMARK and lc != _RPAR and (rc == _QMARK or rc == _SP)
                ):
                    cur += 1
                else:
                    buf[pre] = c
                    pre += 1
                    cur += 1
            elif no_digits and _DIGIT[c]:
                if pre > 0 and buf[pre - 1] != _QMARK:
                    buf[pre] = _QMARK
                    pre += 1
                cur += 1
            else:
                # copy the run of characters that need no decision at once
                m = special.search(buf, cur + 1, digest_end + 1)
                stop = m.start() if m is not None else digest_end + 1
                if stop <= cur:
                    # (stage 3 may have jumped past digest_end: copy that one byte anyway)
                    stop = cur + 1
                if pre != cur:
                    buf[pre : pre + stop - cur] = buf[cur:stop]
                pre += stop - cur
                cur = stop
        self.cur = cur
        self.pre = pre
        off = digest_end - pre + 1
        self.s2_off = off if off > 0 else 0
        self.s2_pre_it = self._end_stage(digest_end)
        self.cur = self.pre

    # ---------------------------------------------------------------- stage 3

    def stage3(self) -> None:
        limit = self.grouping_limit
        if limit == 0:
            return
        buf = self.buf
        digest_end = self._digest_end()
        min_group = limit * 2 + 7
        self._set_start(digest_end, self.s3_pre_it - (self.gl_off - self.s3_off) - (min_group + 1))
        cur = self.cur
        pre = self.pre
        candidate = False
        while cur <= digest_end:
            if (
                candidate
                and pre > 4
                and buf[pre - 1] == _DOT
                and buf[pre - 2] == _DOT
                and buf[pre - 3] == _DOT
                and buf[pre - 4] == _COMMA
                and digest_end - cur >= 1
            ):
                # values following an earlier "...": swallow further "?," (and a final "?)")
                new = cur
                is_last = False
                if buf[new] == _COMMA:
                    new += 1
                while new < digest_end:
                    if buf[new] == _QMARK and buf[new + 1] == _COMMA:
                        new += 2
                    else:
                        if buf[new] == _QMARK and buf[new + 1] == _RPAR:
                            new += 1
                            is_last = True
                        break
                if new > cur + 1 or is_last:
                    cur = new
                if self.num_start is not None and new >= digest_end and _DIGIT[buf[new]]:
                    break
            cur_char = cur
            ch = buf[cur]
            if ch != _LPAR and ch != _RPAR and ch != _QMARK and ch != _DOT:
                # plain characters: copy the run up to the next one that matters
                if candidate:
                    m = _S3_CANDIDATE_SPECIAL.search(buf, cur + 1, digest_end + 1)
                    stop = m.start() if m is not None else digest_end + 1
                else:
                    stop = buf.find(b"(", cur + 1, digest_end + 1)
                    if stop < 0:
                        stop = digest_end + 1
                if stop <= cur:
                    # (stage 3 may have jumped past digest_end: copy that one byte anyway)
                    stop = cur + 1
                if pre != cur:
                    buf[pre : pre + stop - cur] = buf[cur:stop]
                pre += stop - cur
                cur = stop
                continue
            if candidate and cur < digest_end - limit * 2:
                is_min = (
                    buf[cur] == _QMARK
                    and buf[cur + 1] == _COMMA
                    and buf[cur + 2] == _QMARK
                    and (buf[cur + 3] == _COMMA or buf[cur + 3] == _RPAR)
                )
                if is_min and not _ARITH[buf[cur - 1]]:
                    count = 0
                    broken = 0
                    pos = cur
                    while pos < digest_end and broken == 0:
                        if buf[pos] == _QMARK and buf[pos + 1] == _COMMA:
                            pos += 2
                            count += 1
                        elif buf[pos + 1] == _RPAR:
                            broken = 2
                        else:
                            broken = 1
                    flen = count * 2 + 1 if broken == 2 else count * 2
                    if flen >= limit * 2 + 3:
                        for i in range(count):
                            if i < limit:
                                buf[pre] = _QMARK
                                buf[pre + 1] = _COMMA
                                pre += 2
                            elif i == limit:
                                buf[pre] = _DOT
                                buf[pre + 1] = _DOT
                                buf[pre + 2] = _DOT
                                pre += 3
                        cur = pos + 1 if broken == 2 else pos - 1
                    else:
                        for _i in range(count):
                            buf[pre] = _QMARK
                            buf[pre + 1] = _COMMA
                            pre += 2
                        cur = pos
                else:
                    buf[pre] = buf[cur]
                    pre += 1
                    cur += 1
            else:
                buf[pre] = buf[cur]
                pre += 1
                cur += 1
            ch = buf[cur_char]
            if ch == _LPAR:
                candidate = True
            elif ch == _RPAR:
                candidate = False
        self.cur = cur
        self.pre = pre
        off = digest_end - (pre - 1)
        self.s3_off = off if off > 0 else 0
        self.s3_pre_it = self._end_stage(digest_end)
        self.cur = self.pre

    # ---------------------------------------------------------------- stage 4

    def _is_group(self, pos: int) -> bool:
        """``(`` + ``?,`` x L + ``...`` + ``)`` at ``pos``?"""
        buf = self.buf
        limit = self.grouping_limit
        if buf[pos] != _LPAR:
            return False
        p = pos + 1
        for _i in range(limit):
            if buf[p] != _QMARK or buf[p + 1] != _COMMA:
                return False
            p += 2
        return buf[p] == _DOT and buf[p + 1] == _DOT and buf[p + 2] == _DOT and buf[p + 3] == _RPAR

    def stage4(self) -> None:
        limit = self.grouping_limit
        groups = self.groups_grouping_limit
        if groups == 0 or limit == 0:
            return
        buf = self.buf
        digest_end = self._digest_end()
        size = 1 + limit * 2 + 3 + 1 + 1  # "(" "?,"xL "..." ")" ","
        self._set_start(digest_end, self.s4_pre_it - size * (groups + 2))
        cur = self.cur
        pre = self.pre
        while cur <= digest_end:
            cur_char = cur
            if (
                pre > 5
                and buf[pre - 1] == _DOT
                and buf[pre - 2] == _DOT
                and buf[pre - 3] == _DOT
                and buf[pre - 4] == _COMMA
                and buf[pre - 5] == _RPAR
            ):
                pos = cur_char
                if buf[pos] == _COMMA or buf[pos] == _SP:
                    pos += 1
                while pos + (size - 2) <= digest_end:
                    if self._is_group(pos):
                        if pos + (size - 1) == digest_end:
                            pos += size - 1
                        else:
                            pos += size
                    else:
                        break
                if pos > cur + 1:
                    cur = pos - 1
                    continue
                if pos >= digest_end:
                    break
            ch = buf[cur]
            if ch != _LPAR and ch != _DOT:
                m = _S4_SPECIAL.search(buf, cur + 1, digest_end + 1)
                stop = m.start() if m is not None else digest_end + 1
                if stop <= cur:
                    # (stage 3 may have jumped past digest_end: copy that one byte anyway)
                    stop = cur + 1
                if pre != cur:
                    buf[pre : pre + stop - cur] = buf[cur:stop]
                pre += stop - cur
                cur = stop
                continue
            fits = cur <= digest_end - size * (groups + 1) + 2
            if (
                fits
                and buf[cur_char] == _LPAR
                and buf[cur_char + 1] == _QMARK
                and (buf[cur_char + 2] == _COMMA)
            ):
                start = cur_char
                pos = cur_char
                found = 0
                while pos + (size - 2) <= digest_end:
                    if self._is_group(pos):
                        pos += size - 1
                        if buf[pos] == _COMMA:
                            pos += 1
                        found += 1
                    else:
                        break
                if found > groups:
                    n = size * groups
                    buf[pre : pre + n] = buf[start : start + n]
                    pre += n
                    buf[pre] = _DOT
                    buf[pre + 1] = _DOT
                    buf[pre + 2] = _DOT
                    pre += 3
                    cur = pos
            if cur > digest_end:
                break
            buf[pre] = buf[cur]
            pre += 1
            cur += 1
        self.cur = cur
        self.pre = pre
        self.s4_pre_it = self._end_stage(digest_end)
        self.cur = self.pre

    # ---------------------------------------------------------------- final stage and driver

    def final(self) -> bytes:
        buf = self.buf
        end_limit: Optional[int] = None
        if (
            self.num_start is not None
            and self.dmax <= self.cur
            and self.st == _ST_NUMBER
            and _DIGIT[buf[self.num_start]]
        ):
            buf[self.num_start] = _QMARK
            buf[self.num_start + 1] = 0
            end_limit = self.num_start + 1
        f = self.cur - 1
        while f > 0 and (buf[f] == _SP or buf[f] == _SEMI):
            f -= 1
        f += 1
        if f < 0:
            f = 0
        if end_limit is not None and end_limit < f:
            f = end_limit
        out = bytes(buf[:f])
        nul = out.find(b"\x00")
        if nul >= 0:
            out = out[:nul]
        return out

    def run(self, stages: int = 4) -> bytes:
        if self.dmax == 0:
            return b""
        if stages < 4:
            self.stage1()
            if stages >= 2:
                self.stage2()
            return self.final()
        while True:
            self.stage1()
            self.stage2()
            self.stage3()
            self.stage4()
            self.gl_off = self.s1_pre_it - self.cur
            if self.qpos >= self.qlen or self.dmax <= self.cur or self.gl_off == 0:
                break
            self.it_init = self.cur
            self.pre = self.cur
        return self.final()

    def first_comment(self) -> Optional[bytes]:
        if self.fst is None:
            return None
        return bytes(self.fst)


# --------------------------------------------------------------------------------------------
# public API

QueryType = Union[str, bytes, bytearray, memoryview]


def _to_bytes(query: QueryType) -> bytes:
    if isinstance(query, str):
        return query.encode("utf-8", "surrogatepass")
    return bytes(query)


def _to_text(data: bytes) -> str:
    return data.decode("utf-8", "ignore")


def digest_text_bytes(query: QueryType, settings: DigestSettings = _DEFAULT) -> bytes:
    """The digest text as ProxySQL's bytes (before the ``max_digest_length`` cut)."""
    return _Normalizer(_to_bytes(query), settings).run(4)


def digest_text(query: QueryType, settings: DigestSettings = _DEFAULT) -> str:
    """Full normalisation of ``query`` (all stages), limited by ``max_query_length``.

    The result is *not* yet cut to ``max_digest_length``; see :func:`stored_text`.
    """
    return _to_text(digest_text_bytes(query, settings))


def stage1(query: QueryType, settings: DigestSettings = _DEFAULT) -> str:
    """Stage 1 only (literals, comments, whitespace), plus the final clean-up."""
    return _to_text(_Normalizer(_to_bytes(query), settings).run(1))


def stage2(query: QueryType, settings: DigestSettings = _DEFAULT) -> str:
    """Stages 1 and 2 (also spacing and sign rules), plus the final clean-up."""
    return _to_text(_Normalizer(_to_bytes(query), settings).run(2))


def digest_of(text: QueryType, settings: DigestSettings = _DEFAULT) -> str:
    """``0x%016X`` of SpookyHash64 (seed 0) over the first ``max_digest_length`` bytes of
    the digest text ``text`` (pass the output of :func:`digest_text`, not the query)."""
    data = _to_bytes(text)
    nul = data.find(b"\x00")
    if nul >= 0:
        data = data[:nul]
    data = data[: max(0, settings.max_digest_length)]
    return f"0x{hash64(data, 0):016X}"


def stored_text(text: QueryType, settings: DigestSettings = _DEFAULT) -> str:
    """The digest text as ``stats_mysql_query_digest`` shows it (cut to
    ``max_digest_length`` bytes; a character split by the cut is dropped)."""
    data = _to_bytes(text)[: max(0, settings.max_digest_length)]
    return _to_text(data)


def first_comment(query: QueryType) -> Optional[str]:
    """Body of the first ``/* ... */`` comment of ``query`` (what ProxySQL parses for hints),
    or None when the query has none.  Whitespace characters inside are turned into spaces;
    for ``/*! ... */`` the leading ``!`` is not part of the body."""
    data = _to_bytes(query)
    if b"/*" not in data:
        return None
    settings = DigestSettings(max_query_length=max(len(data), 1))
    machine = _Normalizer(data, settings)
    machine.run(1)
    found = machine.first_comment()
    if found is None:
        return None
    return _to_text(found)
