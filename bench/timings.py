"""Timings that used to be assertions in the tests: how long the sandbox's digest normaliser
takes for megabyte statements (ProxySQL's tokenizer is linear; ours must stay usable).

    .venv/bin/python -m bench.timings

Prints one line per shape: median of 5 runs. A number to watch, not a pass/fail test; the
tests keep the behaviour (the digest is cut to mysql-query_digests_max_query_length).
"""

from __future__ import annotations

import statistics
import time

from tests.unit.test_sandbox_digest import MEGABYTE_QUERIES

from rps_sandbox.digest import digest_text

RUNS = 5
TARGET_S = 2.0  # what the test used to assert


def main() -> int:
    for name, query in sorted(MEGABYTE_QUERIES.items()):
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            digest_text(query)
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        mark = "ok" if median < TARGET_S else f"OVER {TARGET_S:g} s"
        print(f"digest of 1 MB {name:8} {median * 1000:8.1f} ms  {mark}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
