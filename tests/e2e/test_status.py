"""`status`: every digest the scheduler knows, its Readyset hosts and the last pass; read-only;
`--json` valid against docs/status.schema.json."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import app_queries, run_scheduler

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "status.schema.json").read_text())

ROUTED = "SELECT name FROM customers WHERE id = 5"
REFUSED = "SELECT * FROM customers WHERE id = 5 FOR UPDATE"
IN_LIST = "SELECT id FROM customers WHERE id IN (1, 2)"


def schema_errors(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """The subset of JSON Schema that docs/status.schema.json uses (type, enum, required,
    properties, additionalProperties: false, items, $ref to $defs, minimum, pattern)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return schema_errors(value, SCHEMA["$defs"][name], path)
    types = schema.get("type")
    if types is not None:
        allowed = [types] if isinstance(types, str) else types
        checks = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
            "null": lambda v: v is None,
        }
        if not any(checks[t](value) for t in allowed):
            return [f"{path}: {value!r} is not {types}"]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, (int, float)) and value is not None and "minimum" in schema:
        if value < schema["minimum"]:
            errors.append(f"{path}: {value} < {schema['minimum']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path}: missing {key}")
        for key, item in value.items():
            if key in props:
                errors += schema_errors(item, props[key], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: unexpected {key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{path}[{i}]")
    return errors


def status_json(cfg: Path) -> dict[str, Any]:
    run = run_scheduler(cfg, "status", "--json")
    assert run.code == 0, run.lines
    document = json.loads(run.stdout)
    assert schema_errors(document, SCHEMA) == []
    return document


def test_the_validator_catches_what_the_schema_forbids() -> None:
    good = {
        "schema_version": 1,
        "generated_at": 1.0,
        "config": "x",
        "source_hostgroup": 1,
        "readyset_hostgroup": 99,
        "digests": [],
        "hosts": [],
        "last_pass": None,
    }
    assert schema_errors(good, SCHEMA) == []
    assert schema_errors({**good, "extra": 1}, SCHEMA) == ["$: unexpected extra"]
    assert schema_errors({**good, "source_hostgroup": True}, SCHEMA)
    bad_digest = {"digest": "nope", "state": "cached"}
    errors = schema_errors({**good, "digests": [bad_digest]}, SCHEMA)
    assert any("does not match" in e for e in errors) and any("not in" in e for e in errors)
    assert any("missing cached_on" in e for e in errors)


def by_state(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for item in document["digests"]:
        out.setdefault(item["state"], []).append(item)
    return out


def test_status_shows_each_state_traffic_and_hosts(sandbox: Sandbox, config, tmp_path) -> None:
    metrics = tmp_path / "rps.prom"
    cfg = config(metrics_file=str(metrics))
    app_queries(sandbox, [ROUTED, REFUSED, IN_LIST], times=3)
    assert run_scheduler(cfg).code == 0
    app_queries(sandbox, [ROUTED, "SELECT id FROM customers WHERE id IN (3, 4, 5)"], times=4)

    sent = len(sandbox.proxysql.statements)
    caches = [c.name for c in sandbox.readyset[0].caches()]
    document = status_json(cfg)
    writes = ("INSERT", "UPDATE", "DELETE", "REPLACE", "LOAD", "SAVE")
    assert not [s for s in sandbox.proxysql.statements[sent:] if s.upper().startswith(writes)]
    assert [c.name for c in sandbox.readyset[0].caches()] == caches

    states = by_state(document)
    assert set(states) == {"routed", "refused"}
    routed = {d["text"]: d for d in states["routed"]}
    point = routed["SELECT name FROM customers WHERE id = ?"]
    assert point["source"]["executions"] == 3 and point["readyset"]["executions"] == 4
    assert point["readyset"]["mean_latency_us"] > 0
    address = f"127.0.0.1:{sandbox.readyset[0].port}"
    assert point["cached_on"] == [address]
    listed = routed["SELECT id FROM customers WHERE id IN (?,?)"]
    assert len(listed["in_list_siblings"]) >= 2
    assert listed["readyset"]["executions"] == 4  # the 3-value list's rows count for it
    (refused,) = states["refused"]
    assert "FOR UPDATE" in refused["text"] and "locking read" in refused["reason"]
    assert refused["cached_on"] == [] and refused["readyset"]["executions"] == 0

    (host,) = document["hosts"]
    assert host["address"] == address and host["proxysql_status"] == "ONLINE"
    assert host["health"] == "ONLINE" and host["release"].startswith("stable-")
    assert document["last_pass"]["outcome"] == "ok" and document["last_pass"]["changes"] > 0

    text = run_scheduler(cfg, "status")
    assert text.code == 0
    lines = text.stdout.splitlines()
    row = next(line for line in lines if line.startswith(point["digest"]))
    assert re.search(r"\brouted\s+1/1\s+3\s+\S+ms\s+4\s+\S+ms", row), row
    assert any(line.startswith(address) and "ONLINE" in line for line in lines)
    assert any(line.startswith("last pass: ") and ", ok, " in line for line in lines)


def test_status_shows_mirrored_inactive_and_candidate(sandbox: Sandbox, config) -> None:
    cfg = config(warmup_time_s=3600)
    app_queries(sandbox, [ROUTED, IN_LIST], times=2)
    assert run_scheduler(cfg).code == 0
    document = status_json(cfg)
    mirrored = by_state(document)["mirrored"]
    assert len(mirrored) == 2
    for item in mirrored:
        assert item["mirrored_until"] == pytest.approx(item["since"] + 3600)
    assert document["last_pass"] is None

    first, second = sorted(mirrored, key=lambda d: d["rule_id"])
    with sandbox.admin() as conn, conn.cursor() as cur:
        cur.execute(f"UPDATE mysql_query_rules SET active = 0 WHERE rule_id = {first['rule_id']}")
        cur.execute(f"DELETE FROM mysql_query_rules WHERE rule_id = {second['rule_id']}")
    states = by_state(status_json(cfg))
    (inactive,) = states["inactive"]
    assert inactive["digest"] == first["digest"] and "by hand" in inactive["reason"]
    (candidate,) = states["candidate"]
    assert candidate["digest"] == second["digest"] and candidate["rule_id"] is None

    text = run_scheduler(cfg, "status").stdout
    assert "mirrored until" not in text  # none is mirrored any more
    assert "inactive: set inactive by hand" in text and "candidate" in text


def test_status_names_a_host_that_does_not_answer(sandbox: Sandbox, config) -> None:
    cfg = config()
    sandbox.readyset[0].stop()
    document = status_json(cfg)
    (host,) = document["hosts"]
    assert host["health"] == "SHUNNED" and host["error"] and host["release"] is None
    assert document["digests"] == []
    text = run_scheduler(cfg, "status").stdout
    assert "none yet" in text and "cannot connect" in text


def test_status_without_admin_exits_1(sandbox: Sandbox, config) -> None:
    run = run_scheduler(config(proxysql_port=1), "status")
    assert run.code == 1 and "status failed: cannot connect to ProxySQL admin" in run.stderr


def test_status_shows_learning_then_the_routed_variants(mariadb: Any, tmp_path: Path) -> None:
    import time

    sb = Sandbox(mariadb=mariadb, workdir=tmp_path / "sb", release="stable-250123").start()
    try:
        mixed = "SELECT id FROM products WHERE category = 'books' AND stock > 10"
        config = sb.scheduler_config(tmp_path / "s.cnf")
        app_queries(sb, [mixed], times=3)
        assert run_scheduler(config).code == 0
        [entry] = json.loads(run_scheduler(config, "status", "--json").stdout)["digests"]
        assert (entry["state"], entry["cache"]) == ("learning", None)
        app_queries(sb, [mixed], times=3)
        time.sleep(0.3)  # mirrored copies reach Readyset asynchronously
        assert run_scheduler(config).code == 0
        out = run_scheduler(config, "status", "--json")
        document = json.loads(out.stdout)
        assert schema_errors(document, SCHEMA) == []
        [entry] = document["digests"]
        assert entry["state"] == "routed"
        assert entry["cache"].startswith("v_") and "literal variants q_" in entry["reason"]
        assert entry["cached_on"] == [f"127.0.0.1:{sb.readyset[0].port}"]
        [host] = document["hosts"]
        assert (host["release"], host["profile"]) == (
            "stable-250123",
            "stable-250123/deep/no-topk",
        )
    finally:
        sb.stop()


def test_status_plan_lists_what_the_next_pass_would_change(sandbox: Sandbox, config) -> None:
    cfg = config()
    app_queries(sandbox, [ROUTED, REFUSED], times=3)
    sent = len(sandbox.proxysql.statements)
    document = run_scheduler(cfg, "status", "--json", "--plan")
    assert document.code == 0, document.lines
    plan = json.loads(document.stdout)
    assert schema_errors(plan, SCHEMA) == []
    changes = plan["plan"]["changes"]
    assert any(c.startswith("create cache d_") for c in changes), changes
    assert any(c.startswith("add rule 1: routes digest") for c in changes), changes
    assert changes[-1] == "load MYSQL QUERY RULES to runtime and save them to disk"
    assert plan["plan"]["problems"] == [] and plan["plan"]["error"] is None
    # a plan, not a pass: nothing written, no cache, no state file, the lock left alone
    writes = ("INSERT", "UPDATE", "DELETE", "REPLACE", "LOAD", "SAVE")
    assert not [s for s in sandbox.proxysql.statements[sent:] if s.upper().startswith(writes)]
    assert sandbox.readyset[0].caches() == []
    assert not Path(load_config_state(cfg)).exists()

    assert run_scheduler(cfg).code == 0  # the pass does what the plan said
    text = run_scheduler(cfg, "status", "--plan").stdout
    assert "next pass (a dry run of one pass now, nothing changed): nothing to change" in text


def test_status_plan_says_why_it_has_none(sandbox: Sandbox, config) -> None:
    cfg = config()
    sandbox.readyset[0].stop()
    text = run_scheduler(cfg, "status", "--plan").stdout
    assert "set Readyset" in text and "-> SHUNNED" in text  # the dry run's health decision
    cfg = config(proxysql_port=1)
    run = run_scheduler(cfg, "status", "--plan")
    assert run.code == 1 and "status failed: cannot connect to ProxySQL admin" in run.stderr


def load_config_state(cfg: Path) -> str:
    from readyset_proxysql_scheduler.config import load

    return load(str(cfg)).state_path


def test_a_plan_that_fails_is_one_line_after_the_whole_report(
    sandbox: Sandbox, config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from readyset_proxysql_scheduler import status
    from readyset_proxysql_scheduler.scheduler import Pass

    def broken(self: Pass) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Pass, "run", broken)
    code = status.main("status", ["--config", str(config()), "--plan"])
    out = capsys.readouterr().out
    assert code == 1
    assert "Readyset hosts:" in out  # the report is all there
    assert out.rstrip().endswith("  stopped: unexpected RuntimeError: boom")
