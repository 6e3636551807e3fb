"""Readyset emulator for the sandbox (see :mod:`.server`, :mod:`.eras`, :mod:`.sql`)."""

from __future__ import annotations

from rps_sandbox.readyset.eras import ERAS, Era
from rps_sandbox.readyset.server import CacheInfo, Readyset, ReadysetSession
from rps_sandbox.readyset.sql import Verdict, support

__all__ = ["ERAS", "Era", "CacheInfo", "Readyset", "ReadysetSession", "Verdict", "support"]
