"""Migration 0006 on a warehouse that already holds data: published rows become their load's
partition, staged rows of a loading load its load table (and it still publishes), and rows
that belong to no published load stop the migration with a message, changing nothing."""
import hashlib
import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from include.ingest.billing.store import load_tables
from include.ingest.billing.store.decimal_narrowing import narrow_batch
from include.ingest.persist.migrate import MigrationError, migrate, migration_files
from include.ingest.billing.store.publish import publish
from include.ingest.billing.store.ledger import begin_load

from tests.integration.billing.store.rows import batches, slice_version

BEFORE = [p for p in migration_files() if p.name < "0006"]


@pytest.fixture
def old_warehouse(postgres_admin_url):
    """A database migrated up to 0005 only: the schema before per-load tables."""
    name = f"test_m6_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{postgres_admin_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE public.ingest_migrations (name text PRIMARY KEY, checksum "
                     "text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        for path in BEFORE:
            conn.execute(path.read_text())
            conn.execute("INSERT INTO public.ingest_migrations (name, checksum) VALUES (%s, %s)",
                         (path.name, hashlib.sha256(path.read_text().encode()).hexdigest()))
    try:
        yield url
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _copy(conn, table: str, sv, chunk_id: str, costs: list[str]) -> None:
    rows = [narrow_batch(b) for b in batches(sv, chunk_id, costs)]  # pgpq takes decimal128
    encoder = load_tables.encoder(rows[0].schema)
    with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
            sql.Identifier(*table.split(".")), load_tables.COPY_COLUMNS)) as copy:
        copy.write(encoder.write_header())
        for batch in rows:
            copy.write(encoder.write_batch(batch))
        copy.write(encoder.finish())


def _ledger(conn, sv, state: str, rows: int = 0) -> None:
    conn.execute("INSERT INTO billing.ledger (load_id, provider, billing_account, billing_period, "
                 "version, version_at, state, chunks_expected) VALUES (%s, %s, %s, %s, %s, %s, "
                 "%s, 1)", (sv.load_id, *sv.slice_key, sv.version, sv.version_at, state))
    if state == "loading":
        conn.execute("INSERT INTO billing.chunk_loads (load_id, chunk_id, rows_in, rows_staged, "
                     "rows_quarantined, billed_cost) VALUES (%s, 'c0', %s, %s, 0, 0)",
                     (sv.load_id, rows, rows))


def test_existing_rows_move_into_partitions_and_a_staged_load_still_publishes(old_warehouse):
    published, loading = slice_version("A", at_day=3), slice_version("B", at_day=5)
    other = slice_version("A", account="999988887777")
    with psycopg.connect(old_warehouse) as conn:
        _ledger(conn, published, "published")
        _ledger(conn, other, "published")
        _ledger(conn, loading, "loading", rows=2)
        _copy(conn, "billing.line_items", published, "c0", ["1.5", "2.25", "3"])
        _copy(conn, "billing.line_items", other, "c0", ["10"])
        conn.execute("CREATE TEMP TABLE staged (LIKE billing.line_items)")
        _copy(conn, "staged", loading, "c0", ["7", "8.125"])
        conn.execute("INSERT INTO billing.staging_line_items SELECT %s, * FROM staged",
                     (loading.load_id,))
    assert migrate(old_warehouse)[0] == "0006_billing_load_partitions.sql"  # then any later
    with psycopg.connect(old_warehouse) as conn:
        by_load = conn.execute(
            "SELECT l.load_id, count(*), sum(i.billed_cost) FROM billing.line_items i JOIN "
            "billing.ledger l ON l.load_seq = i.x_load_seq GROUP BY 1 ORDER BY 1").fetchall()
        assert by_load == sorted([(published.load_id, 3, Decimal("6.75")),
                                  (other.load_id, 1, Decimal("10"))])
        assert conn.execute("SELECT to_regclass('billing.staging_line_items')").fetchone() == (None,)
        assert conn.execute('SELECT count(*) FROM billing.focus').fetchone() == (4,)
        result = publish(conn, loading)
        assert (result.status, result.rows_published, result.billed_cost) == \
            ("published", 2, Decimal("15.125"))
        assert conn.execute("SELECT x_version, count(*) FROM billing.line_items WHERE "
                            "x_billing_account = %s GROUP BY 1", (loading.billing_account,)
                            ).fetchall() == [("B", 2)]
        # the replaced version's partition is gone, not just detached
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'billing' AND "
                            "tablename LIKE 'line\\_items\\_load\\_%'").fetchone() == (2,)


def test_rows_of_no_published_load_stop_the_migration_and_change_nothing(old_warehouse):
    orphan = slice_version("X")
    with psycopg.connect(old_warehouse) as conn:
        _copy(conn, "billing.line_items", orphan, "c0", ["1", "2"])
    with pytest.raises(MigrationError, match=r"got 2 of 2 rows without one; move or delete them"):
        migrate(old_warehouse)
    with psycopg.connect(old_warehouse) as conn:
        assert conn.execute("SELECT count(*) FROM billing.line_items").fetchone() == (2,)
        assert conn.execute("SELECT to_regclass('billing.staging_line_items') IS NOT NULL"
                            ).fetchone() == (True,)
        assert conn.execute("SELECT max(name) FROM public.ingest_migrations").fetchone() == \
            (BEFORE[-1].name,)
        # the migration is repaired by removing the orphans, then applies
        conn.execute("DELETE FROM billing.line_items")
    assert migrate(old_warehouse)[0] == "0006_billing_load_partitions.sql"
    with psycopg.connect(old_warehouse) as conn:
        begin_load(conn, orphan, 1)  # new loads get their table
        seq = conn.execute("SELECT load_seq FROM billing.ledger").fetchone()[0]
        assert conn.execute(f"SELECT count(*) FROM billing.line_items_load_{seq}").fetchone() == (0,)
