"""One pass under the run lock, its one-line outcome, its exit code and its metrics: what the
scheduler row's command and each turn of the daemon do."""

from __future__ import annotations

import os
import time
from typing import Optional

from readyset_proxysql_scheduler.config import Config
from readyset_proxysql_scheduler.lock import LockError, LockHeld, RunLock
from readyset_proxysql_scheduler.log import Log
from readyset_proxysql_scheduler.proxysql import AdminError
from readyset_proxysql_scheduler.readyset import ReadysetError
from readyset_proxysql_scheduler.scheduler import Pass, PassTimeout

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def run_pass(config: Config, log: Log, dry_run: bool = False) -> int:
    """Run one pass; the exit code for it (another run holding the lock is not a failure)."""
    started = time.monotonic()
    attempt = None
    outcome = "ok"
    try:
        with RunLock(config.lock_file):
            attempt = Pass(config, log, dry_run=dry_run)
            summary = attempt.run()
    except LockHeld:
        log.note(f"another run holds {config.lock_file}: this run exits without doing anything")
        return EXIT_OK
    except PassTimeout as e:
        log.error(f"run failed: {e}")
        outcome, code = "timeout", EXIT_FAILURE
    except (LockError, AdminError, ReadysetError, OSError) as e:
        log.error(f"run failed: {e}")
        outcome, code = "failed", EXIT_FAILURE
    except Exception as e:  # noqa: BLE001 - one line for the ProxySQL log, details on request
        log.error(f"run failed: unexpected {type(e).__name__}: {e}")
        if os.environ.get("RPS_DEBUG"):
            import traceback

            traceback.print_exc()
        outcome, code = "failed", EXIT_FAILURE
    else:
        if summary.changes:
            verb = "would make" if dry_run else "made"
            log.note(f"pass done: {verb} {len(summary.changes)} change(s)")
        else:
            log.info("pass done: nothing to change")
        if summary.problems:
            outcome, code = "problems", EXIT_FAILURE
        else:
            code = EXIT_OK
    if config.metrics_file:
        _write_metrics(config, log, attempt, outcome, code, time.monotonic() - started, dry_run)
    return code


def _write_metrics(
    config: Config,
    log: Log,
    attempt: Optional[Pass],
    outcome: str,
    code: int,
    duration: float,
    dry_run: bool,
) -> None:
    from readyset_proxysql_scheduler import metrics
    from readyset_proxysql_scheduler.counts import PassCounts

    assert config.metrics_file is not None
    counts = attempt.counts if attempt is not None else PassCounts()
    changes = len(attempt.summary.changes) if attempt is not None else 0
    statuses = [lv.verdict.status for lv in attempt.live] if attempt is not None else []
    rule_counts = None
    if attempt is not None and outcome in ("ok", "problems"):
        try:
            if dry_run or not changes:
                rows = attempt.rules_as_read()  # unchanged since this pass read them
                attempt.admin.close()
            else:
                from readyset_proxysql_scheduler.proxysql import Admin

                admin = Admin(config)
                try:
                    rows = admin.rules()
                finally:
                    admin.close()
            rule_counts = metrics.rule_states(rows, config.readyset_hostgroup)
        except AdminError as e:
            log.warning(f"metrics: cannot read the rules after the pass: {e}")
    report = metrics.PassReport(
        timestamp=time.time(),
        duration_s=round(duration, 6),
        outcome=outcome,
        exit_code=code,
        dry_run=dry_run,
        changes=changes,
        counts=counts,
        rules=rule_counts,
        hosts=metrics.host_statuses(statuses),
    )
    try:
        metrics.write(config.metrics_file, report)
    except OSError as e:
        log.warning(f"cannot write metrics_file {config.metrics_file}: {e.strerror or e}")
