"""ProxySQL emulator: admin interface (SQLite layers, LOAD/SAVE, runtime/stats tables) and a
MySQL traffic port with query rules, routing, mirroring and query-digest statistics."""

from __future__ import annotations

from .proxy import AdminFault, ProxySQL

__all__ = ["AdminFault", "ProxySQL"]
