"""FOCUS 1.2 schema as data, and the §5.3 rules via validate_row / find_violations."""

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from include.ingest.billing import focus
from include.ingest.billing.focus import COLUMNS, MONEY, SCHEMA, TIMESTAMP, empty_row
from include.ingest.billing.focus_rules import validate_row
from include.ingest.billing.focus_rules import find_violations, tags_problem

UTC = dt.timezone.utc
MANDATORY = {
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost",
    "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
}  # fmt: skip


def valid_row(**changes):
    row = empty_row()
    row.update(
        BilledCost=Decimal("1.5"), EffectiveCost=Decimal("1.5"), ListCost=Decimal("2"), ContractedCost=Decimal("1.5"),
        BillingAccountId="123412340534", BillingCurrency="USD",
        BillingPeriodStart=dt.datetime(2023, 11, 1, tzinfo=UTC), BillingPeriodEnd=dt.datetime(2023, 12, 1, tzinfo=UTC),
        ChargePeriodStart=dt.datetime(2023, 11, 4, 23, tzinfo=UTC), ChargePeriodEnd=dt.datetime(2023, 11, 5, tzinfo=UTC),
        ChargeCategory="Usage", ChargeFrequency="Usage-Based", PricingCategory="Standard",
        PricingQuantity=Decimal("3"), PricingUnit="Requests", SkuId="SKU", ListUnitPrice=Decimal("0.666666666666666667"),
        ConsumedQuantity=Decimal("3"), ConsumedUnit="Requests",
        InvoiceIssuerName="Amazon Web Services, Inc.", ProviderName="AWS", PublisherName="Amazon Web Services, Inc.",
        ServiceCategory="Storage", ServiceName="Amazon Simple Storage Service", Tags='{"env":"prod"}',
        x_provider="aws", x_billing_account="123412340534", x_billing_period="2023-11", x_version="v1",
        x_chunk_id="c0", x_row_ordinal=0, x_idempotency_key="0" * 64,
    )  # fmt: skip
    row.update(changes)
    return row


def test_columns_cover_every_mandatory_column_then_x_columns():
    names = [c.name for c in COLUMNS]
    assert MANDATORY <= set(names)
    first_x = next(i for i, n in enumerate(names) if n.startswith("x_"))
    assert all(n.startswith("x_") for n in names[first_x:])  # custom columns last, never intermixed
    assert all(not n.startswith("x_") for n in names[:first_x])
    assert {"x_provider", "x_billing_account", "x_billing_period", "x_version", "x_source_file",
            "x_source_line", "x_idempotency_key", "x_line_item_type"} <= set(names)  # fmt: skip
    assert len(names) == len(set(names))


def test_arrow_schema_types():
    assert SCHEMA.names == [c.name for c in COLUMNS]
    assert SCHEMA.field("BilledCost").type == MONEY == pa.decimal256(76, 38)
    assert SCHEMA.field("ChargePeriodStart").type == TIMESTAMP == pa.timestamp("us", tz="UTC")
    assert SCHEMA.field("Tags").metadata[b"focus_type"] == b"JSON"
    assert not SCHEMA.field("BilledCost").nullable and SCHEMA.field("ChargeClass").nullable
    assert SCHEMA.metadata[b"focus_version"] == b"1.2"


def test_money_type_holds_cur_values_exactly():
    values = [Decimal("1.3E-9"), Decimal("1.68230869740"), Decimal("-99999999999999999999.999999999999999999")]
    assert pa.array(values, MONEY).to_pylist() == values


def test_allowed_values_come_from_the_reference():
    assert focus.BY_NAME["ChargeCategory"].allowed == {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
    assert focus.BY_NAME["ChargeClass"].allowed == {"Correction"}
    assert focus.BY_NAME["PricingCategory"].allowed == {"Standard", "Dynamic", "Committed", "Other"}
    assert len(focus.SERVICE_CATEGORIES) == 19


def test_valid_row_has_no_reasons():
    assert validate_row(valid_row()) == []
    assert validate_row(valid_row(), strict=True) == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"BilledCost": None}, "expected BilledCost to be set (FOCUS: not nullable), got NULL"),
        ({"ChargeCategory": "Refund"}, "expected ChargeCategory in ['Adjustment', 'Credit', 'Purchase', 'Tax', 'Usage'], got 'Refund'"),
        ({"ChargeClass": "Regular"}, "expected ChargeClass in ['Correction'], got 'Regular'"),
        ({"ServiceCategory": "Storage & Backup"}, "expected ServiceCategory in"),
        ({"ChargeDescription": ""}, "expected NULL or a value in ChargeDescription, got an empty string"),
        ({"BillingCurrency": "usd"}, "expected BillingCurrency as an ISO 4217 code like 'USD', got 'usd'"),
        ({"ChargePeriodEnd": dt.datetime(2023, 11, 4, 22, tzinfo=UTC)}, "expected ChargePeriodEnd (exclusive) not before ChargePeriodStart"),
        ({"BillingPeriodEnd": dt.datetime(2023, 11, 1, tzinfo=UTC)}, "expected BillingPeriodEnd (exclusive) after BillingPeriodStart"),
        ({"ChargeCategory": "Tax"}, "expected PricingQuantity NULL on a Tax row, got a value"),
        ({"ChargeCategory": "Purchase", "ConsumedQuantity": None}, "expected ChargeFrequency One-Time or Recurring on a Purchase row"),
        ({"ChargeCategory": "Credit", "ChargeFrequency": "One-Time"}, "expected ConsumedQuantity NULL unless ChargeCategory is Usage"),
        ({"CommitmentDiscountStatus": "Used"}, "expected CommitmentDiscountStatus NULL when CommitmentDiscountId is NULL"),
        ({"CommitmentDiscountId": "arn:aws:savingsplans::1:savingsplan/x"}, "expected CommitmentDiscountCategory when CommitmentDiscountId is set"),
        ({"Tags": '{"team": {"name": "x"}}'}, "expected scalar Tags values (string/number/bool/null), got nested values for ['team']"),
        ({"Tags": "[1, 2]"}, "expected Tags as a JSON object, got a JSON list"),
        ({"Tags": "{bad"}, "expected Tags as a JSON object, got unparseable JSON"),
        ({"x_billing_period": "2023-13"}, "expected x_billing_period as 'YYYY-MM', got '2023-13'"),
        ({"x_idempotency_key": "abc"}, "expected x_idempotency_key as 64 hex chars"),
    ],
)  # fmt: skip
def test_rule_violations(changes, reason):
    reasons = validate_row(valid_row(**changes))
    assert any(r.startswith(reason) for r in reasons), reasons


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"BilledCost": 1.5}, "expected Decimal for BilledCost, got float 1.5; parse money with Decimal(str)"),
        ({"ChargePeriodStart": dt.datetime(2023, 11, 4)}, "expected a timezone-aware UTC datetime for ChargePeriodStart"),
        ({"ChargePeriodStart": dt.datetime(2023, 11, 4, tzinfo=dt.timezone(dt.timedelta(hours=1)))}, "expected a timezone-aware UTC"),
        ({"Bogus": 1}, "unexpected column 'Bogus'"),
        ({"BilledCost": Decimal("1E-39")}, "expected values that fit the FOCUS schema (money: up to 38 integer and 38 decimal digits)"),
        ({"BilledCost": Decimal("NaN")}, "expected a finite Decimal for BilledCost"),
        ({"x_row_ordinal": "0"}, "expected int for x_row_ordinal"),
    ],
)  # fmt: skip
def test_python_values_that_cannot_be_stored(changes, reason):
    reasons = validate_row(valid_row(**changes))
    assert any(r.startswith(reason) for r in reasons), reasons


def test_strict_consistency_checks_are_opt_in():
    row = valid_row(ListCost=Decimal("5"), SkuId=None)
    assert validate_row(row) == []
    strict = validate_row(row, strict=True)
    assert "expected SkuId on a Usage/Purchase row, got NULL" in strict
    assert any(r.startswith("expected ListCost = ListUnitPrice x PricingQuantity") for r in strict)


def test_strict_credit_rows_must_equal_billed_cost():
    row = valid_row(ChargeCategory="Credit", ChargeFrequency="One-Time", BilledCost=Decimal("-1"),
                    EffectiveCost=Decimal("-1"), ListCost=Decimal("-1"), ContractedCost=Decimal("0"),
                    ConsumedQuantity=None, PricingCategory=None)  # fmt: skip
    assert "expected ContractedCost = BilledCost on a Credit row" in validate_row(row, strict=True)


def test_batch_validation_reports_row_indexes():
    rows = [valid_row(), valid_row(BilledCost=None), valid_row(), valid_row(ChargeCategory="Nope")]
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    violations = find_violations(table)
    assert sorted(violations) == [1, 3]


def test_wrong_schema_is_a_programming_error():
    with pytest.raises(ValueError, match="expected FOCUS column 'AvailabilityZone'"):
        find_violations(pa.table({"BilledCost": [1]}))


def test_tags_problem_accepts_focus_shapes():
    assert tags_problem('{"a": "x", "b": 1, "c": true, "d": null}') is None
