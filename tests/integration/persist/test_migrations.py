"""The warehouse schema: applied once, guarded against edits, and equal to focus.COLUMNS."""
import psycopg
import pytest

from include.ingest.billing.focus import COLUMNS
from include.ingest.billing.store.columns import sql_name
from include.ingest.persist.migrate import MigrationError, migrate

PG_TYPE = {"String": "text", "Decimal": "numeric", "Date/Time": "timestamp with time zone",
           "JSON": "jsonb", "Integer": "bigint"}


def test_second_migrate_applies_nothing(warehouse_url):
    assert migrate(warehouse_url) == []


def test_line_items_columns_match_the_focus_schema(warehouse):
    cols = warehouse.execute(
        "SELECT column_name, data_type, is_nullable, numeric_scale FROM information_schema.columns "
        "WHERE table_schema = 'billing' AND table_name = 'line_items' "
        "ORDER BY ordinal_position").fetchall()
    expected = [(sql_name(c.name), PG_TYPE[c.type], "YES" if c.nullable else "NO",
                 {"Integer": 0}.get(c.type)) for c in COLUMNS]  # numeric: no fixed scale (0010)
    # + the partition key: the load whose table holds the row (migration 0006)
    assert cols == expected + [("x_load_seq", "bigint", "NO", 0)]


def test_focus_view_exposes_exact_focus_names(warehouse):
    cur = warehouse.execute("SELECT * FROM billing.focus LIMIT 0")
    assert [d.name for d in cur.description] == [c.name for c in COLUMNS]


def test_an_edited_applied_migration_stops_with_a_message(warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute("UPDATE public.ingest_migrations SET checksum = 'x' "
                     "WHERE name = '0001_billing.sql'")
    try:
        with pytest.raises(MigrationError, match="never edit an applied migration"):
            migrate(warehouse_url)
    finally:
        from include.ingest.persist.migrate import migration_files
        import hashlib
        real = hashlib.sha256(migration_files()[0].read_text().encode()).hexdigest()
        with psycopg.connect(warehouse_url, autocommit=True) as conn:
            conn.execute("UPDATE public.ingest_migrations SET checksum = %s "
                         "WHERE name = '0001_billing.sql'", (real,))
