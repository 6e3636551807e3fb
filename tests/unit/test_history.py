"""history.py: cumulative counters into deltas, resets never read as negative traffic."""

from __future__ import annotations

import json

import pytest

from readyset_proxysql_scheduler import history
from readyset_proxysql_scheduler.history import Counts, Delta, Side, Track, observe, row_delta

T0 = 1_800_000_000.0


def side(count: int, time_us: int, first: int = int(T0) - 100, last: int = int(T0), rows: int = 0):
    return Side(count, time_us, rows, first, last)


def test_row_delta_table() -> None:
    prev = side(10, 1000, rows=5)
    # present then and now: now minus then
    assert row_delta(prev, side(15, 1600, rows=9), T0) == (Counts(5, 600, 4), False)
    # unchanged: nothing
    assert row_delta(prev, prev, T0) == (Counts(), False)
    # absent then and now
    assert row_delta(None, None, T0) == (Counts(), False)
    # present then, absent now: a reset, nothing counted
    assert row_delta(prev, None, T0) == (Counts(), True)
    # fewer executions now: counted since the reset
    assert row_delta(prev, side(3, 90, rows=1), T0) == (Counts(3, 90, 1), True)
    # same count but first_seen moved: a reset too
    moved = side(10, 500, first=int(T0) + 5)
    assert row_delta(prev, moved, T0) == (Counts(10, 500, 0), True)
    # a new row born after the last read: all of it is new
    assert row_delta(None, side(4, 40, first=int(T0)), T0) == (Counts(4, 40, 0), False)
    # ... within the one-second slack of first_seen's whole seconds
    assert row_delta(None, side(4, 40, first=int(T0) - 1), T0) == (Counts(4, 40, 0), False)
    # a row older than the last read (or a new track): a baseline
    assert row_delta(None, side(4, 40, first=int(T0) - 2), T0) == (Counts(), False)
    assert row_delta(None, side(4, 40, first=int(T0) + 9), None) == (Counts(), False)


def test_counts_mean_and_sum() -> None:
    assert Counts(4, 100, 2).mean_us == 25
    assert Counts().mean_us is None
    assert Counts(1, 2, 3) + Counts(10, 20, 30) == Counts(11, 22, 33)


def test_counters_are_values_that_cannot_change() -> None:
    delta = Delta()
    with pytest.raises(AttributeError):
        delta.source.count = 5  # type: ignore[misc]  # would change every Delta()'s default
    assert Delta().source == Counts() and Counts(1, 2) != Counts(1, 3)
    assert len({Counts(1, 2), Counts(1, 2), Counts(2, 1)}) == 2
    assert Counts(1, 2, 3) != Side(1, 2, 3, 0, 0) and repr(Counts(1)) == "Counts(1, 0, 0)"


def test_first_read_is_a_baseline_then_deltas_per_side() -> None:
    rows = {"s:0x1/db": side(100, 10_000), "r:0x1/db": side(50, 1_000)}
    track, delta = observe(None, rows, T0, 300, 3600)
    assert (delta.source, delta.readyset, delta.resets) == (Counts(), Counts(), 0)
    assert track.since == track.at == T0 and track.buckets == []
    assert track.last_active == T0
    later = {"s:0x1/db": side(110, 11_000, last=int(T0) + 60), "r:0x1/db": side(80, 1_600)}
    track, delta = observe(track, later, T0 + 60, 300, 3600)
    assert delta.source == Counts(10, 1000) and delta.readyset == Counts(30, 600)
    assert track.at == T0 + 60 and track.last_active == T0 + 60
    assert track.buckets == [[T0, T0 + 60, 10, 1000, 0, 30, 600, 0]]


def test_proxysql_restart_loses_rows_and_counts_anew() -> None:
    rows = {"s:0x1/db": side(100, 10_000)}
    track, _ = observe(None, rows, T0, 300, 3600)
    track, delta = observe(track, {}, T0 + 10, 300, 3600)  # restarted, not executed since
    assert delta.resets == 1 and delta.source == Counts()
    assert track.last_active == T0  # remembered across the restart
    back = {"s:0x1/db": side(7, 700, first=int(T0) + 15, last=int(T0) + 19)}
    track, delta = observe(track, back, T0 + 20, 300, 3600)
    assert delta.source == Counts(7, 700) and delta.resets == 0
    # a reset read between two passes: fewer executions, all counted, never negative
    track, delta = observe(track, {"s:0x1/db": side(2, 50, first=int(T0) + 25)}, T0 + 30, 300, 3600)
    assert delta.source == Counts(2, 50) and delta.resets == 1


def test_buckets_merge_within_bucket_s_and_expire_after_keep_s() -> None:
    track = Track(since=T0, at=T0, rows={"s:0x1/db": side(0, 0)})
    for i in range(1, 5):
        track, _ = observe(track, {"s:0x1/db": side(i * 10, i * 100)}, T0 + 100 * i, 250, 1000)
    # buckets start at 0-100 (new at 100), merged until 250 s after their start
    assert [b[:3] for b in track.buckets] == [[T0, T0 + 200, 20], [T0 + 200, T0 + 400, 20]]
    source, readyset = track.window(T0 + 250)
    assert source == Counts(20, 200) and readyset == Counts()
    assert track.window(T0)[0] == Counts(40, 400)
    track, _ = observe(track, {"s:0x1/db": side(40, 400)}, T0 + 1300, 250, 1000)
    assert [b[1] for b in track.buckets] == [T0 + 400]  # 200 is older than keep_s
    track, _ = observe(track, {"s:0x1/db": side(40, 400)}, T0 + 1400, 250, 1000)
    assert track.buckets == []  # no traffic makes no bucket; the last one expired


def test_trial_counts_only_after_the_readyset_row_was_seen() -> None:
    track, _ = observe(None, {"s:0x1/db": side(10, 100)}, T0, 300, 3600)
    track.trial_stamp = T0
    # the first mirrored executions (the mirror connections being opened) are left out
    rows = {"s:0x1/db": side(20, 200), "r:0x1/db": side(10, 5000, first=int(T0) + 5)}
    track, delta = observe(track, rows, T0 + 10, 300, 3600)
    assert delta.readyset == Counts(10, 5000)
    assert track.trial == [0, 0, 0, 0]
    rows = {"s:0x1/db": side(30, 300), "r:0x1/db": side(20, 5100, first=int(T0) + 5)}
    track, _ = observe(track, rows, T0 + 20, 300, 3600)
    assert track.trial == [10, 100, 10, 100]
    track.trial_stamp = None  # no trial open: nothing accumulates
    rows = {"s:0x1/db": side(40, 400), "r:0x1/db": side(30, 5200, first=int(T0) + 5)}
    track, _ = observe(track, rows, T0 + 30, 300, 3600)
    assert track.trial == [10, 100, 10, 100]


def test_json_round_trip_and_bad_input() -> None:
    track, _ = observe(None, {"s:0x1/db": side(10, 100), "r:0x1/db": side(5, 20)}, T0, 300, 3600)
    track, _ = observe(track, {"s:0x1/db": side(20, 200)}, T0 + 9, 300, 3600)
    track.trial_stamp, track.trial, track.judged = T0, [1, 2, 3, 4], [5, 6]
    track.bad_windows, track.source_mean_us = 2, 12.5
    data = json.loads(json.dumps(history.to_json(track)))
    assert history.from_json(data) == track
    assert history.from_json("x") is None
    assert history.from_json({"since": "a", "at": 1}) is None
    assert history.from_json({"since": 1, "at": True}) is None
    odd = history.from_json(
        {
            "since": 1,
            "at": 2,
            "rows": {
                "s:0x1/db": [1, 2, 3],
                "s:0x2/db": [1, 2, 3, 4, 5.5],
                "r:0x3/db": [1, 2, 3, 4, 5],
            },
            "buckets": [[1, 2], [0, 1, 2, 3, 4, 5, 6, 7], [0, 1, 2, 3, 4, 5, 6, "x"]],
            "trial": [1, 2],
            "judged": [1.5, 2],
            "bad_windows": "3",
            "trial_stamp": "no",
        }
    )
    assert odd is not None
    assert odd.rows == {"r:0x3/db": Side(1, 2, 3, 4, 5)}
    assert odd.buckets == [[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]]
    assert (odd.trial, odd.judged, odd.bad_windows, odd.trial_stamp) == ([0] * 4, [0, 0], 0, None)
    assert (odd.last_active, odd.source_mean_us) == (0.0, None)


def test_trial_counts_the_source_when_every_mirror_fails() -> None:
    track, _ = observe(None, {"s:0x1/db": side(10, 100)}, T0, 300, 3600)
    track.trial_stamp = T0
    track, _ = observe(track, {"s:0x1/db": side(30, 300)}, T0 + 10, 300, 3600)
    assert track.trial == [20, 200, 0, 0]


def test_executions_count_a_mirrored_statement_once() -> None:
    track = Track(since=T0, at=T0)
    track.buckets = [
        [T0, T0 + 10, 5, 50, 1, 0, 0, 0],  # on the source only
        [T0 + 10, T0 + 20, 7, 70, 2, 7, 14, 2],  # mirrored: both sides
        [T0 + 20, T0 + 30, 0, 0, 0, 9, 18, 3],  # routed
        [T0 + 30, T0 + 40, 2, 20, 0, 3, 6, 1],  # promoted mid-bucket: the busier side
    ]
    assert history.executions(track, T0) == Counts(5 + 7 + 9 + 3, 50 + 70 + 18 + 6, 1 + 2 + 3 + 1)
    assert history.executions(track, T0 + 20) == Counts(12, 24, 4)
    assert history.executions(track, T0 + 40) == Counts()
