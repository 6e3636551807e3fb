"""adoption.py: which hand-made caches are adopted, for which digest, and why others are not."""

from __future__ import annotations

from readyset_proxysql_scheduler.adoption import plan
from readyset_proxysql_scheduler.proxysql import DigestRow


def row(digest: str, text: str, schema: str = "shop", count: int = 100) -> DigestRow:
    return DigestRow(digest, text, schema, count, count * 1000, count, 500, 2000)


BY_ID = row("0xA1", "SELECT id,name,email FROM customers WHERE id = ?")
BY_ID_IN = row("0xA2", "SELECT id,name,email FROM customers WHERE id IN (?,?,?)", count=50)
MIXED = row("0xB1", "SELECT id,name,price FROM products WHERE category = ? AND stock > ?")
OTHER = row("0xC1", "SELECT id,status FROM orders WHERE customer_id = ?")
CACHE_BY_ID = "SELECT `id`, `name`, `email` FROM `customers` WHERE `id` = $1"


def test_a_cache_serving_a_digest_with_every_placeholder_is_adopted_for_it() -> None:
    out = plan([("h1", {"mine": CACHE_BY_ID})], [OTHER, BY_ID], set(), 5)
    [a] = out.adoptions
    assert (a.rows, a.name, a.text, a.schema) == ((BY_ID,), "mine", CACHE_BY_ID, "shop")
    assert a.caches == (("mine", CACHE_BY_ID),) and a.missing == ()
    assert out.skipped == []


def test_hosts_without_it_are_named_and_get_the_name_most_hosts_use() -> None:
    hosts = [
        ("h1", {"q_0123": CACHE_BY_ID}),
        ("h2", {"mine": CACHE_BY_ID}),
        ("h3", {"mine": CACHE_BY_ID}),
        ("h4", {}),
    ]
    [a] = plan(hosts, [BY_ID], set(), 5).adoptions
    assert a.name == "mine" and a.missing == ("h4",)
    assert a.caches == (("mine", CACHE_BY_ID), ("q_0123", CACHE_BY_ID))
    # a tie goes to the first name in order
    tie = [("h1", {"b": CACHE_BY_ID}), ("h2", {"a": CACHE_BY_ID})]
    [a] = plan(tie, [BY_ID], set(), 5).adoptions
    assert a.name == "a" and a.missing == ()


def test_in_list_lengths_of_the_same_query_ride_along_as_siblings() -> None:
    [a] = plan([("h1", {"mine": CACHE_BY_ID})], [BY_ID_IN, BY_ID], set(), 5).adoptions
    assert a.rows == (BY_ID_IN, BY_ID)  # the hottest first: the candidates' order


def test_a_kept_literal_is_not_adopted_and_says_which() -> None:
    kept = "SELECT `id`, `name`, `price` FROM `products` WHERE `category` = $1 AND `stock` > 8"
    out = plan([("h1", {"theirs": kept})], [MIXED], set(), 5)
    assert out.adoptions == []
    [s] = out.skipped
    assert s.name == "theirs" and s.lasting
    assert s.reason.startswith("its query keeps the literal 8 for the 2nd ? of digest 0xB1 (")
    assert s.reason.endswith("other literal variants to Readyset for nothing")


def test_a_fully_parameterised_cache_wins_over_one_that_keeps_a_literal() -> None:
    kept = "SELECT `id`, `name`, `price` FROM `products` WHERE `category` = 'books' AND `stock` > 8"
    full = "SELECT `id`, `name`, `price` FROM `products` WHERE `category` = $1 AND `stock` > $2"
    out = plan([("h1", {"a_kept": kept, "b_full": full})], [MIXED], set(), 5)
    assert [a.name for a in out.adoptions] == ["b_full"]
    [s] = out.skipped
    assert s.name == "a_kept" and "'books' for the 1st ?, 8 for the 2nd ?" in s.reason


def test_the_same_digest_in_two_schemas_is_ambiguous() -> None:
    elsewhere = row(BY_ID.digest, BY_ID.digest_text, schema="shop_eu")
    out = plan([("h1", {"mine": CACHE_BY_ID})], [BY_ID, elsewhere], set(), 5)
    assert out.adoptions == []
    [s] = out.skipped
    assert s.lasting and "schemas shop, shop_eu" in s.reason
    assert "SHOW CACHES does not say which database" in s.reason


def test_ours_and_known_caches_are_left_alone() -> None:
    hosts = [
        (
            "h1",
            {
                "d_0xA1_shop": CACHE_BY_ID,
                "d_0x00000000000000A1": CACHE_BY_ID,
                "v_q_5ec87eb8be3bce1a": CACHE_BY_ID,
                "adopted_before": CACHE_BY_ID,
            },
        )
    ]
    assert plan(hosts, [BY_ID], {"adopted_before"}, 5) == plan([], [], set(), 5)
    # a name that only looks like ours is the operator's
    [a] = plan([("h1", {"d_mine": CACHE_BY_ID})], [BY_ID], set(), 5).adoptions
    assert a.name == "d_mine"


def test_slots_go_to_the_hottest_and_the_rest_wait() -> None:
    other = "SELECT `id`, `status` FROM `orders` WHERE `customer_id` = $1"
    out = plan([("h1", {"x": CACHE_BY_ID, "y": other})], [OTHER, BY_ID], set(), 1)
    assert [a.rows[0] for a in out.adoptions] == [OTHER]
    [s] = out.skipped
    assert (s.name, s.lasting) == ("x", False)
    assert s.reason == "serves digest 0xA1; number_of_queries is reached"
    assert plan([("h1", {"x": CACHE_BY_ID})], [BY_ID], set(), 0).adoptions == []


def test_a_cache_serving_no_candidate_waits() -> None:
    out = plan([("h1", {"mine": CACHE_BY_ID})], [OTHER], set(), 5)
    assert out.adoptions == []
    [s] = out.skipped
    assert not s.lasting and "serves no digest executed within replace_window_s" in s.reason


def test_a_name_the_scheduler_cannot_send_is_not_adopted() -> None:
    out = plan([("h1", {"my cache": CACHE_BY_ID})], [BY_ID], set(), 5)
    assert out.adoptions == []
    assert [(s.name, s.lasting) for s in out.skipped] == [("my cache", True)]


def test_two_names_for_one_query_are_one_adoption() -> None:
    hosts = [("h1", {"mine": CACHE_BY_ID}), ("h2", {"q_77": CACHE_BY_ID.replace("`", "")})]
    out = plan(hosts, [BY_ID], set(), 5)
    [a] = out.adoptions
    assert {n for n, _ in a.caches} == {"mine", "q_77"} and a.missing == ()
    assert out.skipped == []
