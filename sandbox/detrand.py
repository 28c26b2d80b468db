"""Deterministic pseudo-randomness for the data generators.

Contract: every value is a pure function of ``(seed, *keys)``; nothing depends on call order,
threads or process. Row ``i`` of any slice can therefore be generated on its own (random access),
which is what lets the servers page through 10M-row slices without holding them in memory.

One blake2b digest per row gives eight independent 64-bit draws (``RowRand``), so generating a
row costs a single hash instead of one per field.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Sequence, TypeVar

T = TypeVar("T")
_MASK = (1 << 64) - 1


def digest(seed: int, *keys: object) -> bytes:
    """64 bytes that depend only on the seed and the keys (joined with '|')."""
    text = "|".join([str(seed), *map(str, keys)])
    return hashlib.blake2b(text.encode(), digest_size=64).digest()


def u64(seed: int, *keys: object) -> int:
    """One 64-bit draw for ``(seed, *keys)``."""
    return int.from_bytes(digest(seed, *keys)[:8], "big")


def unit(seed: int, *keys: object) -> float:
    """A draw in [0, 1). Only for choices and fault rates, never for money."""
    return u64(seed, *keys) / 2**64


def stable_uuid(seed: int, *keys: object) -> str:
    """A UUID-4-shaped id derived from the keys (assembly ids, run ids, job ids)."""
    h = digest(seed, "uuid", *keys)[:16].hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


class RowRand:
    """Eight 64-bit draws from one digest; ``draw(k)`` is the k-th (0..7)."""

    __slots__ = ("_words",)

    def __init__(self, seed: int, *keys: object) -> None:
        d = digest(seed, *keys)
        self._words = [int.from_bytes(d[j : j + 8], "big") for j in range(0, 64, 8)]

    def draw(self, k: int) -> int:
        return self._words[k]

    def below(self, k: int, n: int) -> int:
        """Draw k reduced to [0, n)."""
        return self._words[k] % n

    def pick(self, k: int, options: Sequence[T]) -> T:
        return options[self._words[k] % len(options)]

    def chance(self, k: int, percent: int) -> bool:
        """True for ``percent`` % of rows (integer percent keeps it exact)."""
        return self._words[k] % 100 < percent

    def amount(self, k: int, low: int, high: int, places: int) -> Decimal:
        """A Decimal with ``places`` decimals, uniformly in [low, high) units of 10**-places."""
        return Decimal(low + self._words[k] % (high - low)).scaleb(-places)
