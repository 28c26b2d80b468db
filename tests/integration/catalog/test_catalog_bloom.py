"""The Redis Bloom filter: no false negatives, the false-positive rate it is sized for,
test-and-set semantics, the ready bit, one filter per warehouse."""
import uuid

import pytest

from include.ingest.catalog.bloom import BloomFilter, filter_name


@pytest.fixture
def make(redis_client):
    made = []

    def make_filter(**kwargs):
        made.append(BloomFilter(redis_client, name=f"test:{uuid.uuid4().hex}", **kwargs))
        return made[-1]
    yield make_filter
    for bloom in made:
        bloom.drop()


def test_no_false_negatives_and_the_sized_false_positive_rate(make):
    bloom = make(capacity=20_000)
    added = [f"isbn:{n:013d}" for n in range(20_000)]
    bloom.add(added)
    assert all(bloom.contains(added))
    others = [f"ocn:{n}" for n in range(20_000)]
    rate = sum(bloom.contains(others)) / len(others)
    assert rate < 0.01  # ≈ 0.4 % at capacity with 20 bits per item and k = 6


@pytest.mark.parametrize("capacity, k", [(10_000_000, 6), (1000, 1), (50_000, 8)])
def test_the_script_sets_exactly_the_bits_position_names(make, redis_client, capacity, k):
    # the layout filters already in Redis were built with: blake2b's first 8 bytes modulo
    # the word count pick the word, the next k bytes one bit each
    bloom = make(capacity=capacity, k=k)
    items = [f"isbn:978{n:010d}" for n in range(200)] + ["control:BENCH/bench000000001"]
    bloom.add(items)
    expected: dict[int, int] = {}
    for item in items:
        word, mask = bloom.position(item)
        expected[word] = expected.get(word, 0) | mask
    for word, mask in expected.items():
        (stored,) = redis_client.bitfield(bloom.key).get("u32", word * 32).execute()
        assert stored == mask, (word, stored, mask)


def test_check_and_add_answers_for_before_the_call(make):
    bloom = make(capacity=1000)
    complete_through, hits = bloom.check_and_add(["a", "b", "a"])
    assert (complete_through, hits) == (None, [False, False, False])  # "a" twice: both new
    bloom.mark_ready(7)
    assert bloom.check_and_add(["a", "c"]) == (7, [True, False])
    assert bloom.contains(["c"]) == [True]


def test_pipelined_parts_answer_like_one_call(make):
    bloom = make(capacity=1000)
    bloom.mark_ready(0)
    bloom.add(["a"])
    with bloom.pipelined() as pipe:
        pipe.send(["a", "b"])
        pipe.send(["b", "c"])  # "b" was added by the part before
        assert pipe.result() == (0, [True, False, True, False])
    assert bloom.contains(["b", "c", "d"]) == [True, True, False]


def test_an_abandoned_pipeline_leaves_the_client_usable(make):
    bloom = make(capacity=1000)
    with bloom.pipelined() as pipe:
        pipe.send(["x"])  # replies never read: the connection is dropped, not reused
    assert bloom.contains(["x", "y"]) == [True, False] and not bloom.is_ready()


def test_a_dropped_filter_is_not_ready(make):
    bloom = make(capacity=1000)
    bloom.mark_ready(0)
    assert bloom.is_ready()
    bloom.drop()  # what a FLUSHDB or an eviction does
    assert not bloom.is_ready() and bloom.contains(["anything"]) == [False]


def test_one_filter_per_warehouse_and_never_the_credentials():
    a = filter_name("postgresql://u:secret@db1:5432/warehouse")
    assert a == filter_name("postgresql://other:pw@db1:5432/warehouse")
    assert a != filter_name("postgresql://u:secret@db1:5432/test_x")
    assert "secret" not in a and a.startswith("catalog:bloom:")
