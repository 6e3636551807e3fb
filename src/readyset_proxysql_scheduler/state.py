"""What the scheduler remembers between passes, in one small JSON file (`state_file`).

- `unsupported`: by `<digest>/<schema>`, digests Readyset refused or that cannot be turned into
  a query, with the reason, so they are not asked again every pass. Delete the file to ask again.
- `queries`: by cache name (`d_<digest>_<schema>`, or `v_<query id>` for a literal variant
  learned from Readyset), the digest, query text and schema behind each cache the scheduler
  created, so a Readyset host that was down when a cache was made gets it later. A cache an
  operator made by hand and the scheduler adopted (`adopt_manual_caches`) is here too, marked
  `adopted`: it is repaired like the others, but never dropped.
- `offline_soft`: hosts the scheduler itself set OFFLINE_SOFT (maintenance mode); any other
  OFFLINE_SOFT host was set by a person and is left alone.
- `deactivated`: rules the scheduler switched off while no Readyset host was online; only
  these are switched back on.
- `rules_dirty`: rules were written but not yet loaded to runtime (a run died in between);
  the next pass loads them.
- `learning`: by `<digest>/<schema>`, the digest text of each digest whose literal variants are
  being learned from Readyset (or were: kept while its variant rule lives), see learning.py.
- `hosts`: per Readyset host, its release and probed cache mode with the `Last started
  Controller` time they were read at, so steady passes do not ask again (profiles.py).
- `tracks`: by `<digest>/<schema>`, the digest's counters as last read and its recent deltas
  (history.py): the scheduler's queries and the hottest candidates only, so the file stays small.
- `not_adopted`: by cache name, why a cache made by hand is not adopted (adoption.py), so the
  reason is logged at Note once, not every pass.

A refusal is remembered with the release profile that refused it (`profile`): after an upgrade
or a mode change the digest is asked again.

The file is rewritten atomically (temporary file, then rename) and only outside dry runs.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple, Optional

from readyset_proxysql_scheduler import history

# A refusal's text when the lifecycle gave up on a query (Readyset was not faster).
GAVE_UP = "Readyset not faster than the source: "


class Remembered(NamedTuple):
    schema: str
    text: str
    at: float = 0.0
    profile: str = ""  # refusals only: the profile key(s) that refused it
    digest: str = ""  # queries only: the digest the cache serves
    adopted: bool = False  # queries only: made by an operator, routed by us, never dropped by us


class HostFacts(NamedTuple):
    controller: str  # `Last started Controller` when these were read
    release: str
    probed_mode: Optional[str] = None


class State:
    """What the scheduler remembers between passes (the state file)."""

    def __init__(
        self,
        unsupported: Optional[dict[str, Remembered]] = None,
        queries: Optional[dict[str, Remembered]] = None,
        offline_soft: Optional[set[str]] = None,
        deactivated: Optional[set[int]] = None,
        rules_dirty: bool = False,
        hosts: Optional[dict[str, HostFacts]] = None,
        learning: Optional[dict[str, Remembered]] = None,
        tracks: Optional[dict[str, history.Track]] = None,
        not_adopted: Optional[dict[str, str]] = None,
    ) -> None:
        self.unsupported: dict[str, Remembered] = {} if unsupported is None else unsupported
        self.queries: dict[str, Remembered] = {} if queries is None else queries
        self.offline_soft: set[str] = set() if offline_soft is None else offline_soft
        self.deactivated: set[int] = set() if deactivated is None else deactivated
        self.rules_dirty = rules_dirty
        self.hosts: dict[str, HostFacts] = {} if hosts is None else hosts
        self.learning: dict[str, Remembered] = {} if learning is None else learning
        self.tracks: dict[str, history.Track] = {} if tracks is None else tracks
        self.not_adopted: dict[str, str] = {} if not_adopted is None else not_adopted

    def __eq__(self, other: object) -> bool:
        return isinstance(other, State) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"State({vars(self)!r})"

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "unsupported": {k: _json(v) for k, v in sorted(self.unsupported.items())},
            "queries": {k: _json(v) for k, v in sorted(self.queries.items())},
            "offline_soft": sorted(self.offline_soft),
            "deactivated": sorted(self.deactivated),
            "rules_dirty": self.rules_dirty,
            "hosts": {k: v._asdict() for k, v in sorted(self.hosts.items())},
            "learning": {k: _json(v) for k, v in sorted(self.learning.items())},
            "tracks": {k: history.to_json(v) for k, v in sorted(self.tracks.items())},
            "not_adopted": dict(sorted(self.not_adopted.items())),
        }


def _json(value: Remembered) -> dict[str, Any]:
    out = value._asdict()
    if not value.adopted:
        del out["adopted"]  # only adopted caches say so: the file stays as it was
    return out


def _remembered(data: Any) -> dict[str, Remembered]:
    out = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, dict):
                out[str(key)] = Remembered(
                    schema=str(value.get("schema", "")),
                    text=str(value.get("text", "")),
                    at=float(value.get("at", 0) or 0),
                    profile=str(value.get("profile", "")),
                    digest=str(value.get("digest", "")),
                    adopted=value.get("adopted") is True,
                )
    return out


def refusal_key(digest: str, schema: str) -> str:
    return f"{digest}/{schema}"


def _queries(data: Any) -> dict[str, Remembered]:
    """Caches by name; a file written before caches were per schema keys them by digest."""
    out = {}
    for key, value in _remembered(data).items():
        if key.lower().startswith("0x"):  # the older layout: by digest, the cache d_<digest>
            out["d_" + key] = value._replace(digest=key)
        else:
            out[key] = value
    return out


def _hosts(data: Any) -> dict[str, HostFacts]:
    out = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, dict) and isinstance(value.get("release"), str):
                mode = value.get("probed_mode")
                out[str(key)] = HostFacts(
                    controller=str(value.get("controller", "")),
                    release=value["release"],
                    probed_mode=mode if mode in ("deep", "shallow") else None,
                )
    return out


def _strings(data: Any) -> dict[str, str]:
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str)}


def _tracks(data: Any) -> dict[str, history.Track]:
    out = {}
    if isinstance(data, dict):
        for key, value in data.items():
            track = history.from_json(value)
            if track is not None and "/" in str(key):
                out[str(key)] = track
    return out


def load(path: str) -> tuple[State, str]:
    """The remembered state, and a warning when the file was unreadable (then start empty)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return State(), ""
    except (OSError, ValueError) as e:
        return State(), f"state file {path} unreadable, starting afresh: {e}"
    if not isinstance(data, dict):
        return State(), f"state file {path} has no JSON object, starting afresh"
    return (
        State(
            unsupported={k: v for k, v in _remembered(data.get("unsupported")).items() if "/" in k},
            queries=_queries(data.get("queries")),
            offline_soft={str(x) for x in data.get("offline_soft", []) if isinstance(x, str)},
            deactivated={int(x) for x in data.get("deactivated", []) if isinstance(x, int)},
            rules_dirty=bool(data.get("rules_dirty", False)),
            hosts=_hosts(data.get("hosts")),
            learning=_remembered(data.get("learning")),
            tracks=_tracks(data.get("tracks")),
            not_adopted=_strings(data.get("not_adopted")),
        ),
        "",
    )


def save(path: str, state: State) -> None:
    from readyset_proxysql_scheduler.files import replace_atomically

    replace_atomically(path, _lines(state.to_json()), 0o600, sync=True)


def _lines(data: dict[str, Any]) -> str:
    """JSON with one line per entry of each section, for a reader with less or diff. Not
    `indent=`: that makes json encode in Python, several times slower than in C."""

    def entry(key: Any, value: Any) -> str:  # `"key": value`, the key converted as json does
        return json.dumps({key: value}, ensure_ascii=False)[1:-1]

    def section(key: Any, value: Any) -> str:
        if not isinstance(value, dict) or not value:
            return entry(key, value)
        head = entry(key, {})[:-2]
        return head + "{\n" + ",\n".join(f"  {entry(k, v)}" for k, v in value.items()) + "\n }"

    return "{\n" + ",\n".join(f" {section(k, v)}" for k, v in data.items()) + "\n}\n"
