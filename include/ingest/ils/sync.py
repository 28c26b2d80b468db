"""Sync one committed catalog batch to the ILS: instances, then holdings, then items (each
refers to the one before), and mark the batch `synced` when the ILS holds all of it.

Idempotent: a second run, a task retry or a resumed interrupted run sends only what the
ILS does not hold yet (push.py, sync_state.py). Two runs of one batch never interleave: a
session advisory lock per batch, taken without waiting — the second one is told to retry.
"""
from __future__ import annotations

import logging

import psycopg

from include.ingest.catalog.batches import mark_synced
from include.ingest.http.exceptions import PermanentError, TransientError
from include.ingest.ils.client import FolioClient
from include.ingest.ils.mapping import MappingConfig
from include.ingest.ils.push import PushStats, Pusher
from include.ingest.ils.source import batch_record_ids, wanted
from include.ingest.persist.db import advisory_key

log = logging.getLogger(__name__)
ORDER = ("instances", "holdings", "items")


def unsynced_batches(conn: psycopg.Connection) -> list[str]:
    """Committed batches whose records the ILS does not have yet, oldest commit first."""
    rows = conn.execute("SELECT batch_id FROM catalog.batches WHERE state = 'committed' "
                        "ORDER BY committed_at, batch_id").fetchall()
    conn.commit()
    return [r[0] for r in rows]


def _check_state(conn: psycopg.Connection, batch_id: str) -> str:
    row = conn.execute("SELECT state FROM catalog.batches WHERE batch_id = %s", (batch_id,)).fetchone()
    conn.commit()
    if row is None or row[0] not in ("committed", "synced"):
        raise PermanentError(f"batch {batch_id}: expected a committed catalog batch, got "
                             f"{'no such batch' if row is None else 'state ' + row[0]}; sync "
                             f"batches the catalog_ingest DAG committed")
    return row[0]


def sync_batch(conn: psycopg.Connection, client: FolioClient, batch_id: str,
               cfg: MappingConfig, batch_size: int) -> dict:
    """Push the batch's records; returns per-kind counts and the mapping's problems."""
    was = _check_state(conn, batch_id)
    key = advisory_key("ils-sync", batch_id)
    if not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
        conn.commit()
        raise TransientError(f"batch {batch_id}: another run is syncing it now; expected the "
                             f"lock free, got it held — this attempt retries later")
    conn.commit()
    try:
        want = wanted(conn, batch_record_ids(conn, batch_id), cfg)
        pusher = Pusher(client, conn, batch_id, batch_size)
        totals, result = PushStats(), {"batch_id": batch_id, "was": was, "records": want.records}
        for kind in ORDER:
            stats = pusher.push(getattr(want, kind))
            totals.add(stats)
            result[kind] = stats.to_json()
        result["problems"] = want.problems[:50]
        result["problem_count"] = len(want.problems)
        if not totals.refused:
            mark_synced(conn, batch_id)
        result["synced"] = not totals.refused
        log.info("ILS sync of batch %s: %s", batch_id, {k: result[k] for k in ORDER})
        return result
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        conn.commit()
