"""Exponential backoff with full jitter: bounds and determinism."""

import random

import pytest

from include.ingest.http.backoff import Backoff, full_jitter_delay


def test_ceiling_doubles_and_is_capped():
    b = Backoff(base_s=0.5, cap_s=10.0)
    assert [b.ceiling(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert b.ceiling(10_000) == 10.0  # no overflow on absurd attempt numbers


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 8, 20])
def test_delay_stays_within_window(attempt):
    b = Backoff(base_s=1.0, cap_s=30.0)
    rng = random.Random(7)
    delays = [b.delay(attempt, rng) for _ in range(2000)]
    assert all(0.0 <= d <= b.ceiling(attempt) for d in delays)
    # full jitter spreads over the whole window, not around a point
    assert min(delays) < 0.1 * b.ceiling(attempt) and max(delays) > 0.9 * b.ceiling(attempt)


def test_same_seed_same_delays():
    first = [full_jitter_delay(n, rng=random.Random(42)) for n in range(1, 10)]
    second = [full_jitter_delay(n, rng=random.Random(42)) for n in range(1, 10)]
    assert first == second
    seq_a = random.Random(1)
    seq_b = random.Random(1)
    assert [Backoff().delay(3, seq_a) for _ in range(5)] == [Backoff().delay(3, seq_b) for _ in range(5)]


@pytest.mark.parametrize("kwargs", [{"base_s": 0}, {"cap_s": -1}])
def test_rejects_non_positive_settings(kwargs):
    with pytest.raises(ValueError, match="expected base_s > 0 and cap_s > 0"):
        Backoff(**kwargs)


def test_rejects_zero_based_attempt():
    with pytest.raises(ValueError, match="1-based"):
        Backoff().delay(0)
