"""The ledger: one row per load of a slice version (docs/architecture.md §4).

A slice is (provider, billing account, billing period); a version is the provider's
delivery token (CUR assemblyId, Azure runId, GCP max export_time) and `version_at` orders
versions (newer delivery = later). The load id is derived from slice + version, so every
retry, replay or duplicate run of the same delivery works on the same load.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

import psycopg

from include.ingest.billing.store import load_tables
from include.ingest.persist.db import advisory_key


@dataclass(frozen=True)
class SliceVersion:
    provider: str
    billing_account: str
    billing_period: str  # YYYY-MM
    version: str
    version_at: datetime

    @property
    def slice_key(self) -> tuple[str, str, str]:
        return (self.provider, self.billing_account, self.billing_period)

    @property
    def load_id(self) -> str:
        return f"{self.provider}:{self.billing_account}:{self.billing_period}:{self.version}"

    def to_json(self) -> dict:
        data = asdict(self)
        data["version_at"] = self.version_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict) -> "SliceVersion":
        return cls(**{**data, "version_at": datetime.fromisoformat(data["version_at"])})


def slice_lock(conn: psycopg.Connection, sv: SliceVersion) -> None:
    """Serialize work on one slice until the current transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("slice", *sv.slice_key),))


def begin_load(conn: psycopg.Connection, sv: SliceVersion, chunks_expected: int,
               source: dict | None = None, dag_run_id: str | None = None) -> str:
    """Record (or find) the load of `sv`; returns its state ('loading', 'published', …).

    Idempotent: a second call for the same slice version keeps the existing row (and its
    state), only refreshing the plan facts while it is still loading.
    """
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO billing.ledger (load_id, provider, billing_account, billing_period, "
            " version, version_at, state, chunks_expected, source, dag_run_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, 'loading', %s, %s, %s) "
            "ON CONFLICT (load_id) DO UPDATE SET "
            " chunks_expected = CASE WHEN ledger.state = 'loading' "
            "   THEN EXCLUDED.chunks_expected ELSE ledger.chunks_expected END, "
            " dag_run_id = COALESCE(EXCLUDED.dag_run_id, ledger.dag_run_id) "
            "RETURNING state, load_seq",
            (sv.load_id, sv.provider, sv.billing_account, sv.billing_period, sv.version,
             sv.version_at, chunks_expected, json.dumps(source or {}), dag_run_id)).fetchone()
        if row[0] == "loading":  # the load's table, committed with its ledger row
            load_tables.create(conn, row[1])
    return row[0]


def load_state(conn: psycopg.Connection, load_id: str) -> dict | None:
    cur = conn.execute("SELECT * FROM billing.ledger WHERE load_id = %s", (load_id,))
    row = cur.fetchone()
    return dict(zip([c.name for c in cur.description], row)) if row else None


def published_version(conn: psycopg.Connection, slice_key: tuple[str, str, str]) -> dict | None:
    cur = conn.execute("SELECT * FROM billing.ledger WHERE provider = %s AND "
                       "billing_account = %s AND billing_period = %s AND state = 'published'",
                       slice_key)
    row = cur.fetchone()
    return dict(zip([c.name for c in cur.description], row)) if row else None


def record_quarantine(conn: psycopg.Connection, load_id: str, billed_cost, effective_cost,
                      warning: str | None) -> None:
    """Keep the load's quarantined Σ cost and its warning (NULL: nothing of value) on its
    ledger row; idempotent (the same totals give the same row)."""
    with conn.transaction():
        conn.execute("UPDATE billing.ledger SET quarantined_billed_cost = %s, "
                     "quarantined_effective_cost = %s, warning = %s WHERE load_id = %s",
                     (billed_cost, effective_cost, warning, load_id))
