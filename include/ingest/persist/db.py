"""Connections to the warehouse PostgreSQL (`INGEST_DB_URL`) and lock keys.

Every connection carries time limits, so a stuck peer costs one failed (and retried) task
attempt instead of blocking every later commit forever:

* `CONNECT_TIMEOUT_S`: an unreachable server fails the attempt in seconds, not after the
  kernel's TCP retries (minutes).
* `LOCK_TIMEOUT`: the longest a statement waits for a lock another session holds — one
  hung in an open transaction (a stopped worker, a forgotten psql) would otherwise hold a
  slice's or the catalog's write lock for ever. It is well above the longest legitimate
  hold (a catalog batch commit or a Bloom rebuild under the catalog write lock, a chunk's
  COPY under its lock; seconds to a minute at the benchmark's sizes). The publish swap,
  which queues every reader behind its ACCESS EXCLUSIVE request, uses the shorter
  `load_tables.LOCK_TIMEOUT` and then returns to this one.
* `STATEMENT_TIMEOUT`: a runaway statement. The longest legitimate ones are a load's
  COPY and index builds (1M rows: ~6 s measured), far below it.
* `IDLE_IN_TRANSACTION_TIMEOUT`: a session idle inside a transaction (its client hung)
  is ended by the server, releasing its locks. Our transactions never wait on anything
  slow between statements; the chunk cursor's long-lived session is in autocommit mode
  (idle *outside* a transaction), which this does not touch.
"""
from __future__ import annotations

import hashlib
import os

import psycopg

CONNECT_TIMEOUT_S = 10
LOCK_TIMEOUT = "5min"
STATEMENT_TIMEOUT = "30min"
IDLE_IN_TRANSACTION_TIMEOUT = "10min"
SESSION_SETTINGS = {"lock_timeout": LOCK_TIMEOUT, "statement_timeout": STATEMENT_TIMEOUT,
                    "idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION_TIMEOUT}


class ConfigError(RuntimeError):
    """Configuration is missing or wrong; the message says what to set."""


def warehouse_url() -> str:
    url = os.environ.get("INGEST_DB_URL")
    if not url:
        raise ConfigError("INGEST_DB_URL is not set; expected a postgresql:// URL of the "
                          "warehouse database (the local stack sets it; see README)")
    return url


def session_options(**overrides: str) -> str:
    """The libpq `options` string that sets `SESSION_SETTINGS` (with `overrides`) at login:
    the session's own defaults, so `SET LOCAL … TO DEFAULT` returns to them."""
    settings = {**SESSION_SETTINGS, **overrides}
    return " ".join(f"-c {name}={value}" for name, value in settings.items())


def connect(url: str | None = None, **kwargs) -> psycopg.Connection:
    """A new connection (autocommit off: every unit of work is one explicit transaction),
    with the time limits above; a caller's `connect_timeout` / `options` replace them."""
    kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    kwargs.setdefault("options", session_options())
    return psycopg.connect(url or warehouse_url(), **kwargs)


def advisory_key(*parts: str) -> int:
    """A signed 64-bit key for pg_advisory_xact_lock, stable across processes and hosts
    (Python's hash() is salted per process, so it cannot be used)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
