"""Publish a slice version: verify it, then swap it in, in one transaction (DESIGN.md §4).

Under the slice's advisory lock:
* already published → no-op (`already_published`);
* a newer version (later `version_at`) already published → this load becomes `stale` and
  nothing changes (`stale`): an older delivery never overwrites a newer one;
* otherwise every planned chunk must be loaded and, for every chunk, rows in = staged +
  quarantined; then the slice's rows are replaced by the staged rows (row keys guarded by
  ON CONFLICT DO NOTHING), the previous version is marked superseded, and the ledger row
  records counts and totals.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import psycopg

from include.ingest.persist.columns import SQL_COLUMNS
from include.ingest.persist.ledger import SliceVersion, published_version, slice_lock

COLUMN_LIST = ", ".join(SQL_COLUMNS)


class PublishError(RuntimeError):
    """The slice version cannot be published yet; nothing changed. The message says why."""


@dataclass(frozen=True)
class PublishResult:
    status: str  # published | already_published | stale
    load_id: str
    rows_in: int = 0
    rows_published: int = 0
    rows_quarantined: int = 0
    billed_cost: Decimal = Decimal(0)
    replaced_version: str | None = None


def _verify_chunks(conn: psycopg.Connection, load_id: str, expected: int | None) -> tuple:
    rows_in, staged, quarantined, chunks, bad = conn.execute(
        "SELECT coalesce(sum(rows_in), 0), coalesce(sum(rows_staged), 0), "
        " coalesce(sum(rows_quarantined), 0), count(*), "
        " count(*) FILTER (WHERE rows_in <> rows_staged + rows_quarantined) "
        "FROM billing.chunk_loads WHERE load_id = %s", (load_id,)).fetchone()
    if expected is not None and chunks != expected:
        raise PublishError(f"{load_id}: expected {expected} loaded chunks, got {chunks}; "
                           f"the missing chunks failed or have not run — see billing.dlq "
                           f"and replay them, then publish again")
    if bad:
        raise PublishError(f"{load_id}: {bad} chunks have rows in ≠ staged + quarantined")
    staged_now = conn.execute("SELECT count(*) FROM billing.staging_line_items "
                              "WHERE x_load_id = %s", (load_id,)).fetchone()[0]
    if staged_now != staged:
        raise PublishError(f"{load_id}: expected {staged} staged rows (chunk records), got "
                           f"{staged_now} in staging; reload the chunks")
    return int(rows_in), int(staged), int(quarantined)


def publish(conn: psycopg.Connection, sv: SliceVersion) -> PublishResult:
    load_id = sv.load_id
    with conn.transaction():
        slice_lock(conn, sv)
        row = conn.execute("SELECT state, chunks_expected FROM billing.ledger "
                           "WHERE load_id = %s FOR UPDATE", (load_id,)).fetchone()
        if row is None:
            raise PublishError(f"no ledger row for {load_id}; expected the plan task to "
                               f"begin the load first")
        state, chunks_expected = row
        if state in ("published", "superseded", "stale"):
            return PublishResult("already_published" if state == "published" else state,
                                 load_id)
        current = published_version(conn, sv.slice_key)
        if current and current["version_at"] > sv.version_at:
            conn.execute("UPDATE billing.ledger SET state = 'stale' WHERE load_id = %s",
                         (load_id,))
            conn.execute("DELETE FROM billing.staging_line_items WHERE x_load_id = %s",
                         (load_id,))
            return PublishResult("stale", load_id, replaced_version=current["version"])
        rows_in, staged, quarantined = _verify_chunks(conn, load_id, chunks_expected)
        conn.execute("DELETE FROM billing.line_items WHERE x_provider = %s AND "
                     "x_billing_account = %s AND x_billing_period = %s", sv.slice_key)
        inserted = conn.execute(
            f"INSERT INTO billing.line_items ({COLUMN_LIST}) SELECT {COLUMN_LIST} "
            f"FROM billing.staging_line_items WHERE x_load_id = %s "
            f"ON CONFLICT (x_idempotency_key) DO NOTHING", (load_id,)).rowcount
        if inserted != staged:
            raise PublishError(f"{load_id}: expected {staged} rows published, got {inserted} "
                               f"(duplicate idempotency keys in staging); nothing changed")
        billed, effective = conn.execute(
            "SELECT coalesce(sum(billed_cost), 0), coalesce(sum(effective_cost), 0) "
            "FROM billing.line_items WHERE x_provider = %s AND x_billing_account = %s AND "
            "x_billing_period = %s", sv.slice_key).fetchone()
        if current:
            conn.execute("UPDATE billing.ledger SET state = 'superseded', superseded_at = now() "
                         "WHERE load_id = %s", (current["load_id"],))
        conn.execute(
            "UPDATE billing.ledger SET state = 'published', published_at = now(), rows_in = %s, "
            " rows_published = %s, rows_quarantined = %s, billed_cost = %s, effective_cost = %s "
            "WHERE load_id = %s", (rows_in, inserted, quarantined, billed, effective, load_id))
        conn.execute("DELETE FROM billing.staging_line_items WHERE x_load_id = %s", (load_id,))
    return PublishResult("published", load_id, rows_in, inserted, quarantined, billed,
                         current["version"] if current else None)
