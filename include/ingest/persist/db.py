"""Connections to the warehouse PostgreSQL (`INGEST_DB_URL`) and lock keys."""
from __future__ import annotations

import hashlib
import os

import psycopg


class ConfigError(RuntimeError):
    """Configuration is missing or wrong; the message says what to set."""


def warehouse_url() -> str:
    url = os.environ.get("INGEST_DB_URL")
    if not url:
        raise ConfigError("INGEST_DB_URL is not set; expected a postgresql:// URL of the "
                          "warehouse database (the local stack sets it; see README)")
    return url


def connect(url: str | None = None, **kwargs) -> psycopg.Connection:
    """A new connection (autocommit off: every unit of work is one explicit transaction)."""
    return psycopg.connect(url or warehouse_url(), **kwargs)


def advisory_key(*parts: str) -> int:
    """A signed 64-bit key for pg_advisory_xact_lock, stable across processes and hosts
    (Python's hash() is salted per process, so it cannot be used)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
