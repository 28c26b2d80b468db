"""Publish a slice version: verify it, then swap it in, in one transaction (docs/architecture.md §4).

Under the slice's advisory lock:
* already published → no-op (`already_published`);
* a newer version (later `version_at`) already published → this load becomes `stale` and
  nothing changes (`stale`): an older delivery never overwrites a newer one; publishing a
  version likewise retires the slice's older loads still `loading` (stale, table dropped);
* otherwise every planned chunk must be loaded and, for every chunk, rows in = staged +
  quarantined, and the load's table must hold exactly the rows its chunks recorded; then the
  table is indexed (a duplicate idempotency key refuses the publish) and attached as the
  slice's partition of billing.line_items in place of the previous version's, which is
  dropped and marked superseded; the ledger row records counts and totals.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import psycopg

from include.ingest.billing.store import load_tables
from include.ingest.billing.store.ledger import SliceVersion, published_version, slice_lock


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


def _verify_chunks(conn: psycopg.Connection, load_id: str, load_seq: int,
                   expected: int | None) -> tuple:
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
    staged_now, billed, effective = load_tables.count_and_totals(conn, load_seq)
    if staged_now != staged:
        raise PublishError(f"{load_id}: expected {staged} staged rows (chunk records), got "
                           f"{staged_now} in its load table; reload the chunks")
    return int(rows_in), int(staged), int(quarantined), billed, effective


def _retire_older_loads(conn: psycopg.Connection, sv: SliceVersion) -> None:
    """Loads of the slice still `loading` with an older version can never publish now (they
    would be `stale` at their publish): mark them so and drop their tables, instead of
    keeping an abandoned delivery's rows on disk. A run of one still persisting waits for
    this transaction, then finds it stale and skips."""
    for (seq,) in conn.execute(
            "UPDATE billing.ledger SET state = 'stale' WHERE provider = %s AND "
            "billing_account = %s AND billing_period = %s AND state = 'loading' AND "
            "version_at < %s RETURNING load_seq", (*sv.slice_key, sv.version_at)).fetchall():
        load_tables.drop(conn, seq)


def publish(conn: psycopg.Connection, sv: SliceVersion) -> PublishResult:
    load_id = sv.load_id
    with conn.transaction():
        slice_lock(conn, sv)
        row = conn.execute("SELECT state, chunks_expected, load_seq FROM billing.ledger "
                           "WHERE load_id = %s FOR UPDATE", (load_id,)).fetchone()
        if row is None:
            raise PublishError(f"no ledger row for {load_id}; expected the plan task to "
                               f"begin the load first")
        state, chunks_expected, load_seq = row
        if state in ("published", "superseded", "stale"):
            return PublishResult("already_published" if state == "published" else state,
                                 load_id)
        current = published_version(conn, sv.slice_key)
        if current and current["version_at"] > sv.version_at:
            conn.execute("UPDATE billing.ledger SET state = 'stale' WHERE load_id = %s",
                         (load_id,))
            load_tables.drop(conn, load_seq)
            return PublishResult("stale", load_id, replaced_version=current["version"])
        rows_in, staged, quarantined, billed, effective = _verify_chunks(
            conn, load_id, load_seq, chunks_expected)
        try:
            load_tables.index(conn, load_seq)
        except load_tables.DuplicateKeyError as exc:
            raise PublishError(f"{load_id}: {exc}; nothing changed") from exc
        load_tables.swap_in(conn, load_seq, current["load_seq"] if current else None)
        _retire_older_loads(conn, sv)
        if current:
            conn.execute("UPDATE billing.ledger SET state = 'superseded', superseded_at = now() "
                         "WHERE load_id = %s", (current["load_id"],))
        conn.execute(
            "UPDATE billing.ledger SET state = 'published', published_at = now(), rows_in = %s, "
            " rows_published = %s, rows_quarantined = %s, billed_cost = %s, effective_cost = %s "
            "WHERE load_id = %s", (rows_in, staged, quarantined, billed, effective, load_id))
    return PublishResult("published", load_id, rows_in, staged, quarantined, billed,
                         current["version"] if current else None)
