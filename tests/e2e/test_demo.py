"""The README's demo command does the whole job and says so."""

from __future__ import annotations

import re
import subprocess
import sys


def test_demo_runs_end_to_end() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "rps_sandbox.demo"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "exit code 0" in text
    assert re.search(r"customer by id\s+Readyset: cache hit", text)
    assert re.search(r"customers in a list\s+Readyset: cache hit\s+6 row\(s\)", text)
    assert re.search(r"stock check FOR UPDATE\s+MariaDB", text)
    assert "DIFFERENT" not in text
    assert "3 of 6 queries are now answered from Readyset's caches" in text
    # the second pass caches the literal variant Readyset recorded while the rule mirrored it
    second = text[text.index("== 5.") :]
    assert text.count("exit code 0") == 2
    assert "create cache v_" in second and "1 cached literal variant(s)" in second
    assert re.search(r"books in stock\s+Readyset: cache hit", second)
    assert re.search(r"recent orders \(NOW\(\)\)\s+MariaDB", second)
    assert "4 of 6 queries are answered from Readyset's caches" in second
    status = text[text.index("== 7.") :]
    assert re.search(r"0x680657466279A652\s+shop\s+routed: 1 literal variant", status)
    assert re.search(r"0xB650E7500544D4F3\s+shop\s+refused: not cacheable: locking read", status)
    assert re.search(r"\| in full:\n.*0x7EECBCD9DA1B0195 \(shop\): refused: .*NOW\(\)", status)
    assert "SOURCE EXECS" in status and "READYSET EXECS" in status
    assert "next pass (a dry run of one pass now, nothing changed): nothing to change" in status
