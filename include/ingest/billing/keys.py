"""Deterministic row keys for exactly-once billing loads (docs/architecture.md §4).

``idempotency_key`` = sha256 over (provider, billing account, billing period, version
token, chunk id, row ordinal). The same input row of the same delivery always gets the
same key, so a retried or duplicated chunk collides on ``ON CONFLICT DO NOTHING``
instead of double counting; a new delivery (new version token) gets new keys.

Fields are length-prefixed ("netstring" style) before hashing so no two different
tuples can produce the same byte string (``("a:b", "c")`` vs ``("a", "b:c")``).
"""

from __future__ import annotations

import hashlib


def _prefix(provider: str, account: str, period: str, version: str, chunk_id: str | int) -> bytes:
    fields = (provider, account, period, version, str(chunk_id))
    for name, value in zip(("provider", "account", "period", "version", "chunk_id"), fields):
        if not isinstance(value, str) or not value:
            raise ValueError(f"expected a non-empty string for {name}, got {value!r}")
    return b"".join(f"{len(v.encode())}:{v},".encode() for v in fields)


def _check_ordinal(row_ordinal: int) -> None:
    if not isinstance(row_ordinal, int) or isinstance(row_ordinal, bool) or row_ordinal < 0:
        raise ValueError(f"expected row_ordinal to be an int >= 0 (position in the chunk), got {row_ordinal!r}")


def idempotency_key(
    provider: str, account: str, period: str, version: str, chunk_id: str | int, row_ordinal: int
) -> str:
    """sha256 hex (64 chars) identifying one input row of one delivery of one slice."""
    _check_ordinal(row_ordinal)
    return hashlib.sha256(_prefix(provider, account, period, version, chunk_id) + b"%d" % row_ordinal).hexdigest()


def idempotency_keys(
    provider: str, account: str, period: str, version: str, chunk_id: str | int, first_ordinal: int, count: int
) -> list[str]:
    """Keys for ordinals ``first_ordinal .. first_ordinal + count - 1``; equal to calling
    ``idempotency_key`` for each, with the shared prefix encoded once (batch speed:
    about 1 µs per key, one OpenSSL sha256 call each)."""
    _check_ordinal(first_ordinal)
    if count < 0:
        raise ValueError(f"expected count >= 0, got {count!r}")
    prefix = _prefix(provider, account, period, version, chunk_id)
    sha256 = hashlib.sha256
    return [sha256(prefix + b"%d" % ordinal).hexdigest() for ordinal in range(first_ordinal, first_ordinal + count)]
