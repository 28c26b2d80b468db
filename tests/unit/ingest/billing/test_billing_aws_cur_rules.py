"""Hand-written CUR rows: amortization, charge categories, quarantine, tags, periods, CUR 2.0."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pyarrow as pa
import pytest
from cur_rows import ACCOUNT, PERIOD, RI_ARN, SP_ARN, legacy_row, to_cur2

from include.ingest.billing.focus_rules import find_violations
from include.ingest.billing.normalize.aws_cur import normalize_batch
from include.ingest.billing.normalize.context import NormalizeContext

UTC = dt.timezone.utc
CTX = NormalizeContext(provider="aws", billing_account=ACCOUNT, billing_period=PERIOD, version="v1",
                       chunk_id="0", source_file="cur-1.csv", first_row_ordinal=0, first_line=2)  # fmt: skip


def normalize(rows, ctx=CTX):
    return normalize_batch(rows, ctx)


def one(row):
    result = normalize([row])
    assert result.quarantined == [], result.quarantined
    return result.good.to_pylist()[0]


D = Decimal


# --- Savings Plans ---------------------------------------------------------------------

def test_savings_plan_covered_usage_is_amortized():
    out = one(legacy_row("SavingsPlanCoveredUsage", **{
        "savingsPlan/SavingsPlanARN": SP_ARN, "savingsPlan/SavingsPlanEffectiveCost": "0.061",
    }))  # fmt: skip
    assert (out["BilledCost"], out["EffectiveCost"]) == (D("0.096"), D("0.061"))
    assert (out["ListCost"], out["ContractedCost"]) == (D("0.096"), D("0.096"))
    assert (out["ChargeCategory"], out["ChargeFrequency"], out["PricingCategory"]) == ("Usage", "Usage-Based", "Committed")
    assert (out["CommitmentDiscountId"], out["CommitmentDiscountCategory"]) == (SP_ARN, "Spend")
    assert (out["CommitmentDiscountType"], out["CommitmentDiscountStatus"]) == ("Savings Plan", "Used")
    assert out["ConsumedQuantity"] == D("1")


def test_savings_plan_negation_cancels_billed_cost_but_not_effective():
    covered = legacy_row("SavingsPlanCoveredUsage", **{
        "savingsPlan/SavingsPlanARN": SP_ARN, "savingsPlan/SavingsPlanEffectiveCost": "0.061"})  # fmt: skip
    negation = legacy_row("SavingsPlanNegation", **{
        "lineItem/UnblendedCost": "-0.096", "lineItem/UnblendedRate": "-0.096",
        "lineItem/LineItemDescription": "SavingsPlanCoveredUsage for m5.large", "savingsPlan/SavingsPlanARN": SP_ARN})  # fmt: skip
    good = normalize([covered, negation]).good.to_pylist()
    assert sum(r["BilledCost"] for r in good) == D("0")  # SP pays; the usage is not billed twice
    assert sum(r["EffectiveCost"] for r in good) == D("0.061")
    assert sum(r["ListCost"] for r in good) == D("0.096")
    neg = good[1]
    assert (neg["EffectiveCost"], neg["ListCost"], neg["ContractedCost"]) == (0, 0, 0)
    assert neg["ConsumedQuantity"] is None  # consumption is on the covered row only


def test_savings_plan_recurring_fee_effective_cost_is_the_unused_commitment():
    out = one(legacy_row("SavingsPlanRecurringFee", **{
        "lineItem/UnblendedCost": "10.0", "lineItem/UnblendedRate": "10.0", "lineItem/LineItemDescription": "1 year No Upfront SP",
        "savingsPlan/SavingsPlanARN": SP_ARN, "savingsPlan/TotalCommitmentToDate": "10.0", "savingsPlan/UsedCommitment": "7.25",
        "pricing/publicOnDemandCost": "", "pricing/publicOnDemandRate": ""}))  # fmt: skip
    assert (out["ChargeCategory"], out["ChargeFrequency"]) == ("Purchase", "Recurring")
    assert (out["BilledCost"], out["EffectiveCost"]) == (D("10"), D("2.75"))
    assert (out["ListCost"], out["ContractedCost"], out["PricingCategory"]) == (D("10"), D("10"), "Committed")
    assert out["CommitmentDiscountStatus"] is None  # status is for Usage rows only
    assert out["ConsumedQuantity"] is None


def test_savings_plan_upfront_fee_is_not_effective_cost():
    out = one(legacy_row("SavingsPlanUpfrontFee", **{
        "lineItem/UnblendedCost": "8760.0", "bill/BillType": "Purchase", "savingsPlan/SavingsPlanARN": SP_ARN}))  # fmt: skip
    assert (out["BilledCost"], out["EffectiveCost"], out["ChargeFrequency"]) == (D("8760"), D("0"), "One-Time")


# --- Reserved Instances ----------------------------------------------------------------

def test_discounted_usage_uses_reservation_effective_cost():
    out = one(legacy_row("DiscountedUsage", **{
        "lineItem/UnblendedCost": "0.0", "lineItem/UnblendedRate": "0.0",
        "reservation/ReservationARN": RI_ARN, "reservation/EffectiveCost": "0.058"}))  # fmt: skip
    assert (out["BilledCost"], out["EffectiveCost"]) == (D("0"), D("0.058"))
    assert (out["CommitmentDiscountId"], out["CommitmentDiscountCategory"]) == (RI_ARN, "Usage")
    assert (out["CommitmentDiscountType"], out["CommitmentDiscountStatus"]) == ("Reserved Instance", "Used")
    assert out["PricingCategory"] == "Committed"


def test_ri_fee_effective_cost_is_the_unused_part():
    out = one(legacy_row("RIFee", **{
        "lineItem/UnblendedCost": "36.5", "lineItem/UsageAmount": "730.0", "reservation/ReservationARN": RI_ARN,
        "reservation/TotalReservedUnits": "730.0", "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod": "1.25",
        "reservation/UnusedRecurringFee": "2.5", "pricing/publicOnDemandCost": "", "pricing/publicOnDemandRate": ""}))  # fmt: skip
    assert (out["ChargeCategory"], out["ChargeFrequency"]) == ("Purchase", "Recurring")
    assert (out["BilledCost"], out["EffectiveCost"]) == (D("36.5"), D("3.75"))
    assert out["PricingQuantity"] == D("730")
    assert out["CommitmentDiscountStatus"] is None


def test_ri_fee_with_blank_unused_parts_counts_them_as_zero():
    out = one(legacy_row("RIFee", **{"lineItem/UnblendedCost": "36.5", "reservation/ReservationARN": RI_ARN}))
    assert out["EffectiveCost"] == D("0")


def test_upfront_ri_fee_is_amortized_elsewhere():
    ri_fee = one(legacy_row("Fee", **{"lineItem/UnblendedCost": "500.0", "bill/BillType": "Purchase",
                                      "reservation/ReservationARN": RI_ARN}))  # fmt: skip
    assert (ri_fee["BilledCost"], ri_fee["EffectiveCost"]) == (D("500"), D("0"))
    assert (ri_fee["ChargeFrequency"], ri_fee["PricingCategory"]) == ("One-Time", "Committed")
    support = one(legacy_row("Fee", **{"lineItem/UnblendedCost": "100.0", "lineItem/ProductCode": "AWSSupportBusiness"}))
    assert (support["EffectiveCost"], support["ChargeFrequency"], support["PricingCategory"]) == (D("100"), "Recurring", "Standard")


# --- categories, classes, money ----------------------------------------------------------

def test_credit_and_refund():
    credit = one(legacy_row("Credit", **{"lineItem/UnblendedCost": "-5.0", "pricing/publicOnDemandCost": ""}))
    assert (credit["ChargeCategory"], credit["ChargeClass"], credit["ChargeFrequency"]) == ("Credit", None, "One-Time")
    assert credit["BilledCost"] == credit["EffectiveCost"] == credit["ListCost"] == credit["ContractedCost"] == D("-5")
    assert credit["ConsumedQuantity"] is None and credit["PricingCategory"] is None
    refund_of_october = one(legacy_row("Refund", **{
        "lineItem/UnblendedCost": "-2.0", "lineItem/UsageStartDate": "2023-10-01T00:00:00.000Z",
        "lineItem/UsageEndDate": "2023-11-01T00:00:00.000Z"}))  # fmt: skip
    assert (refund_of_october["ChargeCategory"], refund_of_october["ChargeClass"]) == ("Adjustment", "Correction")


def test_net_unblended_cost_wins_when_present():
    row = legacy_row("Usage", **{"lineItem/UnblendedCost": "0.096"})
    row["lineItem/NetUnblendedCost"] = "0.0864"
    out = one(row)
    assert (out["BilledCost"], out["EffectiveCost"], out["ContractedCost"]) == (D("0.0864"), D("0.0864"), D("0.096"))


def test_list_cost_falls_back_to_rate_times_amount():
    out = one(legacy_row("Usage", **{"pricing/publicOnDemandCost": "", "pricing/publicOnDemandRate": "4.0E-7",
                                     "lineItem/UsageAmount": "6.71E-8"}))  # fmt: skip
    assert out["ListCost"] == D("2.684E-14") and out["ListUnitPrice"] == D("4.0E-7")


def test_spot_usage_is_dynamic_pricing():
    assert one(legacy_row("Usage", **{"lineItem/UsageType": "USE1-SpotUsage:m5.large"}))["PricingCategory"] == "Dynamic"


def test_money_is_exact_with_e_notation_and_many_decimals():
    out = one(legacy_row("Usage", **{"lineItem/UnblendedCost": "1.234567890123456E-3"}))
    assert out["BilledCost"] == D("0.001234567890123456")


def test_resource_name_and_type_from_arn():
    out = one(legacy_row("Usage", **{"lineItem/ResourceId": "arn:aws:lambda:us-east-1:123412340534:function:etl"}))
    assert (out["ResourceName"], out["ResourceType"]) == ("etl", "lambda/function")
    plain = one(legacy_row("Usage"))
    assert (plain["ResourceId"], plain["ResourceName"], plain["ResourceType"]) == ("i-0abc123", "i-0abc123", None)


# --- quarantine ------------------------------------------------------------------------

def test_bad_number_is_quarantined_with_its_line_and_the_rest_survives():
    rows = [legacy_row(), legacy_row(**{"lineItem/UnblendedCost": "1,234.5"}), legacy_row()]
    result = normalize(rows, NormalizeContext(**{**CTX.__dict__, "first_line": 40, "first_row_ordinal": 38}))
    assert result.good.num_rows == 2
    [bad] = result.quarantined
    assert bad.line_number == 41 and bad.row_ordinal == 39
    assert bad.raw == rows[1]
    assert bad.reason == "lineItem/UnblendedCost: expected an exact decimal number, got '1,234.5' (not a number)"
    assert result.good.column("x_source_line").to_pylist() == [40, 42]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"lineItem/UsageStartDate": "04/11/2023 23:00"}, "lineItem/UsageStartDate: expected an ISO-8601 UTC timestamp"),
        ({"lineItem/UnblendedCost": ""}, "expected lineItem/UnblendedCost, got an empty value"),
        ({"lineItem/UnblendedCost": "NaN"}, "lineItem/UnblendedCost: expected an exact decimal number, got 'NaN'"),
        ({"lineItem/UnblendedCost": "1E-39"}, "(more than 38 decimal places, the most stored exactly)"),
        ({"lineItem/LineItemType": "Mystery"}, "expected lineItem/LineItemType in ["),
        ({"lineItem/LineItemType": ""}, "expected lineItem/LineItemType, got an empty value"),
        ({"bill/BillingPeriodStartDate": "2023-10-01T00:00:00.000Z"}, "expected bill/BillingPeriodStartDate at the start of 2023-11"),
        ({"bill/PayerAccountId": "999999999999"}, "expected bill/PayerAccountId '123412340534' (this slice)"),
        ({"lineItem/CurrencyCode": ""}, "expected BillingCurrency to be set"),
        ({"lineItem/UsageEndDate": "2023-11-04T22:00:00.000Z"}, "expected ChargePeriodEnd (exclusive) not before"),
    ],
)  # fmt: skip
def test_bad_rows_are_quarantined_with_a_reason(changes, reason):
    result = normalize([legacy_row(), legacy_row(**changes)])
    assert result.good.num_rows == 1
    [bad] = result.quarantined
    assert reason in bad.reason, bad.reason
    assert bad.line_number == 3


def test_sp_covered_usage_without_effective_cost_is_quarantined():
    result = normalize([legacy_row("SavingsPlanCoveredUsage", **{"savingsPlan/SavingsPlanARN": SP_ARN})])
    assert "expected savingsPlan/SavingsPlanEffectiveCost on this LineItemType" in result.quarantined[0].reason


def test_malformed_csv_line_is_quarantined():
    header = list(legacy_row())
    text = ",".join(header) + "\n" + ",".join(f'"{v}"' for v in legacy_row().values()) + ",extra\n"
    rows = list(csv.DictReader(io.StringIO(text)))
    result = normalize(rows)
    assert result.good.num_rows == 0
    assert "expected as many fields as the header, got more" in result.quarantined[0].reason


def test_everything_bad_still_returns_a_schema_batch():
    result = normalize([legacy_row(**{"lineItem/UnblendedCost": "x"})])
    assert result.good.num_rows == 0 and len(result.quarantined) == 1
    assert find_violations(result.good) == {}


def test_empty_batch():
    result = normalize([])
    assert result.good.num_rows == 0 and result.quarantined == []


# --- periods -----------------------------------------------------------------------------

def test_periods_are_utc_with_exclusive_ends():
    out = one(legacy_row())
    assert out["ChargePeriodStart"] == dt.datetime(2023, 11, 4, 23, tzinfo=UTC)
    assert out["ChargePeriodEnd"] == dt.datetime(2023, 11, 5, 0, tzinfo=UTC)
    assert out["BillingPeriodEnd"] == dt.datetime(2023, 12, 1, tzinfo=UTC)
    assert out["ChargePeriodStart"].utcoffset() == dt.timedelta(0)


def test_inclusive_end_of_day_becomes_exclusive():
    out = one(legacy_row("Fee", **{"lineItem/UsageStartDate": "2023-11-01T00:00:00Z",
                                   "lineItem/UsageEndDate": "2023-11-30T23:59:59Z"}))  # fmt: skip
    assert out["ChargePeriodEnd"] == dt.datetime(2023, 12, 1, tzinfo=UTC)


def test_offsets_and_missing_zones_are_read_as_utc():
    out = one(legacy_row(**{"lineItem/UsageStartDate": "2023-11-05T01:00:00+02:00",
                            "lineItem/UsageEndDate": "2023-11-05T00:00:00"}))  # fmt: skip
    assert out["ChargePeriodStart"] == dt.datetime(2023, 11, 4, 23, tzinfo=UTC)
    assert out["ChargePeriodEnd"] == dt.datetime(2023, 11, 5, tzinfo=UTC)


# --- tags --------------------------------------------------------------------------------

def test_tags_json_from_legacy_columns():
    tagged = legacy_row(**{"resourceTags/user:Environment": "prod", "resourceTags/user:cost_center": "42",
                           "resourceTags/aws:createdBy": "IAMUser:x", "costCategory/Team": "data"})  # fmt: skip
    untagged = legacy_row(**{"resourceTags/user:Environment": "", "resourceTags/user:cost_center": "",
                             "resourceTags/aws:createdBy": "", "costCategory/Team": ""})  # fmt: skip
    good = normalize([tagged, untagged]).good.to_pylist()
    assert json.loads(good[0]["Tags"]) == {
        "Environment": "prod", "cost_center": "42", "aws:createdBy": "IAMUser:x", "costCategory/Team": "data",
    }  # fmt: skip
    assert good[0]["Tags"] == json.dumps(json.loads(good[0]["Tags"]), sort_keys=True, separators=(",", ":"))
    assert good[1]["Tags"] is None  # untagged: NULL, not "{}"


def test_bad_tag_map_is_quarantined():
    row = to_cur2(legacy_row())
    row["resource_tags"] = '{"user_env": "prod"'  # truncated JSON
    result = normalize([row])
    assert "expected resource_tags as a JSON object / map" in result.quarantined[0].reason


# --- CUR 2.0 -------------------------------------------------------------------------------

def _comparable(out):
    return {k: v for k, v in out.items() if k != "x_source_file"}


@pytest.mark.parametrize(
    "legacy",
    [
        legacy_row(**{"resourceTags/user:cost_center": "42", "costCategory/team": "data"}),
        legacy_row("SavingsPlanCoveredUsage", **{"savingsPlan/SavingsPlanARN": SP_ARN,
                                                 "savingsPlan/SavingsPlanEffectiveCost": "0.061"}),
        legacy_row("RIFee", **{"reservation/ReservationARN": RI_ARN, "reservation/TotalReservedUnits": "730",
                               "reservation/UnusedRecurringFee": "2.5"}),
        legacy_row("Tax", **{"lineItem/UnblendedCost": "0.13", "lineItem/UsageStartDate": "2023-11-01T00:00:00.000Z",
                             "lineItem/UsageEndDate": "2023-12-01T00:00:00.000Z"}),
    ],
    ids=["usage-with-tags", "sp-covered", "ri-fee", "tax"],
)  # fmt: skip
def test_cur2_snake_case_row_gives_the_same_focus_row(legacy):
    cur2 = to_cur2(legacy)
    assert "line_item_unblended_cost" in cur2 and "savings_plan_savings_plan_a_r_n" in cur2
    assert _comparable(one(cur2)) == _comparable(one(legacy))


def test_cur2_parquet_types_are_read_exactly():
    """Parquet CUR 2.0 stores money as DOUBLE, dates as TIMESTAMP and maps as MAP."""
    legacy = legacy_row(**{"resourceTags/user:env": "prod"})
    cur2 = to_cur2(legacy)
    columns = {k: pa.array([v]) for k, v in cur2.items()}
    for name in ("line_item_unblended_cost", "line_item_usage_amount", "pricing_public_on_demand_cost",
                 "pricing_public_on_demand_rate", "line_item_unblended_rate"):  # fmt: skip
        columns[name] = pa.array([float(cur2[name])], pa.float64())
    for name in ("line_item_usage_start_date", "line_item_usage_end_date",
                 "bill_billing_period_start_date", "bill_billing_period_end_date"):  # fmt: skip
        columns[name] = pa.array([dt.datetime.fromisoformat(cur2[name].replace("Z", ""))], pa.timestamp("ms"))
    columns["resource_tags"] = pa.array([[("user_env", "prod")]], pa.map_(pa.string(), pa.string()))
    result = normalize_batch(pa.RecordBatch.from_pydict(columns), CTX)
    assert result.quarantined == []
    assert _comparable(result.good.to_pylist()[0]) == _comparable(one(legacy))


def test_nested_tag_value_in_a_map_is_quarantined_not_crashing():
    row = to_cur2(legacy_row())
    row["resource_tags"] = '{"user_team": {"name": "data"}}'
    result = normalize([row])
    assert "expected scalar Tags values" in result.quarantined[0].reason


def test_split_cost_allocation_rows_are_kept_out_of_the_slice():
    parent = legacy_row()
    parent["splitLineItem/ParentResourceId"] = ""
    split = legacy_row(**{"lineItem/ResourceId": "arn:aws:ecs:us-east-1:123412340534:task/c/abc"})
    split["splitLineItem/ParentResourceId"] = "i-0abc123"
    result = normalize([parent, split])
    assert result.good.num_rows == 1
    assert "expected no split cost allocation row" in result.quarantined[0].reason
