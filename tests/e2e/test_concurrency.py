"""Twenty runs at once: exactly one does the work, the others exit 0 at once, touching nothing."""

from __future__ import annotations

import subprocess

from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import SCRIPT, admin_rows, app_queries


def test_twenty_concurrent_runs(sandbox: Sandbox, config) -> None:
    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    cfg = config()
    # A slow Readyset keeps the working run busy while the others start.
    sandbox.readyset[0].query_delay = 0.2
    procs = [
        subprocess.Popen(
            [SCRIPT, f"--config={cfg}"],
            env={},
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(20)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0] * 20, outputs
    workers = [out for out in outputs if "add rule" in out[0]]
    waiters = [out for out in outputs if "another run holds" in out[0] + out[1]]
    # Exactly one run added the rule; every other one either found the lock held or started
    # after the worker had finished and found nothing to do (silent at the default level).
    assert len(workers) == 1
    assert all(len((o[0] + o[1]).splitlines()) <= 1 for o in outputs if o not in workers)
    assert len(waiters) >= 1
    rules = admin_rows(sandbox, "SELECT digest FROM runtime_mysql_query_rules")
    assert len(rules) == 1
    assert len(sandbox.readyset[0].caches()) == 1
