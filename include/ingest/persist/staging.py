"""Load one chunk into staging, exactly once (DESIGN.md §4).

`load_chunk` runs in one transaction under a per-(load, chunk) advisory lock: delete the
chunk's staged and quarantined rows, COPY the new ones, check rows in = staged +
quarantined, record the chunk in `billing.chunk_loads`. A retried, duplicated or concurrent
load of the same chunk therefore leaves exactly one copy of its rows.
"""
from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from include.ingest.billing.focus import SCHEMA
from include.ingest.billing.normalize.context import QuarantinedRow
from include.ingest.persist.columns import SQL_COLUMNS
from include.ingest.persist.db import advisory_key
from include.ingest.persist.ledger import SliceVersion

COPY_STAGING = (f"COPY billing.staging_line_items (x_load_id, {', '.join(SQL_COLUMNS)}) "
                "FROM STDIN WITH (FORMAT csv)")
COPY_QUARANTINE = ("COPY billing.quarantine (load_id, chunk_id, provider, billing_account, "
                   "billing_period, version, source_file, row_ordinal, source_line, reason, raw) "
                   "FROM STDIN")


class ChunkLoadError(RuntimeError):
    """A chunk's rows do not add up or do not fit the schema; nothing was committed."""


@dataclass
class ChunkRows:
    """What normalize produced for one chunk; batches and quarantine are streamed."""

    chunk_id: str
    rows_in: int
    batches: Iterable[pa.RecordBatch]
    quarantined: Iterable[QuarantinedRow] = field(default_factory=list)
    source_file: str | None = None
    normalized_file: str | None = None


@dataclass(frozen=True)
class ChunkLoadResult:
    status: str  # loaded | skipped (slice version no longer loading)
    rows_in: int
    rows_staged: int
    rows_quarantined: int
    billed_cost: Decimal


def _csv_bytes(batch: pa.RecordBatch, load_id: str) -> bytes:
    if batch.schema.names != SCHEMA.names:
        raise ChunkLoadError(f"expected batch columns in FOCUS SCHEMA order, got "
                             f"{batch.schema.names[:5]}…; normalize must emit focus.SCHEMA")
    table = pa.Table.from_batches([batch]).add_column(
        0, "x_load_id", pa.array([load_id] * batch.num_rows, pa.string()))
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
    return buffer.getvalue()


def load_chunk(conn: psycopg.Connection, sv: SliceVersion, chunk: ChunkRows) -> ChunkLoadResult:
    load_id = sv.load_id
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("chunk", load_id,
                                                                       chunk.chunk_id),))
        state = conn.execute("SELECT state FROM billing.ledger WHERE load_id = %s FOR SHARE",
                             (load_id,)).fetchone()
        if state is None:
            raise ChunkLoadError(f"no ledger row for load {load_id}; expected begin_load() "
                                 f"before loading chunks (the plan task does it)")
        if state[0] != "loading":
            return ChunkLoadResult("skipped", chunk.rows_in, 0, 0, Decimal(0))
        conn.execute("DELETE FROM billing.staging_line_items WHERE x_load_id = %s AND "
                     "x_chunk_id = %s", (load_id, chunk.chunk_id))
        conn.execute("DELETE FROM billing.quarantine WHERE load_id = %s AND chunk_id = %s",
                     (load_id, chunk.chunk_id))
        with conn.cursor().copy(COPY_STAGING) as copy:
            for batch in chunk.batches:
                if batch.num_rows:
                    copy.write(_csv_bytes(batch, load_id))
        quarantined = 0
        with conn.cursor().copy(COPY_QUARANTINE) as copy:
            for row in chunk.quarantined:
                raw = row.raw if isinstance(row.raw, str) else json.dumps(row.raw, default=str)
                copy.write_row((load_id, chunk.chunk_id, sv.provider, sv.billing_account,
                                sv.billing_period, sv.version, chunk.source_file,
                                row.row_ordinal, row.line_number, row.reason, raw))
                quarantined += 1
        staged, billed, wrong_chunk = conn.execute(
            "SELECT count(*), coalesce(sum(billed_cost), 0), "
            "count(*) FILTER (WHERE x_chunk_id <> %s OR x_billing_period <> %s) "
            "FROM billing.staging_line_items WHERE x_load_id = %s AND x_chunk_id = %s",
            (chunk.chunk_id, sv.billing_period, load_id, chunk.chunk_id)).fetchone()
        if staged + quarantined != chunk.rows_in or wrong_chunk:
            raise ChunkLoadError(
                f"chunk {chunk.chunk_id} of {load_id}: expected rows in = staged + "
                f"quarantined ({chunk.rows_in}), got {staged} + {quarantined}"
                + (f" and {wrong_chunk} rows of another chunk/period" if wrong_chunk else "")
                + "; the normalized file is incomplete — re-run normalize for this chunk")
        conn.execute(
            "INSERT INTO billing.chunk_loads (load_id, chunk_id, rows_in, rows_staged, "
            " rows_quarantined, billed_cost, source_file, normalized_file) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (load_id, chunk_id) DO UPDATE "
            "SET rows_in = EXCLUDED.rows_in, rows_staged = EXCLUDED.rows_staged, "
            " rows_quarantined = EXCLUDED.rows_quarantined, billed_cost = EXCLUDED.billed_cost, "
            " source_file = EXCLUDED.source_file, normalized_file = EXCLUDED.normalized_file, "
            " loaded_at = now()",
            (load_id, chunk.chunk_id, chunk.rows_in, staged, quarantined, billed,
             chunk.source_file, chunk.normalized_file))
    return ChunkLoadResult("loaded", chunk.rows_in, staged, quarantined, billed)
