"""Dead-letter queue of chunks that failed for good (docs/architecture.md §4).

The finalizer of a DAG run records each failed chunk with its descriptor (enough to re-run
it: slice version, chunk id, landing paths — never data), the error and the attempts. A
replay sets `replaying`, and the entry is `resolved` once the chunk loaded. Recording the
same chunk again (another failed run) bumps `attempts` instead of adding a row.
"""
from __future__ import annotations

import json

import psycopg


def record_failure(conn: psycopg.Connection, dag_id: str, task_id: str, chunk_key: str,
                   descriptor: dict, error: str, attempts: int, dag_run_id: str | None) -> int:
    with conn.transaction():
        return conn.execute(
            "INSERT INTO billing.dlq (dag_id, task_id, chunk_key, descriptor, error, attempts, "
            " dag_run_id) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (dag_id, task_id, chunk_key) DO UPDATE SET "
            " descriptor = EXCLUDED.descriptor, error = EXCLUDED.error, "
            " attempts = dlq.attempts + EXCLUDED.attempts, dag_run_id = EXCLUDED.dag_run_id, "
            " last_failed_at = now(), state = 'open', resolved_at = NULL, resolution = NULL "
            "RETURNING id",
            (dag_id, task_id, chunk_key, json.dumps(descriptor), error[:4000], attempts,
             dag_run_id)).fetchone()[0]


def open_entries(conn: psycopg.Connection, dag_id: str | None = None,
                 ids: list[int] | None = None) -> list[dict]:
    cur = conn.execute(
        "SELECT id, dag_id, task_id, chunk_key, descriptor, error, attempts, state "
        "FROM billing.dlq WHERE state IN ('open', 'replaying') "
        "AND (%(dag)s::text IS NULL OR dag_id = %(dag)s) "
        "AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s)) ORDER BY id",
        {"dag": dag_id, "ids": ids})
    names = [c.name for c in cur.description]
    rows = [dict(zip(names, row)) for row in cur.fetchall()]
    conn.commit()
    return rows


def set_state(conn: psycopg.Connection, entry_id: int, state: str,
              resolution: str | None = None) -> None:
    with conn.transaction():
        conn.execute("UPDATE billing.dlq SET state = %s, resolution = %s, "
                     "resolved_at = CASE WHEN %s = 'resolved' THEN now() END WHERE id = %s",
                     (state, resolution, state, entry_id))


def resolve_loaded(conn: psycopg.Connection, load_id: str, how: str) -> int:
    """Resolve open entries of chunks of `load_id` (chunk_key "<load id>:<chunk id>") that
    are now loaded — called after a successful publish, which verified every chunk."""
    with conn.transaction():
        return conn.execute(
            "UPDATE billing.dlq SET state = 'resolved', resolved_at = now(), resolution = %s "
            "WHERE state <> 'resolved' AND chunk_key LIKE %s AND EXISTS (SELECT 1 FROM "
            "billing.chunk_loads c WHERE c.load_id = %s AND "
            "%s || ':' || c.chunk_id = billing.dlq.chunk_key)",
            (how, load_id.replace("%", r"\%").replace("_", r"\_") + ":%", load_id,
             load_id)).rowcount
