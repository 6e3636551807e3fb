"""Which Readyset hosts the scheduler looks after, and checking them all at once.

The hosts are `readyset_host:readyset_port` when configured (the seed's form), else the servers
of `readyset_hostgroup` whose comment contains "readyset" (any case), as the original does.
Each host is checked on its own daemon thread, so a hung host costs one timeout, not one each.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Callable, NamedTuple, Optional, TypeVar

from readyset_proxysql_scheduler.config import Config
from readyset_proxysql_scheduler.proxysql import ServerRow
from readyset_proxysql_scheduler.readyset import Endpoint, Readyset

T = TypeVar("T")


class Host(NamedTuple):
    endpoint: Endpoint
    server: Optional[ServerRow]  # its row in ProxySQL, None when it has none


def client(
    config: Config,
    host: Host,
    connect_timeout: Optional[float] = None,
    deadline: Optional[float] = None,
) -> Readyset:
    """A connection-on-demand to the host, with the config's credentials and timeouts."""
    return Readyset(
        host.endpoint,
        config.readyset_user,
        config.readyset_password,
        config.connect_timeout_s if connect_timeout is None else connect_timeout,
        config.query_timeout_s,
        deadline,
        config.readyset_ssl,
    )


def select(config: Config, servers: Sequence[ServerRow]) -> list[Host]:
    if config.readyset_host is not None:
        port = config.readyset_port or 3307
        row = next(
            (s for s in servers if s.hostname == config.readyset_host and s.port == port), None
        )
        return [Host(Endpoint(config.readyset_host, port), row)]
    return [
        Host(Endpoint(s.hostname, s.port), s) for s in servers if "readyset" in s.comment.lower()
    ]


def run_all(
    items: Sequence[T],
    work: Callable[[T], object],
    deadline: float,
    meanwhile: Optional[Callable[[], None]] = None,
) -> tuple[dict[int, object], list[int]]:
    """Run `work` on every item concurrently until `deadline` (monotonic seconds), and
    `meanwhile` on this thread while they run (its exception is raised after the wait).

    Returns the results by index (an exception is a result) and the indexes that did not
    finish in time. Unfinished threads are daemons: they cannot keep the process alive.
    """
    results: dict[int, object] = {}
    lock = threading.Lock()

    def target(index: int, item: T) -> None:
        try:
            value: object = work(item)
        except Exception as e:  # noqa: BLE001 - a failure is a result, reported by the caller
            value = e
        with lock:
            results[index] = value

    threads = [
        threading.Thread(target=target, args=(i, item), daemon=True) for i, item in enumerate(items)
    ]
    for thread in threads:
        thread.start()
    try:
        if meanwhile is not None:
            meanwhile()
    finally:
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        done = dict(results)
    return done, [i for i in range(len(items)) if i not in done]
