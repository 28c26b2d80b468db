"""GCP export rows (BigQuery REST cells) -> FOCUS: nested fields, credits, Pacific invoice
months, corrections kept as rows."""
from decimal import Decimal

import pyarrow as pa

from include.ingest.billing.normalize.context import NormalizeContext
from include.ingest.billing.normalize.gcp import invoice_period, normalize_batch
from include.ingest.billing.sources.gcp_client import decode, flatten
from sandbox.gcp.rows import STANDARD_SCHEMA

FIELDS = STANDARD_SCHEMA["fields"]
ACCOUNT = "01A2B3-C4D5E6-F7A8B9"


def cell(value, spec):
    """A Python value as a BigQuery REST cell (the inverse of decode)."""
    if spec.get("mode") == "REPEATED":
        return {"v": [cell(v, {**spec, "mode": "NULLABLE"}) for v in value or []]}
    if value is None:
        return {"v": None}
    if spec["type"] == "RECORD":
        return {"v": {"f": [cell(value.get(f["name"]), f) for f in spec["fields"]]}}
    return {"v": str(value)}


USAGE = {"amount": "3600", "unit": "seconds", "amount_in_pricing_units": "1", "pricing_unit": "hour"}


def row(cost, credits=(), month="202401", start="1.7041392E9", adjustment=None, cost_type="regular", usage=None):
    nested = {"billing_account_id": ACCOUNT, "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
              "sku": {"id": "CF4E-A0C7-E3BF", "description": "N2 Instance Core"},
              "usage_start_time": start, "usage_end_time": str(Decimal(start) + 3600),
              "project": {"id": "prod-1", "name": "Prod 1"}, "labels": [{"key": "env", "value": "prod"}],
              "location": {"region": "us-central1", "zone": "us-central1-a"}, "export_time": "1.7042E9",
              "cost": cost, "currency": "USD", "credits": [{"name": "SUD", "amount": a} for a in credits],
              "usage": usage or USAGE,
              "invoice": {"month": month}, "cost_type": cost_type, "adjustment_info": adjustment,
              "seller_name": "Google LLC"}
    return {"f": [cell(nested.get(f["name"]), f) for f in FIELDS]}


def normalize(rows, period="2024-01"):
    flat = [flatten(r) for r in decode(FIELDS, rows)]
    names = sorted({k for r in flat for k in r})
    batch = pa.RecordBatch.from_pydict({n: pa.array([r.get(n) for r in flat], pa.string()) for n in names})
    return normalize_batch(batch, NormalizeContext("gcp", ACCOUNT, period, "v1", "p2024-01-02", first_line=None))


def test_nested_fields_and_credits_map_to_focus():
    result = normalize([row("10.5", credits=("-1.25", "-0.25"))])
    (r,) = result.good.to_pylist()
    assert (r["BilledCost"], r["EffectiveCost"], r["ContractedCost"]) == (Decimal("10.5"), Decimal("9"), Decimal("10.5"))
    assert (r["ServiceName"], r["ServiceCategory"], r["SubAccountId"], r["RegionId"]) == (
        "Compute Engine", "Compute", "prod-1", "us-central1")
    assert (r["ConsumedQuantity"], r["PricingQuantity"], r["PricingUnit"]) == (Decimal(3600), Decimal(1), "hour")
    assert r["Tags"] == '{"env":"prod"}' and r["ChargeCategory"] == "Usage"
    assert str(r["ChargePeriodStart"]) == "2024-01-01 20:00:00+00:00"


def test_invoice_month_is_pacific_time():
    start, end = invoice_period("202401")
    assert (str(start), str(end)) == ("2024-01-01 08:00:00+00:00", "2024-02-01 08:00:00+00:00")
    start, end = invoice_period("202407")  # daylight saving time: UTC-7
    assert (str(start), str(end)) == ("2024-07-01 07:00:00+00:00", "2024-08-01 07:00:00+00:00")
    (r,) = normalize([row("1")]).good.to_pylist()
    assert str(r["BillingPeriodStart"]) == "2024-01-01 08:00:00+00:00"


def test_negating_corrections_are_kept_as_rows_and_not_floored():
    adjustment = {"id": "adj-1", "description": "Correction", "mode": "COMPLETE_NEGATION_WITH_REMONETIZATION",
                  "type": "USAGE_CORRECTION"}
    result = normalize([row("10", credits=("-2",)), row("-10", credits=("2",), adjustment=adjustment),
                        row("5", credits=("-1",), adjustment=adjustment)])
    rows = result.good.to_pylist()
    assert [r["EffectiveCost"] for r in rows] == [Decimal(8), Decimal(-8), Decimal(4)]
    assert sum(r["BilledCost"] for r in rows) == Decimal(5)
    assert rows[1]["x_operation"] == "COMPLETE_NEGATION_WITH_REMONETIZATION"
    assert rows[1]["ChargeClass"] is None  # corrects usage inside the invoiced month


def test_a_correction_of_an_earlier_invoiced_month_is_a_correction():
    adjustment = {"id": "adj-2", "mode": "PARTIAL_CORRECTION", "type": "PRICE_CORRECTION"}
    (r,) = normalize([row("-3", month="202402", start="1.7041392E9", adjustment=adjustment)], "2024-02").good.to_pylist()
    assert r["ChargeClass"] == "Correction"


def test_rows_of_another_invoice_month_or_account_are_quarantined():
    other = row("1", month="202312")
    result = normalize([row("1"), other])
    assert result.good.num_rows == 1
    (q,) = result.quarantined
    assert "invoice.month 202401" in q.reason and q.raw["invoice.month"] == "202312"


def test_tax_rows_carry_no_pricing_or_sku():
    (r,) = normalize([row("0.4", cost_type="tax")]).good.to_pylist()
    assert (r["ChargeCategory"], r["PricingQuantity"], r["SkuId"], r["ConsumedQuantity"]) == ("Tax", None, None, None)
