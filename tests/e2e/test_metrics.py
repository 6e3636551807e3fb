"""`metrics_file`: each pass leaves a Prometheus text file node_exporter's textfile collector
can read; parsed here by the text format's rules."""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path

from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import app_queries, run_scheduler

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_]+="[^"\\]*",?)*\})? (\S+)$')


def parse(path: Path) -> dict[str, float]:
    """Samples by `name{labels}`; every line must be a comment or a well-formed sample, and
    every sample's metric must have HELP and TYPE lines before it."""
    described: set[str] = set()
    samples: dict[str, float] = {}
    for line in path.read_text().splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if parts[1] == "TYPE":
                assert parts[3] in ("gauge", "counter"), line
            described.add(parts[2])
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample: {line!r}"
        assert match.group(1) in described, line
        samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


def test_a_pass_writes_its_metrics(sandbox: Sandbox, config, tmp_path: Path) -> None:
    out = tmp_path / "textfile" / "readyset_scheduler.prom"
    out.parent.mkdir()
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    cfg = config(metrics_file=str(out))
    assert run_scheduler(cfg).code == 0
    m = parse(out)
    assert m['readyset_scheduler_pass_outcome{outcome="ok"}'] == 1
    assert m['readyset_scheduler_pass_outcome{outcome="failed"}'] == 0
    assert m["readyset_scheduler_pass_exit_code"] == 0
    assert m["readyset_scheduler_pass_duration_seconds"] > 0
    assert m["readyset_scheduler_pass_timestamp_seconds"] > 1.7e9
    assert m["readyset_scheduler_digests_read"] >= 1
    assert m["readyset_scheduler_candidates"] == 1
    assert m["readyset_scheduler_caches_created"] == 1
    assert m["readyset_scheduler_caches_failed"] == 0
    assert m['readyset_scheduler_rules{state="routed",kind="query"}'] == 1
    assert m['readyset_scheduler_rules{state="mirrored",kind="query"}'] == 0
    assert m['readyset_scheduler_hosts{status="ONLINE"}'] == 1
    assert m['readyset_scheduler_hosts{status="SHUNNED"}'] == 0
    assert os.listdir(out.parent) == [out.name]  # no temporary file left
    assert oct(out.stat().st_mode & 0o777) == "0o644"

    # The next pass has nothing to do, and says so; reads since the last pass, by who answered.
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 6"], times=3)
    assert run_scheduler(cfg).code == 0
    m = parse(out)
    assert m["readyset_scheduler_caches_created"] == 0 and m["readyset_scheduler_pass_changes"] == 0
    assert m['readyset_scheduler_rules{state="routed",kind="query"}'] == 1
    assert m['readyset_scheduler_reads{answered_by="readyset"}'] == 3
    assert m['readyset_scheduler_reads{answered_by="source"}'] == 0
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 7"], times=2)
    app_queries(sandbox, ["SELECT id FROM orders WHERE id = 9 FOR UPDATE"], times=4)
    assert run_scheduler(cfg).code == 0
    m = parse(out)
    assert m['readyset_scheduler_reads{answered_by="readyset"}'] == 2


def test_a_failed_pass_says_so_and_a_locked_run_writes_nothing(
    sandbox: Sandbox, config, tmp_path: Path
) -> None:
    out = tmp_path / "rps.prom"
    sandbox.readyset[0].stop()
    cfg = config(metrics_file=str(out))
    assert run_scheduler(cfg).code == 0
    m = parse(out)
    assert m['readyset_scheduler_hosts{status="SHUNNED"}'] == 1

    bad = config(metrics_file=str(out), proxysql_port=1)
    assert run_scheduler(bad).code == 1
    m = parse(out)
    assert m['readyset_scheduler_pass_outcome{outcome="failed"}'] == 1
    assert m["readyset_scheduler_pass_exit_code"] == 1

    before = out.read_text()
    fd = os.open(str(tmp_path / "scheduler.lock"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert run_scheduler(cfg).code == 0
    finally:
        os.close(fd)
    assert out.read_text() == before


def test_an_unwritable_metrics_file_is_a_warning(sandbox: Sandbox, config, tmp_path) -> None:
    run = run_scheduler(config(metrics_file=str(tmp_path / "missing" / "x.prom")))
    assert run.code == 0
    assert any("[WARNING]" in line and "cannot write metrics_file" in line for line in run.lines)
