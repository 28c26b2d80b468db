"""Catalog batches, the catalog DLQ and (once its migration exists) the ILS tables, as
plain SQL over `catalog.*` / `ils.*`."""
from __future__ import annotations

import psycopg

from include.ingest.console.db import Page, paged, table_exists


def batches(conn: psycopg.Connection, limit: int = 25, offset: int = 0,
            state: str | None = None) -> Page:
    """Catalog batches, newest first, with their counts, state and — for a rolled-back
    batch — how many records its rollback reported as conflicts (changed by a later batch)."""
    return paged(conn, "batch_id, run_id, batch_no, source, format, state, records_planned, "
                 "records_in, created, updated, unchanged, duplicate_in_file, errors, attempts, "
                 "left(last_error, 300) AS last_error, staged_at, committed_at, rolled_back_at, "
                 "CASE WHEN jsonb_typeof(rollback_report->'conflicts') = 'array' "
                 "THEN jsonb_array_length(rollback_report->'conflicts') END AS rollback_conflicts",
                 "catalog.batches WHERE (%(state)s::text IS NULL OR state = %(state)s)",
                 "staged_at DESC, batch_no DESC", {"state": state}, limit, offset)


def dlq(conn: psycopg.Connection, limit: int = 25, offset: int = 0) -> Page:
    """Records no reader could read: where they were and why (the bytes stay in the table)."""
    return paged(conn, "dlq_id, batch_id, source, source_ordinal, byte_offset, format, "
                 "left(reason, 300) AS reason, octet_length(raw) AS raw_bytes, created_at",
                 "catalog.dlq", "created_at DESC, dlq_id DESC", {}, limit, offset)


def ils_tables(conn: psycopg.Connection) -> list[dict]:
    """Every table of the `ils` schema with its row count, or [] before the ILS migration:
    the section appears by itself when the tables do. Counts are exact (the ILS tables
    are bookkeeping, not line items)."""
    names = [r["name"] for r in conn.execute(
        "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name "
        "FROM information_schema.tables WHERE table_schema = 'ils' AND table_type = 'BASE TABLE' "
        "ORDER BY table_name")]
    return [{"table": name, "rows": conn.execute(f"SELECT count(*) AS n FROM {name}").fetchone()["n"]}
            for name in names]


def ils_dlq_depth(conn: psycopg.Connection) -> int | None:
    """Open entries of `ils.dlq` when that table exists (None before the ILS migration)."""
    if not table_exists(conn, "ils.dlq"):
        return None
    columns = {r["column_name"] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'ils' "
        "AND table_name = 'dlq'")}
    where = " WHERE state = 'open'" if "state" in columns else ""
    return conn.execute(f"SELECT count(*) AS n FROM ils.dlq{where}").fetchone()["n"]
