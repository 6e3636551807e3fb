"""Log lines in the original's format: `YYYY-mm-dd HH:MM:SS [LEVEL] Readyset[pid]: message`.

INFO and NOTE go to stdout, WARNING and ERROR to stderr (ProxySQL puts both in its log), or
every line to `log_file` when it is set: the file is opened for each line and closed again, so
logrotate can simply rename it (no copytruncate, no signal).
Passwords are never put into messages, and driver errors do not carry them; the tests check
that no line ever contains one.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Optional, TextIO

from readyset_proxysql_scheduler.config import LogLevel

_NAMES = {
    LogLevel.INFO: "INFO",
    LogLevel.NOTE: "NOTE",
    LogLevel.WARNING: "WARNING",
    LogLevel.ERROR: "ERROR",
}


class Log:
    def __init__(self, level: LogLevel = LogLevel.NOTE, file: Optional[str] = None) -> None:
        self.level = level
        self.file = file
        self.counts = {level: 0 for level in LogLevel}

    def _write(self, level: LogLevel, message: str) -> None:
        self.counts[level] += 1
        if level < self.level:
            return
        # One event, one line: a newline in a digest or an error must not forge another entry.
        message = message.replace("\r", "\\r").replace("\n", "\\n")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        head = f"{stamp} [{_NAMES[level]}] Readyset[{os.getpid()}]: "
        line = head + message + "\n"
        if self.file is not None:
            try:
                with open(self.file, "a", encoding="utf-8", errors="backslashreplace") as out:
                    out.write(line)
                return
            except OSError as e:  # the line must not be lost: say why, then write it below
                sys.stderr.write(f"{head}cannot write log_file {self.file}: {e}\n")
        stream: TextIO = sys.stdout if level <= LogLevel.NOTE else sys.stderr
        stream.write(line)
        stream.flush()

    def info(self, message: str) -> None:
        self._write(LogLevel.INFO, message)

    def note(self, message: str) -> None:
        self._write(LogLevel.NOTE, message)

    def warning(self, message: str) -> None:
        self._write(LogLevel.WARNING, message)

    def error(self, message: str) -> None:
        self._write(LogLevel.ERROR, message)
