"""The state file: round trip, the older layout, cache names per (digest, schema)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from readyset_proxysql_scheduler import state
from readyset_proxysql_scheduler.actions import cache_name
from readyset_proxysql_scheduler.state import HostFacts, Remembered, State


def test_round_trip(tmp_path: Path) -> None:
    path = str(tmp_path / "s.json")
    s = State()
    s.unsupported[state.refusal_key("0xA", "shop")] = Remembered(
        "shop", "why", 1.5, "stable-250123/deep/no-topk"
    )
    s.queries["d_0xB_shop"] = Remembered("shop", "SELECT 1 FROM t", 2.0, digest="0xB")
    s.queries["v_5ec87eb8be3bce1a"] = Remembered("shop", "SELECT a FROM t WHERE b = $1", 3.0)
    s.learning["0xC/shop"] = Remembered("shop", "SELECT a FROM t WHERE b = ? AND c > ?", 4.0)
    s.queries["mine"] = Remembered("shop", "SELECT a FROM t WHERE b = $1", 5.0, "", "0xD", True)
    s.not_adopted["theirs"] = "its query keeps the literal 8 for the 2nd ?"
    s.hosts["h:3307"] = HostFacts("2026-01-01 00:00:00 UTC", "stable-260423", "shallow")
    s.offline_soft.add("h:3307")
    s.deactivated.add(7)
    state.save(path, s)
    loaded, warning = state.load(path)
    assert warning == ""
    assert loaded == s


def test_older_layout_keys_caches_by_digest(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "unsupported": {"0xA": {"schema": "shop", "text": "old reason", "at": 1}},
                "queries": {"0xB": {"schema": "shop", "text": "SELECT a FROM t", "at": 2}},
            }
        )
    )
    loaded, _ = state.load(str(path))
    # the cache it made is still d_<digest>, and it still knows which digest that serves
    assert loaded.queries == {"d_0xB": Remembered("shop", "SELECT a FROM t", 2.0, digest="0xB")}
    # refusals from before release profiles are asked again
    assert loaded.unsupported == {}


def test_host_facts_with_a_bad_mode_keep_the_release(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"hosts": {"h:1": {"release": "x", "probed_mode": "weird"}}}))
    loaded, _ = state.load(str(path))
    assert loaded.hosts == {"h:1": HostFacts("", "x", None)}


def test_cache_names() -> None:
    assert cache_name("0x1A", "shop") == "d_0x1A_shop"
    assert cache_name("0x1A", "shop_eu_2") == "d_0x1A_shop_eu_2"
    odd = cache_name("0x1A", "my-shop")
    assert odd.startswith("d_0x1A_h") and len(odd) == len("d_0x1A_h") + 10
    assert odd != cache_name("0x1A", "my.shop")
    assert cache_name("0x1A", "a" * 41).startswith("d_0x1A_h")
    assert cache_name("0x1A", "").startswith("d_0x1A_h")


def test_only_adopted_caches_say_so(tmp_path: Path) -> None:
    path = str(tmp_path / "s.json")
    s = State()
    s.queries["d_0xB_shop"] = Remembered("shop", "SELECT 1 FROM t", 2.0, digest="0xB")
    s.queries["mine"] = Remembered("shop", "SELECT 2 FROM t", 2.0, digest="0xC", adopted=True)
    state.save(path, s)
    data = json.loads(Path(path).read_text())
    assert "adopted" not in data["queries"]["d_0xB_shop"]
    assert data["queries"]["mine"]["adopted"] is True
    # anything but true is not adopted: the scheduler may drop that cache
    data["queries"]["d_0xB_shop"]["adopted"] = "yes"
    Path(path).write_text(json.dumps(data))
    loaded, _ = state.load(path)
    assert not loaded.queries["d_0xB_shop"].adopted and loaded.queries["mine"].adopted


def test_the_state_file_is_replaced_whole_and_private(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("old")
    path.chmod(0o644)
    s = State()
    s.deactivated.add(3)
    state.save(str(path), s)
    assert json.loads(path.read_text())["deactivated"] == [3]
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("old")
    s = State()
    s.not_adopted["x"] = "\ud800"  # a lone surrogate: the file cannot be written as UTF-8
    with pytest.raises(UnicodeEncodeError):
        state.save(str(path), s)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


def test_the_state_file_has_one_line_per_entry(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    s = State()
    s.queries["d_0xB_shop"] = Remembered("shop", "SELECT 1 FROM t", 2.0, digest="0xB")
    s.queries["d_0xC_shop"] = Remembered("shop", "SELECT 'é'\nFROM t", 2.0, digest="0xC")
    state.save(str(path), s)
    lines = path.read_text(encoding="utf-8").splitlines()
    entries = [line for line in lines if line.startswith('  "d_')]
    assert [json.loads("{" + e.rstrip(",") + "}") for e in entries] == [
        {
            "d_0xB_shop": {
                "schema": "shop",
                "text": "SELECT 1 FROM t",
                "at": 2.0,
                "profile": "",
                "digest": "0xB",
            }
        },
        {
            "d_0xC_shop": {
                "schema": "shop",
                "text": "SELECT 'é'\nFROM t",
                "at": 2.0,
                "profile": "",
                "digest": "0xC",
            }
        },
    ]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(
    st.dictionaries(
        st.text(),
        JSON_VALUES | st.dictionaries(st.text() | st.integers(), JSON_VALUES, max_size=4),
        max_size=5,
    )
)
def test_the_line_per_entry_layout_is_the_json_of_the_same_data(data: dict) -> None:
    assert json.loads(state._lines(data)) == json.loads(json.dumps(data))
