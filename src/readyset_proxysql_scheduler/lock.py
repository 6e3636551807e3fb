"""One run at a time: a non-blocking exclusive flock on `lock_file`.

The kernel drops the lock when the process dies, so a file left behind by a killed run never
blocks a later one.
"""

from __future__ import annotations

import fcntl
import os
from types import TracebackType
from typing import Optional


class LockHeld(Exception):
    """Another run holds the lock."""


class LockError(Exception):
    """The lock file cannot be opened."""


class RunLock:
    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: Optional[int] = None

    def __enter__(self) -> RunLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as e:
            raise LockError(f"cannot open lock file {self.path}: {e.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockHeld(self.path) from None
        self.fd = fd
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
