"""Replacing a file atomically: a temporary file in the same directory, then a rename, so a
reader (node_exporter, the next pass) sees the old file or the new one, never half of one."""

from __future__ import annotations

import os


def replace_atomically(path: str, text: str, mode: int, sync: bool = False) -> None:
    """Write `text` to `path` with permissions `mode`; `sync` flushes it to disk before the
    rename (for state that must survive a crash). Raises OSError; leaves no temporary file."""
    directory, base = os.path.split(os.path.abspath(path))
    # What tempfile.mkstemp does, without its import (milliseconds of every pass's start-up):
    # an unguessable name, created only if absent, readable by this user alone.
    tmp = os.path.join(directory, f".{base}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
