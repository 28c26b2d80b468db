"""Generators: deterministic, random access equals streaming, provider facts hold."""
from __future__ import annotations

import itertools
from decimal import Decimal

from sandbox.aws.formats import CUR2_COST_COLUMNS, cur1_columns, cur2_batches, snake
from sandbox.aws.generator import line_item, line_items, row_count
from sandbox.azure.dataset import AzureDataset
from sandbox.azure.records import record, records
from sandbox.config import SandboxConfig
from sandbox.gcp.rows import base_core, correction_core, correction_size
from sandbox.gcp.table import GeneratedTable, RowFilter


def test_aws_rows_are_deterministic_and_random_access():
    a = list(line_items(1, "111122223333", "2024-01", 0, 50, True))
    b = list(line_items(1, "111122223333", "2024-01", 0, 50, True))
    assert a == b and a[37] == line_item(1, "111122223333", "2024-01", 0, 50, 37, True)
    assert a != list(line_items(2, "111122223333", "2024-01", 0, 50, True))


def test_aws_restated_version_adds_late_rows_and_rerates():
    v0 = list(line_items(1, "111122223333", "2024-01", 0, 400, False))
    v1 = list(line_items(1, "111122223333", "2024-01", 1, 400, False))
    assert len(v0) == 400 and len(v1) == row_count(400, 1) == 404
    changed = sum(x["lineItem/UnblendedCost"] != y["lineItem/UnblendedCost"] for x, y in zip(v0, v1))
    assert 5 <= changed <= 40


def test_aws_facts_of_the_reference():
    rows = list(line_items(1, "111122223333", "2024-01", 0, 300, False))
    assert all(r["bill/InvoiceId"] == "" for r in rows)  # not final
    assert all(r["lineItem/BlendedCost"] is None for r in rows if r["lineItem/LineItemType"] == "EdpDiscount")
    assert len({r["identity/LineItemId"] for r in rows}) < len(rows)
    assert "resourceTags/user:CostCenter" in cur1_columns("2024-01") and "resourceTags/user:CostCenter" not in cur1_columns("2024-02")
    money = [r["lineItem/UnblendedCost"] for r in rows]
    assert all(isinstance(m, Decimal) and len(m.as_tuple().digits) <= 15 for m in money)


def test_cur2_doubles_round_trip_to_the_exact_decimals():
    items = list(line_items(1, "111122223333", "2024-02", 0, 120, True))
    batch = next(cur2_batches(items, "2024-02"))
    for name in CUR2_COST_COLUMNS:
        served = [Decimal(repr(v)) for v in batch.column(name).to_pylist() if v is not None]
        source = [i[k] for i in items for k in (c for c in i if snake(c) == name) if i[k] is not None]
        assert served == source


def test_generators_scale_from_ten_rows_without_materializing():
    assert len(list(line_items(1, "1", "2024-01", 0, 10, True))) == 10
    assert sum(1 for _ in itertools.islice(line_items(1, "1", "2024-01", 0, 10_000_000, True), 5)) == 5
    assert record(1, "a", "2024-01", 0, 10_000_000, 9_999_999).day == 31  # row 10M-1 alone, no stream
    table = GeneratedTable(1, "A", ("2024-01", "2024-02"), 10_000_000)
    assert table.total_rows == 20_000_000 and table.core(19_999_999).month == "202402"
    assert len(table.runs(RowFilter(months={"202401"}))) == 1


def test_azure_records_unique_per_day_and_resource():
    rs = list(records(1, "12345678", "2024-02", 0, 500))
    assert len({(r.date, r.res.resource_id) for r in rs}) == 500
    assert [r.date for r in rs] == sorted(r.date for r in rs)
    assert all(Decimal(r.cost).as_tuple().exponent == -8 for r in rs)


def test_azure_scopes_are_residue_classes():
    ds = AzureDataset(SandboxConfig(scale=100))
    sub = ds.subscription_ids()[2]
    scope = ds.resolve_scope(f"subscriptions/{sub}/resourceGroups/RG-DATA")
    assert scope.kind == "resourceGroup" and scope.stride == 24
    assert ds.resolve_scope("providers/Microsoft.Billing/billingAccounts/12345678").stride == 1
    assert ds.resolve_scope("providers/Microsoft.Billing/billingAccounts/999") is None
    assert ds.resolve_scope("subscriptions/00000000-0000-0000-0000-000000000000") is None


def test_gcp_corrections_negate_then_remonetize():
    n = 500
    for j in range(0, 2 * correction_size(n), 2):
        neg = correction_core(1, "A", "2024-01", 1, j, n, 10**15)
        fix = correction_core(1, "A", "2024-01", 1, j + 1, n, 10**15)
        assert neg.usage_micros == -fix.usage_micros and neg.adjustment[2] == "COMPLETE_NEGATION_WITH_REMONETIZATION"
        orig = base_core(1, "A", "2024-01", ((j // 2) * n // correction_size(n) + 7) % n, n)
        assert neg.cost_micros == -orig.cost_micros and neg.credits_micros == -orig.credits_micros


def test_gcp_table_versions_and_goldens():
    table = GeneratedTable(1, "A", ("2024-01", "2024-02"), 300)
    g0 = table.golden("2024-01", 0)
    assert table.append_correction("2024-01") == 1
    g1 = table.golden("2024-01", 1)
    assert g1.rows == g0.rows + 2 * correction_size(300) and g1.version > g0.version
    assert table.golden("2024-01", 0).to_json() == g0.to_json()  # older version stays reproducible
    assert g1.info["cost_micros"] == sum(c.cost_micros for c in table.cores(table.runs(RowFilter(months={"202401"}))))
