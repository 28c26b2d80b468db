"""Chunk cursors: Redis (fast) + PostgreSQL (durable) (docs/architecture.md §5).

A cursor is a ``Paginator``'s saved state for one chunk of one load: the continuation
(Azure ``nextLink``, BigQuery job + ``pageToken``), pages landed, rows done. The fetch
saves it after every page it lands -- page file first, then the cursor -- so the cursor
never claims a page that is not in the landing zone. A retried task (after a long
Retry-After, a killed worker, a Redis flush) loads it and continues from the next page.

Contract:

* ``save`` writes PostgreSQL first (``billing.cursors``, committed), then Redis
  (``cursor:<key>``, 14-day TTL). A cursor never moves backwards: an older state
  (fewer pages) does not overwrite a newer one.
* ``load`` reads Redis, else PostgreSQL (and re-primes Redis). Redis being down or
  flushed only costs speed: PostgreSQL still has every page's cursor. ``source`` then
  says where the cursor came from ("redis", "postgresql"; None for a fresh chunk).
* ``ChunkCursor`` holds a PostgreSQL session advisory lock for the chunk while it is
  fetched: a second worker on the same chunk (a redelivered Celery message) gets
  ``TransientError`` and retries later instead of paging alongside. The lock dies with
  the connection, so a killed worker never leaves it behind.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any

import psycopg
import redis

from include.ingest.errors import TransientError
from include.ingest.persist.db import advisory_key, connect

log = logging.getLogger(__name__)
REDIS_TTL_S = 14 * 24 * 3600


def cursor_key(load_id: str, chunk_id: str) -> str:
    return f"{load_id}|{chunk_id}"


def redis_client(url: str | None = None) -> redis.Redis | None:
    """The cursor Redis (``INGEST_REDIS_URL``), or None when unset (PostgreSQL only)."""
    url = url or os.environ.get("INGEST_REDIS_URL")
    return redis.Redis.from_url(url) if url else None


class ChunkCursor:
    """The cursor of one chunk, locked for the duration of a ``with`` block."""

    def __init__(self, load_id: str, chunk_id: str, redis_conn: redis.Redis | None = None,
                 db_url: str | None = None) -> None:
        self.load_id, self.chunk_id = load_id, chunk_id
        self.key = cursor_key(load_id, chunk_id)
        self.redis = redis_conn if redis_conn is not None else redis_client()
        self._db_url = db_url
        self._conn: psycopg.Connection | None = None
        self.source: str | None = None  # where the last ``load`` found the cursor

    def __enter__(self) -> ChunkCursor:
        self._conn = connect(self._db_url, autocommit=True)
        got = self._conn.execute("SELECT pg_try_advisory_lock(%s)",
                                 (advisory_key("cursor", self.key),)).fetchone()[0]
        if not got:
            self._conn.close()
            raise TransientError(f"chunk {self.key}: expected to be its only fetcher, got another "
                                 "worker paging it now (a redelivered task?); retrying later")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._conn is not None:
            self._conn.close()  # also releases the session advisory lock
            self._conn = None

    @property
    def conn(self) -> psycopg.Connection:
        if self._conn is None:
            raise RuntimeError("expected ChunkCursor used in a `with` block, got it outside")
        return self._conn

    def _redis_call(self, what: str, fn, *args):
        if self.redis is None:
            return None
        try:
            return fn(*args)
        except redis.RedisError as exc:  # the durable copy is in PostgreSQL; keep going
            log.warning("cursor %s: Redis %s failed (%s); using PostgreSQL only", self.key, what, exc)
            return None

    def load(self) -> dict[str, Any] | None:
        """The saved paginator state (Redis, else PostgreSQL), or None for a fresh chunk."""
        raw = self._redis_call("read", self.redis.get, f"cursor:{self.key}") if self.redis else None
        if raw:
            self.source = "redis"
            return json.loads(raw)
        row = self.conn.execute("SELECT state FROM billing.cursors WHERE cursor_key = %s",
                                (self.key,)).fetchone()
        if row is None:
            self.source = None
            return None
        self.source = "postgresql"
        if self.redis is not None:
            self._redis_call("write", self.redis.set, f"cursor:{self.key}", json.dumps(row[0]),
                             REDIS_TTL_S)
        return row[0]

    def save(self, state: dict[str, Any]) -> None:
        """Persist ``state`` (a ``Paginator.to_state()``): PostgreSQL, then Redis."""
        text = json.dumps(state)
        written = self.conn.execute(
            "INSERT INTO billing.cursors (cursor_key, load_id, chunk_id, pages_landed, rows_done, "
            " done, state) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (cursor_key) DO UPDATE SET pages_landed = EXCLUDED.pages_landed, "
            " rows_done = EXCLUDED.rows_done, done = EXCLUDED.done, state = EXCLUDED.state, "
            " updated_at = now() WHERE billing.cursors.pages_landed <= EXCLUDED.pages_landed",
            (self.key, self.load_id, self.chunk_id, state["pages"], state["rows"], state["done"], text)).rowcount
        if written and self.redis is not None:  # an older state (fewer pages) changes neither copy
            self._redis_call("write", self.redis.set, f"cursor:{self.key}", text, REDIS_TTL_S)

    def reset(self) -> None:
        """Forget the cursor (the landed pages it described are gone: start at page 1)."""
        self.conn.execute("DELETE FROM billing.cursors WHERE cursor_key = %s", (self.key,))
        if self.redis is not None:
            self._redis_call("delete", self.redis.delete, f"cursor:{self.key}")
