"""`run --interval 10s`: passes in one long-lived process instead of ProxySQL's scheduler row
(for systemd; see packaging/). Each pass is the same as the scheduler row's, under the same
lock, so a row left in ProxySQL and the daemon never run a pass at the same time.

Signals: SIGTERM (and SIGINT) end the daemon after the current pass, exit code 0; SIGHUP
re-reads the configuration before the next pass (a configuration that does not load is logged
and the previous one kept). Passes start every `--interval` (immediately after a pass that
took longer).
"""

from __future__ import annotations

import re
import signal
import time
from types import FrameType
from typing import Optional

from readyset_proxysql_scheduler.commands import load_config, parser
from readyset_proxysql_scheduler.config import Config, ConfigError, load
from readyset_proxysql_scheduler.log import Log
from readyset_proxysql_scheduler.runner import EXIT_OK, run_pass

_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
MIN_INTERVAL_S = 0.1


def parse_interval(text: str) -> float:
    """Seconds in `10s`, `500ms`, `1m`, `1h` or a plain number of seconds."""
    match = _INTERVAL.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an interval such as 10s, 500ms or 1m")
    seconds = float(match.group(1)) * _UNIT[match.group(2) or "s"]
    if seconds < MIN_INTERVAL_S:
        raise ValueError(f"{text!r} is shorter than {MIN_INTERVAL_S:g}s")
    return seconds


class Daemon:
    def __init__(self, config: Config, interval: float, dry_run: bool) -> None:
        self.config = config
        self.interval = interval
        self.dry_run = dry_run
        self.log = self._log(config)
        self.stopping: Optional[str] = None
        self.reloading = False
        self.passes = 0

    @staticmethod
    def _log(config: Config) -> Log:
        return Log(config.log_verbosity, config.log_file)

    def _stop(self, signum: int, frame: Optional[FrameType]) -> None:
        self.stopping = signal.Signals(signum).name

    def _hup(self, signum: int, frame: Optional[FrameType]) -> None:
        self.reloading = True

    def reload(self) -> None:
        self.reloading = False
        try:
            config = load(self.config.path)
        except ConfigError as e:
            self.log.error(f"SIGHUP: configuration error, keeping the previous one: {e}")
            return
        self.config = config
        self.log = self._log(config)
        self.log.note(f"SIGHUP: configuration {config.path} re-read")

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGHUP, self._hup)
        self.log.note(
            f"daemon started: a pass every {self.interval:g}s with {self.config.path}"
            + (" (dry run)" if self.dry_run else "")
        )
        while self.stopping is None:
            if self.reloading:
                self.reload()
            started = time.monotonic()
            run_pass(self.config, self.log, self.dry_run)
            self.passes += 1
            next_start = started + self.interval
            while self.stopping is None:
                if self.reloading:
                    self.reload()
                left = next_start - time.monotonic()
                if left <= 0:
                    break
                time.sleep(min(left, 0.2))
        self.log.note(f"daemon stopped by {self.stopping} after {self.passes} pass(es)")
        return EXIT_OK


def main(command: str, argv: list[str]) -> int:
    p = parser("run", "Run a pass every --interval in this process (instead of ProxySQL's row).")
    p.add_argument(
        "--interval",
        default="10s",
        metavar="DURATION",
        help="time between pass starts: 10s, 500ms, 1m (default 10s)",
    )
    p.add_argument("--dry-run", action="store_true", help="every pass only logs its changes")
    args = p.parse_args(argv)
    try:
        interval = parse_interval(args.interval)
    except ValueError as e:
        p.error(f"--interval: {e}")
    config = load_config(args.config)
    return Daemon(config, interval, args.dry_run).run()
