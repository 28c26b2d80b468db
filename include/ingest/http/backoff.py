"""Exponential backoff with full jitter.

``delay = uniform(0, min(cap, base * 2 ** (attempt - 1)))`` -- the "full jitter" variant
(AWS Architecture Blog, "Exponential Backoff And Jitter"). Spreading retries over the
whole window, instead of around a point, is what stops many Celery workers that failed
together from hammering a provider together again.

Pass a seeded ``random.Random`` to get the same delays every run (tests, replays).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

_SYSTEM_RANDOM = random.Random()


@dataclass(frozen=True)
class Backoff:
    """Backoff window: ``base_s`` for the first attempt, doubling, never above ``cap_s``."""

    base_s: float = 1.0
    cap_s: float = 60.0

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s <= 0:
            raise ValueError(
                f"expected base_s > 0 and cap_s > 0, got base_s={self.base_s!r}, cap_s={self.cap_s!r}"
            )

    def ceiling(self, attempt: int) -> float:
        """Upper bound of the jitter window for 1-based ``attempt``."""
        if attempt < 1:
            raise ValueError(f"expected attempt >= 1 (1-based), got {attempt!r}")
        # Cap the exponent so a huge attempt number cannot overflow float.
        exponent = min(attempt - 1, 62)
        return min(self.cap_s, self.base_s * (2.0**exponent))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """A delay in ``[0, ceiling(attempt)]``; deterministic for a given seeded ``rng``."""
        return (rng or _SYSTEM_RANDOM).uniform(0.0, self.ceiling(attempt))


def full_jitter_delay(
    attempt: int, *, base_s: float = 1.0, cap_s: float = 60.0, rng: random.Random | None = None
) -> float:
    """Functional form of ``Backoff(base_s, cap_s).delay(attempt, rng)``."""
    return Backoff(base_s=base_s, cap_s=cap_s).delay(attempt, rng)
