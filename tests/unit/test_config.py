"""Config: every key, defaults, aliases, enum spellings, and one-line errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from readyset_proxysql_scheduler.config import (
    Config,
    ConfigError,
    DiscoveryMode,
    LogLevel,
    OperationMode,
    load,
)

REQUIRED = """
proxysql_user = "admin"
proxysql_password = "admin"
proxysql_host = "127.0.0.1"
proxysql_port = 6032
readyset_user = "app"
readyset_password = "app-secret"
source_hostgroup = 1
readyset_hostgroup = 99
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "scheduler.cnf"
    path.write_text(text)
    return str(path)


def test_defaults(tmp_path: Path) -> None:
    c = load(write(tmp_path, REQUIRED))
    assert c.number_of_queries == 10
    assert c.warmup_time_s == 0
    assert c.operation_mode is OperationMode.ALL
    assert c.query_discovery_mode is DiscoveryMode.COUNT_STAR
    assert c.query_discovery_min_execution == 0 and c.query_discovery_min_row_sent == 0
    assert c.lock_file == "/tmp/readyset_scheduler.lock"
    assert c.log_verbosity is LogLevel.NOTE
    assert c.readyset_host is None
    assert c.state_path == "/tmp/readyset_scheduler.state.json"
    assert 0 < c.connect_timeout_s < c.pass_timeout_s


def test_original_example_config(tmp_path: Path) -> None:
    text = (
        REQUIRED
        + """
warmup_time_s = 60
lock_file = "/tmp/readyset_scheduler.lock"
operation_mode = 'All'
number_of_queries = 10
query_discovery_mode = 'SumTime'
log_verbosity = 'Note'
"""
    )
    c = load(write(tmp_path, text))
    assert c.warmup_time_s == 60
    assert c.query_discovery_mode is DiscoveryMode.SUM_TIME


def test_seed_keys(tmp_path: Path) -> None:
    text = REQUIRED + 'warmup_time = 30\nreadyset_host = "10.0.0.5"\nreadyset_port = 3307\n'
    c = load(write(tmp_path, text))
    assert (c.warmup_time_s, c.readyset_host, c.readyset_port) == (30, "10.0.0.5", 3307)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("operation_mode", "HealthCheck", OperationMode.HEALTH_CHECK),
        ("operation_mode", "health_check", OperationMode.HEALTH_CHECK),
        ("operation_mode", "query_discovery", OperationMode.QUERY_DISCOVERY),
        ("query_discovery_mode", "DistanceMeanMax", DiscoveryMode.DISTANCE_MEAN_MAX),
        ("query_discovery_mode", "worst_best_case", DiscoveryMode.WORST_BEST_CASE),
        ("log_verbosity", "warning", LogLevel.WARNING),
    ],
)
def test_enum_spellings(tmp_path: Path, key: str, value: str, expected: object) -> None:
    c = load(write(tmp_path, REQUIRED + f'{key} = "{value}"\n'))
    assert getattr(c, key) is expected


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ('colour = "blue"\n', "unknown key 'colour'"),
        ('proxysql_port = "6032"\n', "key 'proxysql_port': expected an integer, got string '6032'"),
        ("number_of_queries = -1\n", "key 'number_of_queries': -1 is out of range"),
        ("warmup_time_s = 1.5\n", "key 'warmup_time_s': expected an integer"),
        ('operation_mode = "Everything"\n', "key 'operation_mode': 'Everything' is not one of"),
        ("warmup_time = 5\nwarmup_time_s = 5\n", "repeats 'warmup_time_s'"),
        ("source_hostgroup = true\n", "key 'source_hostgroup': expected an integer, got boolean"),
        ("readyset_port = 3307\n", "'readyset_port' needs 'readyset_host'"),
    ],
)
def test_bad_values_name_file_and_key(tmp_path: Path, extra: str, fragment: str) -> None:
    text = "\n".join(
        line for line in REQUIRED.splitlines() if not line.startswith(extra.split(" ")[0] + " ")
    )
    path = write(tmp_path, text + "\n" + extra)
    with pytest.raises(ConfigError) as err:
        load(path)
    message = str(err.value)
    assert message.startswith(path + ": ")
    assert fragment in message
    assert "\n" not in message


def test_missing_required_key(tmp_path: Path) -> None:
    text = REQUIRED.replace('readyset_user = "app"\n', "")
    with pytest.raises(ConfigError, match="missing required key 'readyset_user'"):
        load(write(tmp_path, text))


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nothere.cnf: file not found"):
        load(str(tmp_path / "nothere.cnf"))
    with pytest.raises(ConfigError, match="invalid TOML"):
        load(write(tmp_path, "proxysql_user = \n"))
    with pytest.raises(ConfigError, match="is a directory"):
        load(str(tmp_path))


def test_repr_hides_passwords(tmp_path: Path) -> None:
    c = load(write(tmp_path, REQUIRED.replace('"app-secret"', '"s3cr3t!"')))
    assert "s3cr3t!" not in repr(c)
    assert isinstance(c, Config)
