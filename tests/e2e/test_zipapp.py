"""The one-file build: scripts/build-zipapp makes a .pyz that the system Python 3.9 of a ProxySQL
host runs with nothing else installed, exec'd by ProxySQL as it execs the scheduler row."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import admin_rows, app_queries

ROOT = Path(__file__).parents[2]
PY39 = Path("/root/.pyenv/versions/3.9.18/bin/python")


@pytest.mark.skipif(not PY39.exists(), reason=f"no Python 3.9 at {PY39}")
def test_one_file_build_runs_on_python_3_9(sandbox: Sandbox, config, tmp_path: Path) -> None:
    pyz = tmp_path / "readyset_proxysql_scheduler.pyz"
    built = subprocess.run(
        [
            "bash",
            str(ROOT / "scripts" / "build-zipapp"),
            "--python",
            str(PY39),
            "--output",
            str(pyz),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    names = zipfile.ZipFile(pyz).namelist()
    assert "__main__.py" in names
    tops = {name.split("/")[0] for name in names if "/" in name}
    packages = {t for t in tops if not t.endswith(".dist-info")}
    assert packages == {"readyset_proxysql_scheduler", "pymysql", "tomli"}
    assert pyz.read_bytes().startswith(f"#!{PY39}\n".encode())

    # -I -S: no site-packages, no environment: only what is inside the file.
    version = subprocess.run(
        [str(PY39), "-I", "-S", str(pyz), "--version"], capture_output=True, text=True, env={}
    )
    assert version.returncode == 0 and version.stdout.startswith("readyset_proxysql_scheduler ")

    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    cfg = config()
    # As ProxySQL runs a scheduler row: execve of the file itself, empty environment.
    run = subprocess.run([str(pyz), f"--config={cfg}"], capture_output=True, text=True, env={})
    assert run.returncode == 0, run.stderr
    assert "add rule 1" in run.stdout
    assert len(admin_rows(sandbox, "SELECT * FROM runtime_mysql_query_rules")) == 1
