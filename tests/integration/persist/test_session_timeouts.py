"""Warehouse sessions carry lock / statement / idle-in-transaction limits: a session stuck
in an open transaction costs a failed, retried attempt, not a commit blocked for ever."""
import time

import psycopg
import pytest

from include.ingest.billing.store import load_tables
from include.ingest.persist import db


def _settings(conn):
    return {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in db.SESSION_SETTINGS}


def test_every_connection_has_the_limits(warehouse_url):
    with db.connect(warehouse_url) as conn:
        assert _settings(conn) == {"lock_timeout": "5min", "statement_timeout": "30min",
                                   "idle_in_transaction_session_timeout": "10min"}


def test_a_lock_held_by_a_stuck_session_times_out(warehouse_url):
    key = db.advisory_key("test-stuck", str(time.time_ns()))
    with psycopg.connect(warehouse_url) as stuck:  # holds the lock in an open transaction
        stuck.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        with db.connect(warehouse_url, options=db.session_options(lock_timeout="200ms")) as conn:
            started = time.monotonic()
            with pytest.raises(psycopg.errors.LockNotAvailable):
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            assert time.monotonic() - started < 5


def test_the_publish_swap_returns_to_the_session_limit(warehouse):
    conn = psycopg.connect(warehouse.info.dsn, password=warehouse.info.password,
                           options=db.session_options())
    with conn, conn.transaction():
        load_tables.create(conn, 987654)
        load_tables.swap_in(conn, 987654, None)
        assert conn.execute("SHOW lock_timeout").fetchone()[0] == db.LOCK_TIMEOUT
        raise psycopg.Rollback()
