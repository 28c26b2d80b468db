"""Deterministic idempotency keys (docs/architecture.md §4)."""

import hashlib

import pytest

from include.ingest.billing.keys import idempotency_key, idempotency_keys

ARGS = ("aws", "123412340534", "2023-11", "16e57707-aaaa", "chunk-0003")


def test_key_is_sha256_hex_and_stable():
    key = idempotency_key(*ARGS, 7)
    assert len(key) == 64 and int(key, 16) >= 0
    assert key == idempotency_key(*ARGS, 7)
    # pinned: changing the encoding would silently break ON CONFLICT across releases
    expected = hashlib.sha256(b"3:aws,12:123412340534,7:2023-11,13:16e57707-aaaa,10:chunk-0003,7").hexdigest()
    assert key == expected


@pytest.mark.parametrize(
    "other",
    [
        ("gcp", "123412340534", "2023-11", "16e57707-aaaa", "chunk-0003", 7),
        ("aws", "999", "2023-11", "16e57707-aaaa", "chunk-0003", 7),
        ("aws", "123412340534", "2023-12", "16e57707-aaaa", "chunk-0003", 7),
        ("aws", "123412340534", "2023-11", "new-assembly", "chunk-0003", 7),
        ("aws", "123412340534", "2023-11", "16e57707-aaaa", "chunk-0004", 7),
        ("aws", "123412340534", "2023-11", "16e57707-aaaa", "chunk-0003", 8),
    ],
)
def test_every_field_changes_the_key(other):
    assert idempotency_key(*other) != idempotency_key(*ARGS, 7)


def test_fields_cannot_bleed_into_each_other():
    assert idempotency_key("a:b", "c", "p", "v", "k", 0) != idempotency_key("a", "b:c", "p", "v", "k", 0)
    assert idempotency_key("a", "b", "p", "v", "1", 23) != idempotency_key("a", "b", "p", "v", "12", 3)


def test_batch_keys_equal_single_keys():
    batch = idempotency_keys(*ARGS, 100, 5)
    assert batch == [idempotency_key(*ARGS, i) for i in range(100, 105)]
    assert idempotency_keys(*ARGS, 0, 0) == []


def test_int_chunk_id_is_its_text():
    assert idempotency_key("aws", "1", "2023-11", "v", 3, 0) == idempotency_key("aws", "1", "2023-11", "v", "3", 0)


@pytest.mark.parametrize("ordinal", [-1, 1.0, True, "3"])
def test_rejects_bad_ordinals(ordinal):
    with pytest.raises(ValueError, match="expected row_ordinal to be an int >= 0"):
        idempotency_key(*ARGS, ordinal)


def test_rejects_empty_fields():
    with pytest.raises(ValueError, match="expected a non-empty string for version"):
        idempotency_key("aws", "1", "2023-11", "", "c", 0)
