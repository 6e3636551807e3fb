"""The benchmark's tiny size runs end to end and writes its table. Nothing about time is
asserted: CI machines vary; `python -m bench.run` (size full) is where the numbers come from."""

from __future__ import annotations

from pathlib import Path

from bench.run import main


def test_tiny_benchmark_writes_its_table(tmp_path: Path) -> None:
    output = tmp_path / "RESULTS.md"
    assert main(["--size", "tiny", "--output", str(output)]) == 0
    text = output.read_text()
    assert "| scenario |" in text and "## Targets" in text
    for scenario in ("a steady", "d discovery", "c hung hosts"):
        assert f"| {scenario} |" in text
    assert "`python -c 'import pymysql'`" in text
