"""`status [--json] [--plan]`: what the scheduler knows, read-only and safe while passes run.

Every digest the scheduler knows: its rules in `mysql_query_rules` (recognised by their
comments, see rules.py) and what the state file remembers (refusals, caches without a rule yet).
For each: the state, the Readyset hosts holding its cache (`SHOW CACHES` on each host), and its
executions and mean latency at the source hostgroup and at the Readyset hostgroup
(`stats_mysql_query_digest` has one row per hostgroup; the rows of a query's IN-list siblings
are added to it). A digest run in two schemas is two entries, as it is two caches. Then the
Readyset hosts, and the last pass as recorded in `metrics_file`.

`--json` prints the same as one document described by `docs/status.schema.json`.
Nothing here writes: only SELECTs on the admin interface and SHOW statements on Readyset.

`--plan` adds what the next pass would change: one pass run as a dry run, with the pass's own
code, so the plan is the one a pass would carry out, each change with its reason. It asks
Readyset as a pass does (EXPLAIN CREATE CACHE for new candidates), writes nothing, and leaves
the lock alone: a pass started meanwhile runs as usual.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from readyset_proxysql_scheduler import health, hosts, profiles, rules
from readyset_proxysql_scheduler import metrics as metrics_file
from readyset_proxysql_scheduler import state as state_file
from readyset_proxysql_scheduler.actions import cache_name
from readyset_proxysql_scheduler.commands import load_config, parser
from readyset_proxysql_scheduler.config import Config
from readyset_proxysql_scheduler.proxysql import Admin, AdminError, literal
from readyset_proxysql_scheduler.readyset import Readyset

SCHEMA_VERSION = 1
EXIT_OK = 0
EXIT_FAILURE = 1

STATS = (
    "SELECT hostgroup, digest, schemaname, digest_text, count_star, sum_time"
    " FROM stats_mysql_query_digest"
    " WHERE hostgroup IN ({source}, {readyset}) AND username = {username} AND digest IN ({digests})"
)

STATE_WIDTH = 56  # the STATE column; longer states are repeated in full below the table

# Display order of the states.
STATES = ("routed", "mirrored", "learning", "inactive", "candidate", "refused")


@dataclass
class Traffic:
    executions: int = 0
    sum_time_us: int = 0

    @property
    def mean_latency_us(self) -> Optional[float]:
        return round(self.sum_time_us / self.executions, 1) if self.executions else None


@dataclass
class Entry:
    digest: str
    schema: str
    text: str
    state: str
    cache: Optional[str] = None
    reason: Optional[str] = None
    mirrored_until: Optional[float] = None
    since: Optional[float] = None
    rule_id: Optional[int] = None
    in_list_siblings: list[str] = field(default_factory=list)
    cached_on: list[str] = field(default_factory=list)
    source: Traffic = field(default_factory=Traffic)
    readyset: Traffic = field(default_factory=Traffic)


@dataclass
class HostInfo:
    address: str
    proxysql_status: Optional[str]
    readyset_status: str
    health: str
    release: Optional[str]
    profile: Optional[str]
    caches: Optional[int]
    error: Optional[str] = None


@dataclass
class Plan:
    """What the next pass would change (`--plan`)."""

    changes: list[str] = field(default_factory=list)  # as the pass would log them
    problems: list[str] = field(default_factory=list)
    error: Optional[str] = None  # why the dry run stopped before the end


@dataclass
class Report:
    config: str
    source_hostgroup: int
    readyset_hostgroup: int
    generated_at: float
    digests: list[Entry]
    hosts: list[HostInfo]
    last_pass: Optional[dict[str, Any]]
    plan: Optional[Plan] = None


@dataclass
class _Probe:
    status: Optional[list[tuple[str, str]]] = None
    release: Optional[str] = None
    caches: Optional[set[str]] = None
    error: Optional[str] = None


def _probe(client: Readyset) -> _Probe:
    out = _Probe()
    try:
        out.status = client.status()
        out.release = profiles.release_of(client.version_rows()) or "unknown"
        out.caches = client.cache_names()
    except Exception as e:  # noqa: BLE001 - one line per host in the report
        out.error = str(e)
    finally:
        client.close()
    return out


def next_pass(config: Config) -> Plan:
    """One pass as a dry run: its changes and problems, or why it stopped."""
    import os

    from readyset_proxysql_scheduler.config import LogLevel
    from readyset_proxysql_scheduler.log import Log
    from readyset_proxysql_scheduler.readyset import ReadysetError
    from readyset_proxysql_scheduler.scheduler import Pass, PassTimeout

    attempt = Pass(config, Log(LogLevel.ERROR, file=os.devnull), dry_run=True)
    plan = Plan(attempt.summary.changes, attempt.summary.problems)
    try:
        attempt.run()
    except (AdminError, ReadysetError, PassTimeout, OSError) as e:
        plan.error = str(e)
    except Exception as e:  # noqa: BLE001 - the report is printed all the same, as a pass would
        plan.error = f"unexpected {type(e).__name__}: {e}"
    return plan


def collect(config: Config, admin: Admin) -> Report:
    c = config
    now = time.time()
    all_rules = admin.rules()
    ours = rules.owned(all_rules, c.readyset_hostgroup)
    remembered, _ = state_file.load(c.state_path)

    entries: dict[tuple[str, str], Entry] = {}  # by (digest, schema)
    siblings: dict[tuple[str, str], list[str]] = {}
    for item in ours:
        rule = item.rule
        if not rule.digest:
            continue
        schema = rule.schemaname or ""
        if item.sibling_of:
            siblings.setdefault((item.sibling_of, schema), []).append(rule.digest)
            continue
        since = rules.mirrored_at(rule.comment) if item.mirror else _added_at(rule.comment)
        entry = Entry(
            digest=rule.digest,
            schema=schema,
            text="",
            state="inactive" if not rule.active else "mirrored" if item.mirror else "routed",
            cache=cache_name(rule.digest, schema),
            since=since,
            rule_id=rule.rule_id,
        )
        variants = rules.variant_ids(rule.comment)
        if item.learning:
            entry.state, entry.cache = "learning", None
            entry.reason = "mirrored without a cache until Readyset records its literal variants"
        elif variants:
            entry.cache = ",".join(rules.variant_cache_name(q) for q in variants)
            entry.reason = "routes only the cached literal variants " + ", ".join(variants)
        if item.mirror and since is not None and not item.learning:
            entry.mirrored_until = since + c.warmup_time_s
        if not rule.active:
            entry.reason = (
                "switched off by the scheduler: no Readyset host online"
                if rule.rule_id in remembered.deactivated
                else "set inactive by hand"
            )
        entries[(rule.digest, schema)] = entry
    for name, query in remembered.queries.items():
        key = (query.digest, query.schema)
        if not query.digest:
            continue
        if key in entries:
            entries[key].text = query.text
            if query.adopted:
                entries[key].cache = name
                entries[key].reason = entries[key].reason or "its cache was made by hand, adopted"
        else:
            entries[key] = Entry(
                digest=query.digest,
                schema=query.schema,
                text=query.text,
                state="candidate",
                cache=name,
                reason="cache created, no rule yet",
                since=query.at or None,
            )
    for refusal, refused in remembered.unsupported.items():
        key = (refusal.split("/", 1)[0], refused.schema)
        if key not in entries:
            entries[key] = Entry(
                digest=key[0],
                schema=refused.schema,
                text="",
                state="refused",
                reason=refused.text,
                since=refused.at or None,
            )
    for parent, kids in siblings.items():
        if parent in entries:
            entries[parent].in_list_siblings = sorted(kids)

    _add_traffic(c, admin, entries)

    servers = admin.readyset_servers(c.readyset_hostgroup)
    selected = hosts.select(c, servers)
    clients = [hosts.client(c, h) for h in selected]
    deadline = time.monotonic() + c.connect_timeout_s + 3 * c.query_timeout_s
    results, hung = hosts.run_all(clients, _probe, deadline)
    host_infos = []
    for i, h in enumerate(selected):
        probe = results.get(i)
        if not isinstance(probe, _Probe):
            probe = _Probe(error="no answer in time" if i in hung else str(probe))
        verdict = health.judge(probe.status, probe.error)
        for entry in entries.values():
            if (
                probe.caches is not None
                and entry.cache
                and set(entry.cache.split(",")) <= probe.caches
            ):
                entry.cached_on.append(str(h.endpoint))
        host_infos.append(
            HostInfo(
                address=str(h.endpoint),
                proxysql_status=h.server.runtime_status if h.server else None,
                readyset_status=verdict.reason,
                health=verdict.status,
                release=probe.release,
                profile=(
                    profiles.detect(
                        "" if probe.release == "unknown" else probe.release,
                        probe.status,
                        None,
                        c.readyset_cache_mode,
                        c.readyset_topk,
                    ).key
                    if probe.release is not None and probe.status is not None
                    else None
                ),
                caches=len(probe.caches) if probe.caches is not None else None,
                error=probe.error,
            )
        )

    ordered = sorted(
        entries.values(),
        key=lambda e: (STATES.index(e.state), -(e.source.executions + e.readyset.executions)),
    )
    return Report(
        config=c.path,
        source_hostgroup=c.source_hostgroup,
        readyset_hostgroup=c.readyset_hostgroup,
        generated_at=round(now, 3),
        digests=ordered,
        hosts=host_infos,
        last_pass=_last_pass(c),
    )


def _added_at(comment: str) -> Optional[float]:
    # "Added by readyset scheduler at: …" has the same stamp as the mirror comment.
    if comment.startswith(rules.ADDED):
        return rules.mirrored_at(rules.MIRROR + comment[len(rules.ADDED) :])
    return None


def _add_traffic(config: Config, admin: Admin, entries: dict[tuple[str, str], Entry]) -> None:
    owner: dict[tuple[str, str], Entry] = {}
    for entry in entries.values():
        owner[(entry.digest, entry.schema)] = entry
        for kid in entry.in_list_siblings:
            owner[(kid, entry.schema)] = entry
    if not owner:
        return
    sql = STATS.format(
        source=literal(config.source_hostgroup),
        readyset=literal(config.readyset_hostgroup),
        username=literal(config.readyset_user),
        digests=", ".join(literal(d) for d in sorted({d for d, _ in owner})),
    )
    for hostgroup, digest, schema, text, count, total in admin.execute(sql):
        if (str(digest), str(schema)) not in owner:
            continue
        entry = owner[(str(digest), str(schema))]
        side = entry.source if int(hostgroup) == config.source_hostgroup else entry.readyset
        side.executions += int(count or 0)
        side.sum_time_us += int(total or 0)
        if str(digest) == entry.digest:
            entry.text = str(text)  # the digest text, as ProxySQL shows it


def _last_pass(config: Config) -> Optional[dict[str, Any]]:
    if not config.metrics_file:
        return None
    samples = metrics_file.read(config.metrics_file)
    p = metrics_file.PREFIX
    if p + "pass_timestamp_seconds" not in samples:
        return None
    outcome = next(
        (o for o in metrics_file.OUTCOMES if samples.get(f'{p}pass_outcome{{outcome="{o}"}}')),
        "unknown",
    )
    return {
        "at": samples[p + "pass_timestamp_seconds"],
        "outcome": outcome,
        "duration_s": samples.get(p + "pass_duration_seconds"),
        "changes": int(samples.get(p + "pass_changes", 0)),
        "dry_run": bool(samples.get(p + "pass_dry_run", 0)),
    }


# --- output ---


def to_json(report: Report) -> dict[str, Any]:
    def traffic(t: Traffic) -> dict[str, Any]:
        return {"executions": t.executions, "mean_latency_us": t.mean_latency_us}

    digests = []
    for e in report.digests:
        item = asdict(e)
        item["source"] = traffic(e.source)
        item["readyset"] = traffic(e.readyset)
        digests.append(item)
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": report.generated_at,
        "config": report.config,
        "source_hostgroup": report.source_hostgroup,
        "readyset_hostgroup": report.readyset_hostgroup,
        "digests": digests,
        "hosts": [asdict(h) for h in report.hosts],
        "last_pass": report.last_pass,
        **({} if report.plan is None else {"plan": asdict(report.plan)}),
    }


def _when(epoch: Optional[float], seconds: bool = False) -> str:
    if epoch is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else ""), time.gmtime(epoch))


def _latency(t: Traffic) -> str:
    mean = t.mean_latency_us
    return "-" if mean is None else f"{mean / 1000:.2f}ms"


def _state(e: Entry) -> str:
    if e.state == "mirrored" and e.mirrored_until is not None:
        return f"mirrored until {_when(e.mirrored_until, seconds=True)}"
    if e.state == "routed" and e.cache and e.cache.startswith(rules.VARIANT_PREFIX):
        return f"routed: {len(e.cache.split(','))} literal variant(s)"
    if e.state in ("refused", "inactive", "learning") and e.reason:
        return f"{e.state}: {e.reason}"
    return e.state


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [cell.ljust(w) for cell, w in zip(r, widths)]
        lines.append("  ".join(cells).rstrip())
    return lines


def to_text(report: Report) -> str:
    n_hosts = len(report.hosts)
    header = [
        "DIGEST",
        "SCHEMA",
        "STATE",
        "CACHED",
        "SOURCE EXECS",
        "MEAN",
        "READYSET EXECS",
        "MEAN",
        "SINCE (UTC)",
        "QUERY",
    ]
    rows = []
    for e in report.digests:
        query = _short(e.text, 60)
        if e.in_list_siblings:
            query += f" (+{len(e.in_list_siblings)} IN-list digests)"
        rows.append(
            [
                e.digest,
                e.schema,
                _short(_state(e), STATE_WIDTH),
                f"{len(e.cached_on)}/{n_hosts}",
                str(e.source.executions),
                _latency(e.source),
                str(e.readyset.executions),
                _latency(e.readyset),
                _when(e.since),
                query,
            ]
        )
    out = [
        f"digests known to the scheduler (source hostgroup {report.source_hostgroup},"
        f" Readyset hostgroup {report.readyset_hostgroup}):"
    ]
    out += _table(header, rows) if rows else ["  none yet"]
    states = [(e, " ".join(_state(e).split())) for e in report.digests]  # as _short sees it
    cut = [(e, text) for e, text in states if len(text) > STATE_WIDTH]
    if cut:
        out += ["", "in full:"]
        out += [f"  {e.digest} ({e.schema}): {text}" for e, text in cut]
    out.append("")
    out.append("Readyset hosts:")
    host_rows = [
        [
            h.address,
            h.proxysql_status or "not in mysql_servers",
            h.readyset_status,
            h.profile or h.release or "-",
            "-" if h.caches is None else str(h.caches),
        ]
        for h in report.hosts
    ]
    header = ["ADDRESS", "PROXYSQL", "READYSET", "RELEASE/MODE", "CACHES"]
    out += _table(header, host_rows) if host_rows else ["  none found"]
    out.append("")
    last = report.last_pass
    if last is None:
        out.append("last pass: not recorded (set metrics_file to record it)")
    else:
        duration = last.get("duration_s")
        took = f", {duration * 1000:.0f} ms" if isinstance(duration, float) else ""
        dry = ", dry run" if last.get("dry_run") else ""
        out.append(
            f"last pass: {_when(last['at'])} UTC, {last['outcome']}{took},"
            f" {last.get('changes', 0)} change(s){dry}"
        )
    if report.plan is not None:
        out += ["", *_plan_lines(report.plan)]
    return "\n".join(out)


def _plan_lines(plan: Plan) -> list[str]:
    head = "next pass (a dry run of one pass now, nothing changed):"
    if not plan.changes and not plan.problems and plan.error is None:
        return [f"{head} nothing to change"]
    out = [head, *(f"  {change}" for change in plan.changes)]
    out += [f"  problem: {problem}" for problem in plan.problems]
    if plan.error is not None:
        out.append(f"  stopped: {plan.error}")
    return out


def main(command: str, argv: list[str]) -> int:
    p = parser("status", "What the scheduler caches, and its Readyset hosts (read-only).")
    p.add_argument("--json", action="store_true", help="one JSON document, see docs/")
    p.add_argument(
        "--plan",
        action="store_true",
        help="also what the next pass would change (one pass run as a dry run; asks Readyset"
        " EXPLAIN CREATE CACHE for new candidates, writes nothing)",
    )
    args = p.parse_args(argv)
    config = load_config(args.config)
    admin = Admin(config)
    try:
        report = collect(config, admin)
    except AdminError as e:
        print(f"status failed: {e}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        admin.close()
    if args.plan:
        report.plan = next_pass(config)
    if args.json:
        import json

        print(json.dumps(to_json(report), indent=2, ensure_ascii=False))
    else:
        print(to_text(report))
    if report.plan is not None and report.plan.error is not None:
        return EXIT_FAILURE  # the report is complete, the plan is not
    return EXIT_OK
