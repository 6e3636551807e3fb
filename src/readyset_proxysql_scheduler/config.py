"""The TOML configuration: every key of the original v0.6.0, the seed's older keys, and ours.

`load(path)` returns a frozen `Config` or raises `ConfigError` whose text is one line naming the
file, the key and the problem.
"""

from __future__ import annotations

import enum
import os
import stat
import sys
from typing import Any, Callable, NamedTuple, Optional, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib


class ConfigError(Exception):
    """A configuration problem; str() is the one line shown to the user."""


class OperationMode(enum.Enum):
    ALL = "All"
    HEALTH_CHECK = "HealthCheck"
    QUERY_DISCOVERY = "QueryDiscovery"


class DiscoveryMode(enum.Enum):
    COUNT_STAR = "CountStar"
    SUM_TIME = "SumTime"
    SUM_ROWS_SENT = "SumRowsSent"
    MEAN_TIME = "MeanTime"
    EXECUTION_TIME_DISTANCE = "ExecutionTimeDistance"
    QUERY_THROUGHPUT = "QueryThroughput"
    WORST_BEST_CASE = "WorstBestCase"
    WORST_WORST_CASE = "WorstWorstCase"
    DISTANCE_MEAN_MAX = "DistanceMeanMax"


class LogLevel(enum.IntEnum):
    INFO = 0
    NOTE = 1
    WARNING = 2
    ERROR = 3


_LOG_LEVEL_NAMES = {
    "Info": LogLevel.INFO,
    "Note": LogLevel.NOTE,
    "Warning": LogLevel.WARNING,
    "Error": LogLevel.ERROR,
}


class Config(NamedTuple):
    proxysql_user: str
    proxysql_password: str
    proxysql_host: str
    proxysql_port: int
    readyset_user: str
    readyset_password: str
    source_hostgroup: int
    readyset_hostgroup: int
    warmup_time_s: int = 0
    lock_file: str = "/tmp/readyset_scheduler.lock"
    operation_mode: OperationMode = OperationMode.ALL
    number_of_queries: int = 10
    query_discovery_mode: DiscoveryMode = DiscoveryMode.COUNT_STAR
    query_discovery_min_execution: int = 0
    query_discovery_min_row_sent: int = 0
    log_verbosity: LogLevel = LogLevel.NOTE
    # The seed's single-Readyset form; when set, it replaces the hostgroup's server list.
    readyset_host: Optional[str] = None
    readyset_port: Optional[int] = None
    # Ours.
    connect_timeout_s: float = 2.0
    query_timeout_s: float = 5.0
    pass_timeout_s: float = 8.0
    state_file: Optional[str] = None
    proxysql_ssl: bool = False
    readyset_ssl: bool = False
    # What the Readyset hosts run, when it cannot be seen from them (profiles.py).
    readyset_cache_mode: str = "auto"
    readyset_topk: str = "auto"
    # Mirror digests that need Readyset's own identities, then cache their literal variants.
    learn_literal_variants: bool = True
    # Operator tools: where each pass writes its Prometheus text file, and where log lines go
    # instead of stdout/stderr (ProxySQL's scheduler keeps its children's output in its own log).
    metrics_file: Optional[str] = None
    log_file: Optional[str] = None
    # Lifecycle (lifecycle.py): promotion on evidence, demotion, eviction, replacement.
    max_latency_ratio: float = 1.5
    min_evidence_executions: int = 20
    max_failed_warmups: int = 3
    demote_after_windows: int = 3
    evict_after_s: int = 86400
    replace_window_s: int = 3600
    replace_hysteresis: float = 2.0
    max_replacements_per_pass: int = 1
    deny: tuple[str, ...] = ()
    # Route the digests that caches made by hand on the Readyset hosts serve (adoption.py).
    adopt_manual_caches: bool = False
    path: str = ""

    @property
    def state_path(self) -> str:
        if self.state_file:
            return self.state_file
        return os.path.splitext(self.lock_file)[0] + ".state.json"

    def __repr__(self) -> str:  # never show the passwords
        shown = ", ".join(
            f"{name}={'***' if name.endswith('password') else getattr(self, name)!r}"
            for name in self._fields
        )
        return f"Config({shown})"


Parser = Callable[[Any], Any]


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {_describe(value)}")
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


def _nonempty(value: Any) -> str:
    text = _string(value)
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _integer(low: int, high: int) -> Parser:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {_describe(value)}")
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range {low}..{high}")
        return int(value)

    return parse


def _seconds(low: float, high: float) -> Parser:
    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number of seconds, got {_describe(value)}")
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range {low}..{high}")
        return float(value)

    return parse


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_describe(value)}")
    return value


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _choice(options: dict[str, Any]) -> Parser:
    accepted = {}
    for name, member in options.items():
        accepted[name] = member
        accepted[_snake(name)] = member

    def parse(value: Any) -> Any:
        if isinstance(value, str) and value in accepted:
            return accepted[value]
        names = ", ".join(options)
        raise ValueError(f"{value!r} is not one of {names} (or their snake_case forms)")

    return parse


def _ratio(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {_describe(value)}")
    if not 0 <= value <= 1000:
        raise ValueError(f"{value} is out of range 0..1000")
    return float(value)


def _deny(value: Any) -> tuple[str, ...]:
    import re

    if not isinstance(value, list):
        raise ValueError(f"expected an array of strings, got {_describe(value)}")
    out = []
    for item in value:
        text = _nonempty(item)
        head = text.partition("/")[0]
        if not re.fullmatch(r"0[xX][0-9A-Fa-f]{1,16}", head):
            try:
                re.compile(text)
            except re.error as e:
                raise ValueError(f"{text!r} is neither a digest nor a valid pattern: {e}") from None
        out.append(text)
    return tuple(out)


def _enum(kind: type[enum.Enum]) -> Parser:
    return _choice({str(m.value): m for m in kind})


_PORT = _integer(1, 65535)
_HOSTGROUP = _integer(0, 2**31 - 1)
_COUNT = _integer(0, 2**62)

# key -> (parser, required)
_KEYS: dict[str, tuple[Parser, bool]] = {
    "proxysql_user": (_nonempty, True),
    "proxysql_password": (_string, True),
    "proxysql_host": (_nonempty, True),
    "proxysql_port": (_PORT, True),
    "readyset_user": (_nonempty, True),
    "readyset_password": (_string, True),
    "source_hostgroup": (_HOSTGROUP, True),
    "readyset_hostgroup": (_HOSTGROUP, True),
    "warmup_time_s": (_integer(0, 10 * 365 * 86400), False),
    "lock_file": (_nonempty, False),
    "operation_mode": (_enum(OperationMode), False),
    "number_of_queries": (_integer(0, 100000), False),
    "query_discovery_mode": (_enum(DiscoveryMode), False),
    "query_discovery_min_execution": (_COUNT, False),
    "query_discovery_min_row_sent": (_COUNT, False),
    "log_verbosity": (_choice(dict(_LOG_LEVEL_NAMES)), False),
    "readyset_host": (_nonempty, False),
    "readyset_port": (_PORT, False),
    "connect_timeout_s": (_seconds(0.05, 300), False),
    "query_timeout_s": (_seconds(0.05, 3600), False),
    "pass_timeout_s": (_seconds(0.1, 86400), False),
    "state_file": (_nonempty, False),
    "proxysql_ssl": (_boolean, False),
    "readyset_ssl": (_boolean, False),
    "readyset_cache_mode": (_choice({"auto": "auto", "deep": "deep", "shallow": "shallow"}), False),
    "readyset_topk": (_choice({"auto": "auto", "on": "on", "off": "off"}), False),
    "learn_literal_variants": (_boolean, False),
    "metrics_file": (_nonempty, False),
    "log_file": (_nonempty, False),
    "max_latency_ratio": (_ratio, False),
    "min_evidence_executions": (_integer(1, 2**31), False),
    "max_failed_warmups": (_integer(1, 1000), False),
    "demote_after_windows": (_integer(1, 1000), False),
    "evict_after_s": (_integer(0, 10 * 365 * 86400), False),
    "replace_window_s": (_integer(60, 365 * 86400), False),
    "replace_hysteresis": (_ratio, False),
    "max_replacements_per_pass": (_integer(0, 1000), False),
    "deny": (_deny, False),
    "adopt_manual_caches": (_boolean, False),
}

# The seed's older spellings.
_ALIASES = {"warmup_time": "warmup_time_s"}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def parse(document: dict[str, Any], path: str) -> Config:
    """Validate a decoded TOML document; raise ConfigError naming every bad key on one line."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key, raw in document.items():
        name = _ALIASES.get(key, key)
        if name not in _KEYS:
            problems.append(f"unknown key '{key}'")
            continue
        if name in values:
            problems.append(f"key '{key}' repeats '{name}' (use only one of them)")
            continue
        parser, _ = _KEYS[name]
        try:
            values[name] = parser(raw)
        except ValueError as e:
            problems.append(f"key '{key}': {e}")
    for name, (_, required) in _KEYS.items():
        if (
            required
            and name not in values
            and not any(problem.startswith(f"key '{name}'") for problem in problems)
        ):
            problems.append(f"missing required key '{name}'")
    if "readyset_port" in values and "readyset_host" not in values:
        problems.append("key 'readyset_port' needs 'readyset_host'")
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    if "readyset_host" in values and "readyset_port" not in values:
        values["readyset_port"] = 3307
    return Config(path=path, **values)


def load(path: Union[str, os.PathLike[str]]) -> Config:
    text_path = str(path)
    try:
        with open(text_path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise ConfigError(f"{text_path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{text_path}: is a directory, not a config file") from None
    except OSError as e:
        raise ConfigError(f"{text_path}: cannot read: {e.strerror or e}") from None
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{text_path}: not UTF-8 text (byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{text_path}: invalid TOML: {e}") from None
    return parse(document, text_path)


def readable_by_others(path: str) -> bool:
    """True when a file holding passwords can be read by any user ("other" read bit)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & stat.S_IROTH)
