"""A Bloom filter in plain Redis (SETBIT / GETBIT in Lua; no RedisBloom module needed).

It answers "has any of these keys (match keys, fingerprints) ever been written to the
catalog?" for a whole batch in one round trip. Two rules keep it safe:

* **A hit is only a maybe.** The store confirms every hit in PostgreSQL before it treats a
  record as known, so a false positive costs one lookup, never a record.
* **A miss must be true.** A record whose keys all miss is created without a lookup, so
  keys are added *before* the PostgreSQL commit that writes them (a failed commit leaves
  extra bits: false positives only), and the filter is trusted only once it is `ready`:
  a bit just past the m filter bits, set by `rebuild()` after loading every key from
  PostgreSQL. It lives in the same Redis key, so a flushed or evicted filter is simply not
  ready (the store then looks everything up) instead of silently answering "new".

The key name carries the warehouse (`filter_name`), m and k, so another catalog database or
a new capacity starts a new (not ready) filter. After restoring the warehouse from another
database's backup, drop the filter (`BloomFilter.drop`): it is rebuilt on the next plan.
"""
from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterable, Sequence
from urllib.parse import urlparse

import redis

_ADD = """
for i = 1, #ARGV do redis.call('SETBIT', KEYS[1], ARGV[i], 1) end
return #ARGV
"""
_CONTAINS = """
local k = tonumber(ARGV[1])
local out = {}
for item = 0, (#ARGV - 1) / k - 1 do
  local hit = 1
  for j = 1, k do
    if redis.call('GETBIT', KEYS[1], ARGV[1 + item * k + j]) == 0 then hit = 0; break end
  end
  out[#out + 1] = hit
end
return out
"""


class BloomFilter:
    def __init__(self, client: redis.Redis, name: str = "catalog:bloom",
                 capacity: int = 10_000_000, error_rate: float = 0.001):
        if capacity < 1 or not 0 < error_rate < 1:
            raise ValueError(f"expected capacity ≥ 1 and 0 < error_rate < 1, got {capacity}, "
                             f"{error_rate}")
        self.m = max(8, math.ceil(-capacity * math.log(error_rate) / math.log(2) ** 2))
        self.k = max(1, round(self.m / capacity * math.log(2)))
        self.key = f"{name}:m{self.m}:k{self.k}"
        self._client = client
        self._add = client.register_script(_ADD)
        self._contains = client.register_script(_CONTAINS)

    def _positions(self, item: str) -> list[int]:
        digest = hashlib.blake2b(item.encode(), digest_size=16).digest()
        h1, h2 = int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:], "big") | 1
        return [(h1 + i * h2) % self.m for i in range(self.k)]  # Kirsch–Mitzenmacher

    def add(self, items: Iterable[str]) -> None:
        positions = sorted({p for item in items for p in self._positions(item)})
        for i in range(0, len(positions), 50_000):  # bounded script arguments
            self._add(keys=[self.key], args=positions[i:i + 50_000])

    def contains(self, items: Sequence[str]) -> list[bool]:
        """For each item: True = maybe seen (confirm it), False = certainly never added."""
        out: list[bool] = []
        per_call = max(1, 50_000 // self.k)
        for i in range(0, len(items), per_call):
            args = [self.k] + [p for item in items[i:i + per_call]
                               for p in self._positions(item)]
            out.extend(bool(hit) for hit in self._contains(keys=[self.key], args=args))
        return out

    def is_ready(self) -> bool:
        return bool(self._client.getbit(self.key, self.m))

    def mark_ready(self) -> None:
        self._client.setbit(self.key, self.m, 1)

    def drop(self) -> None:
        self._client.delete(self.key)


def filter_name(db_url: str) -> str:
    """One filter per warehouse database (host, port, name — never credentials): a filter
    marked ready for one catalog must not answer for another that shares the Redis."""
    parsed = urlparse(db_url)
    where = f"{parsed.hostname}:{parsed.port}{parsed.path}"
    return f"catalog:bloom:{hashlib.sha256(where.encode()).hexdigest()[:12]}"


def from_env(**kwargs) -> BloomFilter | None:
    """The filter for `INGEST_DB_URL`'s catalog on `INGEST_REDIS_URL`, or None when Redis is
    not configured (the store then looks every record up in PostgreSQL: slower, never
    wrong). A configured but unreachable Redis fails the task (it is retried): skipping the
    filter's update would leave it without keys that PostgreSQL has."""
    url = os.environ.get("INGEST_REDIS_URL")
    if not url:
        return None
    name = filter_name(os.environ.get("INGEST_DB_URL", ""))
    return BloomFilter(redis.Redis.from_url(url), name=name, **kwargs)
