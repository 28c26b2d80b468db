"""Which records of a batch may already be in the catalog: the Bloom filter's answer, and
whether that answer still holds when the batch commits; and keeping the filter in step with
PostgreSQL (rebuild, heal).

The filter is asked *outside* the catalog write lock, while the batch is parsed: every
part of `PART` records goes to Redis as soon as it is keyed (one pipelined check-and-add,
replies read at the end), so Redis works while Python parses, and the lock is held only
for the commit itself.

A miss ("certainly new") is only as fresh as the call that gave it: a batch that commits
after it may hold the same key (it added the key after us, saw our bit, and looked up a
catalog that did not have our record yet). So a batch reads `catalog.commit_seq` before its
first filter call, and every commit takes the next value under the write lock: when the
committing batch's own value is not the very next one, some batch committed in between, and
every record of this batch is looked up in PostgreSQL instead (`Screen.trusted`). Batches
that added a shared key *before* our call are hits for us: looked up under the lock, after
they committed — or, when they commit after us, they see our commit the same way.

A miss is also only as good as the filter: one that lost writes (a Redis restart with an
`everysec` AOF, a failover, a restore of an older DUMP, a flush) answers "new" for keys
PostgreSQL has. So every filter call also returns the filter's high-water mark (bloom.py:
the last commit whose keys it holds), and misses are believed only when it equals
`seq_before`. A commit that finds the mark behind (`BloomFilter.commit` did not move it)
heals the filter: `heal` rebuilds it from PostgreSQL under the write lock.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg

from include.ingest.catalog.bloom import BloomFilter
from include.ingest.persist.db import advisory_key

if TYPE_CHECKING:
    from include.ingest.catalog.store import Prepared

PART = 250  # records per filter call while parsing: small enough that the last one is short
WRITE_LOCK = advisory_key("catalog-write")


def lock(conn: psycopg.Connection) -> None:
    """The catalog write lock (transaction-scoped): commits, rollbacks and rebuilds."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))


@dataclass(slots=True)
class Screen:
    seq_before: int  # catalog.commit_seq before the first key reached the filter
    complete_through: int | None  # the filter's high-water mark at every call (None: not
    # ready, or it moved between calls)
    maybe: list[bool]  # per screened record, in order: True = may be known, look it up

    def trusted(self, seq_now: int, records: int) -> bool:
        """Misses can be believed: the filter held every key committed up to `seq_before`
        (its high-water mark equals it), it screened exactly these records, and no other
        batch committed between the first call and `seq_now` (our commit)."""
        return (self.complete_through == self.seq_before and len(self.maybe) == records
                and seq_now == self.seq_before + 1)


def last_commit_seq(conn: psycopg.Connection) -> int:
    """catalog.commit_seq's current value (0 before the first commit). Sequences are not
    transactional: another session's nextval shows at once, committed or not."""
    with conn.transaction():
        last, called = conn.execute(
            "SELECT last_value, is_called FROM catalog.commit_seq").fetchone()
    return last if called else 0


def next_commit_seq(conn: psycopg.Connection) -> int:
    """Take the next commit number (call it under the write lock, in the commit)."""
    return conn.execute("SELECT nextval('catalog.commit_seq')").fetchone()[0]


class Screening:
    """Screen records part by part as they are produced: `add` each record, then `result`.
    Use it as a context manager (a failed parse releases the Redis connection)."""

    def __init__(self, conn: psycopg.Connection, bloom: BloomFilter, part: int = PART):
        self.seq_before = last_commit_seq(conn)  # before any of our keys reach the filter
        self._pipe = bloom.pipelined()
        self._part, self._counts, self._pending = part, [], []

    def add(self, item: Prepared) -> None:
        entries = item.bloom_items()
        self._counts.append(len(entries))
        self._pending += entries
        if len(self._counts) % self._part == 0:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._pipe.send(self._pending)
            self._pending = []

    def result(self) -> Screen:
        self._flush()
        complete_through, hits = self._pipe.result()
        maybe, at = [], 0
        for count in self._counts:
            maybe.append(any(hits[at:at + count]))
            at += count
        return Screen(self.seq_before, complete_through, maybe)

    def __enter__(self) -> Screening:
        return self

    def __exit__(self, *exc) -> None:
        self._pipe.close()


def screen(conn: psycopg.Connection, items: list[Prepared], bloom: BloomFilter) -> Screen:
    """Screen already-parsed records (one call per part, replies read together)."""
    with Screening(conn, bloom) as screening:
        for item in items:
            screening.add(item)
        return screening.result()


def rebuild_bloom(conn: psycopg.Connection, bloom: BloomFilter) -> int:
    """Load every current match key into the filter, then mark it ready and complete through
    the last commit. Runs under the catalog write lock, so no batch commits keys the scan
    could miss. Returns the number of entries added."""
    added = 0
    with conn.transaction():
        lock(conn)
        # under the lock every nextval's transaction has ended: this is the last commit
        last = last_commit_seq(conn)
        with conn.cursor(name="bloom_rebuild") as cur:  # server-side: streamed
            cur.execute("SELECT kind || ':' || value FROM catalog.record_keys")  # bloom.key_items
            while rows := cur.fetchmany(10_000):
                bloom.add(r[0] for r in rows)
                added += len(rows)
        bloom.mark_ready(last)  # after every key: no state claims keys it lacks
    return added


def heal(conn: psycopg.Connection, bloom: BloomFilter) -> bool:
    """Rebuild the filter unless it is ready and complete through PostgreSQL's last commit
    (checked again under the write lock: of several batches that found it behind, one
    rebuilds). Returns True when it rebuilt."""
    with conn.transaction():
        lock(conn)
        if bloom.complete_through() == last_commit_seq(conn):
            return False
    rebuild_bloom(conn, bloom)
    return True


def ensure_bloom_ready(conn: psycopg.Connection, bloom: BloomFilter | None) -> bool:
    """Rebuild the filter if it is not ready or behind PostgreSQL (first use, Redis flushed
    or restored, new capacity); False when there is no filter."""
    if bloom is None:
        return False
    heal(conn, bloom)
    return True
