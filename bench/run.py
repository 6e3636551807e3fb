"""Benchmark of one scheduler pass as ProxySQL runs it, beside the floor measured in the same run.

    python -m bench.run [--size tiny|full] [--repeat N] [--output bench/RESULTS.md]

Every pass is the console script exec'd with an empty environment, timed from spawn to exit.
The *floor* of a pass is a fresh `python` that imports PyMySQL, connects to the same admin
interface and sends exactly the admin statements the pass sent (captured from the emulator),
then exits: the ratio pass / floor is what the scheduler adds over the work it cannot avoid.

Both are spawned by a tiny launcher process (`LAUNCHER`) that times them and reads their peak
RSS with `os.wait4`: a child spawned straight from this process inherits this process's RSS
high-water mark in `ru_maxrss` (Linux carries it across exec), which would report the sandbox's
memory, not the scheduler's.

The emulators run in this process. The admin interface's own time per statement (SQLite, and
rebuilding `stats_mysql_query_digest` from memory on every statement that names it) is measured
server side and reported separately, so the ratios can also be read without it.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from rps_sandbox.mariadb import MariaDB
from rps_sandbox.sandbox import READYSET_HOSTGROUP, SOURCE_HOSTGROUP, Sandbox

BIN = Path(sys.executable).parent
SCRIPT = BIN / "readyset_proxysql_scheduler"
PYTHON = BIN / "python"

# Spawns argv[2:] with an empty environment, stdin from argv[1] ("-" for /dev/null), output to
# /dev/null; prints wall seconds, peak RSS in KiB, exit code. Run with -S -I: it stays small, so
# the high-water mark its child inherits is below any Python program's own.
LAUNCHER = """\
import os, sys, time
src = sys.argv[1]
fd = os.open(os.devnull if src == "-" else src, os.O_RDONLY)
null = os.open(os.devnull, os.O_WRONLY)
actions = [(os.POSIX_SPAWN_DUP2, fd, 0), (os.POSIX_SPAWN_DUP2, null, 1),
           (os.POSIX_SPAWN_DUP2, null, 2)]
t = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], {}, file_actions=actions)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t
print(wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""

# The floor: import PyMySQL, connect as the scheduler does (no TLS on loopback), send the
# statements read from stdin, exit. stdin holds sections separated by \x01 (the admin's first,
# then one per Readyset port given in argv), each a list of NUL-separated statements.
FLOOR = """\
import sys
import pymysql
host, admin_port, admin_user, admin_password, rs_user, rs_password, rs_ports = sys.argv[1:8]
sections = sys.stdin.buffer.read().decode().split("\\x01")
targets = [(int(admin_port), admin_user, admin_password)]
targets += [(int(p), rs_user, rs_password) for p in rs_ports.split(",") if p]
for (port, user, password), text in zip(targets, sections):
    statements = [s for s in text.split("\\0") if s]
    if not statements:
        continue
    conn = pymysql.connect(host=host, port=port, user=user, password=password,
                           autocommit=True, charset="utf8mb4", ssl_disabled=True)
    cur = conn.cursor()
    for sql in statements:
        cur.execute(sql)
        cur.fetchall()
    conn.close()
"""

# Statements PyMySQL itself sends on connect: the floor's own connect sends them too.
CONNECT_SETUP = re.compile(r"^\s*SET\s+(NAMES|AUTOCOMMIT)\b", re.IGNORECASE)
DIGEST_TABLE = "stats_mysql_query_digest"
SCHEDULER_RULES = (
    "DELETE FROM mysql_query_rules WHERE comment LIKE 'Added by readyset scheduler at:%'"
    " OR comment LIKE 'Mirror by readyset scheduler at:%'"
)

# Ten supported candidates over the sandbox schema `shop`, hotter than every filler digest.
CANDIDATES = [
    "SELECT name FROM customers WHERE id = ?",
    "SELECT email FROM customers WHERE id = ?",
    "SELECT country FROM customers WHERE id = ?",
    "SELECT balance FROM customers WHERE id = ?",
    "SELECT sku FROM products WHERE id = ?",
    "SELECT price FROM products WHERE id = ?",
    "SELECT stock FROM products WHERE category = ?",
    "SELECT status FROM orders WHERE id = ?",
    "SELECT total FROM orders WHERE customer_id = ?",
    "SELECT quantity FROM order_items WHERE order_id = ?",
]
CANDIDATE_DIGEST = 0xC0FFEE0000000000


# ---------------------------------------------------------------- sizes and results


@dataclass(frozen=True)
class Size:
    steady_digests: int
    grid_digests: tuple[int, ...]
    grid_rules: tuple[int, ...]
    hung_hosts: tuple[int, int]  # (hosts, of which hung)
    hung_digests: int
    repeat: int


# Row a's target sits a few milliseconds from what this shared 2-CPU machine's noise moves a
# median of 7 by; its passes are short, so it gets more runs.
STEADY_RUNS_FACTOR = 3

SIZES = {
    "tiny": Size(200, (200,), (0, 50), (2, 1), 200, 1),
    "full": Size(1000, (1000, 10_000, 100_000), (0, 1000), (8, 4), 1000, 7),
}


@dataclass(frozen=True)
class Spawned:
    wall_s: float
    rss_kb: int
    code: int


@dataclass
class Samples:
    runs: list[Spawned] = field(default_factory=list)
    emulator_s: list[float] = field(default_factory=list)  # admin server time per run

    @property
    def walls_ms(self) -> list[float]:
        return [r.wall_s * 1000 for r in self.runs]

    def median_ms(self) -> float:
        return statistics.median(self.walls_ms) if self.runs else float("nan")

    def spread(self) -> str:
        walls = self.walls_ms
        return f"{min(walls):.0f}–{max(walls):.0f}" if walls else "-"

    def emulator_ms(self) -> float:
        return statistics.median(self.emulator_s) * 1000 if self.emulator_s else 0.0

    def rss_mb(self) -> float:
        return max(r.rss_kb for r in self.runs) / 1024 if self.runs else float("nan")

    def codes(self) -> set[int]:
        return {r.code for r in self.runs}


@dataclass
class Row:
    scenario: str
    digests: int
    rules: int
    hosts: int
    hung: int
    passes: Samples = field(default_factory=Samples)
    floors: Samples = field(default_factory=Samples)  # admin statements only
    floors_rs: Samples = field(default_factory=Samples)  # admin + every answering Readyset's
    admin_statements: int = 0
    digest_reads: int = 0
    digest_read_ms: list[float] = field(default_factory=list)  # emulator time of those reads
    readyset_trips: list[int] = field(default_factory=list)
    floor_matches: bool = True

    def ratio(self) -> float:
        return self.passes.median_ms() / self.floors.median_ms()

    def paired_ratio(self) -> float:
        """The median of pass_i / floor_i, each floor run right after its pass: a burst of load
        on a shared machine then weighs on both sides of one ratio, not on one median."""
        pairs = zip(self.passes.walls_ms, self.floors.walls_ms)
        ratios = [p / f for p, f in pairs if f > 0]
        return statistics.median(ratios) if ratios else float("nan")

    def ratio_rs(self) -> float:
        return self.passes.median_ms() / self.floors_rs.median_ms()

    def ratio_without_emulator(self) -> float:
        own = self.passes.median_ms() - self.passes.emulator_ms()
        floor = self.floors.median_ms() - self.floors.emulator_ms()
        return own / floor if floor > 0 else float("nan")

    def digest_ms(self) -> float:
        return statistics.median(self.digest_read_ms) if self.digest_read_ms else 0.0


@dataclass
class Baselines:
    python_pass: Samples = field(default_factory=Samples)
    import_pymysql: Samples = field(default_factory=Samples)


@dataclass
class Report:
    size: str
    repeat: int
    baselines: Baselines
    rows: list[Row]
    tls: Tls
    seconds: float


# ---------------------------------------------------------------- processes


def spawn(argv: Sequence[str], stdin: Optional[Path] = None) -> Spawned:
    out = subprocess.run(
        [str(PYTHON), "-S", "-I", "-c", LAUNCHER, str(stdin or "-"), *argv],
        env={},
        capture_output=True,
        text=True,
        check=True,
    )
    wall, rss, code = out.stdout.split()
    return Spawned(float(wall), int(rss), int(code))


def measure_baselines(repeat: int) -> Baselines:
    base = Baselines()
    for _ in range(max(repeat, 5)):
        base.python_pass.runs.append(spawn([str(PYTHON), "-c", "pass"]))
        base.import_pymysql.runs.append(spawn([str(PYTHON), "-c", "import pymysql"]))
    return base


# ---------------------------------------------------------------- the emulators, observed


class AdminClock:
    """Server-side time of each admin statement, by wrapping the emulator's handler."""

    def __init__(self, sb: Sandbox) -> None:
        assert sb.proxysql is not None
        admin = sb.proxysql._admin  # noqa: SLF001 - the benchmark observes the emulator
        assert admin is not None
        self.spent: list[tuple[str, float]] = []
        inner = admin.handle

        def handle(sql: str, role: str) -> Any:
            start = time.perf_counter()
            try:
                return inner(sql, role)
            finally:
                self.spent.append((sql, time.perf_counter() - start))

        admin.handle = handle

    def mark(self) -> int:
        return len(self.spent)

    def since(self, mark: int, only: str = "") -> float:
        return sum(t for sql, t in self.spent[mark:] if only in sql.lower())


def admin_run(sb: Sandbox, statements: Sequence[str]) -> None:
    with sb.admin() as conn, conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql)


def seed_digests(sb: Sandbox, count: int) -> None:
    """`count` digests of the application's reads: the ten candidates are the hottest."""
    assert sb.proxysql is not None
    now = int(time.time())
    sb.proxysql.add_digest_rows(_digest_rows(count, now))


def _digest_rows(count: int, now: int) -> Iterator[dict[str, Any]]:
    base = dict(hostgroup=SOURCE_HOSTGROUP, schemaname="shop", username="app", client_address="")
    for i, text in enumerate(CANDIDATES[:count]):
        yield dict(
            base, digest=f"0x{CANDIDATE_DIGEST + i:016X}", digest_text=text,
            count_star=1_000_000 - i, first_seen=now, last_seen=now, sum_time=5_000_000,
            min_time=50, max_time=900, sum_rows_affected=0, sum_rows_sent=1_000_000,
        )  # fmt: skip
    for i in range(max(0, count - len(CANDIDATES))):
        calls = (i * 7919) % 100_000 + 1
        yield dict(
            base, digest=filler_digest(i), digest_text=f"SELECT name AS n{i} FROM customers"
            f" WHERE id = ? AND country = ?", count_star=calls, first_seen=now, last_seen=now,
            sum_time=calls * 80, min_time=20, max_time=4000, sum_rows_affected=0,
            sum_rows_sent=calls,
        )  # fmt: skip


def filler_digest(i: int) -> str:
    return f"0x{0x1000_0000 + i:016X}"


def seed_user_rules(sb: Sandbox, count: int) -> None:
    """`count` active user rules with distinct digests, above the ids the scheduler takes."""
    if count <= 0:
        return
    values = ",".join(
        f"({1000 + i}, 1, '{filler_digest(i)}', {SOURCE_HOSTGROUP}, 1, 'user rule {i}')"
        for i in range(count)
    )
    admin_run(
        sb,
        [
            "INSERT INTO mysql_query_rules (rule_id, active, digest, destination_hostgroup,"
            f" apply, comment) VALUES {values}",  # noqa: S608 - constants only
            "LOAD MYSQL QUERY RULES TO RUNTIME",
        ],
    )


def reset(sb: Sandbox, state: Path) -> None:
    """Back to the state before the first pass: no scheduler rule, cache or state file."""
    admin_run(
        sb,
        [
            SCHEDULER_RULES,
            "LOAD MYSQL QUERY RULES TO RUNTIME",
            f"UPDATE mysql_servers SET status = 'ONLINE' WHERE hostgroup_id = {READYSET_HOSTGROUP}",
            "LOAD MYSQL SERVERS TO RUNTIME",
        ],
    )
    for i, rs in enumerate(sb.readyset):
        if rs.connect_behaviour == "accept":
            with sb.readyset_connection(i) as conn, conn.cursor() as cur:
                cur.execute("DROP ALL CACHES")
    state.unlink(missing_ok=True)


# ---------------------------------------------------------------- one scenario


@dataclass(frozen=True)
class PassRecord:
    run: Spawned
    admin: list[str]  # statements received by the admin interface
    readyset: list[list[str]]  # statements received by each Readyset host
    emulator_s: float  # admin server time
    digest_s: float  # admin server time of the statements naming the digest table


@dataclass(frozen=True)
class FloorRecord:
    run: Spawned
    admin: list[str]
    emulator_s: float


@dataclass
class Bench:
    sb: Sandbox
    clock: AdminClock
    config: Path
    state: Path
    workdir: Path

    def run_pass(self) -> PassRecord:
        sb = self.sb
        assert sb.proxysql is not None
        first, mark = len(sb.proxysql.statements), self.clock.mark()
        for rs in sb.readyset:
            rs.statements.clear()
        run = spawn([str(SCRIPT), f"--config={self.config}"])
        return PassRecord(
            run,
            list(sb.proxysql.statements[first:]),
            [list(rs.statements) for rs in sb.readyset],
            self.clock.since(mark),
            self.clock.since(mark, DIGEST_TABLE),
        )

    def run_floor(self, record: PassRecord, with_readyset: bool) -> FloorRecord:
        """A bare client sends the pass's admin statements (and, `with_readyset`, each answering
        Readyset host's statements, one host after another)."""
        sb = self.sb
        assert sb.proxysql is not None and sb.mariadb is not None
        sections = [record.admin]
        ports = []
        if with_readyset:
            for rs, sent in zip(sb.readyset, record.readyset):
                if rs.connect_behaviour == "accept" and sent:
                    sections.append(sent)
                    ports.append(str(rs.port))
        path = self.workdir / "floor.sql"
        path.write_bytes(
            "\x01".join(
                "\0".join(s for s in sent if not CONNECT_SETUP.match(s)) for sent in sections
            ).encode()
        )
        db = sb.mariadb
        argv = [str(PYTHON), "-c", FLOOR, "127.0.0.1", str(sb.admin_port), "admin", "admin"]
        argv += [db.app_user, db.app_password, ",".join(ports)]
        first, mark = len(sb.proxysql.statements), self.clock.mark()
        run = spawn(argv, stdin=path)
        return FloorRecord(run, list(sb.proxysql.statements[first:]), self.clock.since(mark))


@contextmanager
def bench(
    mariadb: MariaDB, root: Path, name: str, hosts: int, hung: int, **overrides: Any
) -> Iterator[Bench]:
    workdir = root / name
    workdir.mkdir(parents=True)
    sb = Sandbox(mariadb=mariadb, workdir=workdir / "sandbox", readysets=hosts)
    sb.start()
    try:
        for rs in sb.readyset[hosts - hung :]:
            rs.connect_behaviour = "hang"
        state = workdir / "scheduler.state.json"
        config = sb.scheduler_config(
            workdir / "scheduler.cnf", state_file=str(state), number_of_queries=10, **overrides
        )
        yield Bench(sb, AdminClock(sb), config, state, workdir)
    finally:
        sb.stop()


def record(row: Row, b: Bench, fresh: bool, repeat: int) -> Row:
    """An untimed warm-up pass, then `repeat` passes each followed by its two floors. With
    `fresh`, every pass and floor starts from the state before the first pass."""

    def prepare() -> None:
        if fresh:
            reset(b.sb, b.state)

    prepare()
    b.run_pass()
    for _ in range(repeat):
        prepare()
        done = b.run_pass()
        _add_pass(row, done)
        prepare()
        floor = b.run_floor(done, with_readyset=False)
        row.floors.runs.append(floor.run)
        row.floors.emulator_s.append(floor.emulator_s)
        row.floor_matches &= floor.admin == done.admin
        prepare()
        row.floors_rs.runs.append(b.run_floor(done, with_readyset=True).run)
    return row


def _add_pass(row: Row, done: PassRecord) -> None:
    row.passes.runs.append(done.run)
    row.passes.emulator_s.append(done.emulator_s)
    row.admin_statements = len(done.admin)
    row.digest_reads = sum(DIGEST_TABLE in s.lower() for s in done.admin)
    row.digest_read_ms.append(done.digest_s * 1000)
    row.readyset_trips = [len(sent) for sent in done.readyset]


def steady(mariadb: MariaDB, root: Path, digests: int, repeat: int) -> Row:
    with bench(mariadb, root, "steady", 1, 0) as b:
        seed_digests(b.sb, digests)
        return record(Row("a steady", digests, 0, 1, 0), b, fresh=False, repeat=repeat)


def discovery(mariadb: MariaDB, root: Path, digests: int, rules: int, repeat: int) -> Row:
    with bench(mariadb, root, f"discovery-{digests}-{rules}", 1, 0) as b:
        seed_digests(b.sb, digests)
        seed_user_rules(b.sb, rules)
        label = "b+d discovery" if (digests, rules) == (100_000, 1000) else "d discovery"
        return record(Row(label, digests, rules, 1, 0), b, fresh=True, repeat=repeat)


def hung_hosts(mariadb: MariaDB, root: Path, size: Size, repeat: int) -> Row:
    hosts, hung = size.hung_hosts
    with bench(mariadb, root, "hung", hosts, hung, connect_timeout_s=1) as b:
        seed_digests(b.sb, size.hung_digests)
        row = Row("c hung hosts", size.hung_digests, 0, hosts, hung)
        return record(row, b, fresh=True, repeat=repeat)


# ---------------------------------------------------------------- TLS on the admin connection


class TlsSpy:
    """A loopback relay in front of the admin port that offers TLS in the server greeting and
    records whether the client asks for it (CLIENT_SSL in its first packet)."""

    CLIENT_SSL = 0x0800

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.requests: list[bool] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            with client, socket.create_connection(("127.0.0.1", self.upstream_port)) as up:
                self._handshake(client, up)
        except (OSError, ConnectionError):
            pass

    def _handshake(self, client: socket.socket, up: socket.socket) -> None:
        greeting = bytearray(_read_packet(up))
        caps_at = greeting.index(0, 5) + 1 + 4 + 8 + 1  # after version, id, salt, filler
        greeting[caps_at] |= self.CLIENT_SSL & 0xFF
        greeting[caps_at + 1] |= self.CLIENT_SSL >> 8
        client.sendall(greeting)
        answer = _read_packet(client)
        wants_tls = bool(int.from_bytes(answer[4:8], "little") & self.CLIENT_SSL)
        self.requests.append(wants_tls)
        if wants_tls:
            return  # the emulator cannot speak TLS: the client fails, which is recorded
        up.sendall(answer)
        pump = threading.Thread(target=_pipe, args=(up, client), daemon=True)
        pump.start()
        _pipe(client, up)
        pump.join(5)


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _read_packet(sock: socket.socket) -> bytes:
    head = _read_exact(sock, 4)
    return head + _read_exact(sock, int.from_bytes(head[:3], "little"))


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@dataclass(frozen=True)
class Tls:
    admin: str
    readyset: str

    @property
    def admin_plain(self) -> bool:
        return self.admin.startswith("no TLS")


def check_tls(mariadb: MariaDB, root: Path) -> Tls:
    """One pass with a spy in front of the admin port and one in front of the Readyset host;
    a PyMySQL connect given `ssl` is the control that the spy sees a TLS request."""
    with bench(mariadb, root, "tls", 1, 0) as b, quiet_emulators():
        seed_digests(b.sb, 50)
        admin_spy = TlsSpy(b.sb.admin_port)
        readyset_spy = TlsSpy(b.sb.readyset[0].port)
        try:
            admin_run(
                b.sb,
                [
                    f"UPDATE mysql_servers SET port = {readyset_spy.port}"
                    f" WHERE hostgroup_id = {READYSET_HOSTGROUP}",
                    "LOAD MYSQL SERVERS TO RUNTIME",
                ],
            )
            config = b.sb.scheduler_config(
                b.workdir / "tls.cnf", state_file=str(b.state), proxysql_port=admin_spy.port
            )
            spawn([str(SCRIPT), f"--config={config}"])
            admin, readyset = list(admin_spy.requests), list(readyset_spy.requests)
            control = _control_connect(admin_spy)
        finally:
            admin_spy.close()
            readyset_spy.close()
    return Tls(
        f"{_tls_words(admin)} on {len(admin)} admin connection(s) of a pass, while the admin"
        f" port offered TLS (control: a PyMySQL connect with `ssl` set {control})",
        f"{_tls_words(readyset)} on {len(readyset)} Readyset connection(s) of the same pass,"
        " while the Readyset port offered TLS",
    )


def _tls_words(requests: list[bool]) -> str:
    return "TLS requested" if any(requests) else "no TLS"


@contextmanager
def quiet_emulators() -> Iterator[None]:
    """The emulators log a handshake the spy aborts; that is expected here."""
    logger = logging.getLogger("asyncio")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _control_connect(spy: TlsSpy) -> str:
    import pymysql

    try:
        pymysql.connect(
            host="127.0.0.1",
            port=spy.port,
            user="admin",
            password="admin",
            ssl={"check_hostname": False},
        ).close()
    except pymysql.err.MySQLError:
        pass
    time.sleep(0.2)  # the spy records from its own thread
    return "asked for TLS" if spy.requests[-1:] == [True] else "did not ask for TLS"


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    met: bool
    by: str = ""


def targets(report: Report) -> list[Target]:
    out: list[Target] = []
    base = report.baselines.import_pymysql.median_ms()
    for row in report.rows:
        if row.scenario.startswith("a"):
            ms = row.passes.median_ms()
            out.append(_limit("a: steady pass ≤ 80 ms", ms, 80.0, "ms"))
            # The floor process is itself `import pymysql` start + the statements.
            out.append(_limit("a: steady pass ≤ 1.6 × floor", row.ratio(), 1.6, "×"))
            out.append(
                _limit(
                    "a: steady pass ≤ 1.6 × floor, median of paired runs",
                    row.paired_ratio(),
                    1.6,
                    "×",
                )
            )
            out.append(
                Target("a: digest reads in steady state (0 is fine)", str(row.digest_reads), True)
            )
        if row.scenario.startswith("b"):
            out.append(_limit("b: 100k digests, 1,000 rules ≤ 1.3 × floor", row.ratio(), 1.3, "×"))
        if row.scenario.startswith("c"):
            slowest = max(row.passes.walls_ms) / 1000
            out.append(
                _limit("c: hung hosts: slowest pass ≤ connect timeout + 0.5 s", slowest, 1.5, "s")
            )
        if not row.scenario.startswith("a"):
            out.append(
                Target(
                    f"{row.scenario.split()[0]}: one digest read per pass"
                    f" ({row.digests} digests, {row.rules} rules)",
                    str(row.digest_reads),
                    row.digest_reads == 1,
                )
            )
    rss = max(r.passes.rss_mb() for r in report.rows)
    out.append(_limit("peak RSS ≤ 60 MB (largest pass)", rss, 60.0, "MB"))
    out.append(Target("no admin TLS on loopback", report.tls.admin, report.tls.admin_plain))
    out.append(Target("bare `python -c 'import pymysql'` start", f"{base:.0f} ms", True))
    return out


def _limit(name: str, value: float, limit: float, unit: str) -> Target:
    met = value <= limit
    by = "" if met else f"over by {value - limit:.2f} {unit} ({value / limit - 1:.0%})"
    return Target(name, f"{value:.2f} {unit}", met, by)


def _trips(trips: Sequence[int]) -> str:
    counts: dict[int, int] = {}
    for t in trips:
        counts[t] = counts.get(t, 0) + 1
    return ", ".join(f"{n}×{t}" for t, n in sorted(counts.items(), reverse=True))


HEADER = (
    "| scenario | digests | user rules | RS hosts (hung) | pass ms median (min–max) |"
    " floor ms median (min–max) | pass / floor | pass / floor paired |"
    " floor + RS ms | pass / (floor + RS) |"
    " admin emulator ms pass / floor (digest reads) | pass / floor without admin emulator |"
    " admin stmts (digest reads) | RS round trips per host | peak RSS MB pass / floor | exit |"
)


def table(report: Report) -> str:
    lines = [HEADER, "|" + "---|" * HEADER.count(" | ") + "---|"]
    for r in report.rows:
        lines.append(_table_row(r))
    b = report.baselines
    lines.append("")
    lines.append(
        f"Process start baselines (median of {len(b.python_pass.runs)}, min–max):"
        f" `python -c pass` {b.python_pass.median_ms():.1f} ms ({b.python_pass.spread()}),"
        f" `python -c 'import pymysql'` {b.import_pymysql.median_ms():.1f} ms"
        f" ({b.import_pymysql.spread()}), peak RSS {b.import_pymysql.rss_mb():.1f} MB."
    )
    lines.append(f"Admin TLS: {report.tls.admin}.")
    lines.append(f"Readyset TLS: {report.tls.readyset}.")
    return "\n".join(lines)


def _table_row(r: Row) -> str:
    hosts = f"{r.hosts} ({r.hung})" if r.hung else str(r.hosts)
    floor_note = "" if r.floor_matches else " ≠"  # the floor's statements differ from the pass's
    codes = [r.passes.codes(), r.floors.codes(), r.floors_rs.codes()]
    exits = " / ".join(",".join(map(str, sorted(c))) for c in codes)
    return (
        f"| {r.scenario} | {r.digests:,} | {r.rules:,} | {hosts} |"
        f" {r.passes.median_ms():.1f} ({r.passes.spread()}) |"
        f" {r.floors.median_ms():.1f} ({r.floors.spread()}){floor_note} | {r.ratio():.2f} |"
        f" {r.paired_ratio():.2f} |"
        f" {r.floors_rs.median_ms():.1f} ({r.floors_rs.spread()}) | {r.ratio_rs():.2f} |"
        f" {r.passes.emulator_ms():.1f} / {r.floors.emulator_ms():.1f} ({r.digest_ms():.1f}) |"
        f" {r.ratio_without_emulator():.2f} | {r.admin_statements} ({r.digest_reads}) |"
        f" {_trips(r.readyset_trips)} | {r.passes.rss_mb():.1f} / {r.floors.rss_mb():.1f} |"
        f" {exits} |"
    )


def targets_table(report: Report) -> str:
    lines = ["| target | measured | met | miss |", "|---|---|---|---|"]
    for t in targets(report):
        lines.append(f"| {t.name} | {t.measured} | {'yes' if t.met else 'NO'} | {t.by} |")
    return "\n".join(lines)


def machine() -> str:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"nproc {os.cpu_count()}, CPU {model}, Python {platform.python_version()},"
        f" {platform.system()} {platform.release()},"
        f" {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}"
    )


def markdown(report: Report) -> str:
    return (
        f"# Benchmark: one scheduler pass (size `{report.size}`, {report.repeat} timed runs"
        f" per row, {report.repeat * STEADY_RUNS_FACTOR} for row a)\n\n"
        f"Machine: {machine()}. Whole run: {report.seconds:.0f} s.\n\n"
        f"{table(report)}\n\n## Targets\n\n{targets_table(report)}\n"
    )


# ---------------------------------------------------------------- main


def run(size_name: str, repeat: int, root: Path, progress: Callable[[str], None]) -> Report:
    size = SIZES[size_name]
    started = time.monotonic()
    mariadb = MariaDB().start()
    try:
        progress("baselines")
        baselines = measure_baselines(repeat)
        progress(f"a: steady state, {size.steady_digests} digests")
        rows = [steady(mariadb, root, size.steady_digests, repeat * STEADY_RUNS_FACTOR)]
        for digests in size.grid_digests:
            for rules in size.grid_rules:
                progress(f"d: discovery, {digests} digests, {rules} rules")
                rows.append(discovery(mariadb, root, digests, rules, repeat))
        progress(f"c: {size.hung_hosts[0]} hosts, {size.hung_hosts[1]} hung")
        rows.append(hung_hosts(mariadb, root, size, repeat))
        progress("admin TLS check")
        tls = check_tls(mariadb, root)
    finally:
        mariadb.stop()
    return Report(size_name, repeat, baselines, rows, tls, time.monotonic() - started)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per row")
    parser.add_argument("--output", type=Path, default=None, help="also write Markdown here")
    args = parser.parse_args(argv)
    repeat = args.repeat or SIZES[args.size].repeat

    def progress(message: str) -> None:
        print(f"... {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="rps-bench-") as tmp:
        report = run(args.size, repeat, Path(tmp), progress)
    text = markdown(report)
    print(text)
    if args.output is not None:
        write_output(args.output, text)
    return 0


GENERATED_START = "<!-- generated by python -m bench.run: do not edit by hand -->"
GENERATED_END = "<!-- end of generated part -->"


def write_output(path: Path, text: str) -> None:
    """Replace the generated part of the results file, keeping the hand-written analysis."""
    block = f"{GENERATED_START}\n{text}\n{GENERATED_END}"
    old = path.read_text() if path.exists() else ""
    if GENERATED_START in old and GENERATED_END in old:
        head = old[: old.index(GENERATED_START)]
        tail = old[old.index(GENERATED_END) + len(GENERATED_END) :]
        path.write_text(head + block + tail)
    else:
        path.write_text(block + "\n" + old)


if __name__ == "__main__":
    raise SystemExit(main())
