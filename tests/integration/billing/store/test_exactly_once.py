"""Chunk loads, publish and the ledger against real PostgreSQL (docs/architecture.md §4): every load runs
twice and changes nothing the second time; restatements replace, older never overwrites
newer; concurrent publishers leave one consistent version."""
import threading
from decimal import Decimal

import psycopg
import pytest

from include.ingest.billing.store.ledger import begin_load, load_state
from include.ingest.billing.store.publish import PublishError, publish
from include.ingest.billing.normalize.context import QuarantinedRow
from include.ingest.billing.store.chunk_loads import ChunkLoadError, ChunkRows, load_chunk

from tests.integration.billing.store.rows import batches, slice_version


def snapshot(conn):
    """Everything a user could see: published rows (by key), quarantine, ledger states."""
    rows = conn.execute("SELECT x_idempotency_key, billed_cost, x_version, charge_description "
                        "FROM billing.line_items ORDER BY 1").fetchall()
    quarantine = conn.execute("SELECT load_id, chunk_id, source_line, reason, raw "
                              "FROM billing.quarantine ORDER BY 1, 2, 3").fetchall()
    ledger = conn.execute("SELECT load_id, state, rows_in, rows_published, rows_quarantined, "
                          "billed_cost FROM billing.ledger ORDER BY 1").fetchall()
    conn.commit()
    return rows, quarantine, ledger


def load_slice(conn, sv, chunks: dict[str, list[str]], bad_lines=()):
    begin_load(conn, sv, chunks_expected=len(chunks))
    for chunk_id, costs in chunks.items():
        quarantined = [QuarantinedRow(f"raw,line,{line}", "BilledCost: expected a decimal, "
                                      "got 'x1'", line, 1000 + line) for line in bad_lines]
        load_chunk(conn, sv, ChunkRows(chunk_id, len(costs) + len(quarantined),
                                       batches(sv, chunk_id, costs), quarantined,
                                       source_file=f"s3://bucket/{chunk_id}.csv.gz"))


def test_chunk_and_publish_twice_change_nothing(warehouse):
    sv = slice_version("A")
    load_slice(warehouse, sv, {"c0": ["1.10", "2.000000000001"], "c1": ["-0.5"]}, bad_lines=[7])
    first = publish(warehouse, sv)
    assert (first.status, first.rows_published, first.rows_quarantined) == ("published", 3, 2)
    assert first.billed_cost == Decimal("2.600000000001")
    before = snapshot(warehouse)
    load_slice(warehouse, sv, {"c0": ["1.10", "2.000000000001"], "c1": ["-0.5"]}, bad_lines=[7])
    assert publish(warehouse, sv).status == "already_published"
    assert snapshot(warehouse) == before


def test_a_retried_chunk_replaces_its_own_rows_only(warehouse):
    sv = slice_version("A")
    begin_load(warehouse, sv, chunks_expected=2)
    for _ in range(3):  # the same chunk delivered three times (retries, redelivery)
        load_chunk(warehouse, sv, ChunkRows("c0", 2, batches(sv, "c0", ["1", "2"])))
    load_chunk(warehouse, sv, ChunkRows("c1", 1, batches(sv, "c1", ["4"])))
    result = publish(warehouse, sv)
    assert (result.rows_published, result.billed_cost) == (3, Decimal("7"))


def test_restatement_replaces_and_older_never_overwrites_newer(warehouse):
    a, b = slice_version("A", at_day=3), slice_version("B", at_day=5)
    load_slice(warehouse, a, {"c0": ["1", "2"]})
    publish(warehouse, a)
    load_slice(warehouse, b, {"c0": ["10"], "c1": ["20", "30"]})
    assert publish(warehouse, b).replaced_version == "A"
    after_b = snapshot(warehouse)
    assert {r[2] for r in after_b[0]} == {"B"} and sum(r[1] for r in after_b[0]) == 60
    # re-running A after B: its load is superseded and nothing changes
    load_slice(warehouse, a, {"c0": ["1", "2"]})
    assert publish(warehouse, a).status == "superseded"
    assert snapshot(warehouse) == after_b
    # an older delivery that never published arrives late: it is marked stale
    late = slice_version("A0", at_day=1)
    load_slice(warehouse, late, {"c0": ["999"]})
    assert publish(warehouse, late).status == "stale"
    assert snapshot(warehouse)[0] == after_b[0]
    assert load_state(warehouse, late.load_id)["state"] == "stale"


def test_publish_refuses_a_slice_with_a_missing_chunk(warehouse):
    sv = slice_version("A")
    begin_load(warehouse, sv, chunks_expected=2)
    load_chunk(warehouse, sv, ChunkRows("c0", 1, batches(sv, "c0", ["1"])))
    with pytest.raises(PublishError, match="expected 2 loaded chunks, got 1"):
        publish(warehouse, sv)
    assert snapshot(warehouse)[0] == []


def test_a_chunk_whose_rows_do_not_add_up_is_rejected_whole(warehouse):
    sv = slice_version("A")
    begin_load(warehouse, sv, chunks_expected=1)
    with pytest.raises(ChunkLoadError, match=r"expected rows in = staged \+ quarantined \(3\), got 2 \+ 0"):
        load_chunk(warehouse, sv, ChunkRows("c0", 3, batches(sv, "c0", ["1", "2"])))
    warehouse.rollback()
    seq = warehouse.execute("SELECT load_seq FROM billing.ledger WHERE load_id = %s",
                            (sv.load_id,)).fetchone()[0]
    assert warehouse.execute(f"SELECT count(*) FROM billing.line_items_load_{seq}").fetchone()[0] == 0


def test_two_simultaneous_publishers_leave_one_consistent_version(warehouse, warehouse_url):
    a, b = slice_version("A", at_day=3), slice_version("B", at_day=5)
    load_slice(warehouse, a, {"c0": ["1", "2"]})
    load_slice(warehouse, b, {"c0": ["10", "20"]})
    results, barrier = {}, threading.Barrier(4)

    def run(sv, n):
        with psycopg.connect(warehouse_url) as conn:
            barrier.wait()
            results[(sv.version, n)] = publish(conn, sv).status

    threads = [threading.Thread(target=run, args=(sv, n)) for sv in (a, b) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows, _, ledger = snapshot(warehouse)
    assert {r[2] for r in rows} == {"B"} and len(rows) == 2
    states = dict((load_id.split(":")[-1], state) for load_id, state, *_ in ledger)
    assert states["B"] == "published" and states["A"] in ("superseded", "stale")
    assert sorted(results.values()).count("published") <= 2


def test_a_duplicate_idempotency_key_refuses_the_publish_and_changes_nothing(warehouse):
    published = slice_version("A", at_day=3)
    load_slice(warehouse, published, {"c0": ["1"]})
    publish(warehouse, published)
    sv = slice_version("B", at_day=5)
    begin_load(warehouse, sv, chunks_expected=2)
    load_chunk(warehouse, sv, ChunkRows("c0", 2, batches(sv, "c0", ["1", "2"])))
    # a broken normalizer that stamps chunk c0's keys on chunk c1's rows
    twin = [b.set_column(b.schema.get_field_index("x_idempotency_key"), "x_idempotency_key",
                         batches(sv, "c0", ["3", "4"])[0].column("x_idempotency_key"))
            for b in batches(sv, "c1", ["3", "4"])]
    load_chunk(warehouse, sv, ChunkRows("c1", 2, twin))
    before = snapshot(warehouse)
    with pytest.raises(PublishError, match="expected one row per idempotency key, got duplicates"):
        publish(warehouse, sv)
    warehouse.rollback()
    assert snapshot(warehouse) == before
    assert load_state(warehouse, sv.load_id)["state"] == "loading"


def test_publishes_of_different_slices_run_together_while_readers_read(warehouse, warehouse_url):
    versions = [slice_version("A", account=f"10000000000{n}") for n in range(4)]
    for sv in versions:
        load_slice(warehouse, sv, {"c0": ["1", "2"], "c1": ["3"]})
    warehouse.commit()
    barrier, results, stop = threading.Barrier(len(versions) + 1), [], threading.Event()

    def publisher(sv):
        with psycopg.connect(warehouse_url) as conn:
            barrier.wait()
            results.append(publish(conn, sv).status)

    def reader():
        with psycopg.connect(warehouse_url, autocommit=True) as conn:
            barrier.wait()
            while not stop.is_set():  # every read sees whole slices only: 0 or 3 rows each
                counts = conn.execute("SELECT count(*) FROM billing.line_items "
                                      "GROUP BY x_billing_account").fetchall()
                assert all(c == (3,) for c in counts), counts

    threads = [threading.Thread(target=publisher, args=(sv,)) for sv in versions]
    watcher = threading.Thread(target=reader)
    for t in [*threads, watcher]:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert results == ["published"] * len(versions)
    assert warehouse.execute("SELECT count(*), sum(billed_cost) FROM billing.line_items"
                             ).fetchone() == (12, Decimal("24"))


def test_publishing_a_version_retires_older_unfinished_loads_of_the_slice(warehouse):
    older, newer, newest = (slice_version(v, at_day=d) for v, d in (("A", 3), ("B", 5), ("C", 7)))
    load_slice(warehouse, older, {"c0": ["1"], "c1": ["2"]})  # its run died before publish
    begin_load(warehouse, newest, chunks_expected=1)  # a later delivery still loading
    load_slice(warehouse, newer, {"c0": ["5"]})
    assert publish(warehouse, newer).status == "published"
    states = {r[0].split(":")[-1]: r[1] for r in snapshot(warehouse)[2]}
    assert states == {"A": "stale", "B": "published", "C": "loading"}
    tables = {r[0] for r in warehouse.execute(
        "SELECT l.version FROM billing.ledger l JOIN pg_tables t ON t.schemaname = 'billing' "
        "AND t.tablename = 'line_items_load_' || l.load_seq").fetchall()}
    assert tables == {"B", "C"}  # the abandoned delivery's rows are gone from disk
    # its late chunk and publish change nothing
    assert load_chunk(warehouse, older, ChunkRows("c0", 1, batches(older, "c0", ["1"]))).status == "skipped"
    assert publish(warehouse, older).status == "stale"
