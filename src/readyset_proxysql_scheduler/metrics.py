"""Metrics: with `metrics_file` set, each pass writes a Prometheus text file for node_exporter's
textfile collector, atomically (a temporary file in the same directory, then a rename).

Every value describes the last pass (they are gauges): a run that finds the lock held writes
nothing, so the file keeps describing the pass that did run. The names, documented in the
README, are `readyset_scheduler_*`:

- `pass_timestamp_seconds`, `pass_duration_seconds`: when the pass ended, how long it took;
- `pass_outcome{outcome=ok|problems|failed|timeout}`: 1 for this pass's outcome, 0 otherwise;
- `pass_exit_code`, `pass_dry_run`, `pass_changes` (made, or planned in a dry run);
- `digests_read` (rows read from `stats_mysql_query_digest`), `candidates` (digests Readyset can
  cache, found this pass), `caches_created`, `caches_failed` (CREATE CACHE statements);
- `rules{state=routed|mirrored|inactive, kind=query|in_list_sibling}`: the scheduler's rules
  after the pass;
- `hosts{status=ONLINE|SHUNNED|OFFLINE_SOFT|OFFLINE_HARD|UNKNOWN}`: Readyset hosts by judged
  status (UNKNOWN: the host refused the scheduler's login);
- `reads{answered_by=source|readyset}`: executions since the previous pass of the digests the
  scheduler tracks (its queries and the hottest candidates), from the digest table's deltas.

Only runs with `metrics_file` (and `status`) import this module; a pass counts in `counts.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from readyset_proxysql_scheduler.counts import PassCounts

if TYPE_CHECKING:
    from readyset_proxysql_scheduler.proxysql import RuleRow

PREFIX = "readyset_scheduler_"
OUTCOMES = ("ok", "problems", "failed", "timeout")
RULE_STATES = ("routed", "mirrored", "inactive")
RULE_KINDS = ("query", "in_list_sibling")
HOST_STATUSES = ("ONLINE", "SHUNNED", "OFFLINE_SOFT", "OFFLINE_HARD")


@dataclass(frozen=True)
class PassReport:
    timestamp: float
    duration_s: float
    outcome: str
    exit_code: int
    dry_run: bool
    changes: int
    counts: PassCounts
    rules: Optional[dict[tuple[str, str], int]]  # (state, kind) -> count; None if unknown
    hosts: dict[str, int]  # status -> count


def rule_states(rules: Iterable[RuleRow], readyset_hostgroup: int) -> dict[tuple[str, str], int]:
    """The scheduler's rules by (state, kind)."""
    from readyset_proxysql_scheduler.rules import owned

    out = {(state, kind): 0 for state in RULE_STATES for kind in RULE_KINDS}
    for item in owned(rules, readyset_hostgroup):
        if not item.rule.active:
            state = "inactive"
        elif item.mirror:
            state = "mirrored"
        else:
            state = "routed"
        out[(state, "in_list_sibling" if item.sibling_of else "query")] += 1
    return out


def host_statuses(statuses: Sequence[str]) -> dict[str, int]:
    out = dict.fromkeys(HOST_STATUSES, 0)
    for status in statuses:
        out[status] = out.get(status, 0) + 1
    return out


def _number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def render(report: PassReport) -> str:
    lines: list[str] = []

    def metric(name: str, kind: str, text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {PREFIX}{name} {text}")
        lines.append(f"# TYPE {PREFIX}{name} {kind}")
        for labels, value in samples:
            lines.append(f"{PREFIX}{name}{labels} {_number(value)}")

    c = report.counts
    metric("pass_timestamp_seconds", "gauge", "When the last pass ended.", [("", report.timestamp)])
    metric(
        "pass_duration_seconds", "gauge", "How long the last pass took.", [("", report.duration_s)]
    )
    metric(
        "pass_outcome",
        "gauge",
        "1 for the last pass's outcome.",
        [(f'{{outcome="{o}"}}', 1 if o == report.outcome else 0) for o in OUTCOMES],
    )
    metric("pass_exit_code", "gauge", "Exit code of the last pass.", [("", report.exit_code)])
    metric("pass_dry_run", "gauge", "1 when the last pass was a dry run.", [("", report.dry_run)])
    metric("pass_changes", "gauge", "Changes made (or planned).", [("", report.changes)])
    metric("digests_read", "gauge", "Digest rows read by the last pass.", [("", c.digests_read)])
    metric("candidates", "gauge", "Cacheable digests found by the last pass.", [("", c.candidates)])
    metric("caches_created", "gauge", "Caches created by the last pass.", [("", c.caches_created)])
    metric(
        "caches_failed", "gauge", "CREATE CACHE failures in the last pass.", [("", c.caches_failed)]
    )
    metric(
        "reads",
        "gauge",
        "Executions since the previous pass of the digests the scheduler tracks, by who answered.",
        [
            ('{answered_by="source"}', c.reads_source),
            ('{answered_by="readyset"}', c.reads_readyset),
        ],
    )
    if report.rules is not None:
        metric(
            "rules",
            "gauge",
            "The scheduler's query rules after the last pass.",
            [
                (f'{{state="{state}",kind="{kind}"}}', n)
                for (state, kind), n in sorted(report.rules.items())
            ],
        )
    metric(
        "hosts",
        "gauge",
        "Readyset hosts by the status the last pass judged.",
        [(f'{{status="{s}"}}', n) for s, n in sorted(report.hosts.items())],
    )
    return "\n".join(lines) + "\n"


def write(path: str, report: PassReport) -> None:
    """Replace `path` with the report, atomically; raises OSError."""
    from readyset_proxysql_scheduler.files import replace_atomically

    replace_atomically(path, render(report), 0o644)


def read(path: str) -> dict[str, float]:
    """The samples of a metrics file (`name{labels}` -> value), for `status`; {} if unreadable."""
    out: dict[str, float] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return out
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            continue
    return out
