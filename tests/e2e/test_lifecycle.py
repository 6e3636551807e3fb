"""The cache set follows the workload (issue 11), on the sandbox with an injected clock.

Passes run in-process (`Pass(clock=…)`) while `rps_sandbox.workload` adds executions in
simulated time where the emulator's runtime rules send them: to the source, to Readyset, or to
both while a mirror rule is active. Latencies are chosen per side, so each rule of lifecycle.py
is met with the numbers it decides on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from readyset_proxysql_scheduler.config import load
from readyset_proxysql_scheduler.log import Log
from readyset_proxysql_scheduler.scheduler import Pass
from rps_sandbox.sandbox import Sandbox
from rps_sandbox.workload import Workload
from tests.e2e.conftest import admin_rows, run_scheduler

T0 = 1_900_000_000.0
SHAPES = {
    "0x00000000000000A1": "SELECT id,name,email FROM customers WHERE id = ?",
    "0x00000000000000B2": "SELECT id,status,total FROM orders WHERE customer_id = ?",
    "0x00000000000000C3": "SELECT id,name,price FROM products WHERE sku = ?",
    "0x00000000000000D4": "SELECT id,name FROM customers WHERE email = ?",
}
A, B, C, D = SHAPES
RULES = (
    "SELECT rule_id, digest, destination_hostgroup, mirror_hostgroup, comment"
    " FROM runtime_mysql_query_rules ORDER BY rule_id"
)


class World:
    def __init__(self, sandbox: Sandbox, tmp: Path, **config: Any) -> None:
        self.sandbox = sandbox
        self.cfg = sandbox.scheduler_config(tmp / "scheduler.cnf", **config)
        self.log_path = tmp / "pass.log"
        self.t = T0
        assert sandbox.proxysql is not None
        self.traffic = Workload(sandbox.proxysql)

    def run(
        self, digest: str, count: int, source_us: int = 2000, readyset_us: int = 200, **kw: Any
    ):
        return self.traffic.run(digest, SHAPES[digest], count, self.t, source_us, readyset_us, **kw)

    def step(self, seconds: float, load: Optional[dict[str, int]] = None, **kw: Any) -> list[str]:
        """Traffic over `seconds` of simulated time, then a pass at the end of it."""
        for digest, count in (load or {}).items():
            self.run(digest, count, **kw)
        self.t += seconds
        return self.pass_()

    def pass_(self, dry_run: bool = False) -> list[str]:
        self.traffic.publish()
        self.log_path.write_text("")
        Pass(load(self.cfg), Log(file=str(self.log_path)), dry_run, clock=lambda: self.t).run()
        return [line.split("]: ", 1)[1] for line in self.log_path.read_text().splitlines()]

    def rules(self) -> list[tuple[Any, ...]]:
        return admin_rows(self.sandbox, RULES)

    def routing(self) -> dict[str, str]:
        out = {}
        for _, digest, destination, mirror, _ in self.rules():
            out[digest] = "routed" if destination == "99" else "mirrored" if mirror else "?"
        return out

    def caches(self, host: int = 0) -> set[str]:
        return {c.name for c in self.sandbox.readyset[host].caches()}

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(Path(load(self.cfg).state_path).read_text())
        return data


def has(lines: list[str], *parts: str) -> bool:
    return any(all(p in line for p in parts) for line in lines)


def test_obvious_win_is_promoted_at_the_end_of_its_first_warmup(sandbox: Sandbox, tmp_path) -> None:
    w = World(sandbox, tmp_path, warmup_time_s=60)
    w.run(A, 50)
    lines = w.pass_()
    assert has(lines, "add rule", "mirrors digest " + A)
    assert w.routing() == {A: "mirrored"}
    for _ in range(5):  # 50 s of mirrored traffic, Readyset 10x faster
        assert w.step(10, {A: 30}) == []
    lines = w.step(10, {A: 30})
    assert w.routing() == {A: "routed"}
    assert has(
        lines,
        f"promote rule 1 (digest {A})",
        "Readyset 0.20 ms mean over 150 mirrored executions, source 2.00 ms over 150 during the"
        " warm-up, ratio 0.10 <= max_latency_ratio 1.5",
    )


def test_slow_readyset_stays_mirrored_then_is_given_up(sandbox: Sandbox, tmp_path) -> None:
    w = World(sandbox, tmp_path, warmup_time_s=30, max_failed_warmups=2)
    w.run(A, 50)
    w.pass_()
    slow = {"source_us": 1000, "readyset_us": 5000}
    w.step(10, {A: 30}, **slow)
    w.step(10, {A: 30}, **slow)
    lines = w.step(10, {A: 30}, **slow)
    assert w.routing() == {A: "mirrored"}
    assert has(lines, "keep rule 1", "ratio 5.00 > max_latency_ratio 1.5; failed warm-up 1 of 2")
    assert w.rules()[0][4].endswith(" UTC; failed warm-ups: 1")
    for _ in range(2):
        assert w.step(10, {A: 30}, **slow) == []
    lines = w.step(10, {A: 30}, **slow)
    assert w.rules() == [] and w.caches() == set()
    assert has(lines, "give up on rule 1", "failed warm-up 2 of max_failed_warmups 2")
    assert has(lines, "drop cache d_0x00000000000000A1_shop")
    refusal = w.state()["unsupported"][f"{A}/shop"]["text"]
    assert refusal.startswith("Readyset not faster than the source: Readyset 5.00 ms mean")
    assert w.step(10, {A: 30}, **slow) == []  # remembered: not tried again
    assert w.rules() == []


def test_readyset_errors_fail_the_warmup(sandbox: Sandbox, tmp_path) -> None:
    w = World(sandbox, tmp_path, warmup_time_s=20)
    w.run(A, 50)
    w.pass_()
    w.step(10, {A: 30}, readyset_errors=True)
    lines = w.step(10, {A: 30}, readyset_errors=True)
    assert w.routing() == {A: "mirrored"}
    assert has(lines, "keep rule 1", "Readyset answered 0 of 30 mirrored executions")


def test_degraded_routed_digest_is_demoted_to_a_mirror(sandbox: Sandbox, tmp_path) -> None:
    # warmup_time_s = 0: the first passes after routing play the warm-up's part
    w = World(sandbox, tmp_path, demote_after_windows=2)
    w.run(A, 100, source_us=1000)
    w.pass_()
    assert w.routing() == {A: "routed"}
    assert w.step(10, {A: 40}, readyset_us=300) == []
    assert w.step(10, {A: 40}, readyset_us=3000) == []  # one bad window
    lines = w.step(10, {A: 40}, readyset_us=3000)
    assert w.routing() == {A: "mirrored"}
    assert has(
        lines,
        "demote rule 1",
        "Readyset 3.00 ms mean over the last 40 executions vs source 1.00 ms, ratio 3.00 >"
        " max_latency_ratio 1.5 for 2 windows in a row; failed warm-up 1 of 3",
    )
    # mirrored again: the source answers; once Readyset is fast again it is promoted back
    w.step(10, {A: 40}, readyset_us=300)
    lines = w.step(10, {A: 40}, readyset_us=300)
    assert w.routing() == {A: "routed"}, lines


def test_idle_digest_is_evicted_everywhere(sandbox: Sandbox, tmp_path) -> None:
    sandbox.stop()
    two = Sandbox(mariadb=sandbox.mariadb, workdir=tmp_path / "two", readysets=2).start()
    try:
        w = World(two, tmp_path, evict_after_s=3600)
        w.run(A, 50)
        w.run(B, 40)
        w.pass_()
        assert set(w.routing()) == {A, B}
        assert "d_0x00000000000000A1_shop" in w.caches(
            0
        ) and "d_0x00000000000000A1_shop" in w.caches(1)
        for _ in range(5):  # A stays busy, B goes quiet
            assert w.step(600, {A: 100}) == []
        lines = w.step(600, {A: 100})
        assert w.routing() == {A: "routed"}
        assert has(lines, f"evict rule 2 (digest {B}, schema shop): no execution for 1.0 h")
        assert "d_0x00000000000000B2_shop" not in w.caches(0) | w.caches(1)
        assert w.step(600, {A: 100}) == []  # B is not found again: it is idle
    finally:
        two.stop()


def test_a_node_without_traffic_evicts_nothing(sandbox: Sandbox, tmp_path) -> None:
    w = World(sandbox, tmp_path, evict_after_s=3600)
    w.run(A, 50)
    w.pass_()
    w.t += 10 * 3600
    assert w.pass_() == []
    assert w.routing() == {A: "routed"}


def test_hotter_candidate_replaces_the_coldest_at_the_cap(sandbox: Sandbox, tmp_path) -> None:
    w = World(sandbox, tmp_path, number_of_queries=1, replace_window_s=600, evict_after_s=0)
    w.run(A, 100)
    w.pass_()
    assert w.routing() == {A: "routed"}
    for _ in range(6):  # B is 1.5x as hot as A: under the hysteresis, nothing happens
        assert w.step(100, {A: 20, B: 30}) == []
    lines = []
    for _ in range(7):  # then B is 5x as hot
        lines += w.step(100, {A: 10, B: 50})
    assert w.routing() == {B: "routed"}, lines
    assert has(lines, "replace rule 1 (digest 0x00000000000000A1", "is hotter over the last 0.2 h")
    assert "d_0x00000000000000A1_shop" not in w.caches()
    assert "d_0x00000000000000B2_shop" in w.caches()
    # A is now the candidate, and not hotter by the hysteresis: no flapping back
    for _ in range(8):
        assert w.step(100, {A: 10, B: 50}) == []


def test_counter_resets_are_not_negative_traffic(sandbox: Sandbox, tmp_path) -> None:
    w = World(sandbox, tmp_path, evict_after_s=3600, demote_after_windows=1)
    w.run(A, 100)
    w.pass_()
    w.step(10, {A: 40})
    w.traffic.reset()  # someone read stats_mysql_query_digest_reset
    w.step(10, {A: 5})
    tracks = w.state()["tracks"]
    assert tracks[f"{A}/shop"]["judged"] == [5, 1000]  # counted since the reset
    assert w.routing() == {A: "routed"}
    # a reset with no traffic since: the row is gone, nothing negative, nothing evicted
    w.traffic.reset()
    assert w.step(10) == []
    assert w.routing() == {A: "routed"}


def test_proxysql_restart_between_passes(sandbox: Sandbox, tmp_path) -> None:
    w = World(sandbox, tmp_path, evict_after_s=3600)
    w.run(A, 100)
    w.pass_()
    w.step(1800, {A: 40})
    assert sandbox.proxysql is not None
    sandbox.proxysql.stop()
    sandbox.proxysql.start()  # rules come back from disk, counters start from nothing
    w.traffic.reset()
    w.t += 3000  # long enough to look idle, had the restart been read as idleness
    lines = w.step(10, {B: 30})
    assert w.routing()[A] == "routed" and not has(lines, "evict")
    lines = w.step(10, {A: 30, B: 30})
    assert not has(lines, "evict") and not has(lines, "demote")


def test_readyset_restarted_empty_gets_its_caches_back(sandbox: Sandbox, tmp_path) -> None:
    w = World(sandbox, tmp_path)
    w.run(A, 100)
    w.run(B, 90)
    w.pass_()
    with sandbox.readyset_connection() as conn, conn.cursor() as cur:
        cur.execute("DROP ALL CACHES")
    assert w.caches() == set()
    lines = w.step(10, {A: 10})
    assert w.caches() == {"d_0x00000000000000A1_shop", "d_0x00000000000000B2_shop"}
    assert has(lines, A, "cache missing on Readyset", "re-creating d_0x00000000000000A1_shop")
    assert set(w.routing()) == {A, B}


def test_two_readyset_hosts_disagree(sandbox: Sandbox, tmp_path) -> None:
    sandbox.stop()
    two = Sandbox(mariadb=sandbox.mariadb, workdir=tmp_path / "two", readysets=2).start()
    try:
        w = World(two, tmp_path)
        w.run(A, 100)
        w.pass_()
        with two.readyset_connection(1) as conn, conn.cursor() as cur:
            cur.execute("DROP CACHE d_0x00000000000000A1_shop")
        lines = w.step(10, {A: 10})
        assert "d_0x00000000000000A1_shop" in w.caches(0) & w.caches(1)
        assert sum("create cache" in line for line in lines) == 1
        # host 2 loses it again and now refuses it: the rule goes, and the cache on host 1
        with two.readyset_connection(1) as conn, conn.cursor() as cur:
            cur.execute("DROP CACHE d_0x00000000000000A1_shop")
        two.readyset[1].fail_create_cache = "Operation unsupported"
        lines = w.step(10, {A: 10})
        assert has(lines, "remove rule 1", "re-creating it failed")
        assert A not in w.routing()
        assert "d_0x00000000000000A1_shop" not in w.caches(0)
    finally:
        two.stop()


def test_deny_list_removes_and_never_adds(sandbox: Sandbox, tmp_path) -> None:
    w = World(sandbox, tmp_path)
    w.run(A, 100)
    w.run(B, 90)
    w.pass_()
    assert set(w.routing()) == {A, B}
    w.cfg = w.sandbox.scheduler_config(w.cfg, deny=[A, "FROM products"])
    w.run(C, 80)
    lines = w.step(10, {A: 10})
    assert has(lines, "remove denied rule 1", f"on the deny list ({A})")
    assert set(w.routing()) == {B}
    assert w.caches() == {"d_0x00000000000000B2_shop"}


def test_dry_run_shows_the_decisions_and_changes_nothing(sandbox: Sandbox, tmp_path) -> None:
    w = World(sandbox, tmp_path, evict_after_s=600)
    w.run(A, 100)
    w.run(B, 100)
    w.pass_()
    w.t += 700
    w.run(A, 10)
    before, state = w.rules(), w.state()
    caches = w.caches()
    lines = w.pass_(dry_run=True)
    assert has(lines, "dry run: would evict rule 2", "no execution for 0.2 h")
    # and what follows from it, as the real pass would do it
    assert has(lines, "dry run: would drop cache d_0x00000000000000B2_shop", "no rule uses it")
    assert w.rules() == before and w.state() == state and w.caches() == caches
    lines = w.pass_()
    assert has(lines, "drop cache d_0x00000000000000B2_shop", "no rule uses it")


def test_a_fresh_state_file_converges_instead_of_undoing(sandbox: Sandbox, tmp_path) -> None:
    w = World(sandbox, tmp_path, warmup_time_s=30, number_of_queries=2, replace_window_s=600)
    w.run(A, 100)
    w.run(B, 100)
    w.pass_()
    for _ in range(4):
        w.step(10, {A: 30, B: 30})
    assert w.routing() == {A: "routed", B: "routed"}
    rules = w.rules()
    Path(load(w.cfg).state_path).unlink()  # another node, or a lost file
    for _ in range(3):
        assert w.step(10, {A: 30, B: 30, C: 90}) == []
    assert w.rules() == rules
    assert w.caches() == {"d_0x00000000000000A1_shop", "d_0x00000000000000B2_shop"}


def test_console_script_applies_the_deny_list(sandbox: Sandbox, tmp_path) -> None:
    traffic = Workload(sandbox.proxysql)  # type: ignore[arg-type]
    import time

    now = time.time()
    traffic.run(A, SHAPES[A], 50, now, 2000, 200)
    traffic.run(B, SHAPES[B], 40, now, 2000, 200)
    traffic.publish()
    cfg = sandbox.scheduler_config(tmp_path / "s.cnf", deny=["FROM orders"])
    run = run_scheduler(cfg)
    assert run.code == 0, run.lines
    assert [r[1] for r in admin_rows(sandbox, RULES)] == [A]
