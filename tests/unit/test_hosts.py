"""Which Readyset hosts a pass looks after, and checking them all at once."""

from __future__ import annotations

import threading
import time

import pytest

from readyset_proxysql_scheduler.config import Config
from readyset_proxysql_scheduler.hosts import Host, run_all, select
from readyset_proxysql_scheduler.proxysql import ServerRow
from readyset_proxysql_scheduler.readyset import Endpoint


def config(**overrides: object) -> Config:
    values: dict[str, object] = dict(
        proxysql_user="a",
        proxysql_password="",
        proxysql_host="127.0.0.1",
        proxysql_port=6032,
        readyset_user="app",
        readyset_password="",
        source_hostgroup=1,
        readyset_hostgroup=99,
    )
    values.update(overrides)
    return Config(**values)  # type: ignore[arg-type]


def server(host: str, port: int, comment: str) -> ServerRow:
    return ServerRow(host, port, "ONLINE", "ONLINE", comment)


SERVERS = [
    server("10.0.0.1", 3307, "Readyset"),
    server("10.0.0.2", 3306, "primary"),
    server("10.0.0.3", 3307, "my READYSET cache"),
    server("10.0.0.4", 3307, ""),
]


def test_the_hostgroup_form_takes_servers_whose_comment_says_readyset_in_any_case() -> None:
    assert select(config(), SERVERS) == [
        Host(Endpoint("10.0.0.1", 3307), SERVERS[0]),
        Host(Endpoint("10.0.0.3", 3307), SERVERS[2]),
    ]


def test_no_server_no_host() -> None:
    assert select(config(), []) == []
    assert select(config(), [server("10.0.0.9", 3307, "Ready set")]) == []


def test_readyset_host_replaces_the_list_and_finds_its_row() -> None:
    chosen = select(config(readyset_host="10.0.0.4", readyset_port=3307), SERVERS)
    assert chosen == [Host(Endpoint("10.0.0.4", 3307), SERVERS[3])]  # its comment does not matter


@pytest.mark.parametrize(
    ("host", "port"),
    [("10.0.0.1", 3308), ("10.0.0.9", 3307), ("10.0.0.2", 3307)],
    ids=["other port", "absent", "same host other port"],
)
def test_readyset_host_without_its_row_has_no_server(host: str, port: int) -> None:
    assert select(config(readyset_host=host, readyset_port=port), SERVERS) == [
        Host(Endpoint(host, port), None)
    ]


def test_readyset_host_without_a_port_means_3307() -> None:
    (chosen,) = select(config(readyset_host="10.0.0.1"), SERVERS)
    assert chosen.endpoint == Endpoint("10.0.0.1", 3307) and chosen.server == SERVERS[0]


def test_run_all_gives_results_and_errors_by_index() -> None:
    def work(n: int) -> object:
        if n == 2:
            raise ValueError("two")
        return n * 10

    results, hung = run_all([0, 1, 2, 3], work, time.monotonic() + 60)
    assert hung == []
    assert {i: results[i] for i in (0, 1, 3)} == {0: 0, 1: 10, 3: 30}
    assert isinstance(results[2], ValueError) and str(results[2]) == "two"


def test_run_all_names_the_items_that_did_not_finish() -> None:
    release = threading.Event()

    def work(name: str) -> object:
        if name.startswith("hang"):
            release.wait(60)
        return name

    try:
        results, hung = run_all(["a", "hang1", "b", "hang2"], work, time.monotonic() + 0.3)
    finally:
        release.set()
    assert results == {0: "a", 2: "b"}
    assert hung == [1, 3]


def test_run_all_of_nothing() -> None:
    assert run_all([], lambda x: x, time.monotonic()) == ({}, [])


def test_meanwhile_runs_while_the_hosts_answer() -> None:
    asked = threading.Event()
    order: list[str] = []

    def work(item: int) -> int:
        assert asked.wait(5)  # answers only once the main thread is busy meanwhile
        order.append(f"host {item}")
        return item

    def meanwhile() -> None:
        order.append("admin")
        asked.set()

    done, hung = run_all([1, 2], work, time.monotonic() + 10, meanwhile=meanwhile)
    assert done == {0: 1, 1: 2} and hung == []
    assert order[0] == "admin"


def test_a_failure_meanwhile_is_raised_after_the_wait() -> None:
    finished: list[int] = []

    def work(item: int) -> None:
        time.sleep(0.05)
        finished.append(item)

    def meanwhile() -> None:
        raise RuntimeError("admin down")

    with pytest.raises(RuntimeError, match="admin down"):
        run_all([1], work, time.monotonic() + 10, meanwhile=meanwhile)
    assert finished == [1]  # the hosts were waited for, not abandoned
