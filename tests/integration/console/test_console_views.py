"""The console's views and warehouse metrics over a real, migrated warehouse: slices with
every version and their exact totals, reconciliation differences, quarantine, DLQ,
catalog batches, throttling, and the ILS section appearing once an `ils` table exists."""
from decimal import Decimal

import psycopg
import pytest

from include.ingest.console import billing_views, catalog_views, metric_queries
from include.ingest.console.db import read_only
from include.ingest.http import throttle_log

pytestmark = pytest.mark.integration

EXACT = Decimal("1234.567890123456789012")


def _ledger(conn, provider, period, version, state, rows, cost, at, **extra):
    conn.execute(
        "INSERT INTO billing.ledger (load_id, provider, billing_account, billing_period, version,"
        " version_at, state, rows_in, rows_published, rows_quarantined, billed_cost, dag_run_id,"
        " published_at, quarantined_billed_cost, warning) VALUES (%s, %s, 'acct', %s, %s, %s, %s,"
        " %s, %s, %s, %s, %s, CASE WHEN %s IN ('published', 'superseded') THEN now() END, %s, %s)",
        (f"{provider}:acct:{period}:{version}", provider, period, version, at, state, rows + 1,
         rows, 1, cost, f"run_{version}", state, extra.get("q_cost"), extra.get("warning")))


@pytest.fixture
def filled(warehouse, warehouse_url):
    _ledger(warehouse, "aws", "2024-01", "v1", "superseded", 10, Decimal("1"), "2024-02-01")
    _ledger(warehouse, "aws", "2024-01", "v2", "published", 12, EXACT, "2024-02-03",
            q_cost=Decimal("2.5"), warning="1 quarantined row holds money")
    _ledger(warehouse, "gcp", "2024-02", "g1", "loading", 0, None, "2024-03-01")
    warehouse.execute("INSERT INTO billing.chunk_loads (load_id, chunk_id, rows_in, rows_staged, "
                      "rows_quarantined, billed_cost) VALUES ('gcp:acct:2024-02:g1', 'c1', 5, 5, 0, 7.25)")
    warehouse.execute(
        "INSERT INTO billing.reconciliation (context, provider, billing_account, billing_period, "
        "version, measure, declared, observed, difference, status, declared_by, detail) VALUES "
        "('nightly', 'aws', 'acct', '2024-01', 'v2', 'rows', 14, 13, -1, 'discrepancy', 'manifest', "
        "'one row short'), ('nightly', 'aws', 'acct', '2024-01', 'v2', 'billed_cost', 1, 1, 0, 'ok', "
        "'manifest', 'equal')")
    warehouse.execute(
        "INSERT INTO billing.quarantine (load_id, chunk_id, provider, billing_account, billing_period,"
        " version, source_file, row_ordinal, source_line, reason, raw) VALUES ('aws:acct:2024-01:v2',"
        " 'c1', 'aws', 'acct', '2024-01', 'v2', 'f.csv', 3, 4, 'BilledCost is not a number', 'x,y')")
    warehouse.execute(
        "INSERT INTO billing.dlq (dag_id, task_id, chunk_key, descriptor, error) VALUES "
        "('billing_aws_cur', 'chunk', 'aws:acct:2024-01:v2:c9', '{}', 'fetch failed')")
    warehouse.execute("TRUNCATE billing.throttle_events")
    warehouse.commit()
    return warehouse_url


def test_slices_show_every_version_with_exact_totals_and_differences(filled):
    with read_only(filled) as conn:
        page = billing_views.slices(conn, limit=1, offset=0)
        assert page.total == 2 and len(page.rows) == 1
        gcp = page.rows[0]  # newest period first
        assert (gcp["provider"], gcp["published_version"]) == ("gcp", None)
        assert gcp["versions"][0]["billed_cost"] == Decimal("7.25")  # from its chunks so far
        aws = billing_views.slices(conn, limit=1, offset=1).rows[0]
    assert aws["published_version"] == "v2" and aws["billed_cost"] == EXACT
    assert [v["version"] for v in aws["versions"]] == ["v2", "v1"]
    assert aws["reconciliation"] == "discrepancy"
    assert [(d["measure"], d["difference"]) for d in aws["differences"]] == [("rows", Decimal("-1"))]
    assert aws["warning"] and aws["quarantined_billed_cost"] == Decimal("2.5")


def test_quarantine_dlq_and_metrics_read_the_same_tables(filled):
    with read_only(filled) as conn:
        quarantined = billing_views.quarantine(conn)
        dlq = billing_views.dlq(conn)
        rows = metric_queries.billing_rows(conn)
        recon = metric_queries.reconciliation(conn)
        depth = metric_queries.dlq_depth(conn)
    assert quarantined.rows[0]["reason"] == "BilledCost is not a number"
    assert (dlq.total, dlq.rows[0]["provider"], dlq.rows[0]["billing_period"]) == (1, "aws", "2024-01")
    assert ({"provider": "aws"}, 22.0) in rows["published_total"]  # v1 + v2, both published once
    assert ({"provider": "aws"}, 12.0) in rows["published_now"]
    assert ({"provider": "gcp"}, 0.0) in rows["published_now"]
    assert ({"provider": "aws"}, 1.0) in recon["discrepancies"]
    assert ({"family": "billing"}, 1.0) in depth


def test_throttle_events_are_recorded_and_counted_per_provider(filled, monkeypatch):
    monkeypatch.setenv("INGEST_DB_URL", filled)
    throttle_log.record("azure", "provider", 12.5, 429)
    throttle_log.record("azure", "limiter", 0.75)
    with read_only(filled) as conn:
        view = billing_views.throttling(conn)
        series = metric_queries.throttling(conn)
    assert [(r["provider"], r["throttled_responses"], r["provider_wait_s"], r["limiter_waits"])
            for r in view] == [("azure", 1, Decimal("12.5"), 1)]
    assert ({"provider": "azure"}, 2.0) in series["events_5m"]
    assert ({"provider": "aws"}, 0.0) in series["events_5m"]


def test_catalog_batches_and_the_ils_section_once_its_table_exists(filled):
    with psycopg.connect(filled) as conn:
        conn.execute("TRUNCATE catalog.batches, catalog.dlq")
        conn.execute(
            "INSERT INTO catalog.batches (batch_id, run_id, batch_no, source, source_sha256, format,"
            " byte_start, byte_end, first_ordinal, records_planned, overlay_policy, descriptor, state,"
            " created, updated, errors, committed_at, rollback_report) VALUES ('b-1', 'r', 1, 's.mrc',"
            " 'x', 'marc21', 0, 10, 0, 3, 'replace', '{}', 'rolled_back', 2, 1, 0, now(),"
            " '{\"conflicts\": [{\"record_id\": 9}]}')")
        conn.commit()
        with read_only(filled) as ro:  # the ILS migration's tables are there; no ils.dlq yet
            assert "ils.sync_state" in [t["table"] for t in catalog_views.ils_tables(ro)]
            assert catalog_views.ils_dlq_depth(ro) is None
            batch = catalog_views.batches(ro).rows[0]
            records = metric_queries.catalog_records(ro)["records"]
        assert (batch["state"], batch["rollback_conflicts"]) == ("rolled_back", 1)
        assert ({"outcome": "created"}, 2.0) in records
        conn.execute("CREATE TABLE ils.dlq (id int, state text); "
                     "INSERT INTO ils.dlq VALUES (1, 'open'), (2, 'resolved')")
        conn.commit()
        try:
            with read_only(filled) as ro:
                assert {"table": "ils.dlq", "rows": 2} in catalog_views.ils_tables(ro)
                assert ({"family": "ils"}, 1.0) in metric_queries.dlq_depth(ro)
        finally:
            conn.execute("DROP TABLE ils.dlq")  # the session's schema stays for the ILS tests
            conn.commit()
