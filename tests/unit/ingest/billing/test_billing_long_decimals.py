"""Valid rows are never quarantined for their precision (issue 12): real exports publish
money and quantities with more than 18 decimal places -- AWS CUR costs like
0.078035218197112280184, EA amortized costs like 0.0000000072922557592391990000, GCP
pricing-unit quantities in float E-notation like 1.1641532182693481E-10 beside byte-seconds
near 1e17. Each keeps every digit; and every billing file of the shared public samples that
our readers take normalizes without a single precision quarantine."""
import csv
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from include.ingest.billing.focus import DECIMAL, SCHEMA
from include.ingest.billing.focus_rules import find_violations
from include.ingest.billing.normalize import arrow_parse, aws_cur, azure, gcp
from include.ingest.billing.normalize.context import NormalizeContext
from include.ingest.billing.normalize.source import csv_convert_options
from include.ingest.billing.sources import azure_exports
from tests.unit.ingest.billing.test_billing_gcp_normalize import normalize as normalize_gcp, row as gcp_row

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures/billing"
SHARED = FIXTURES  # unchanged copies of the shared public samples (tests read only the repository)
PRECISION = ("decimal places", "magnitude")  # the words of a precision quarantine reason


def _cur(path: Path) -> tuple[list[dict], pa.RecordBatch, list]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0])
    reader = pa_csv.open_csv(path, convert_options=csv_convert_options(header))
    ctx = NormalizeContext("aws", "123412340534", "2023-11", "assembly-1", "0", source_file=path.name)
    good, quarantined = [], []
    for batch in reader:
        result = aws_cur.normalize_batch(batch, ctx)
        good.append(result.good)
        quarantined += result.quarantined
        ctx = ctx.advanced(batch.num_rows)
    return rows, pa.Table.from_batches(good, SCHEMA), quarantined


def test_cur_long_decimals_keep_every_digit():
    rows, good, quarantined = _cur(FIXTURES / "aws-cur/cur_long_decimals.csv")
    assert quarantined == [], [q.reason for q in quarantined[:3]]
    billed = good.column("BilledCost").to_pylist()
    assert billed == [Decimal(r["lineItem/UnblendedCost"]) for r in rows]
    assert Decimal("0.078035218197112280184") in billed and Decimal("3.8125E-21") in billed
    usage = [Decimal(r["lineItem/UsageAmount"]) for r in rows]
    assert good.column("ConsumedQuantity").to_pylist() == usage
    assert find_violations(good) == {}


def test_ea_amortized_long_decimals_keep_every_digit():
    path = FIXTURES / "azure/ea_amortized_long_decimals.csv"
    ctx = NormalizeContext("azure", "12345678", "2024-01", "run-1", "00000", source_file=path.name)
    results = [azure.normalize_batch(b, ctx) for b in azure_exports.read_batches(path.as_uri(), "csv")]
    assert [q.reason for r in results for q in r.quarantined] == []
    billed = [v for r in results for v in r.good.column("BilledCost").to_pylist()]
    with path.open(newline="") as handle:
        assert billed == [Decimal(r["CostInBillingCurrency"]) for r in csv.DictReader(handle)]
    assert billed[1] == Decimal("0.0000000072922557592391990000")


def test_gcp_float_quantities_tiny_and_huge_in_one_column_keep_every_digit():
    with (FIXTURES / "gcp/gcp_float_pricing_quantities.csv").open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    usage = [{"amount": r["usage_amount"], "unit": r["usage_unit"], "pricing_unit": r["pricing_unit"],
              "amount_in_pricing_units": r["amount_in_pricing_units"]} for r in lines]
    result = normalize_gcp([gcp_row(r["cost"], usage=u) for r, u in zip(lines, usage)])
    assert [q.reason for q in result.quarantined] == []
    assert result.good.num_rows == 25
    pricing = result.good.column("PricingQuantity").to_pylist()
    assert pricing == [Decimal(r["amount_in_pricing_units"]) for r in lines]
    assert pricing[-1] == Decimal("1.1641532182693481E-10")
    consumed = result.good.column("ConsumedQuantity").to_pylist()
    assert consumed == [Decimal(r["usage_amount"]) for r in lines]
    assert max(consumed) == Decimal("123145302310912000") and min(consumed) == Decimal("1.1641532182693481E-10")


def test_values_beyond_the_stored_range_are_still_quarantined_with_a_reason():
    values, problems = arrow_parse.decimals(pa.array(["1E-39", "1E38", "0.078035218197112280184"]))
    assert values.to_pylist()[2] == Decimal("0.078035218197112280184")
    assert problems == {
        0: "expected an exact decimal number, got '1E-39' (more than 38 decimal places, the most stored exactly)",
        1: "expected an exact decimal number, got '1E38' (magnitude of 1e38 or more, beyond the stored range)"}


# --- every billing file of the shared public samples that our readers take ---------------
needs_shared = pytest.mark.skipif(not (SHARED / "aws-cur").exists(), reason="sample copies missing")


@needs_shared
def test_the_public_cur_sample_has_no_precision_quarantine():
    rows, good, quarantined = _cur(SHARED / "aws-cur/sample-anonymous-aws-export-dataset.csv")
    assert quarantined == [] and good.num_rows == len(rows) == 1281


@needs_shared
def test_the_public_query_api_example_has_no_precision_quarantine():
    example = json.loads((SHARED / "azure/BillingAccountQuery.2023-11-01.json").read_text())
    body = example["responses"]["200"]["body"]["properties"]
    names = [c["name"] for c in body["columns"]]
    rows = [dict(zip(names, values)) for values in body["rows"]]
    ctx = NormalizeContext("azure", "12345678", "2023-11", "q-1", "00000", source_file="query")
    result = azure.normalize_batch(rows, ctx)
    assert [q.reason for q in result.quarantined if any(w in q.reason for w in PRECISION)] == []
    assert result.good.num_rows + len(result.quarantined) == len(rows) > 0


@needs_shared
@pytest.mark.parametrize("path", sorted(SHARED.glob("focus-1*/**/*.csv")), ids=lambda p: p.name)
def test_every_focus_sample_decimal_parses_exactly(path):
    decimal_columns = {c.name for c in SCHEMA if c.metadata[b"focus_type"] == DECIMAL.encode()}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    for name in decimal_columns & set(rows[0]):
        texts = [None if r[name] in ("", "NULL") else r[name].strip('"') for r in rows]
        values, problems = arrow_parse.decimals(pa.array(texts, pa.string()))
        assert {i: p for i, p in problems.items() if any(w in p for w in PRECISION)} == {}, (path.name, name)
        parsed = [(v, t) for i, (v, t) in enumerate(zip(values.to_pylist(), texts)) if t and i not in problems]
        assert all(v == Decimal(t) for v, t in parsed), (path.name, name)
