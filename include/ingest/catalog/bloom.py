"""A Bloom filter in plain Redis (BITFIELD in Lua; no RedisBloom module needed).

It answers "has any of these match keys ever been written to the catalog?" for a whole
batch in one round trip. Two rules keep it safe:

* **A hit is only a maybe.** The store confirms every hit in PostgreSQL before it treats a
  record as known, so a false positive costs one lookup, never a record.
* **A miss must be true.** A record whose keys all miss is created without a lookup, so
  keys are added *before* the PostgreSQL commit that writes them (a failed commit leaves
  extra bits: false positives only), and a miss is believed only when the filter is known
  to hold every committed key. Two fields just past the filter's words, in the same Redis
  key, say so: a `ready` bit (set by a rebuild from PostgreSQL) and a **high-water mark**,
  the last `catalog.commit_seq` whose keys the filter holds. Each commit adds its written
  keys and moves the mark from seq - 1 to seq in one script call (`commit`), so no state of
  the key — flushed, evicted, restored from an older DUMP, an `everysec` AOF that lost its
  last second, a promoted replica behind its primary — claims a commit whose keys it lacks.
  The store compares the mark with PostgreSQL's sequence (screen.py): a filter that lost
  writes is behind, is not trusted (every record is looked up), and is rebuilt.

The key name carries the warehouse (`filter_name`), its size and k, so another catalog
database or a new capacity starts a new (not ready) filter. After restoring the warehouse from another
database's backup, drop the filter (`BloomFilter.drop`): it is rebuilt on the next plan.
"""
from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterable, Sequence
from urllib.parse import urlparse

import redis

# A blocked Bloom filter: all k bits of an item fall in one 32-bit word, so checking an
# item is one BITFIELD GET and adding it one SET, whatever k is (one SETBIT / GETBIT per bit
# cost more than the rest of a batch). Python hashes each item (blake2b, 16 bytes) and sends
# the digests as one blob; the script turns each into its position (`BloomFilter.position`:
# the first 8 bytes, big-endian, modulo the word count pick the word — computed a byte at a
# time, exact in Lua's doubles — then one byte per bit its position in the word), so the
# caller's CPU is spent on hashing only. ARGV: blob, ready-bit offset (words × 32), mode
# ("check", "add", "check+add" or "commit": add, then move the high-water mark, an i64 64
# bits past the ready bit, from ARGV[5] - 1 to ARGV[5] if the filter is ready), k, commit
# seq. Reply: {one string of 0/1 — ready, then each item's membership *before* this call
# (a string: parsing a list of integers costs more than the script) —, the high-water mark
# after the call}. BITFIELD calls take at most 500 words (Lua's unpack() limit).
_SCRIPT = """
local blob, mode = ARGV[1], ARGV[3]
local ready = redis.call('GETBIT', KEYS[1], tonumber(ARGV[2]))
local mark_at = tonumber(ARGV[2]) + 64
local mark = redis.call('BITFIELD', KEYS[1], 'GET', 'i64', mark_at)[1]
local nwords, last = tonumber(ARGV[2]) / 32, 8 + math.min(tonumber(ARGV[4]), 8)
local n = #blob / 16
local words, masks, old = {}, {}, {}
local byte, bor, lshift = string.byte, bit.bor, bit.lshift
for i = 1, n do
  local p = (i - 1) * 16
  local b1, b2, b3, b4, b5, b6, b7, b8 = byte(blob, p + 1, p + 8)
  local w = b1 % nwords
  w = (w * 256 + b2) % nwords; w = (w * 256 + b3) % nwords; w = (w * 256 + b4) % nwords
  w = (w * 256 + b5) % nwords; w = (w * 256 + b6) % nwords; w = (w * 256 + b7) % nwords
  w = (w * 256 + b8) % nwords
  local mask = 0
  for j = p + 9, p + last do mask = bor(mask, lshift(1, byte(blob, j) % 32)) end
  words[i] = w; masks[i] = mask
end
for c = 1, n, 500 do
  local gets = {}
  for i = c, math.min(c + 499, n) do
    gets[#gets + 1] = 'GET'; gets[#gets + 1] = 'u32'; gets[#gets + 1] = words[i] * 32
  end
  for j, value in ipairs(redis.call('BITFIELD', KEYS[1], unpack(gets))) do
    old[c + j - 1] = bit.tobit(value)
  end
end
local out = {tostring(ready)}
if mode == 'check' or mode == 'check+add' then
  for i = 1, n do out[i + 1] = (bit.band(old[i], masks[i]) == masks[i]) and '1' or '0' end
end
if mode ~= 'check' then
  local merged, before, order, sets = {}, {}, {}, {}
  for i = 1, n do
    local w = words[i]
    if merged[w] == nil then merged[w] = old[i]; before[w] = old[i]; order[#order + 1] = w end
    merged[w] = bit.bor(merged[w], masks[i])
  end
  for _, w in ipairs(order) do
    if merged[w] ~= before[w] then
      local value = merged[w]
      if value < 0 then value = value + 4294967296 end
      sets[#sets + 1] = 'SET'; sets[#sets + 1] = 'u32'; sets[#sets + 1] = w * 32
      sets[#sets + 1] = value
      if #sets == 2000 then redis.call('BITFIELD', KEYS[1], unpack(sets)); sets = {} end
    end
  end
  if #sets > 0 then redis.call('BITFIELD', KEYS[1], unpack(sets)) end
end
if mode == 'commit' and ready == 1 and mark == tonumber(ARGV[5]) - 1 then
  mark = tonumber(ARGV[5])
  redis.call('BITFIELD', KEYS[1], 'SET', 'i64', mark_at, ARGV[5])
end
return {table.concat(out), mark}
"""
PER_CALL = 20_000  # items per script call: bounded arguments, short Redis pauses


def key_items(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """Match keys as the filter holds them, `kind:value` (as rebuild_bloom's SQL builds them)."""
    return [f"{kind}:{value}" for kind, value in pairs]


class BloomFilter:
    """`capacity` items at `bits_per_item` bits each; with the defaults (20 bits, k = 6)
    about 0.4 % of never-added items look "seen" at full capacity (confirmed in PostgreSQL,
    so they cost a lookup, not a record)."""

    def __init__(self, client: redis.Redis, name: str = "catalog:bloom",
                 capacity: int = 10_000_000, bits_per_item: float = 20, k: int = 6):
        if capacity < 1 or bits_per_item <= 0 or not 1 <= k <= 10:
            raise ValueError(f"expected capacity ≥ 1, bits_per_item > 0 and 1 ≤ k ≤ 10, got "
                             f"{capacity}, {bits_per_item}, {k}")
        self.words = max(1, math.ceil(capacity * bits_per_item / 32))
        self.k = k
        self.key = f"{name}:w{self.words}:k{k}"
        self._client = client
        self._script = client.register_script(_SCRIPT)

    @property
    def client(self) -> redis.Redis:
        """The Redis client holding the filter (`Pipelined` sends on its connections)."""
        return self._client

    def position(self, item: str) -> tuple[int, int]:
        """(word, mask) of an item: where the script puts its k bits (the filter's layout;
        the hashing itself is done in `script_args` and the script)."""
        digest = hashlib.blake2b(item.encode(), digest_size=16).digest()
        mask = 0
        for byte in digest[8:8 + self.k]:
            mask |= 1 << (byte & 31)
        return int.from_bytes(digest[:8], "big") % self.words, mask

    def script_args(self, items: Sequence[str], mode: str, seq: int = 0) -> list:
        """The script's ARGV for `items` (their digests), in `mode` (check, add, check+add,
        commit): one call of the script, through `register_script` or a raw EVAL."""
        blake2b = hashlib.blake2b
        digests = b"".join([blake2b(item.encode(), digest_size=16).digest() for item in items])
        return [digests, self.words * 32, mode, self.k, seq]

    def _run(self, items: Sequence[str], mode: str, seq: int = 0) -> list:
        return self._script(keys=[self.key], args=self.script_args(items, mode, seq))

    def _call(self, items: Sequence[str], mode: str) -> tuple[int | None, list[bool]]:
        answers, hits = Answers(), []
        for i in range(0, max(len(items), 1), PER_CALL):
            hits.extend(answers.take(self._run(items[i:i + PER_CALL], mode)))
        return answers.complete_through, hits

    def add(self, items: Iterable[str]) -> None:
        self._call(list(items), "add")

    def contains(self, items: Sequence[str]) -> list[bool]:
        """For each item: True = maybe seen (confirm it), False = certainly never added."""
        return self._call(items, "check")[1]

    def check_and_add(self, items: Sequence[str]) -> tuple[int | None, list[bool]]:
        """(complete_through, hits): the high-water mark if the filter was ready (else None)
        and `contains()`'s answer, both as before this call, and every item added — one
        round trip for a whole batch."""
        return self._call(items, "check+add")

    def commit(self, items: Sequence[str], seq: int) -> bool:
        """Add the keys commit `seq` writes and, atomically with the last of them, move the
        high-water mark from seq - 1 to seq. Call it under the catalog write lock, inside
        the commit's transaction (commits take their seq in order). False when the mark did
        not move: the filter is not ready or lost writes — rebuild it (`screen.heal`)."""
        items = list(items)
        last = max(0, len(items) - PER_CALL)
        if last:
            self.add(items[:last])
        _, mark = self._run(items[last:], "commit", seq)  # the mark moves after every key
        return int(mark) == seq

    def complete_through(self) -> int | None:
        """The high-water mark if the filter is ready, else None."""
        ready, mark = (self._client.bitfield(self.key).get("u1", self.words * 32)
                       .get("i64", self.words * 32 + 64).execute())
        return mark if ready else None

    def pipelined(self) -> "Pipelined":
        """check_and_add calls sent as the caller goes on, their replies read at the end."""
        return Pipelined(self)

    def is_ready(self) -> bool:
        return bool(self._client.getbit(self.key, self.words * 32))

    def mark_ready(self, complete_through: int) -> None:
        """Ready, holding every key of commits ≤ `complete_through` (one BITFIELD: both or
        neither). Only a rebuild from PostgreSQL, under the write lock, may say so."""
        (self._client.bitfield(self.key).set("u1", self.words * 32, 1)
         .set("i64", self.words * 32 + 64, complete_through).execute())

    def drop(self) -> None:
        self._client.delete(self.key)


class Answers:
    """Script replies of one check, folded: `complete_through` is the high-water mark every
    call saw on a ready filter, None when one was not ready or they differ (a commit or a
    rebuild came in between: the answers do not describe one state of the catalog)."""

    _UNSET = object()

    def __init__(self):
        self._mark = self._UNSET

    def take(self, reply: list) -> list[bool]:
        flags, mark = reply
        mark = int(mark) if flags[:1] == b"1" else None
        self._mark = mark if self._mark is self._UNSET or self._mark == mark else None
        return [flag == 49 for flag in flags[1:]]  # 49: b"1"

    @property
    def complete_through(self) -> int | None:
        return None if self._mark is self._UNSET else self._mark


class Pipelined:
    """`check_and_add` for items sent in several parts, on one connection, without waiting:
    Redis runs each part's script while the caller works on the next part (a batch is
    screened as it is parsed); `result()` reads every reply, (ready, hits) in send order.
    Use it as a context manager: a connection left with unread replies is dropped."""

    def __init__(self, bloom: BloomFilter):
        self._bloom, self._conn, self._sent = bloom, None, 0

    def send(self, items: Sequence[str]) -> None:
        bloom = self._bloom
        if self._conn is None:
            self._conn = bloom.client.connection_pool.get_connection("EVAL")
        try:
            for i in range(0, len(items), PER_CALL):
                # EVAL, not EVALSHA: nothing to reload after a Redis restart (Redis caches
                # the compiled script by its digest)
                self._conn.send_command("EVAL", _SCRIPT, 1, bloom.key,
                                        *bloom.script_args(items[i:i + PER_CALL], "check+add"))
                self._sent += 1
        except BaseException:
            self.close(broken=True)
            raise

    def result(self) -> tuple[int | None, list[bool]]:
        """(complete_through, hits) in send order, as `check_and_add` answers."""
        answers, hits = Answers(), []
        try:
            while self._sent:
                reply = self._conn.read_response()
                self._sent -= 1
                hits.extend(answers.take(reply))
        except BaseException:
            self.close(broken=True)
            raise
        self.close()
        return answers.complete_through, hits

    def close(self, broken: bool = False) -> None:
        if self._conn is None:
            return
        if broken or self._sent:
            self._conn.disconnect()  # unread replies: never hand this connection out again
        self._bloom.client.connection_pool.release(self._conn)
        self._conn, self._sent = None, 0

    def __enter__(self) -> "Pipelined":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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
    if capacity := os.environ.get("INGEST_CATALOG_BLOOM_CAPACITY"):
        kwargs.setdefault("capacity", int(capacity))  # keys (≈ 4 per record) it is sized for
    return BloomFilter(redis.Redis.from_url(url), name=name, **kwargs)
