"""Hand-written CUR rows for normalizer tests (legacy headers; ``to_cur2`` converts)."""

import json

from include.ingest.billing.normalize.aws_cur_columns import canonical

ACCOUNT = "123412340534"
PERIOD = "2023-11"
SP_ARN = "arn:aws:savingsplans::123412340534:savingsplan/3f1c9d1e-aaaa-bbbb-cccc-000000000001"
RI_ARN = "arn:aws:ec2:us-east-1:123412340534:reserved-instances/4b8e8c1a-aaaa-bbbb-cccc-000000000002"


def legacy_row(line_item_type="Usage", **values):
    """One legacy CUR row (every value a string, '' = empty, like csv.DictReader)."""
    row = {
        "identity/LineItemId": "abc",
        "identity/TimeInterval": "2023-11-04T23:00:00Z/2023-11-05T00:00:00Z",
        "bill/InvoiceId": "",
        "bill/InvoicingEntity": "Amazon Web Services, Inc.",
        "bill/BillingEntity": "AWS",
        "bill/BillType": "Anniversary",
        "bill/PayerAccountId": ACCOUNT,
        "bill/BillingPeriodStartDate": "2023-11-01T00:00:00.000Z",
        "bill/BillingPeriodEndDate": "2023-12-01T00:00:00.000Z",
        "lineItem/UsageAccountId": "210987654321",
        "lineItem/LineItemType": line_item_type,
        "lineItem/UsageStartDate": "2023-11-04T23:00:00.000Z",
        "lineItem/UsageEndDate": "2023-11-05T00:00:00.000Z",
        "lineItem/ProductCode": "AmazonEC2",
        "lineItem/UsageType": "USE1-BoxUsage:m5.large",
        "lineItem/Operation": "RunInstances",
        "lineItem/AvailabilityZone": "us-east-1a",
        "lineItem/ResourceId": "i-0abc123",
        "lineItem/UsageAmount": "1.0",
        "lineItem/CurrencyCode": "USD",
        "lineItem/UnblendedRate": "0.096",
        "lineItem/UnblendedCost": "0.096",
        "lineItem/LineItemDescription": "$0.096 per On Demand Linux m5.large Instance Hour",
        "lineItem/LegalEntity": "Amazon Web Services, Inc.",
        "product/ProductName": "Amazon Elastic Compute Cloud",
        "product/region": "us-east-1",
        "product/location": "US East (N. Virginia)",
        "product/sku": "SKU123",
        "pricing/RateCode": "SKU123.JRTCKXETXF.6YS6EN2CT7",
        "pricing/RateId": "12345",
        "pricing/publicOnDemandCost": "0.096",
        "pricing/publicOnDemandRate": "0.096",
        "pricing/term": "OnDemand",
        "pricing/unit": "Hrs",
        "reservation/EffectiveCost": "",
        "reservation/ReservationARN": "",
        "reservation/TotalReservedUnits": "",
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod": "",
        "reservation/UnusedRecurringFee": "",
        "savingsPlan/SavingsPlanARN": "",
        "savingsPlan/SavingsPlanEffectiveCost": "",
        "savingsPlan/TotalCommitmentToDate": "",
        "savingsPlan/UsedCommitment": "",
    }
    unknown = set(values) - set(row) - {k for k in values if k.startswith(("resourceTags/", "costCategory/"))}
    assert not unknown, f"test bug: unknown CUR columns {unknown}"
    row.update(values)
    return row


def to_cur2(row):
    """The same line item as CUR 2.0 exports it: snake_case columns, product attributes
    and tags in map columns (JSON text, as in a CUR 2.0 CSV export)."""
    out, product, tags, cost_categories = {}, {}, {}, {}
    for name, value in row.items():
        if name.startswith("resourceTags/user:"):
            if value:
                tags["user_" + name[len("resourceTags/user:"):]] = value
        elif name.startswith("costCategory/"):
            if value:
                cost_categories[name[len("costCategory/"):]] = value
        elif name == "product/ProductName":
            product["product_name"] = value
        elif name == "product/region":
            out["product_region_code"] = value  # CUR 2.0 renamed product_region
        else:
            out[canonical(name)] = value
    out["product"] = json.dumps(product)
    out["resource_tags"] = json.dumps(tags)
    out["cost_category"] = json.dumps(cost_categories)
    return out
