"""Health: what `SHOW READYSET STATUS` says → the status ProxySQL should give the host.

| Readyset says (any release)                         | ProxySQL status |
|-----------------------------------------------------|-----------------|
| `Status: Online`, `Snapshot Status: Completed`      | ONLINE          |
| `Status: Snapshot In Progress`, `Snapshot Status: In Progress` | SHUNNED |
| `Status: Maintenance Mode`                          | OFFLINE_SOFT    |
| `Database Connection: Unreachable`                  | SHUNNED         |
| no status row, an unknown value, no answer          | SHUNNED         |

Hands off: a host whose status is OFFLINE_HARD (in memory or runtime), and a host that a person
set OFFLINE_SOFT. A person's OFFLINE_SOFT is told from ours by the scheduler's state file: only a
host the scheduler itself moved to OFFLINE_SOFT (for maintenance mode) is recorded there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Optional

ONLINE = "ONLINE"
SHUNNED = "SHUNNED"
OFFLINE_SOFT = "OFFLINE_SOFT"
OFFLINE_HARD = "OFFLINE_HARD"
# No verdict: the host refused the scheduler's login. Its status stays as it is.
UNKNOWN = "UNKNOWN"


class Verdict(NamedTuple):
    status: str
    reason: str


def judge(rows: Optional[Sequence[tuple[str, str]]], error: Optional[str] = None) -> Verdict:
    """Map a host's status rows (None when it did not answer) to a ProxySQL status."""
    if rows is None:
        return Verdict(SHUNNED, error or "no answer")
    values = {name.strip().lower(): value.strip() for name, value in rows}
    if values.get("database connection", "").lower() == "unreachable":
        return Verdict(SHUNNED, "Database Connection: Unreachable")
    if "status" in values:
        value = values["status"]
        mapped = {
            "online": ONLINE,
            "snapshot in progress": SHUNNED,
            "maintenance mode": OFFLINE_SOFT,
        }.get(value.lower())
        return Verdict(mapped or SHUNNED, f"Status: {value}")
    if "snapshot status" in values:
        value = values["snapshot status"]
        mapped = {"completed": ONLINE, "in progress": SHUNNED}.get(value.lower())
        return Verdict(mapped or SHUNNED, f"Snapshot Status: {value}")
    return Verdict(SHUNNED, "no status row in SHOW READYSET STATUS")


def hands_off(runtime: str, memory: Optional[str], ours_offline_soft: bool) -> Optional[str]:
    """Why the scheduler must not touch this host's status, or None when it may."""
    if OFFLINE_HARD in (runtime, memory):
        return "OFFLINE_HARD"
    if OFFLINE_SOFT in (runtime, memory) and not ours_offline_soft:
        return "OFFLINE_SOFT set by hand"
    return None
