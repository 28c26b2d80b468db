"""`ils.sync_state` (migration 0013): what the ILS holds of each identity we own.

The write protocol (push.py) around every ILS write:
1. `mark_pending` — commit the content we are about to send (`pending_sha256`);
2. send;
3. `confirm` — commit `synced_sha256` = that content, the ILS `_version`, clear pending.
A crash between 2 and 3 leaves `pending_sha256`: the next run reads those records back
and confirms the ones the ILS already holds, so nothing is sent twice.
"""
from __future__ import annotations

from dataclasses import dataclass

import psycopg

from include.ingest.ils.mapping import Doc


@dataclass(frozen=True)
class State:
    ils_id: str
    synced_sha256: str | None
    pending_sha256: str | None
    ils_version: int | None


def load(conn: psycopg.Connection, kind: str, identities: list[str]) -> dict[str, State]:
    rows = conn.execute(
        "SELECT identity, ils_id::text, synced_sha256, pending_sha256, ils_version "
        "FROM ils.sync_state WHERE kind = %s AND identity = ANY(%s)", (kind, identities)).fetchall()
    conn.commit()  # a read: leave no transaction open while the ILS is called
    return {r[0]: State(*r[1:]) for r in rows}


def mark_pending(conn: psycopg.Connection, docs: list[Doc], batch_id: str | None) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ils.sync_state (kind, identity, ils_id, record_id, batch_id, "
            " pending_sha256, pending_since, attempts) VALUES (%s, %s, %s, %s, %s, %s, now(), 1) "
            "ON CONFLICT (kind, identity) DO UPDATE SET pending_sha256 = excluded.pending_sha256, "
            " pending_since = now(), attempts = ils.sync_state.attempts + 1, "
            " batch_id = excluded.batch_id, record_id = excluded.record_id",
            [(d.kind, d.identity, d.ils_id, d.record_id, batch_id, d.sha256) for d in docs])


def confirm(conn: psycopg.Connection, confirmed: list[tuple[Doc, int]], batch_id: str | None) -> None:
    """The ILS holds these docs (at these `_version`s): they are in sync."""
    if not confirmed:
        return
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ils.sync_state (kind, identity, ils_id, record_id, batch_id, "
            " synced_sha256, ils_version, synced_at) VALUES (%s, %s, %s, %s, %s, %s, %s, now()) "
            "ON CONFLICT (kind, identity) DO UPDATE SET synced_sha256 = excluded.synced_sha256, "
            " ils_version = excluded.ils_version, synced_at = now(), pending_sha256 = NULL, "
            " pending_since = NULL, last_error = NULL, batch_id = excluded.batch_id",
            [(d.kind, d.identity, d.ils_id, d.record_id, batch_id, d.sha256, v) for d, v in confirmed])


def refuse(conn: psycopg.Connection, doc: Doc, error: str) -> None:
    """The ILS refused this doc for good (422): keep why; nothing is pending any more."""
    with conn.transaction():
        conn.execute("UPDATE ils.sync_state SET pending_sha256 = NULL, pending_since = NULL, "
                     "last_error = %s WHERE kind = %s AND identity = %s",
                     (error[:2000], doc.kind, doc.identity))
