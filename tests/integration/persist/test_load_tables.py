"""load_tables.copy_rows against real PostgreSQL: many batches through the sending thread
arrive whole and in order; a row the server refuses fails the COPY and stores nothing."""
import inspect
from decimal import Decimal

import psycopg
import pyarrow as pa
import pytest
from psycopg.copy import QueuedLibpqWriter

from include.ingest.billing.focus import SCHEMA
from include.ingest.persist import load_tables

from tests.integration.persist.rows import focus_rows, slice_version

LOAD_SEQ = 990_001  # no ledger row: these tests use the table functions alone


@pytest.fixture
def load_table(warehouse):
    load_tables.create(warehouse, LOAD_SEQ)
    warehouse.commit()
    yield warehouse
    warehouse.rollback()
    load_tables.drop(warehouse, LOAD_SEQ)
    warehouse.commit()


def test_many_batches_arrive_whole_and_summed(load_table):
    sv = slice_version()
    costs = [f"{n}.{n % 97:02d}00000001" for n in range(3_000)]
    rows = focus_rows(sv, "00000", costs)
    batches = [pa.RecordBatch.from_pylist(rows[i:i + 7], schema=SCHEMA)
               for i in range(0, len(rows), 7)]  # 429 batches: the queue turns over
    stored, billed = load_tables.copy_rows(load_table, LOAD_SEQ, SCHEMA, batches)
    load_table.commit()
    assert stored == 3_000
    assert billed == sum(Decimal(c) for c in costs)
    count, total, _ = load_tables.count_and_totals(load_table, LOAD_SEQ)
    assert (count, total) == (3_000, billed)
    keys = load_table.execute(psycopg.sql.SQL("SELECT x_idempotency_key FROM {} ORDER BY "
                                              "x_row_ordinal").format(load_tables.table(LOAD_SEQ))
                              ).fetchall()
    assert [k for (k,) in keys] == [r["x_idempotency_key"] for r in rows]


def test_a_row_the_server_refuses_fails_the_copy_and_stores_nothing(load_table):
    sv = slice_version()
    rows = focus_rows(sv, "00000", ["1.00"] * 50)
    rows[40]["ChargeDescription"] = "a\x00b"  # valid Arrow; PostgreSQL text cannot hold NUL
    batches = [pa.RecordBatch.from_pylist(rows[i:i + 10], schema=SCHEMA) for i in range(0, 50, 10)]
    with pytest.raises(psycopg.errors.CharacterNotInRepertoire):
        load_tables.copy_rows(load_table, LOAD_SEQ, SCHEMA, batches)
    load_table.rollback()
    assert load_tables.count_and_totals(load_table, LOAD_SEQ)[0] == 0


def test_the_send_queue_is_the_bounded_one():
    # the sending thread replaces psycopg's private queue; fail loudly if psycopg renames it
    assert "self._queue.put(" in inspect.getsource(QueuedLibpqWriter.write)
    assert "self._queue.get()" in inspect.getsource(QueuedLibpqWriter.worker)
