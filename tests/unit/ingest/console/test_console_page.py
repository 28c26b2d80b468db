"""The console page prints money exactly, escapes every value and paginates on the server."""
from decimal import Decimal

from include.ingest.console.db import Page
from include.ingest.console.page import money, render


def _data(**overrides):
    empty = Page([], 0, 0, 25)
    data = {"slices": empty, "quarantine": empty, "dlq": empty, "throttling": [],
            "batches": empty, "catalog_dlq": empty, "ils": [], "queues": []}
    return {**data, **overrides}


def test_money_is_exact_without_trailing_zeros_or_exponent():
    assert money(Decimal("1234.567800000000000000")) == "1234.5678"
    assert money(Decimal("0E-18")) == "0"
    assert money(Decimal("1E+3")) == "1000"
    assert money(Decimal("-0.000000000000000001")) == "-0.000000000000000001"
    assert money(None) == ""


def test_slice_shows_its_exact_total_versions_and_reconciliation():
    version = {"provider": "aws", "billing_account": "1", "billing_period": "2024-01",
               "version": "v2", "state": "published", "rows_in": 10, "rows_published": 9,
               "rows_quarantined": 1, "billed_cost": Decimal("10.100000000000000001"),
               "published_at": None, "dag_run_id": "manual__x"}
    slice_ = {"provider": "aws", "billing_account": "1", "billing_period": "2024-01",
              "published_version": "v2", "rows_published": 9, "rows_quarantined": 1,
              "billed_cost": Decimal("10.100000000000000001"), "reconciliation": "discrepancy",
              "warning": "1 row with money in quarantine", "quarantined_billed_cost": Decimal("2.5"),
              "versions": [version], "differences": [
                  {"measure": "rows", "status": "discrepancy", "declared": 11, "observed": 10,
                   "difference": -1, "detail": "one row missing"}]}
    html = render(_data(slices=Page([slice_], 1, 0, 25)), {})
    assert 'data-slice="aws|1|2024-01"' in html
    assert '<b class="billed-cost">10.100000000000000001</b>' in html
    assert "recon-discrepancy" in html and "one row missing" in html
    assert "Σ quarantined BilledCost 2.5" in html
    assert 'data-dag="billing_aws_cur"' in html  # the re-run button of the version


def test_every_value_is_escaped():
    row = {"provider": "aws", "billing_period": "2024-01", "version": "v", "source_file": "f",
           "source_line": 3, "reason": "<script>alert(1)</script>", "raw": "a&b"}
    html = render(_data(quarantine=Page([row], 1, 0, 25)), {})
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "a&amp;b" in html


def test_a_large_table_links_to_the_next_page_keeping_the_other_offsets():
    rows = [{"id": i, "chunk_key": f"k{i}", "state": "open"} for i in range(25)]
    html = render(_data(dlq=Page(rows, 60, 25, 25)), {"slices": "25", "dlq": "25"})
    assert "26–50 of 60" in html
    assert 'href="?slices=25&amp;dlq=0"' in html and 'href="?slices=25&amp;dlq=50"' in html
    assert html.count('data-confirm="Replay DLQ entry') == 25  # destructive: asks first


def test_a_queue_without_worker_is_called_out():
    html = render(_data(queues=[{"queue": "billing.fetch", "depth": 4, "workers": []}]), {})
    assert "NO WORKER" in html
