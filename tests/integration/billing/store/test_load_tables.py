"""load_tables.copy_rows against real PostgreSQL: many batches through the sending thread
arrive whole and in order; a row the server refuses fails the COPY and stores nothing; a
server slower than the producer holds the producer back at the bounded queue."""
import threading
import time
from decimal import Decimal

import psycopg
import pyarrow as pa
import pytest

from include.ingest.billing.focus import SCHEMA
from include.ingest.billing.store import load_tables

from tests.integration.billing.store.rows import focus_rows, slice_version

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


def test_a_producer_faster_than_the_server_waits_for_the_bounded_queue(warehouse, warehouse_url):
    """The server stops reading mid-COPY (its first row waits for a lock held here): the
    sender blocks, the queue fills, and `write` waits instead of queueing the whole input;
    once the server reads again, every row arrives."""
    block = b"".join(b"x" * 1023 + b"\n" for _ in range(128))  # 128 KiB: one queued block
    blocks, gate = 512, 4_242
    warehouse.execute("CREATE TABLE copy_probe (line text)")
    warehouse.execute("CREATE FUNCTION copy_gate() RETURNS trigger LANGUAGE plpgsql AS "
                      f"$$ BEGIN PERFORM pg_advisory_xact_lock_shared({gate}); RETURN NEW; END $$")
    warehouse.execute("CREATE TRIGGER gate BEFORE INSERT ON copy_probe FOR EACH ROW "
                      "EXECUTE FUNCTION copy_gate()")
    warehouse.commit()
    written, failed = [], []

    def produce():
        try:
            with psycopg.connect(warehouse_url) as conn, conn.cursor() as cur:
                writer = load_tables.SendingThread(cur, max_blocks=4)
                with cur.copy("COPY copy_probe (line) FROM STDIN", writer=writer) as copy:
                    for _ in range(blocks):
                        copy.write(block)
                        written.append(1)
        except BaseException as exc:  # shown by the assertion below
            failed.append(exc)

    try:
        warehouse.execute("SELECT pg_advisory_lock(%s)", (gate,))
        producer = threading.Thread(target=produce)
        producer.start()
        seen, still = -1, 0
        while still < 10 and producer.is_alive():  # until writes stop for 1 s
            time.sleep(0.1)
            seen, still = len(written), still + 1 if len(written) == seen else 0
        held_back = len(written)
    finally:
        warehouse.execute("SELECT pg_advisory_unlock(%s)", (gate,))
        warehouse.commit()
    producer.join(120)
    assert not failed, failed
    assert held_back < blocks // 2, f"expected write to wait once the queue is full, got {held_back} of {blocks} written"
    assert warehouse.execute("SELECT count(*) FROM copy_probe").fetchone()[0] == blocks * 128
    warehouse.execute("DROP TABLE copy_probe")
    warehouse.execute("DROP FUNCTION copy_gate()")
    warehouse.commit()


# Real values that numeric(38,18) refused: an AWS CUR cost with 21 places, an EA amortized
# cost with 28, GCP pricing-unit quantities in float E-notation next to byte-seconds ~1e17.
LONG_COST = "0.078035218197112280184"
EA_COST = "0.0000000072922557592391990000"
TINY_QUANTITY, HUGE_QUANTITY = "1.1641532182693481E-10", "123456789012345678"


def _stored(conn) -> list[tuple]:
    return conn.execute(psycopg.sql.SQL(
        "SELECT billed_cost, effective_cost, pricing_quantity, charge_description, tags::text, "
        "charge_period_start, x_idempotency_key FROM {} ORDER BY x_row_ordinal")
        .format(load_tables.table(LOAD_SEQ))).fetchall()


def test_long_decimals_are_stored_digit_for_digit_binary_or_text(load_table):
    sv = slice_version()
    rows = focus_rows(sv, "00000", ["1.25", LONG_COST, EA_COST, "2.5", "3.75", "4.5"])
    # rows 2-3: one column mixing 1e17 and 1e-10 (44 digits): no decimal128 holds it
    for row, quantity in zip(rows, [None, None, TINY_QUANTITY, HUGE_QUANTITY, "7", None]):
        row["PricingQuantity"] = None if quantity is None else Decimal(quantity)
    batches = [pa.RecordBatch.from_pylist(rows[i:i + 2], schema=SCHEMA) for i in range(0, 6, 2)]
    stored, billed = load_tables.copy_rows(load_table, LOAD_SEQ, SCHEMA, batches)
    load_table.commit()
    assert stored == 6
    assert billed == sum(Decimal(r["BilledCost"]) for r in rows)
    got = _stored(load_table)
    assert [g[0] for g in got] == [r["BilledCost"] for r in rows]
    assert str(got[1][0]) == LONG_COST and got[2][0] == Decimal(EA_COST)
    assert [g[2] for g in got] == [r["PricingQuantity"] for r in rows]
    assert got[2][2] == Decimal(TINY_QUANTITY) and got[3][2] == Decimal(HUGE_QUANTITY)
    # the batch sent as text keeps every other column too
    assert [g[3] for g in got] == [r["ChargeDescription"] for r in rows]
    assert {g[4] for g in got} == {'{"team": "data"}'}
    assert [g[5] for g in got] == [r["ChargePeriodStart"] for r in rows]
    assert [g[6] for g in got] == [r["x_idempotency_key"] for r in rows]
    count, total, effective = load_tables.count_and_totals(load_table, LOAD_SEQ)
    assert (count, total, effective) == (6, billed, billed)
