"""Property: for any TOML document, the command either runs, or exits 2 with one line that names
the file and a key (or the TOML problem) — never a traceback, never anything touched."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readyset_proxysql_scheduler import cli, runner
from readyset_proxysql_scheduler.actions import Summary
from readyset_proxysql_scheduler.config import _KEYS

KEYS = sorted(_KEYS) + ["warmup_time", "colour", "proxysql-port", ""]
VALUES = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True),
    st.booleans(),
    st.text(max_size=20),
    st.sampled_from(["All", "health_check", "SumTime", "Note", "127.0.0.1", "admin"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=2),
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        escaped = "".join(
            c if c in string.printable and c not in '"\\\r\n\t\x0b\x0c' else f"\\u{ord(c):04x}"
            for c in value
        )
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_key(key: str) -> str:
    return key if key and all(c.isalnum() or c in "_-" for c in key) else f'"{key}"'


VALID = {
    "proxysql_user": "admin",
    "proxysql_password": "admin",
    "proxysql_host": "127.0.0.1",
    "proxysql_port": 6032,
    "readyset_user": "app",
    "readyset_password": "x",
    "source_hostgroup": 1,
    "readyset_hostgroup": 99,
}


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    base=st.dictionaries(st.sampled_from(sorted(VALID)), st.just(None), max_size=8),
    extra=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4),
    garbage=st.sampled_from(["", "", "", "= broken", "[table]\nx = 1", "key = 'unterminated"]),
)
def test_any_document(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    base: dict[str, None],
    extra: dict[str, Any],
    garbage: str,
) -> None:
    ran = []
    monkeypatch.chdir(tmp_path)  # a generated relative log_file lands here
    monkeypatch.setattr(runner, "_write_metrics", lambda *args: None)
    monkeypatch.setattr(runner.Pass, "run", lambda self: ran.append(self.config) or Summary())
    document = {k: VALID[k] for k in base}
    document.update(extra)
    text = "\n".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in document.items())
    path = tmp_path / "generated.cnf"
    path.write_text(text + "\n" + garbage + "\n")
    monkeypatch.setattr(
        runner.Pass, "__init__", lambda self, config, log, dry_run: setattr(self, "config", config)
    )
    code = cli.main([f"--config={path}"])
    out, err = capsys.readouterr()
    lines = (out + err).splitlines()
    assert "Traceback" not in out + err
    if code == 2:
        assert len(lines) == 1
        assert str(path) in lines[0]
        assert "key '" in lines[0] or "invalid TOML" in lines[0] or "not UTF-8" in lines[0]
        assert not ran
    else:
        assert code == 0 and len(ran) == 1
