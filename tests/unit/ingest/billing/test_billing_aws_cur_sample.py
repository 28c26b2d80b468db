"""The real anonymized legacy CUR sample (1,281 rows x 94 columns) through normalize_batch."""

import csv
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pytest

from include.ingest.billing.focus import SCHEMA
from include.ingest.billing.focus_rules import find_violations
from include.ingest.billing.normalize.aws_cur import normalize_batch
from include.ingest.billing.normalize.context import NormalizeContext
from include.ingest.billing.normalize.source import csv_convert_options

SAMPLE = Path(__file__).resolve().parents[3] / "fixtures/billing/aws-cur/sample-anonymous-aws-export-dataset.csv"
pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason="shared sample data not mounted")


def context(**kw):
    base = dict(provider="aws", billing_account="123412340534", billing_period="2023-11",
                version="assembly-1", chunk_id="0", source_file=SAMPLE.name)  # fmt: skip
    base.update(kw)
    return NormalizeContext(**base)


@pytest.fixture(scope="module")
def rows():
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def expected_total():
    """Σ lineItem/UnblendedCost computed straight from the file, exactly."""
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        return sum(Decimal(r["lineItem/UnblendedCost"]) for r in csv.DictReader(handle))


def total(batch, column="BilledCost"):
    return sum(batch.column(column).to_pylist(), Decimal(0))


def test_every_row_is_accounted_for_and_billed_cost_is_exact(rows, expected_total):
    result = normalize_batch(rows, context())
    assert len(rows) == 1281
    assert result.good.num_rows + len(result.quarantined) == 1281
    assert result.quarantined == [], [q.reason for q in result.quarantined[:3]]
    assert expected_total == Decimal("1.68230869740")
    assert total(result.good) == expected_total
    assert result.good.schema == SCHEMA
    assert find_violations(result.good) == {}


def test_streamed_arrow_batches_give_the_same_rows(rows, expected_total):
    """pyarrow.csv streaming (how tasks read big files) == DictReader rows, batch by batch."""
    header = next(csv.reader(SAMPLE.open(newline="")))
    reader = pa_csv.open_csv(
        SAMPLE, read_options=pa_csv.ReadOptions(block_size=64 << 10), convert_options=csv_convert_options(header)
    )
    ctx, outputs = context(), []
    for batch in reader:
        out = normalize_batch(batch, ctx)
        assert out.quarantined == []
        outputs.append(out.good)
        ctx = ctx.advanced(batch.num_rows)
    assert len(outputs) > 1  # really streamed
    streamed = pa.Table.from_batches(outputs)
    whole = normalize_batch(rows, context()).good
    assert streamed.num_rows == 1281
    assert total(streamed) == expected_total
    assert streamed.to_pylist() == pa.Table.from_batches([whole]).to_pylist()


def test_keys_ordinals_and_lines(rows):
    good = normalize_batch(rows, context(first_row_ordinal=0, first_line=2)).good
    keys = good.column("x_idempotency_key").to_pylist()
    assert len(set(keys)) == 1281  # unique although identity/LineItemId repeats (388 distinct)
    assert good.column("x_row_ordinal").to_pylist() == list(range(1281))
    assert good.column("x_source_line").to_pylist() == list(range(2, 1283))
    again = normalize_batch(rows, context()).good.column("x_idempotency_key").to_pylist()
    assert again == keys  # deterministic: a replayed chunk collides on ON CONFLICT
    other_version = normalize_batch(rows, context(version="assembly-2")).good.column("x_idempotency_key")
    assert set(other_version.to_pylist()).isdisjoint(keys)


def test_sample_mapping_spot_checks(rows):
    good = normalize_batch(rows, context()).good
    as_rows = good.to_pylist()
    assert {r["ChargeCategory"] for r in as_rows} == {"Usage", "Tax"}
    assert {r["ProviderName"] for r in as_rows} == {"AWS"}
    assert {r["InvoiceIssuerName"] for r in as_rows} == {"Amazon Web Services Canada, Inc."}
    assert {r["InvoiceId"] for r in as_rows} == {None}  # blank until the month is final
    assert all(r["ChargePeriodEnd"] > r["ChargePeriodStart"] for r in as_rows)
    assert {(r["BillingPeriodStart"].isoformat(), r["BillingPeriodEnd"].isoformat()) for r in as_rows} == {
        ("2023-11-01T00:00:00+00:00", "2023-12-01T00:00:00+00:00")
    }
    tax = [r for r in as_rows if r["ChargeCategory"] == "Tax"]
    assert len(tax) == 12
    assert all(r["PricingQuantity"] is None and r["SkuId"] is None and r["PricingCategory"] is None for r in tax)
    usage = [r for r in as_rows if r["ChargeCategory"] == "Usage"]
    assert {r["ChargeFrequency"] for r in usage} == {"Usage-Based"}
    assert {r["PricingCategory"] for r in usage} == {"Standard"}
    assert all(r["EffectiveCost"] == r["BilledCost"] for r in as_rows)  # no commitments in this file
    s3 = next(r for r in usage if r["x_service_code"] == "AmazonS3")
    assert (s3["ServiceName"], s3["ServiceCategory"]) == ("Amazon Simple Storage Service", "Storage")
    assert pc.sum(good.column("ListCost")).as_py() >= pc.sum(good.column("BilledCost")).as_py()
