"""Replacing a file atomically: a temporary file in the same directory, then a rename, so a
reader (node_exporter, the next pass) sees the old file or the new one, never half of one."""

from __future__ import annotations

import os


def replace_atomically(path: str, text: str, mode: int, sync: bool = False) -> None:
    """Write `text` to `path` with permissions `mode`; `sync` flushes it to disk before the
    rename (for state that must survive a crash). Raises OSError; leaves no temporary file."""
    import tempfile  # only runs that write something pay for it

    directory, base = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=directory)
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
