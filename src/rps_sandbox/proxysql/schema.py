"""Admin-side SQLite schema of the ProxySQL emulator and the global variables it knows.

The table definitions are written from the column facts in the project's ProxySQL reference
(declared type, NOT NULL, default, CHECK, keys); nothing here is copied from ProxySQL's source.
"""

from __future__ import annotations

from typing import NamedTuple, Optional


class Col(NamedTuple):
    name: str
    type: str
    notnull: bool = False
    default: Optional[str] = None  # SQL text of the default, as PRAGMA table_info reports it
    check: Optional[str] = None
    extra: str = ""  # e.g. "PRIMARY KEY AUTOINCREMENT"


def _ddl(table: str, cols: list[Col], constraints: tuple[str, ...] = ()) -> str:
    parts = []
    for c in cols:
        piece = f"{c.name} {c.type}"
        if c.extra:
            piece += f" {c.extra}"
        if c.check:
            piece += f" CHECK ({c.check})"
        if c.notnull:
            piece += " NOT NULL"
        if c.default is not None:
            piece += f" DEFAULT {c.default}"
        parts.append(piece)
    parts.extend(constraints)
    return f"CREATE TABLE IF NOT EXISTS {{db}}.{table} (" + " , ".join(parts) + ")"


MYSQL_SERVERS = [
    Col("hostgroup_id", "INT", True, "0", "hostgroup_id>=0"),
    Col("hostname", "VARCHAR", True),
    Col("port", "INT", True, "3306", "port >= 0 AND port <= 65535"),
    Col(
        "gtid_port",
        "INT",
        True,
        "0",
        "(gtid_port <> port OR gtid_port=0) AND gtid_port >= 0 AND gtid_port <= 65535",
    ),
    Col(
        "status",
        "VARCHAR",
        True,
        "'ONLINE'",
        "UPPER(status) IN ('ONLINE','SHUNNED','OFFLINE_SOFT', 'OFFLINE_HARD')",
    ),
    Col("weight", "INT", True, "1", "weight >= 0 AND weight <=10000000"),
    Col("compression", "INT", True, "0", "compression IN(0,1)"),
    Col("max_connections", "INT", True, "1000", "max_connections >=0"),
    Col(
        "max_replication_lag",
        "INT",
        True,
        "0",
        "max_replication_lag >= 0 AND max_replication_lag <= 126144000",
    ),
    Col("use_ssl", "INT", True, "0", "use_ssl IN(0,1)"),
    Col("max_latency_ms", "INT UNSIGNED", True, "0", "max_latency_ms>=0"),
    Col("comment", "VARCHAR", True, "''"),
]
MYSQL_SERVERS_KEYS = ("PRIMARY KEY (hostgroup_id, hostname, port)",)

MYSQL_USERS = [
    Col("username", "VARCHAR", True),
    Col("password", "VARCHAR"),
    Col("active", "INT", True, "1", "active IN (0,1)"),
    Col("use_ssl", "INT", True, "0", "use_ssl IN (0,1)"),
    Col("default_hostgroup", "INT", True, "0"),
    Col("default_schema", "VARCHAR"),
    Col("schema_locked", "INT", True, "0", "schema_locked IN (0,1)"),
    Col("transaction_persistent", "INT", True, "1", "transaction_persistent IN (0,1)"),
    Col("fast_forward", "INT", True, "0", "fast_forward IN (0,1)"),
    Col("backend", "INT", True, "1", "backend IN (0,1)"),
    Col("frontend", "INT", True, "1", "frontend IN (0,1)"),
    Col("max_connections", "INT", True, "10000", "max_connections >=0"),
    Col("attributes", "VARCHAR", True, "''", "JSON_VALID(attributes) OR attributes = ''"),
    Col("comment", "VARCHAR", True, "''"),
]
MYSQL_USERS_KEYS = ("PRIMARY KEY (username, backend)", "UNIQUE (username, frontend)")

MYSQL_QUERY_RULES = [
    Col("rule_id", "INTEGER", True, extra="PRIMARY KEY AUTOINCREMENT"),
    Col("active", "INT", True, "0", "active IN (0,1)"),
    Col("username", "VARCHAR"),
    Col("schemaname", "VARCHAR"),
    Col("flagIN", "INT", True, "0", "flagIN >= 0"),
    Col("client_addr", "VARCHAR"),
    Col("proxy_addr", "VARCHAR"),
    Col("proxy_port", "INT", check="proxy_port >= 0 AND proxy_port <= 65535"),
    Col("digest", "VARCHAR"),
    Col("match_digest", "VARCHAR"),
    Col("match_pattern", "VARCHAR"),
    Col("negate_match_pattern", "INT", True, "0", "negate_match_pattern IN (0,1)"),
    Col("re_modifiers", "VARCHAR", default="'CASELESS'"),
    Col("flagOUT", "INT", check="flagOUT >= 0"),
    Col(
        "replace_pattern",
        "VARCHAR",
        check="CASE WHEN replace_pattern IS NULL THEN 1 WHEN replace_pattern IS NOT NULL "
        "AND match_pattern IS NOT NULL THEN 1 ELSE 0 END",
    ),
    Col("destination_hostgroup", "INT", default="NULL"),
    Col("cache_ttl", "INT", check="cache_ttl > 0"),
    Col("cache_empty_result", "INT", default="NULL", check="cache_empty_result IN (0,1)"),
    Col("cache_timeout", "INT", check="cache_timeout >= 0"),
    Col("reconnect", "INT", default="NULL", check="reconnect IN (0,1)"),
    Col("timeout", "INT UNSIGNED", check="timeout >= 0"),
    Col("retries", "INT", check="retries>=0 AND retries <=1000"),
    Col("delay", "INT UNSIGNED", check="delay >=0"),
    Col("next_query_flagIN", "INT UNSIGNED"),
    Col("mirror_flagOUT", "INT UNSIGNED"),
    Col("mirror_hostgroup", "INT UNSIGNED"),
    Col("error_msg", "VARCHAR"),
    Col("OK_msg", "VARCHAR"),
    Col("sticky_conn", "INT", check="sticky_conn IN (0,1)"),
    Col("multiplex", "INT", check="multiplex IN (0,1,2)"),
    Col("gtid_from_hostgroup", "INT UNSIGNED"),
    Col("log", "INT", check="log IN (0,1)"),
    Col("apply", "INT", True, "0", "apply IN (0,1)"),
    Col("attributes", "VARCHAR", True, "''", "JSON_VALID(attributes) OR attributes = ''"),
    Col("comment", "VARCHAR"),
]

FAST_ROUTING = [
    Col("username", "VARCHAR", True),
    Col("schemaname", "VARCHAR", True),
    Col("flagIN", "INT", True, "0"),
    Col("destination_hostgroup", "INT", True, check="destination_hostgroup >= 0"),
    Col("comment", "VARCHAR", True),
]
FAST_ROUTING_KEYS = ("PRIMARY KEY (username, schemaname, flagIN)",)

GLOBAL_VARIABLES = [
    Col("variable_name", "VARCHAR", True, extra="PRIMARY KEY"),
    Col("variable_value", "VARCHAR", True),
]

SCHEDULER = [
    Col("id", "INTEGER", True, extra="PRIMARY KEY AUTOINCREMENT"),
    Col("active", "INT", True, "1", "active IN (0,1)"),
    Col("interval_ms", "INTEGER", True, check="interval_ms>=100 AND interval_ms<=100000000"),
    Col("filename", "VARCHAR", True),
    Col("arg1", "VARCHAR"),
    Col("arg2", "VARCHAR"),
    Col("arg3", "VARCHAR"),
    Col("arg4", "VARCHAR"),
    Col("arg5", "VARCHAR"),
    Col("comment", "VARCHAR", True, "''"),
]

QUERY_DIGEST = [
    Col("hostgroup", "INT"),
    Col("schemaname", "VARCHAR", True),
    Col("username", "VARCHAR", True),
    Col("client_address", "VARCHAR", True),
    Col("digest", "VARCHAR", True),
    Col("digest_text", "VARCHAR", True),
    Col("count_star", "INTEGER", True),
    Col("first_seen", "INTEGER", True),
    Col("last_seen", "INTEGER", True),
    Col("sum_time", "INTEGER", True),
    Col("min_time", "INTEGER", True),
    Col("max_time", "INTEGER", True),
    Col("sum_rows_affected", "INTEGER", True),
    Col("sum_rows_sent", "INTEGER", True),
]
QUERY_DIGEST_KEYS = ("PRIMARY KEY(hostgroup, schemaname, username, client_address, digest)",)

QUERY_RULES_STATS = [
    Col("rule_id", "INTEGER", extra="PRIMARY KEY"),
    Col("hits", "INT", True),
]

CONNECTION_POOL = [
    Col("hostgroup", "INT"),
    Col("srv_host", "VARCHAR"),
    Col("srv_port", "INT"),
    Col("status", "VARCHAR"),
    Col("ConnUsed", "INT"),
    Col("ConnFree", "INT"),
    Col("ConnOK", "INT"),
    Col("ConnERR", "INT"),
    Col("MaxConnUsed", "INT"),
    Col("Queries", "INT"),
    Col("Queries_GTID_sync", "INT"),
    Col("Bytes_data_sent", "INT"),
    Col("Bytes_data_recv", "INT"),
    Col("Latency_us", "INT"),
]

# table name -> (columns, table constraints)
TABLES: dict[str, tuple[list[Col], tuple[str, ...]]] = {
    "mysql_servers": (MYSQL_SERVERS, MYSQL_SERVERS_KEYS),
    "runtime_mysql_servers": (MYSQL_SERVERS, MYSQL_SERVERS_KEYS),
    "mysql_users": (MYSQL_USERS, MYSQL_USERS_KEYS),
    "runtime_mysql_users": (MYSQL_USERS, MYSQL_USERS_KEYS),
    "mysql_query_rules": (MYSQL_QUERY_RULES, ()),
    "runtime_mysql_query_rules": (MYSQL_QUERY_RULES, ()),
    "mysql_query_rules_fast_routing": (FAST_ROUTING, FAST_ROUTING_KEYS),
    "runtime_mysql_query_rules_fast_routing": (FAST_ROUTING, FAST_ROUTING_KEYS),
    "global_variables": (GLOBAL_VARIABLES, ()),
    "runtime_global_variables": (GLOBAL_VARIABLES, ()),
    "scheduler": (SCHEDULER, ()),
    "runtime_scheduler": (SCHEDULER, ()),
    "stats_mysql_query_digest": (QUERY_DIGEST, QUERY_DIGEST_KEYS),
    "stats_mysql_query_digest_reset": (QUERY_DIGEST, QUERY_DIGEST_KEYS),
    "stats_mysql_query_rules": (QUERY_RULES_STATS, ()),
    "stats_mysql_connection_pool": (CONNECTION_POOL, ()),
    "stats_mysql_connection_pool_reset": (CONNECTION_POOL, ()),
}

MAIN_TABLES = [
    "mysql_servers",
    "runtime_mysql_servers",
    "mysql_users",
    "runtime_mysql_users",
    "mysql_query_rules",
    "mysql_query_rules_fast_routing",
    "runtime_mysql_query_rules",
    "runtime_mysql_query_rules_fast_routing",
    "global_variables",
    "runtime_global_variables",
    "scheduler",
    "runtime_scheduler",
]
DISK_TABLES = [
    "mysql_servers",
    "mysql_users",
    "mysql_query_rules",
    "mysql_query_rules_fast_routing",
    "global_variables",
    "scheduler",
]
STATS_TABLES = [
    "stats_mysql_query_rules",
    "stats_mysql_connection_pool",
    "stats_mysql_connection_pool_reset",
    "stats_mysql_query_digest",
    "stats_mysql_query_digest_reset",
    "global_variables",
]

# Tables moved by the disk<->memory commands of each module.
MODULE_TABLES = {
    "MYSQL SERVERS": ["mysql_servers"],
    "MYSQL USERS": ["mysql_users"],
    "MYSQL QUERY RULES": ["mysql_query_rules", "mysql_query_rules_fast_routing"],
    "SCHEDULER": ["scheduler"],
}


def create_statements(db: str, tables: list[str]) -> list[str]:
    out = []
    for name in tables:
        cols, keys = TABLES[name]
        out.append(_ddl(name, cols, keys).replace("{db}", db))
    return out


def column_names(table: str) -> list[str]:
    return [c.name for c in TABLES[table][0]]


# --- global variables ----------------------------------------------------------------------
# name -> (default, kind, min, max). kind: "bool", "int", "str", "ro" (read-only string).

BOOL, INT, STR, RO = "bool", "int", "str", "ro"

MYSQL_VARIABLES: dict[str, tuple[str, str, int, int]] = {
    "mysql-query_digests": ("true", BOOL, 0, 0),
    "mysql-query_digests_lowercase": ("false", BOOL, 0, 0),
    "mysql-query_digests_replace_null": ("false", BOOL, 0, 0),
    "mysql-query_digests_no_digits": ("false", BOOL, 0, 0),
    "mysql-query_digests_keep_comment": ("false", BOOL, 0, 0),
    "mysql-query_digests_max_digest_length": ("2048", INT, 16, 1048576),
    "mysql-query_digests_max_query_length": ("65000", INT, 16, 1048576),
    "mysql-query_digests_grouping_limit": ("3", INT, 1, 2089),
    "mysql-query_digests_groups_grouping_limit": ("10", INT, 0, 2089),
    "mysql-query_digests_normalize_digest_text": ("false", BOOL, 0, 0),
    "mysql-query_digests_track_hostname": ("false", BOOL, 0, 0),
    "mysql-query_processor_iterations": ("0", INT, 0, 1000000),
    "mysql-query_processor_regex": ("1", INT, 1, 2),
    "mysql-connect_timeout_server": ("1000", INT, 10, 120000),
    "mysql-connect_timeout_server_max": ("10000", INT, 10, 3600000),
    "mysql-connect_retries_on_failure": ("10", INT, 0, 1000),
    "mysql-connect_retries_delay": ("1", INT, 0, 10000),
    "mysql-shun_on_failures": ("5", INT, 0, 10000000),
    "mysql-shun_recovery_time_sec": ("10", INT, 0, 31536000),
    "mysql-default_max_latency_ms": ("1000", INT, 0, 20 * 24 * 3600 * 1000),
    "mysql-evaluate_replication_lag_on_servers_load": ("1", INT, 0, 1),
    "mysql-mirror_max_concurrency": ("16", INT, 1, 8192),
    "mysql-mirror_max_queue_length": ("32000", INT, 0, 1048576),
    "mysql-default_schema": ("information_schema", STR, 0, 0),
    "mysql-server_version": ("8.0.11", STR, 0, 0),
    "mysql-interfaces": ("0.0.0.0:6033", STR, 0, 0),
    "mysql-default_authentication_plugin": ("mysql_native_password", STR, 0, 0),
    "mysql-default_query_timeout": ("36000000", INT, 1000, 20 * 24 * 3600 * 1000),
    "mysql-max_connections": ("2048", INT, 1, 1000000),
    "mysql-threads": ("4", INT, 1, 256),
    "mysql-monitor_enabled": ("true", BOOL, 0, 0),
    "mysql-monitor_username": ("monitor", STR, 0, 0),
    "mysql-monitor_password": ("monitor", STR, 0, 0),
    "mysql-enforce_autocommit_on_reads": ("false", BOOL, 0, 0),
    "mysql-autocommit_false_is_transaction": ("false", BOOL, 0, 0),
    "mysql-init_connect": ("", STR, 0, 0),
}

ADMIN_VARIABLES: dict[str, tuple[str, str, int, int]] = {
    "admin-admin_credentials": ("admin:admin", STR, 0, 0),
    "admin-stats_credentials": ("stats:stats", STR, 0, 0),
    "admin-mysql_ifaces": ("0.0.0.0:6032", STR, 0, 0),
    "admin-read_only": ("false", BOOL, 0, 0),
    "admin-hash_passwords": ("true", BOOL, 0, 0),
    "admin-refresh_interval": ("2000", INT, 100, 100000),
    "admin-version": ("2.7.2-14-g5cc418b", RO, 0, 0),
    "admin-cluster_username": ("", STR, 0, 0),
    "admin-cluster_password": ("", STR, 0, 0),
    "admin-cluster_check_interval_ms": ("1000", INT, 10, 300000),
    "admin-cluster_mysql_query_rules_save_to_disk": ("true", BOOL, 0, 0),
}

ALL_VARIABLES = {**MYSQL_VARIABLES, **ADMIN_VARIABLES}

_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def validate(name: str, value: str) -> Optional[str]:
    """The value as runtime stores it, or None when ProxySQL would reject it."""
    spec = ALL_VARIABLES.get(name)
    if spec is None:
        return None
    _default, kind, lo, hi = spec
    text = "" if value is None else str(value)
    if kind == BOOL:
        low = text.strip().lower()
        if low in _TRUE:
            return "true"
        if low in _FALSE:
            return "false"
        return None
    if kind == INT:
        try:
            number = int(text.strip())
        except ValueError:
            return None
        if number < lo or number > hi:
            return None
        return str(number)
    return text
