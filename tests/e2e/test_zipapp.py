"""The one-file build: scripts/build-zipapp makes a .pyz that the system Python 3.9 of a ProxySQL
host runs with nothing else installed, exec'd by ProxySQL as it execs the scheduler row."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from rps_sandbox.sandbox import Sandbox
from tests.e2e.conftest import admin_rows, app_queries

ROOT = Path(__file__).parents[2]
PY39 = Path("/root/.pyenv/versions/3.9.18/bin/python")
# The oldest Python at hand: 3.9 where this machine has it, else the system's python3 (CI), so
# the build is always built and run, outside any virtualenv.
SYSTEM = shutil.which("python3", path="/usr/bin:/bin")
INTERPRETERS = [p for p in (PY39, Path(SYSTEM) if SYSTEM else None) if p and p.exists()][:1]


@pytest.mark.parametrize("python", INTERPRETERS, ids=lambda p: p.name)
def test_one_file_build_runs_on_the_system_python(
    python: Path, sandbox: Sandbox, config, tmp_path: Path
) -> None:
    pyz = tmp_path / "readyset_proxysql_scheduler.pyz"
    built = subprocess.run(
        [
            "bash",
            str(ROOT / "scripts" / "build-zipapp"),
            "--python",
            str(python),
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
    assert pyz.read_bytes().startswith(f"#!{python}\n".encode())

    # -I -S: no site-packages, no environment: only what is inside the file.
    version = subprocess.run(
        [str(python), "-I", "-S", str(pyz), "--version"], capture_output=True, text=True, env={}
    )
    assert version.returncode == 0 and version.stdout.startswith("readyset_proxysql_scheduler ")

    app_queries(sandbox, ["SELECT name FROM customers WHERE id = 5"], times=2)
    cfg = config()
    # As ProxySQL runs a scheduler row: execve of the file itself, empty environment.
    run = subprocess.run([str(pyz), f"--config={cfg}"], capture_output=True, text=True, env={})
    assert run.returncode == 0, run.stderr
    assert "add rule 1" in run.stdout
    assert len(admin_rows(sandbox, "SELECT * FROM runtime_mysql_query_rules")) == 1
