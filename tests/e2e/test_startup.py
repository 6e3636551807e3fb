"""What a pass loads at start-up. ProxySQL starts the program anew every `interval_ms`, so each
module a pass imports is paid every few seconds; the benchmark (bench/run.py) times it, this
pins which modules a pass leaves alone, where a timing assertion would fail on a busy machine."""

from __future__ import annotations

import subprocess
from pathlib import Path

from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import SCRIPT, app_queries, run_scheduler

# module -> why a pass does without it
NOT_IMPORTED = {
    "dataclasses": "rows, config and state are NamedTuples or plain classes",
    "inspect": "imported by dataclasses",
    "tempfile": "files.replace_atomically names its temporary file itself",
    "_strptime": "rule comment dates are read from the regex groups",
    "argparse": "only --help and the one-argument form parse with it",
    "readyset_proxysql_scheduler.translate": "only when a digest needs translating",
    "readyset_proxysql_scheduler.learning": "only when a rule learns literal variants",
    "readyset_proxysql_scheduler.metrics": "only with metrics_file",
    "readyset_proxysql_scheduler.status": "an operator command",
}


def imported(config: Path) -> set[str]:
    proc = subprocess.run(
        [SCRIPT, f"--config={config}"],
        env={"PYTHONPROFILEIMPORTTIME": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {
        line.split("|")[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }


def test_a_steady_pass_imports_only_what_it_uses(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    cnf = config(number_of_queries=1)
    assert run_scheduler(cnf).code == 0  # caches the query: number_of_queries reached
    modules = imported(cnf)
    assert "readyset_proxysql_scheduler.scheduler" in modules  # the control: a pass ran
    assert "readyset_proxysql_scheduler.lifecycle" in modules
    loaded = {m: why for m, why in NOT_IMPORTED.items() if m in modules}
    assert loaded == {}
