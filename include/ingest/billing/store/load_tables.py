"""Per-load tables: the rows of one slice-version load, written once (migration 0006).

While a load is `loading`, its chunks are COPYed into `billing.line_items_load_<load_seq>`
(a plain table, not yet visible in `billing.line_items`). Publish indexes it and attaches it
as the load's partition of `billing.line_items`, detaching and dropping the partition of the
version it replaces — so a row is written once, not staged and then copied again.

Rows go in through binary COPY encoded from Arrow (pgpq): no text formatting on our side and
no text parsing of NUMERIC and timestamptz on the server's. pgpq takes decimal128 only, so
each batch's decimals are narrowed exactly first (decimal_narrowing); a batch whose decimals
fit no decimal128 goes in through a text (CSV) COPY of its own, digit for digit.
"""
from __future__ import annotations

import io
import queue
import select
import threading
from contextlib import ExitStack
from collections.abc import Iterable
from decimal import Decimal, localcontext

import pgpq
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from pgpq import encoders, schema as pg_schema
from psycopg import sql
from psycopg.copy import LibpqWriter, Writer

from include.ingest.billing.decimal_ops import EXACT
from include.ingest.billing.store.columns import SQL_COLUMNS
from include.ingest.billing.store.decimal_narrowing import narrow_batch

COPY_COLUMNS = sql.SQL(", ").join(map(sql.Identifier, SQL_COLUMNS))
# the parent's partitioned indexes (migration 0006); a partition must have each to attach
INDEXES = (("uniq", "UNIQUE", "x_load_seq, x_idempotency_key"),
           ("slice", "", "x_provider, x_billing_account, x_billing_period"),
           ("charge_period", "", "charge_period_start"))
INDEX_SORT_MEMORY = "512MB"  # per publish, for the length of its transaction
# a long reader of billing.line_items delays a publish this long at most: shorter than the
# session's db.LOCK_TIMEOUT, since every new reader queues behind the waiting ACCESS EXCLUSIVE
LOCK_TIMEOUT = "60s"
SEND_BLOCK = 128 << 10  # bytes per libpq call (psycopg's own limit, so libpq never chokes)
SEND_QUEUE_BLOCKS = 256  # of ≤ SEND_BLOCK each: ≤ 32 MiB waiting for the server per COPY


class DuplicateKeyError(RuntimeError):
    """Two rows of one load share an idempotency key; nothing was published."""


def table(load_seq: int) -> sql.Identifier:
    return sql.Identifier("billing", f"line_items_load_{int(load_seq)}")


def create(conn: psycopg.Connection, load_seq: int) -> None:
    """Create the load's table (idempotent). Its CHECK lets ATTACH skip a validation scan."""
    conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (LIKE billing.line_items INCLUDING "
                         "DEFAULTS INCLUDING CONSTRAINTS, CHECK (x_load_seq = {}))")
                 .format(table(load_seq), sql.Literal(int(load_seq))))
    conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN x_load_seq SET DEFAULT {}")
                 .format(table(load_seq), sql.Literal(int(load_seq))))


def drop(conn: psycopg.Connection, load_seq: int) -> None:
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table(load_seq)))


def encoder(schema: pa.Schema) -> pgpq.ArrowToPostgresBinaryEncoder:
    # Tags is JSON text in Arrow and jsonb in PostgreSQL: its binary form needs a version byte
    builders = {f.name: (encoders.StringEncoderBuilder.new_with_output(f, pg_schema.Jsonb())
                         if f.name == "Tags" else
                         pgpq.ArrowToPostgresBinaryEncoder.infer_encoder(f)) for f in schema}
    return pgpq.ArrowToPostgresBinaryEncoder.new_with_encoders(schema, builders)


class SendingThread(Writer):
    """A COPY writer (psycopg's documented `Writer` protocol) that sends from a thread of its
    own while the caller reads and encodes the next batch, so the server is never left
    waiting; the bytes go out through psycopg's `LibpqWriter`. Its queue is bounded
    (`max_blocks` of ≤ SEND_BLOCK bytes): the server is the slow side, so an unbounded one
    would grow with the chunk. After each block the sender waits until libpq has handed it
    to the socket (`PGconn.flush`): on Linux psycopg does not flush, and libpq then keeps
    whatever the server has not read yet in a buffer of its own that grows without limit.
    `write` blocks while the queue is full, and raises the sender's error, if any; `finish`
    waits for every block to be sent, then ends the COPY."""

    def __init__(self, cursor: psycopg.Cursor, max_blocks: int = SEND_QUEUE_BLOCKS):
        self._libpq = LibpqWriter(cursor)
        self._pgconn = cursor.connection.pgconn
        self._blocks: queue.Queue = queue.Queue(maxsize=max_blocks)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None  # started by the first write

    def _send(self) -> None:
        try:
            writable = select.poll()
            writable.register(self._pgconn.socket, select.POLLOUT)
            while block := self._blocks.get():
                self._libpq.write(block)
                while self._pgconn.flush():  # 1: the socket took part of it; wait, send more
                    writable.poll()
        except BaseException as exc:  # handed to the caller's thread by write / finish
            self._error = exc
            while self._blocks.get():  # drain until finish: a full queue must not block write
                pass

    def write(self, data) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._send, name="copy-sender", daemon=True)
            self._thread.start()
        for start in range(0, len(data), SEND_BLOCK):
            if self._error is not None:
                raise self._error
            self._blocks.put(data if len(data) <= SEND_BLOCK else data[start:start + SEND_BLOCK])

    def finish(self, exc: BaseException | None = None) -> None:
        if self._thread is not None:
            self._blocks.put(b"")  # the end: the sender stops after the last block
            self._thread.join()
        if self._error is None:
            self._libpq.finish(exc)  # the server's verdict on the rows, if any, is raised here
            return
        try:
            self._libpq.finish(exc or self._error)  # ends the COPY as failed
        finally:
            if exc is None:
                raise self._error  # the caller's own error, if any, stays the one raised


class _Copier:
    """The COPYs of one `copy_rows` call: batches that narrow to decimal128 share a binary
    COPY (one pgpq encoder per narrowed schema -- every encoder writes the same header and
    bare tuples, so their output joins into one stream); a batch that does not narrow ends
    that COPY and goes in through a CSV COPY of its own. All in the caller's transaction."""

    def __init__(self, cur: psycopg.Cursor, load_seq: int):
        self._cur, self._load_seq, self.stored = cur, load_seq, 0
        self._copy, self._encoders, self._open = None, {}, ExitStack()

    def __enter__(self) -> "_Copier":
        return self

    def __exit__(self, *exc_info) -> None:
        # on an error mid-COPY, psycopg ends the open COPY as failed; the caller rolls back
        self._open.__exit__(*exc_info)

    def _statement(self, options: str) -> sql.Composed:
        return sql.SQL("COPY {} ({}) FROM STDIN ({})").format(table(self._load_seq),
                                                             COPY_COLUMNS, sql.SQL(options))

    def binary(self, batch: pa.RecordBatch) -> None:
        if self._copy is None:
            self._copy = self._open.enter_context(self._cur.copy(
                self._statement("FORMAT binary"), writer=SendingThread(self._cur)))
        encoder_ = self._encoders.get(batch.schema)
        if encoder_ is None:
            encoder_ = self._encoders[batch.schema] = encoder(batch.schema)
            header = encoder_.write_header()
            if len(self._encoders) == 1:
                self._copy.write(header)
        self._copy.write(encoder_.write_batch(batch))

    def text(self, batch: pa.RecordBatch) -> None:
        self.close()
        data = io.BytesIO()
        # strings are quoted and NULLs left empty: COPY CSV reads "" as '' and nothing as NULL
        pa_csv.write_csv(batch, data, pa_csv.WriteOptions(include_header=False))
        with self._cur.copy(self._statement("FORMAT csv")) as copy:
            copy.write(data.getvalue())
        self.stored += self._cur.rowcount

    def close(self) -> None:
        if self._copy is None:
            return
        copy, self._copy = self._copy, None
        copy.write(next(iter(self._encoders.values())).finish())
        self._encoders = {}
        self._open.close()  # ends the COPY: the server's error, if any, is raised here
        self.stored += self._cur.rowcount


def copy_rows(conn: psycopg.Connection, load_seq: int, schema: pa.Schema,
              batches: Iterable[pa.RecordBatch]) -> tuple[int, Decimal]:
    """COPY `batches` (all of `schema`, which must match SQL_COLUMNS in order) into the
    load's table, every decimal digit for digit; return (rows the server stored, Σ
    BilledCost sent). A failing COPY raises and leaves the transaction to roll back."""
    billed = Decimal(0)
    with conn.cursor() as cur, _Copier(cur, load_seq) as copier:
        for batch in batches:
            if not batch.num_rows:
                continue
            narrowed = narrow_batch(batch)
            if narrowed is None:
                copier.text(batch)
            else:
                copier.binary(narrowed)
            with localcontext(EXACT):  # the default 28 digits would round a 76-digit sum
                billed += pc.sum(batch.column("BilledCost")).as_py() or Decimal(0)
        copier.close()
        return copier.stored, billed


def delete_chunk(conn: psycopg.Connection, load_seq: int, chunk_id: str) -> int:
    return conn.execute(sql.SQL("DELETE FROM {} WHERE x_chunk_id = %s").format(table(load_seq)),
                        (chunk_id,)).rowcount


def count_and_totals(conn: psycopg.Connection, load_seq: int) -> tuple[int, Decimal, Decimal]:
    return conn.execute(sql.SQL("SELECT count(*), coalesce(sum(billed_cost), 0), "
                                "coalesce(sum(effective_cost), 0) FROM {}")
                        .format(table(load_seq))).fetchone()


def index(conn: psycopg.Connection, load_seq: int) -> None:
    """Build the partition indexes (a sort each: far cheaper than row-by-row maintenance)."""
    # sorts of a 1M-row load spill at the 64 MB default; 512 MB measured ~15 % faster
    conn.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_SORT_MEMORY}'")
    for suffix, unique, columns in INDEXES:
        try:
            conn.execute(sql.SQL("CREATE {} INDEX IF NOT EXISTS {} ON {} ({})").format(
                sql.SQL(unique), sql.Identifier(f"line_items_load_{int(load_seq)}_{suffix}"),
                table(load_seq), sql.SQL(columns)))
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateKeyError(f"load {load_seq}: expected one row per idempotency key, "
                                    f"got duplicates ({exc.diag.message_detail}); the "
                                    f"normalized files repeat rows — re-run normalize") from exc


def swap_in(conn: psycopg.Connection, load_seq: int, replaced_seq: int | None) -> None:
    """Make the load's rows the slice's rows: detach + drop the replaced version's partition,
    attach this one. Call inside the publish transaction, after `index`: readers see the old
    or the new version, never both, and are blocked only for this short step."""
    conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    conn.execute("LOCK TABLE billing.line_items IN ACCESS EXCLUSIVE MODE")
    if replaced_seq is not None:
        conn.execute(sql.SQL("ALTER TABLE billing.line_items DETACH PARTITION {}")
                     .format(table(replaced_seq)))
        drop(conn, replaced_seq)
    conn.execute(sql.SQL("ALTER TABLE billing.line_items ATTACH PARTITION {} FOR VALUES IN ({})")
                 .format(table(load_seq), sql.Literal(int(load_seq))))
    # back to the session's own limit (db.LOCK_TIMEOUT), not 0 = wait for ever
    conn.execute("SET LOCAL lock_timeout TO DEFAULT")
