"""Batch bookkeeping around the store: register planned batches, record failures, sum up
a run, mark a batch synced (the Bloom filter's rebuild is in screen.py).

Batch ids are derived from the run id and the batch number, so re-running the plan task
(a retry, a cleared task) registers the same batches again without duplicates. A run id
reused for a different file (or batch size) is refused: its batch ids already name the
first file's batches (`store.check_same_source`).
"""
from __future__ import annotations

import hashlib
import json

import psycopg

# the filter's rebuild lives with the rest of its bookkeeping (screen.py); tasks and the
# benchmark reach it here, with the other plan-time steps
from include.ingest.catalog.screen import ensure_bloom_ready, rebuild_bloom  # noqa: F401
from include.ingest.catalog.store import COUNT_COLUMNS, StoreError, check_same_source


def batch_id(run_id: str, batch_no: int) -> str:
    return f"{hashlib.sha256(run_id.encode()).hexdigest()[:12]}-{batch_no:04d}"


def register(conn: psycopg.Connection, descriptors: list[dict]) -> None:
    """Insert planned batches as `staged` (existing ones are left as they are). Raises
    StoreError, registering nothing, when an existing batch of the same id was planned
    from another file or byte range."""
    with conn.transaction():
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO catalog.batches (batch_id, run_id, batch_no, source, "
                " source_sha256, format, byte_start, byte_end, first_ordinal, records_planned, "
                " overlay_policy, descriptor) "
                "VALUES (%(batch_id)s, %(run_id)s, %(batch_no)s, %(source)s, %(sha256)s, "
                " %(format)s, %(start)s, %(end)s, %(first_ordinal)s, %(records)s, %(policy)s, "
                " %(descriptor)s) ON CONFLICT (batch_id) DO NOTHING",
                [{**d, "descriptor": json.dumps(d)} for d in descriptors])
        stored = {batch_id: rest for batch_id, *rest in conn.execute(
            "SELECT batch_id, source_sha256, byte_start, byte_end FROM catalog.batches "
            "WHERE batch_id = ANY(%s)", ([d["batch_id"] for d in descriptors],))}
        for d in descriptors:
            check_same_source(d, stored[d["batch_id"]])


def record_failure(conn: psycopg.Connection, batch_id: str, error: str) -> None:
    """Note a failed attempt on a batch (its own transaction: the batch's rolled back)."""
    with conn.transaction():
        conn.execute("UPDATE catalog.batches SET attempts = attempts + 1, last_error = %s "
                     "WHERE batch_id = %s", (error[:4000], batch_id))


def run_summary(conn: psycopg.Connection, run_id: str) -> dict:
    """Counts over every batch of a run, and the batches that are not committed."""
    rows = conn.execute(
        f"SELECT batch_id, state, records_planned, records_in, {', '.join(COUNT_COLUMNS)}, "
        f" lossy, last_error FROM catalog.batches WHERE run_id = %s ORDER BY batch_no",
        (run_id,)).fetchall()
    totals = {c: sum(r[4 + i] or 0 for r in rows) for i, c in enumerate(COUNT_COLUMNS)}
    return {"run_id": run_id, "batches": len(rows),
            "records_planned": sum(r[2] for r in rows),
            "records_in": sum(r[3] or 0 for r in rows), **totals,
            "dlq": totals["errors"],
            # stored with text their conversion could not recover (record_results.lossy)
            "lossy": sum(r[-2] or 0 for r in rows),
            "not_committed": [{"batch_id": r[0], "state": r[1], "last_error": r[-1]}
                              for r in rows if r[1] == "staged"]}


def mark_synced(conn: psycopg.Connection, batch_id: str) -> None:
    """committed → synced (called once the ILS has the batch's records)."""
    with conn.transaction():
        state = conn.execute("UPDATE catalog.batches SET state = 'synced', synced_at = now() "
                             "WHERE batch_id = %s AND state IN ('committed', 'synced') "
                             "RETURNING state", (batch_id,)).fetchone()
        if state is None:
            raise StoreError(f"batch {batch_id}: expected state committed to mark it synced; "
                             f"it is missing, staged or rolled back")
