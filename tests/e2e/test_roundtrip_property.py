"""Round trip, as a property: generated SELECTs -> ProxySQL digest -> scheduler pass -> Readyset.

Each hypothesis example is a *batch* of generated shapes (tests/e2e/shapes.py). On a clean
sandbox every shape is sent once through ProxySQL (its digest text is read back from
``stats_mysql_query_digest``), one scheduler pass runs in-process, then every shape is sent again
with fresh literals of the same kinds (same IN-list lengths, hence the same digest) and is
classified:

* the pass made a cache and a rule for its digest: the second send must be a Readyset hit and
  return exactly the rows MariaDB returns directly;
* the pass logged ``skipped, not cacheable: <reason>`` (translation) or ``skipped, Readyset says
  ...`` / ``Readyset refused it`` (EXPLAIN CREATE CACHE): the reason must be one that the
  generator's features call for (``EXPECTED_REJECTIONS``), and the query must stay on MariaDB;
* the first send returned no rows: ProxySQL's digest shows ``sum_rows_sent = 0`` and the
  scheduler never considers it (``query_discovery_min_row_sent`` is ``>``); nothing to check but
  that no rule appeared.

Anything else is a mismatch. Mismatches of classes listed in ``KNOWN_PRODUCT_BUGS`` (a product
finding, reported, not fixed here) are tallied and printed; set ``RPS_ROUNDTRIP_STRICT=1`` to make
them fail too. Every other mismatch fails the test with the whole batch's evidence.

Profiles: ``roundtrip-ci`` (default: derandomized, no shrinking, ``CI_BATCHES`` batches of
``BATCH_SIZE`` shapes, >= 300 shapes) and ``long`` (random, more batches). Select ``long`` with
``RPS_ROUNDTRIP_PROFILE=long``, or with ``--hypothesis-profile=long`` provided the profile is
registered before pytest configures hypothesis: ``python -m pytest -p
tests.e2e.test_roundtrip_property --hypothesis-profile=long tests/e2e/test_roundtrip_property.py``
(plain ``pytest --hypothesis-profile=long`` stops with "Profile 'long' is not registered" unless a
conftest makes the same ``register_profile`` call). ``RPS_ROUNDTRIP_REPORT_ONLY=1`` turns the
mismatch assertions off and prints the tally (run with ``-s``): for exploring.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pymysql
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from readyset_proxysql_scheduler.config import LogLevel, load
from readyset_proxysql_scheduler.log import Log
from readyset_proxysql_scheduler.scheduler import Pass
from rps_sandbox.mariadb import MariaDB
from rps_sandbox.sandbox import READYSET_HOSTGROUP, SOURCE_HOSTGROUP, Sandbox
from tests.e2e.shapes import Shape, shapes

BATCH_SIZE = (40, 50)
CI_BATCHES = 16
MIN_SHAPES = 300
LONG_BATCHES = 60

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
settings.register_profile(
    "roundtrip-ci",
    parent=settings.get_profile("ci"),
    max_examples=CI_BATCHES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=_HEALTH,
)
settings.register_profile(
    "long",
    parent=settings.get_profile("ci"),
    max_examples=LONG_BATCHES,
    derandomize=False,
    # no shrinking: a failure already lists every offending shape of its batch, and shrinking
    # batches that each need a scheduler pass takes many minutes
    phases=[Phase.explicit, Phase.generate],
    deadline=None,
    suppress_health_check=_HEALTH,
)

# feature -> words one of which the skip reason must contain.
# Rejected by the translation (log: "skipped, not cacheable: <reason>").
TRANSLATE_REJECTS: dict[str, tuple[str, ...]] = {
    "limit": ("placeholder in LIMIT", "order-less LIMIT"),
    "select_literal": ("placeholder in select list",),
    "having": ("placeholder in HAVING",),
    "const_cmp": ("constant comparison",),
    "lost_op": ("operator lost",),
    "for_update": ("locking read",),
    # Placeholders Readyset would not parameterise in the application's query (readyset.md
    # §7.2): found by this test as "routed to Readyset, never a hit", now refused up front.
    "range": ("would not parameterise", "equality and range", "range placeholder"),
    "ne": ("would not parameterise",),
    "not_in": ("would not parameterise",),
    "like": ("would not parameterise",),
    "nullsafe": ("would not parameterise",),
    "or": ("would not parameterise",),
    "expr": ("would not parameterise",),
    "in_null": ("would not parameterise",),
    "typed_literal": ("typed literal",),
}
# Rejected by Readyset's EXPLAIN CREATE CACHE (log: "skipped, Readyset says ..."/"refused it").
READYSET_REJECTS: dict[str, tuple[str, ...]] = {
    "group_no_agg": ("group by without aggregates",),
    # the translation leaves a subquery's placeholders to Readyset, which refuses them
    "subquery": ("Nested selects", "placeholders in unsupported positions"),
    # SELECT DISTINCT with an IN list (readyset-matching-cases.md row 9)
    "distinct_in": ("DISTINCT with parameterized IN",),
    # an aggregate over an IN list needs post-lookup (row 10)
    "group_agg_in": ("operations post-lookup",),
}
EXPECTED_REJECTIONS = {**TRANSLATE_REJECTS, **READYSET_REJECTS}
# Features that the release decides (reference readyset.md §7.6): the sandbox's Readyset
# (stable-260226, deep, Top K off) serves an order-less LIMIT and a range-only WHERE from a
# cache, so such a shape may be refused with its reason or routed, and then must be a hit.
RELEASE_DEPENDENT = frozenset(("limit", "range"))

# Product findings not fixed yet: feature -> description (mismatches of these are tallied, not
# failed, unless RPS_ROUNDTRIP_STRICT=1). Empty: every class found so far is fixed.
KNOWN_PRODUCT_BUGS: dict[str, str] = {}
# One hand-written example per class the property test once found (first send, second send),
# kept as regression tests.
KNOWN_EXAMPLES: dict[str, tuple[str, str]] = {
    "range": (
        "SELECT id, name FROM products WHERE stock > 10",
        "SELECT id, name FROM products WHERE stock > 20",
    ),
    "ne": (
        "SELECT id FROM orders WHERE status <> 'paid'",
        "SELECT id FROM orders WHERE status <> 'new'",
    ),
    "not_in": (
        "SELECT id FROM products WHERE category NOT IN ('books', 'games')",
        "SELECT id FROM products WHERE category NOT IN ('tools', 'garden')",
    ),
    "like": (
        "SELECT id FROM customers WHERE email LIKE 'c1%'",
        "SELECT id FROM customers WHERE email LIKE 'c2%'",
    ),
    "nullsafe": (
        "SELECT id FROM customers WHERE country <=> 'DE'",
        "SELECT id FROM customers WHERE country <=> 'FR'",
    ),
    "or": (
        "SELECT id FROM customers WHERE (id = 1 OR country = 'DE')",
        "SELECT id FROM customers WHERE (id = 2 OR country = 'FR')",
    ),
    "expr": (
        "SELECT id FROM products WHERE stock * 1 = 7",
        "SELECT id FROM products WHERE stock * 1 = 14",
    ),
    "in_null": (
        "SELECT id FROM customers WHERE note IN ('note 5 it''s \\\\ ok', NULL)",
        "SELECT id FROM customers WHERE note IN ('note 6 it''s \\\\ ok', NULL)",
    ),
    "typed_literal": (
        "SELECT id FROM customers WHERE created_at = DATE '2024-01-02'",
        "SELECT id FROM customers WHERE created_at = DATE '2024-01-03'",
    ),
}

_SKIPPED = re.compile(r"^digest (\S+) \(schema [^)]*\) skipped, (.*)$", re.S)
_ROUTED = re.compile(r"^add rule \d+: (?:routes|mirrors) digest (\S+) ")

Rows = list[tuple[Any, ...]]
NO_ROWS = "ok: no rows sent, not a candidate"
HIT = "ok: Readyset hit, same rows as MariaDB"


class ListLog(Log):
    """The pass's log lines, kept in memory."""

    def __init__(self) -> None:
        super().__init__(LogLevel.INFO)
        self.lines: list[tuple[LogLevel, str]] = []

    def _write(self, level: LogLevel, message: str) -> None:
        self.counts[level] += 1
        self.lines.append((level, message))


@dataclass
class Sent:
    shape: Shape
    hostgroup: Optional[int] = None
    digest: str = ""
    digest_text: str = ""
    rows: Optional[Rows] = None
    error: str = ""


@dataclass
class Verdict:
    kind: str = "none"  # "routed" | "skipped" | "none"
    reason: str = ""


@dataclass
class Result:
    shape: Shape
    digest_text: str
    verdict: Verdict
    outcome: str  # "hit" | "routed-miss" | "source" | "error: ..."
    category: str
    mismatch: bool
    known: str = ""  # the KNOWN_PRODUCT_BUGS feature that explains this mismatch
    detail: str = ""

    def describe(self) -> str:
        return (
            f"[{self.category}] first: {self.shape.first_sql}\n"
            f"    fresh: {self.shape.fresh_sql}\n"
            f"    digest: {self.digest_text}\n"
            f"    features: {sorted(self.shape.features)}; verdict: {self.verdict.kind}"
            f" {self.verdict.reason}; outcome: {self.outcome} {self.detail}"
        )


@dataclass
class Tally:
    shapes: int = 0
    batches: int = 0
    categories: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    hit_features: Counter[str] = field(default_factory=Counter)
    no_rows_features: Counter[str] = field(default_factory=Counter)

    def add(self, results: list[Result]) -> None:
        self.batches += 1
        for r in results:
            self.shapes += 1
            self.categories[r.category] += 1
            ex = self.examples.setdefault(r.category, [])
            if len(ex) < 3:
                ex.append(r.describe())
            if r.category == NO_ROWS:
                self.no_rows_features.update(
                    r.shape.features | {"kind:" + k for k in r.shape.kinds}
                )
            if r.category == HIT:
                self.hit_features.update(r.shape.features | {"kind:" + k for k in r.shape.kinds})

    def report(self) -> str:
        lines = [f"{self.shapes} shapes in {self.batches} batches"]
        for cat, n in sorted(self.categories.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {n:5d}  {cat}")
        lines.append(
            "features and literal kinds among hits: "
            + ", ".join(f"{f} {n}" for f, n in sorted(self.hit_features.items()))
        )
        lines.append(
            "... among shapes without rows: "
            + ", ".join(f"{f} {n}" for f, n in sorted(self.no_rows_features.items()))
        )
        for cat in sorted(self.examples):
            if cat.startswith(("known", "MISMATCH")):
                lines.append(f"-- {cat}:")
                lines.extend("   " + e for e in self.examples[cat])
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# sandbox plumbing


@pytest.fixture
def sandbox_d(mariadb: MariaDB, tmp_path: Path) -> Iterator[Sandbox]:
    """Era D: EXPLAIN CREATE CACHE answers `no: <reason>`, so Readyset's reasons can be checked."""
    sb = Sandbox(mariadb=mariadb, workdir=tmp_path / "sandbox", era="D")
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


def digest_stats(cur: Any) -> dict[tuple[int, str], tuple[int, int, str]]:
    cur.execute(
        "SELECT hostgroup, digest, count_star, sum_rows_sent, digest_text"
        " FROM stats_mysql_query_digest"
    )
    return {(int(r[0]), str(r[1])): (int(r[2]), int(r[3]), str(r[4])) for r in cur.fetchall()}


def reset(sandbox: Sandbox, state_path: str) -> None:
    Path(state_path).unlink(missing_ok=True)
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM mysql_query_rules")
        cur.execute("LOAD MYSQL QUERY RULES TO RUNTIME")
        cur.execute("TRUNCATE TABLE stats_mysql_query_digest")
    with sandbox.readyset_connection() as conn, conn.cursor() as cur:
        cur.execute("DROP ALL CACHES")


def execute(cur: Any, sql: str) -> tuple[Optional[Rows], str]:
    try:
        cur.execute(sql)
        return list(cur.fetchall()), ""
    except pymysql.err.MySQLError as e:
        return None, f"{type(e).__name__}{e.args}"


def send_all(sandbox: Sandbox, batch: list[Shape], fresh: bool) -> list[Sent]:
    """Send each shape once through ProxySQL; read which digest row (and hostgroup) it hit."""
    out: list[Sent] = []
    with sandbox.app() as app, app.cursor() as cur, sandbox.admin() as adm, adm.cursor() as acur:
        before = digest_stats(acur)
        for shape in batch:
            sent = Sent(shape)
            sent.rows, sent.error = execute(cur, shape.fresh_sql if fresh else shape.first_sql)
            after = digest_stats(acur)
            changed = [k for k, v in after.items() if before.get(k, (0,))[0] != v[0]]
            before = after
            assert len(changed) == 1, (shape.first_sql, changed)
            sent.hostgroup, sent.digest = changed[0]
            sent.digest_text = after[changed[0]][2]
            out.append(sent)
    return out


def direct_rows(mariadb: MariaDB, batch: list[Shape]) -> list[tuple[Optional[Rows], str]]:
    conn = mariadb.connect(autocommit=True)
    try:
        with conn.cursor() as cur:
            return [execute(cur, s.fresh_sql) for s in batch]
    finally:
        conn.close()


def run_pass(config_path: Path) -> tuple[dict[str, Verdict], list[str]]:
    log = ListLog()
    Pass(load(config_path), log).run()
    verdicts: dict[str, Verdict] = {}
    warnings: list[str] = []
    for level, message in log.lines:
        m = _SKIPPED.match(message)
        if m:
            verdicts[m.group(1)] = Verdict("skipped", m.group(2))
            continue
        m = _ROUTED.match(message)
        if m:
            verdicts[m.group(1)] = Verdict("routed")
            continue
        if level >= LogLevel.WARNING:
            warnings.append(message)
    return verdicts, warnings


def _same(a: Optional[Rows], b: Optional[Rows]) -> bool:
    return a is not None and b is not None and Counter(a) == Counter(b)


def classify(
    first: Sent,
    second: Sent,
    hit: bool,
    direct: tuple[Optional[Rows], str],
    verdict: Verdict,
    rows_sent: int,
) -> Result:
    shape = first.shape
    features = set(shape.features)
    if any(re.fullmatch(r"in\d", f) for f in features):
        # combinations Readyset refuses (readyset-matching-cases.md rows 9 and 10)
        features |= {f + "_in" for f in ("distinct", "group_agg") if f in features}
    if second.error or direct[1] or first.error:
        outcome = f"error: {second.error or first.error or direct[1]}"
    elif second.hostgroup == READYSET_HOSTGROUP:
        outcome = "hit" if hit else "routed-miss"
    elif second.hostgroup == SOURCE_HOSTGROUP:
        outcome = "source"
    else:
        outcome = f"hostgroup {second.hostgroup}"
    rows_ok = _same(second.rows, direct[0])
    detail = "" if rows_ok else f"rows {second.rows!r} != MariaDB {direct[0]!r}"

    def result(category: str, mismatch: bool = False, known: str = "") -> Result:
        if mismatch:
            category = f"known product bug: {known}" if known else f"MISMATCH {category}"
        return Result(shape, first.digest_text, verdict, outcome, category, mismatch, known, detail)

    if first.digest != second.digest:
        return result(f"digest changed: {first.digest_text!r} -> {second.digest_text!r}", True)
    if outcome.startswith("error"):
        return result("error", True)

    translate_words = [
        w for f in sorted(features & TRANSLATE_REJECTS.keys()) for w in TRANSLATE_REJECTS[f]
    ]
    readyset_words = [
        w for f in sorted(features & READYSET_REJECTS.keys()) for w in READYSET_REJECTS[f]
    ]

    if verdict.kind == "none":
        if rows_sent == 0 and outcome == "source" and rows_ok:
            return result(NO_ROWS)
        return result(f"ignored (rows sent {rows_sent}, outcome {outcome})", True)

    if verdict.kind == "skipped":
        if outcome != "source" or not rows_ok:
            return result(f"skipped but {outcome}", True)
        reason = verdict.reason
        if reason.startswith("not cacheable: "):
            if any(w in reason for w in translate_words):
                return result("ok: not cacheable, " + _feature_of(reason, TRANSLATE_REJECTS))
            known = sorted(features & KNOWN_PRODUCT_BUGS.keys())
            if known and not translate_words:
                # A known class the product now rejects: accepted, but shown apart; its strict
                # xfail test XPASSes, asking for the class's keyword in TRANSLATE_REJECTS.
                return result(f"ok?: not cacheable, known class {known[0]}: {_short(reason)}")
            return result(f"wrong not-cacheable reason: {_short(reason)}", True)
        let_through = (features & TRANSLATE_REJECTS.keys()) - RELEASE_DEPENDENT
        if let_through:
            return result(f"translation let through {sorted(let_through)}", True)
        if any(w in reason for w in readyset_words):
            return result("ok: Readyset refused, " + _feature_of(reason, READYSET_REJECTS))
        return result(f"unexpected Readyset refusal: {_short(reason)}", True)

    # routed
    must_reject = (features & EXPECTED_REJECTIONS.keys()) - RELEASE_DEPENDENT
    if must_reject:
        return result(f"cached despite {sorted(must_reject)}", True)
    if outcome == "hit" and rows_ok:
        return result(HIT)
    if outcome == "hit":
        return result("wrong rows from a Readyset hit", True)
    if outcome == "routed-miss":
        known = next((f for f in sorted(features) if f in KNOWN_PRODUCT_BUGS), "")
        suspects = sorted(features - {"distinct", "group_agg", "swapped", "offset"})
        return result(f"routed to Readyset, never a hit {suspects}", True, known)
    return result(f"rule made but query went to {outcome}", True)


def _feature_of(reason: str, table: dict[str, tuple[str, ...]]) -> str:
    return next((f for f, words in table.items() if any(w in reason for w in words)), "?")


def _short(reason: str) -> str:
    return reason.split(": SELECT")[0][:160]


def run_batch(
    sandbox: Sandbox, config_path: Path, state_path: str, batch: list[Shape]
) -> tuple[list[Result], list[str]]:
    assert sandbox.mariadb is not None
    reset(sandbox, state_path)
    firsts = send_all(sandbox, batch, fresh=False)
    with sandbox.admin() as adm, adm.cursor() as acur:
        stats = digest_stats(acur)
    verdicts, warnings = run_pass(config_path)
    rs = sandbox.readyset[0]
    seconds: list[Sent] = []
    hits: list[bool] = []
    with sandbox.app() as app, app.cursor() as cur, sandbox.admin() as adm, adm.cursor() as acur:
        before = digest_stats(acur)
        for shape in batch:
            sent = Sent(shape)
            h0 = rs.hits
            sent.rows, sent.error = execute(cur, shape.fresh_sql)
            hits.append(rs.hits == h0 + 1)
            after = digest_stats(acur)
            changed = [k for k, v in after.items() if before.get(k, (0,))[0] != v[0]]
            before = after
            assert len(changed) == 1, (shape.fresh_sql, changed)
            sent.hostgroup, sent.digest = changed[0]
            sent.digest_text = after[changed[0]][2]
            seconds.append(sent)
    directs = direct_rows(sandbox.mariadb, batch)
    results = []
    for first, second, hit, direct in zip(firsts, seconds, hits, directs):
        rows_sent = stats.get((SOURCE_HOSTGROUP, first.digest), (0, 0, ""))[1]
        verdict = verdicts.get(first.digest, Verdict())
        results.append(classify(first, second, hit, direct, verdict, rows_sent))
    return results, warnings


def _profile() -> str:
    name = os.environ.get("RPS_ROUNDTRIP_PROFILE") or settings.get_current_profile_name()
    return "long" if name == "long" else "roundtrip-ci"


def test_generated_shapes_round_trip(sandbox_d: Sandbox, tmp_path: Path) -> None:
    sandbox = sandbox_d
    state_path = str(tmp_path / "scheduler.state.json")
    config_path = sandbox.scheduler_config(
        tmp_path / "scheduler.cnf",
        number_of_queries=1000,
        pass_timeout_s=120,
        query_timeout_s=30,
        state_file=state_path,
        # one pass per batch: digest-text caches only; learning has its own tests
        learn_literal_variants=False,
    )
    tally = Tally()
    strict = os.environ.get("RPS_ROUNDTRIP_STRICT") == "1"
    report_only = os.environ.get("RPS_ROUNDTRIP_REPORT_ONLY") == "1"

    @settings(settings.get_profile(_profile()))
    @given(batch=st.lists(shapes(), min_size=BATCH_SIZE[0], max_size=BATCH_SIZE[1]))
    def one_batch(batch: list[Shape]) -> None:
        results, warnings = run_batch(sandbox, config_path, state_path, batch)
        assert not warnings, warnings
        tally.add(results)
        bad = [r for r in results if r.mismatch and (strict or not r.known)]
        assert report_only or not bad, f"{len(bad)} mismatches:\n" + "\n".join(
            r.describe() for r in bad
        )

    one_batch()
    print(f"\nhypothesis profile {_profile()}: " + tally.report())
    assert tally.shapes >= MIN_SHAPES
    # The generator must keep exercising every path, not only "no rows" and rejections.
    assert tally.categories[HIT] >= tally.shapes // 10
    assert sum(n for c, n in tally.categories.items() if c.startswith("ok: not cacheable")) >= 10


@pytest.mark.parametrize("feature", sorted(KNOWN_EXAMPLES))
def test_found_classes_stay_fixed(sandbox_d: Sandbox, tmp_path: Path, feature: str) -> None:
    """Each class this test once found, on a hand-written example: a fitting reason now.

    They all used to get a cache and a rule, and the application's next query was routed to
    Readyset, which proxied it to MariaDB for ever (rows right, cache useless)."""
    first, fresh = KNOWN_EXAMPLES[feature]
    state_path = str(tmp_path / "scheduler.state.json")
    config_path = sandbox_d.scheduler_config(
        tmp_path / "scheduler.cnf",
        number_of_queries=1000,
        state_file=state_path,
        learn_literal_variants=False,
    )
    shape = Shape.fixed(first, fresh, feature)
    [result], warnings = run_batch(sandbox_d, config_path, state_path, [shape])
    assert not warnings
    assert result.verdict.kind != "none", result.describe()  # the example returns rows
    assert not result.mismatch and not result.known, result.describe()
    if feature in RELEASE_DEPENDENT:  # this release serves it: cached, and a hit
        assert result.category == HIT, result.describe()
    else:
        assert result.category.startswith("ok: not cacheable"), result.describe()
