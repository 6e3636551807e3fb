"""SpookyHash V2 (Bob Jenkins' public-domain 128-bit non-cryptographic hash).

ProxySQL hashes every query digest text with ``SpookyHash::Hash64(text, len, 0)``; this module
re-implements the V2 algorithm in pure Python. The scheduler uses it to name the digests ProxySQL
gives the same query with IN-lists of other lengths; the sandbox's ProxySQL emulator uses it too
(tests/unit/test_spooky.py checks it against every published vector). Both code paths are
implemented: the "short" one (messages shorter than 192 bytes) and the "long" one (12 x 64-bit
state, 96-byte blocks).

All arithmetic is done on Python ints masked to 64 bits; message words are read little-endian
(the byte order ProxySQL's x86-64 / aarch64 builds use).
"""

from __future__ import annotations

import struct
from typing import Tuple

__all__ = ["digest_of", "hash64", "hash128", "hash32"]

_M = 0xFFFFFFFFFFFFFFFF
_SC_CONST = 0xDEADBEEFDEADBEEF
_NUM_VARS = 12
_BLOCK_SIZE = _NUM_VARS * 8  # 96 bytes
_BUF_SIZE = 2 * _BLOCK_SIZE  # 192 bytes: below this, the short path is used


def _short(data: bytes, seed1: int, seed2: int) -> Tuple[int, int]:
    """The short path (length < 192 bytes)."""
    m = _M
    length = len(data)
    a = seed1 & m
    b = seed2 & m
    c = _SC_CONST
    d = _SC_CONST
    pos = 0
    if length > 15:
        n32 = length // 32
        if n32:
            words = struct.unpack_from(f"<{n32 * 4}Q", data, 0)
            for i in range(0, n32 * 4, 4):
                c = (c + words[i]) & m
                d = (d + words[i + 1]) & m
                a, b, c, d = _short_mix(a, b, c, d)
                a = (a + words[i + 2]) & m
                b = (b + words[i + 3]) & m
            pos = n32 * 32
        if length - pos >= 16:
            w0, w1 = struct.unpack_from("<2Q", data, pos)
            c = (c + w0) & m
            d = (d + w1) & m
            a, b, c, d = _short_mix(a, b, c, d)
            pos += 16
    remainder = length - pos
    d = (d + ((length << 56) & m)) & m
    if remainder == 0:
        c = (c + _SC_CONST) & m
        d = (d + _SC_CONST) & m
    else:
        tail = data[pos:] + b"\x00" * (16 - remainder)
        t0, t1 = struct.unpack("<2Q", tail)
        c = (c + t0) & m
        d = (d + t1) & m
    a, b, c, d = _short_end(a, b, c, d)
    return a, b


def _short_mix(h0: int, h1: int, h2: int, h3: int) -> Tuple[int, int, int, int]:
    m = _M
    h2 = ((h2 << 50) | (h2 >> 14)) & m
    h2 = (h2 + h3) & m
    h0 ^= h2
    h3 = ((h3 << 52) | (h3 >> 12)) & m
    h3 = (h3 + h0) & m
    h1 ^= h3
    h0 = ((h0 << 30) | (h0 >> 34)) & m
    h0 = (h0 + h1) & m
    h2 ^= h0
    h1 = ((h1 << 41) | (h1 >> 23)) & m
    h1 = (h1 + h2) & m
    h3 ^= h1
    h2 = ((h2 << 54) | (h2 >> 10)) & m
    h2 = (h2 + h3) & m
    h0 ^= h2
    h3 = ((h3 << 48) | (h3 >> 16)) & m
    h3 = (h3 + h0) & m
    h1 ^= h3
    h0 = ((h0 << 38) | (h0 >> 26)) & m
    h0 = (h0 + h1) & m
    h2 ^= h0
    h1 = ((h1 << 37) | (h1 >> 27)) & m
    h1 = (h1 + h2) & m
    h3 ^= h1
    h2 = ((h2 << 62) | (h2 >> 2)) & m
    h2 = (h2 + h3) & m
    h0 ^= h2
    h3 = ((h3 << 34) | (h3 >> 30)) & m
    h3 = (h3 + h0) & m
    h1 ^= h3
    h0 = ((h0 << 5) | (h0 >> 59)) & m
    h0 = (h0 + h1) & m
    h2 ^= h0
    h1 = ((h1 << 36) | (h1 >> 28)) & m
    h1 = (h1 + h2) & m
    h3 ^= h1
    return h0, h1, h2, h3


def _short_end(h0: int, h1: int, h2: int, h3: int) -> Tuple[int, int, int, int]:
    m = _M
    h3 ^= h2
    h2 = ((h2 << 15) | (h2 >> 49)) & m
    h3 = (h3 + h2) & m
    h0 ^= h3
    h3 = ((h3 << 52) | (h3 >> 12)) & m
    h0 = (h0 + h3) & m
    h1 ^= h0
    h0 = ((h0 << 26) | (h0 >> 38)) & m
    h1 = (h1 + h0) & m
    h2 ^= h1
    h1 = ((h1 << 51) | (h1 >> 13)) & m
    h2 = (h2 + h1) & m
    h3 ^= h2
    h2 = ((h2 << 28) | (h2 >> 36)) & m
    h3 = (h3 + h2) & m
    h0 ^= h3
    h3 = ((h3 << 9) | (h3 >> 55)) & m
    h0 = (h0 + h3) & m
    h1 ^= h0
    h0 = ((h0 << 47) | (h0 >> 17)) & m
    h1 = (h1 + h0) & m
    h2 ^= h1
    h1 = ((h1 << 54) | (h1 >> 10)) & m
    h2 = (h2 + h1) & m
    h3 ^= h2
    h2 = ((h2 << 32) | (h2 >> 32)) & m
    h3 = (h3 + h2) & m
    h0 ^= h3
    h3 = ((h3 << 25) | (h3 >> 39)) & m
    h0 = (h0 + h3) & m
    h1 ^= h0
    h0 = ((h0 << 63) | (h0 >> 1)) & m
    h1 = (h1 + h0) & m
    return h0, h1, h2, h3


# (rotation) constants of the long-path Mix, one per state word.
_MIX_ROT = (11, 32, 43, 31, 17, 28, 39, 57, 55, 54, 22, 46)
# (rotation) constants of the long-path EndPartial.
_END_ROT = (44, 15, 34, 21, 38, 33, 10, 13, 38, 53, 42, 54)


def _mix(data: Tuple[int, ...], off: int, s: list[int]) -> None:
    """One 96-byte block of the long path; ``s`` is the 12-word state, updated in place."""
    m = _M
    for i in range(12):
        # s[i] += data[i]; s[i+2] ^= s[i+10]; s[i+11] ^= s[i]; s[i] = rot(s[i], r);
        # s[i+11] += s[i+1]   (indices mod 12)
        si = (s[i] + data[off + i]) & m
        i2 = (i + 2) % 12
        i10 = (i + 10) % 12
        i11 = (i + 11) % 12
        s[i2] ^= s[i10]
        s[i11] ^= si
        r = _MIX_ROT[i]
        si = ((si << r) | (si >> (64 - r))) & m
        s[i] = si
        s[i11] = (s[i11] + s[(i + 1) % 12]) & m


def _end_partial(h: list[int]) -> None:
    m = _M
    for i in range(12):
        # h[i+11] += h[i+1]; h[i+2] ^= h[i+11]; h[i+1] = rot(h[i+1], r)
        i1 = (i + 1) % 12
        i2 = (i + 2) % 12
        i11 = (i + 11) % 12
        h[i11] = (h[i11] + h[i1]) & m
        h[i2] ^= h[i11]
        r = _END_ROT[i]
        v = h[i1]
        h[i1] = ((v << r) | (v >> (64 - r))) & m


def _long(data: bytes, seed1: int, seed2: int) -> Tuple[int, int]:
    m = _M
    s1 = seed1 & m
    s2 = seed2 & m
    h = [s1, s2, _SC_CONST] * 4
    length = len(data)
    nblocks = length // _BLOCK_SIZE
    if nblocks:
        words = struct.unpack_from(f"<{nblocks * _NUM_VARS}Q", data, 0)
        for b in range(nblocks):
            _mix(words, b * _NUM_VARS, h)
    pos = nblocks * _BLOCK_SIZE
    remainder = length - pos
    last = bytearray(data[pos:])
    last.extend(b"\x00" * (_BLOCK_SIZE - remainder))
    last[_BLOCK_SIZE - 1] = remainder
    tail = struct.unpack("<12Q", bytes(last))
    for i in range(12):
        h[i] = (h[i] + tail[i]) & m
    _end_partial(h)
    _end_partial(h)
    _end_partial(h)
    return h[0], h[1]


def hash128(data: bytes, seed1: int = 0, seed2: int = 0) -> Tuple[int, int]:
    """SpookyHash V2 ``Hash128``: returns the two 64-bit halves ``(hash1, hash2)``."""
    if len(data) < _BUF_SIZE:
        return _short(bytes(data), seed1, seed2)
    return _long(bytes(data), seed1, seed2)


def hash64(data: bytes, seed: int = 0) -> int:
    """SpookyHash V2 ``Hash64``: ``Hash128`` with both seeds = ``seed``, first half returned."""
    return hash128(data, seed, seed)[0]


def hash32(data: bytes, seed: int = 0) -> int:
    """SpookyHash V2 ``Hash32``: low 32 bits of ``Hash128`` with both seeds = ``seed``."""
    return hash128(data, seed, seed)[0] & 0xFFFFFFFF


def digest_of(digest_text: str, max_digest_length: int = 2048) -> str:
    """ProxySQL's ``digest`` column for a digest text: ``0x%016X`` of ``Hash64`` over the first
    ``mysql-query_digests_max_digest_length`` bytes."""
    return f"0x{hash64(digest_text.encode('utf-8')[:max_digest_length]):016X}"
