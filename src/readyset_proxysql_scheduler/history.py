"""Per-digest history: cumulative counters read at each pass turned into deltas.

`stats_mysql_query_digest` keeps, per (hostgroup, schema, user, digest), counters cumulative
since ProxySQL started or since someone last read `stats_mysql_query_digest_reset`. While a
mirror rule is active the same digest has a second row under the Readyset hostgroup, so one read
gives the digest's executions and latency at the source and at Readyset side by side.

A `Track` remembers, per (digest, schema), the counters of each row as last read (`rows`, keyed
`<role>:<digest>`, role `s` for the source hostgroup and `r` for the Readyset one; an IN-list
sibling's rows count for the query whose cache serves them), and what the deltas added up to:

- absent then, absent now: nothing;
- absent then, present now with `first_seen` at or after the last read: all it holds (new);
- absent then, present now with an older `first_seen` (a new track, or a row not read before):
  nothing, it is the baseline;
- present then, absent now: nothing; a reset (ProxySQL restarted, or the table was reset);
- present then, fewer executions now or another `first_seen`: all it holds, counted since the
  reset; a reset;
- present then and now: now minus then.

So a reset or a restart is never read as negative traffic, and traffic after it is not lost.

Deltas go into time buckets (`bucket_s` wide, dropped after `keep_s`): the window sums that
replacement ranks by. Two evidence accumulators serve the warm-up (`trial`) and the routed
digest's watch (`judged`); lifecycle.py opens and reads them. Only Readyset-side executions
of the pass in which the Readyset row first shows are left out of `trial`: the first mirrored
executions pay for ProxySQL opening its mirror connections.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

SOURCE = "s"
READYSET = "r"
# A row's first_seen is in whole seconds: allow one second when comparing with a pass's time.
SLACK_S = 1.0


class _Record:
    """An immutable record of numbers, compared and hashed by value, like a frozen dataclass
    (which costs a pass's start-up; see README, Development) or a NamedTuple (whose `count`
    would hide tuple's, and whose `+` concatenates)."""

    __slots__: tuple[str, ...] = ()

    def _set(self, *values: int) -> None:
        for name, value in zip(self.__slots__, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _values(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self._values()}"


class Side(_Record):
    """One stats_mysql_query_digest row's cumulative counters."""

    __slots__ = ("count", "sum_time_us", "rows_sent", "first_seen", "last_seen")
    count: int
    sum_time_us: int
    rows_sent: int
    first_seen: int
    last_seen: int

    def __init__(
        self, count: int, sum_time_us: int, rows_sent: int, first_seen: int, last_seen: int
    ) -> None:
        self._set(count, sum_time_us, rows_sent, first_seen, last_seen)


class Counts(_Record):
    """Executions, their time and rows sent; `+` adds them up."""

    __slots__ = ("count", "sum_time_us", "rows_sent")
    count: int
    sum_time_us: int
    rows_sent: int

    def __init__(self, count: int = 0, sum_time_us: int = 0, rows_sent: int = 0) -> None:
        self._set(count, sum_time_us, rows_sent)

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.count + other.count,
            self.sum_time_us + other.sum_time_us,
            self.rows_sent + other.rows_sent,
        )

    @property
    def mean_us(self) -> Optional[float]:
        return self.sum_time_us / self.count if self.count else None


class Delta(NamedTuple):
    source: Counts = Counts()
    readyset: Counts = Counts()
    resets: int = 0  # rows found reset (restart, or a read of the _reset table)


class Track:
    """What is remembered of one (digest, schema) between passes."""

    def __init__(
        self,
        since: float,  # first read of this digest: the history covers [since, at]
        at: float,  # the last read
        rows: Optional[dict[str, Side]] = None,
        # [start, end, source count, source time, source rows, readyset count, time, rows]
        buckets: Optional[list[list[float]]] = None,
        last_active: float = 0.0,  # the latest last_seen of its rows (epoch seconds)
        # warm-up evidence: the mirror stamp it belongs to, and the Readyset/source deltas since
        trial_stamp: Optional[float] = None,
        # source count, source time, Readyset count, Readyset time
        trial: Optional[list[int]] = None,
        # routed watch: Readyset deltas not yet judged (count, time)
        judged: Optional[list[int]] = None,
        bad_windows: int = 0,  # consecutive bad windows
        source_mean_us: Optional[float] = None,  # the source mean it is judged against
    ) -> None:
        self.since = since
        self.at = at
        self.rows: dict[str, Side] = {} if rows is None else rows
        self.buckets: list[list[float]] = [] if buckets is None else buckets
        self.last_active = last_active
        self.trial_stamp = trial_stamp
        self.trial: list[int] = [0, 0, 0, 0] if trial is None else trial
        self.judged: list[int] = [0, 0] if judged is None else judged
        self.bad_windows = bad_windows
        self.source_mean_us = source_mean_us

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Track) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"Track({vars(self)!r})"

    def window(self, since: float) -> tuple[Counts, Counts]:
        """(source, Readyset) executions in the buckets that end after `since`."""
        source = readyset = Counts()
        for b in self.buckets:
            if b[1] > since:
                source += Counts(int(b[2]), int(b[3]), int(b[4]))
                readyset += Counts(int(b[5]), int(b[6]), int(b[7]))
        return source, readyset


def executions(track: Track, since: float) -> Counts:
    """The digest's executions in the buckets that end after `since`, each counted once: while
    mirrored a statement runs on both sides, so each bucket counts its busier side."""
    out = Counts()
    for b in track.buckets:
        if b[1] > since:
            side = 2 if b[2] >= b[5] else 5
            out += Counts(int(b[side]), int(b[side + 1]), int(b[side + 2]))
    return out


def row_delta(
    prev: Optional[Side], cur: Optional[Side], read_at: Optional[float]
) -> tuple[Counts, bool]:
    """The executions between the last read (at `read_at`, None for a new track) and now; and
    whether the row was found reset. See the table in the module docstring."""
    if cur is None:
        return Counts(), prev is not None
    everything = Counts(cur.count, cur.sum_time_us, cur.rows_sent)
    if prev is None:
        if read_at is not None and cur.first_seen >= read_at - SLACK_S:
            return everything, False
        return Counts(), False
    if cur.count < prev.count or cur.first_seen != prev.first_seen:
        return everything, True
    return (
        Counts(
            cur.count - prev.count,
            cur.sum_time_us - prev.sum_time_us,
            cur.rows_sent - prev.rows_sent,
        ),
        False,
    )


def observe(
    track: Optional[Track], rows: dict[str, Side], now: float, bucket_s: float, keep_s: float
) -> tuple[Track, Delta]:
    """Read one pass's rows of a digest into its track (a new one when None)."""
    read_at = None if track is None else track.at
    if track is None:
        track = Track(since=now, at=now)
    source = readyset = Counts()
    resets = 0
    readyset_seen_before = any(k.startswith(READYSET + ":") for k in track.rows)
    for key in sorted(set(track.rows) | set(rows)):
        counts, reset = row_delta(track.rows.get(key), rows.get(key), read_at)
        resets += reset
        if key.startswith(SOURCE + ":"):
            source += counts
        else:
            readyset += counts
    track.rows = dict(rows)
    track.at = now
    for side in rows.values():
        track.last_active = max(track.last_active, float(side.last_seen))
    if source.count or readyset.count:
        _add_bucket(track, read_at if read_at is not None else now, now, source, readyset, bucket_s)
    track.buckets = [b for b in track.buckets if b[1] > now - keep_s]
    # The pass in which the Readyset row first shows holds the mirror connections' opening:
    # left out. A Readyset row that never shows (every mirror failed) leaves the source's count.
    first_mirrors = not readyset_seen_before and any(k.startswith(READYSET + ":") for k in rows)
    if track.trial_stamp is not None and not first_mirrors:
        track.trial = [
            track.trial[0] + source.count,
            track.trial[1] + source.sum_time_us,
            track.trial[2] + readyset.count,
            track.trial[3] + readyset.sum_time_us,
        ]
    return track, Delta(source, readyset, resets)


def _add_bucket(
    track: Track, start: float, now: float, source: Counts, readyset: Counts, bucket_s: float
) -> None:
    values = [
        source.count,
        source.sum_time_us,
        source.rows_sent,
        readyset.count,
        readyset.sum_time_us,
        readyset.rows_sent,
    ]
    last = track.buckets[-1] if track.buckets else None
    if last is not None and now - last[0] < bucket_s:
        last[1] = now
        for i, v in enumerate(values):
            last[2 + i] += v
        return
    track.buckets.append([start, now, *values])


# --- the state file's form ---


def to_json(track: Track) -> dict[str, Any]:
    return {
        "since": track.since,
        "at": track.at,
        "rows": {
            k: [s.count, s.sum_time_us, s.rows_sent, s.first_seen, s.last_seen]
            for k, s in sorted(track.rows.items())
        },
        "buckets": track.buckets,
        "last_active": track.last_active,
        "trial_stamp": track.trial_stamp,
        "trial": track.trial,
        "judged": track.judged,
        "bad_windows": track.bad_windows,
        "source_mean_us": track.source_mean_us,
    }


def _ints(value: Any, n: int) -> list[int]:
    if isinstance(value, list) and len(value) == n and all(isinstance(x, int) for x in value):
        return list(value)
    return [0] * n


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def from_json(data: Any) -> Optional[Track]:
    """A track from the state file; None when it is not one (then it starts afresh)."""
    if not isinstance(data, dict):
        return None
    since, at = _number(data.get("since")), _number(data.get("at"))
    if since is None or at is None:
        return None
    rows = {}
    raw_rows = data.get("rows")
    if isinstance(raw_rows, dict):
        for key, value in raw_rows.items():
            v = _ints(value, 5)
            if isinstance(value, list) and len(value) == 5 and v == value:
                rows[str(key)] = Side(*v)
    buckets = [
        [float(x) for x in b]
        for b in data.get("buckets") or []
        if isinstance(b, list) and len(b) == 8 and all(_number(x) is not None for x in b)
    ]
    return Track(
        since=since,
        at=at,
        rows=rows,
        buckets=buckets,
        last_active=_number(data.get("last_active")) or 0.0,
        trial_stamp=_number(data.get("trial_stamp")),
        trial=_ints(data.get("trial"), 4),
        judged=_ints(data.get("judged"), 2),
        bad_windows=int(_number(data.get("bad_windows")) or 0),
        source_mean_us=_number(data.get("source_mean_us")),
    )
