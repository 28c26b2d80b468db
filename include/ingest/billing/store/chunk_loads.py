"""Load one chunk into its load's table, exactly once (docs/architecture.md §4).

`load_chunk` runs in one transaction under a per-(load, chunk) advisory lock: delete the
chunk's rows if an earlier attempt committed them, binary-COPY the new ones into
`billing.line_items_load_<seq>` (see load_tables), check rows in = stored + quarantined,
record the chunk in `billing.chunk_loads`. A retried, duplicated or concurrent load of the
same chunk therefore leaves exactly one copy of its rows.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from include.ingest.billing.focus import SCHEMA
from include.ingest.billing.normalize.context import QuarantinedRow
from include.ingest.billing.store import load_tables
from include.ingest.persist.db import advisory_key
from include.ingest.billing.store.ledger import SliceVersion

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


class _Checked:
    """The chunk's batches, passed through as they are read: a wrong schema is refused, and
    rows of another chunk or period are counted in `foreign` (a normalized file must hold
    its own chunk's rows only)."""

    def __init__(self, batches: Iterable[pa.RecordBatch], chunk_id: str, period: str):
        self._batches, self._chunk_id, self._period = batches, chunk_id, period
        self.foreign = 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self._batches:
            if batch.schema.names != SCHEMA.names:
                raise ChunkLoadError(f"expected batch columns in FOCUS SCHEMA order, got "
                                     f"{batch.schema.names[:5]}…; normalize must emit focus.SCHEMA")
            other = pc.or_(pc.not_equal(batch.column("x_chunk_id"), self._chunk_id),
                           pc.not_equal(batch.column("x_billing_period"), self._period))
            self.foreign += pc.sum(pc.fill_null(other, True).cast(pa.int64())).as_py() or 0
            yield batch


def load_chunk(conn: psycopg.Connection, sv: SliceVersion, chunk: ChunkRows) -> ChunkLoadResult:
    load_id = sv.load_id
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("chunk", load_id,
                                                                       chunk.chunk_id),))
        state = conn.execute("SELECT state, load_seq FROM billing.ledger WHERE load_id = %s "
                             "FOR SHARE", (load_id,)).fetchone()
        if state is None:
            raise ChunkLoadError(f"no ledger row for load {load_id}; expected begin_load() "
                                 f"before loading chunks (the plan task does it)")
        if state[0] != "loading":
            return ChunkLoadResult("skipped", chunk.rows_in, 0, 0, Decimal(0))
        seq = state[1]
        # rows of a chunk exist only if its transaction committed, which also wrote its
        # chunk_loads row: only then is there anything to delete (no scan on first loads)
        if conn.execute("SELECT 1 FROM billing.chunk_loads WHERE load_id = %s AND chunk_id = %s",
                        (load_id, chunk.chunk_id)).fetchone():
            load_tables.delete_chunk(conn, seq, chunk.chunk_id)
        conn.execute("DELETE FROM billing.quarantine WHERE load_id = %s AND chunk_id = %s",
                     (load_id, chunk.chunk_id))
        checked = _Checked(chunk.batches, chunk.chunk_id, sv.billing_period)
        staged, billed = load_tables.copy_rows(conn, seq, SCHEMA, checked)
        wrong_chunk = checked.foreign
        quarantined = 0
        with conn.cursor().copy(COPY_QUARANTINE) as copy:
            for row in chunk.quarantined:
                raw = row.raw if isinstance(row.raw, str) else json.dumps(row.raw, default=str)
                copy.write_row((load_id, chunk.chunk_id, sv.provider, sv.billing_account,
                                sv.billing_period, sv.version, chunk.source_file,
                                row.row_ordinal, row.line_number, row.reason, raw))
                quarantined += 1
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
