"""Azure rows -> FOCUS: every export header dialect gives identical rows for the same charges;
Query API pages map by column name; bad rows are quarantined with a reason."""
import csv
import io
import json
from decimal import Decimal

import pytest

from include.ingest.billing.normalize.azure import normalize_batch
from include.ingest.billing.normalize.azure_columns import header_key, resolve, tags_json
from include.ingest.billing.normalize.context import NormalizeContext
from include.ingest.billing.sources import azure_exports

SUB = "9bbd7ce1-b6fe-4a99-a58a-99da788b1b0f"
RID = f"/subscriptions/{SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm-1"
CHARGES = [  # (day, charge type, pricing model, cost, quantity, tags)
    (3, "Usage", "OnDemand", "7.36547689", "6100.215065", {"Environment": "Prod", "CostCenter": "cc-001"}),
    (4, "Refund", "OnDemand", "-1.50000000", "0", {}),
    (5, "Purchase", "Reservation", "120.00000000", "1", {"Environment": "Dev"}),
    (31, "UnusedReservation", "Reservation", "0.12345678", "2.5", {}),
]
FIELDS = ("BillingAccountId", "Date", "SubscriptionId", "SubscriptionName", "ResourceGroup", "ResourceLocation",
          "MeterCategory", "MeterName", "ConsumedService", "ResourceId", "UnitOfMeasure", "Quantity",
          "ChargeType", "PricingModel", "Cost", "Currency", "Tags")
HEADERS = {  # dialect -> header per field (billing-formats.md §3.8)
    "ea": ("BillingAccountId", "Date", "SubscriptionId", "SubscriptionName", "ResourceGroup", "ResourceLocation",
           "MeterCategory", "MeterName", "ConsumedService", "ResourceId", "UnitOfMeasure", "Quantity",
           "ChargeType", "PricingModel", "CostInBillingCurrency", "BillingCurrencyCode", "Tags"),
    "mca": ("billingAccountId", "date", "SubscriptionId", "subscriptionName", "resourceGroupName",
            "resourceLocation", "meterCategory", "meterName", "consumedService", "ResourceId", "unitOfMeasure",
            "quantity", "chargeType", "pricingModel", "costInBillingCurrency", "billingCurrency", "tags"),
    "de": ("Abrechnungskonto-ID (BillingAccountId)", "Datum (Date)", "Abonnement-GUID (SubscriptionGuid)",
           "Abonnementname (SubscriptionName)", "Ressourcengruppe (ResourceGroup)",
           "Ressourcenstandort (ResourceLocation)", "Kategorie der Verbrauchseinheit (MeterCategory)",
           "Name der Verbrauchseinheit (MeterName)", "Verbrauchter Dienst (ConsumedService)",
           "Instanz-ID (InstanceId)", "Maßeinheit (UnitOfMeasure)", "Verbrauchte Menge (ConsumedQuantity)",
           "Gebührentyp (ChargeType)", "Preismodell (PricingModel)", "Kosten (Cost)", "Währung (Currency)",
           "Tags (Tags)"),
    "payg-bom": ("BillingAccountId", "UsageDateTime", "SubscriptionGuid", "SubscriptionName", "ResourceGroup",
                 "ResourceLocation", "MeterCategory", "MeterName", "ConsumedService", "InstanceId",
                 "UnitOfMeasure", "UsageQuantity", "ChargeType", "PricingModel", "PreTaxCost", "Currency", "Tags"),
}


def _values(dialect, charge):
    day, charge_type, model, cost, quantity, tags = charge
    date = f"01/{day:02d}/2024" if dialect in ("ea", "mca") else f"2024-01-{day:02d}"
    if dialect == "ea":  # EA's tags come without braces
        tag_text = ",".join(f'"{k}": "{v}"' for k, v in tags.items())
    else:
        tag_text = json.dumps(tags) if tags else ""
    return ("12345678", date, SUB, "Sandbox subscription 0", "rg-web", "West Europe", "Virtual Machines",
            "D2s v5", "Microsoft.Compute", RID, "1 Hour", quantity, charge_type, model, cost, "USD", tag_text)


def write_dialect(tmp_path, dialect):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS[dialect])
    for charge in CHARGES:
        writer.writerow(_values(dialect, charge))
    if dialect == "mca":  # MCA adds costInUsd: a different number that must never be taken as the cost
        buffer = io.StringIO(buffer.getvalue().replace("billingCurrency,tags", "billingCurrency,tags,costInUsd")
                             .replace("\r\n", ",999\r\n").replace("tags,costInUsd,999", "tags,costInUsd", 1))
    path = tmp_path / f"{dialect}.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8-sig" if dialect == "payg-bom" else "utf-8")
    return path


def ctx(version="run-1"):
    return NormalizeContext("azure", "12345678", "2024-01", version, "00000", source_file="part.csv")


def normalized(path):
    rows, quarantined = [], []
    for batch in azure_exports.read_batches(path.as_uri(), "csv"):
        result = normalize_batch(batch, ctx())
        rows += result.good.to_pylist()
        quarantined += result.quarantined
    return rows, quarantined


def test_every_header_dialect_gives_identical_focus_rows(tmp_path):
    results = {d: normalized(write_dialect(tmp_path, d)) for d in HEADERS}
    for dialect, (rows, quarantined) in results.items():
        assert quarantined == [], (dialect, quarantined)
        assert len(rows) == len(CHARGES)
    reference = results["ea"][0]
    for dialect, (rows, _) in results.items():
        assert rows == reference, dialect
    usage, refund, purchase, unused = reference
    assert usage["BilledCost"] == usage["EffectiveCost"] == usage["ListCost"] == Decimal("7.36547689")
    assert usage["Tags"] == '{"CostCenter":"cc-001","Environment":"Prod"}'
    assert (usage["ServiceName"], usage["ServiceCategory"]) == ("microsoft.compute", "Compute")
    assert (usage["ResourceType"], usage["ResourceName"]) == ("microsoft.compute/virtualmachines", "vm-1")
    assert usage["PricingCategory"] == "Standard" and usage["ConsumedQuantity"] == Decimal("6100.215065")
    assert str(usage["ChargePeriodStart"]) == "2024-01-03 00:00:00+00:00"
    assert str(usage["ChargePeriodEnd"]) == "2024-01-04 00:00:00+00:00"
    assert str(usage["BillingPeriodEnd"]) == "2024-02-01 00:00:00+00:00"
    assert (refund["ChargeCategory"], refund["BilledCost"]) == ("Adjustment", Decimal("-1.5"))
    assert (purchase["ChargeCategory"], purchase["ChargeFrequency"]) == ("Purchase", "One-Time")
    assert purchase["ConsumedQuantity"] is None and purchase["PricingCategory"] == "Committed"
    assert (unused["ChargeCategory"], str(unused["ChargePeriodEnd"])) == ("Usage", "2024-02-01 00:00:00+00:00")


def test_query_api_columns_map_by_name_whatever_their_order():
    columns = ["UsageDate", "Currency", "ChargeType", "ResourceId", "UsageQuantity", "Cost"]
    batch = [dict(zip(columns, (20240103, "USD", "Usage", RID, "6100.215065", "7.36547689")))]
    result = normalize_batch(batch, ctx())
    (row,) = result.good.to_pylist()
    assert (row["BilledCost"], row["SubAccountId"], row["ServiceName"]) == (Decimal("7.36547689"), SUB,
                                                                          "microsoft.compute")
    assert str(row["ChargePeriodStart"]) == "2024-01-03 00:00:00+00:00" and row["ConsumedQuantity"]


def test_bad_rows_are_quarantined_with_reasons():
    good = {"Date": "2024-01-02", "Cost": "1.5", "Currency": "USD", "ResourceId": RID, "BillingAccountId": "12345678"}
    rows = [good, {**good, "Date": "2024-02-01"}, {**good, "Cost": "1,5"}, {**good, "BillingAccountId": "999"},
            {**good, "Tags": '"a": {"nested": 1}'}, {**good, "Date": "yesterday"}]
    result = normalize_batch(rows, ctx())
    assert result.good.num_rows == 1
    reasons = {q.row_ordinal: q.reason for q in result.quarantined}
    assert "within 2024-01" in reasons[1]
    assert "exact decimal" in reasons[2]
    assert "'12345678'" in reasons[3]
    assert "scalar tag values" in reasons[4]
    assert "as a date" in reasons[5]
    assert all(q.line_number == q.row_ordinal + 2 for q in result.quarantined)


@pytest.mark.parametrize("header, key", [("\ufeffSubscriptionGuid", "subscriptionguid"),
                                         ("Kosten (Cost)", "cost"), ("costInBillingCurrency", "costinbillingcurrency"),
                                         ("Maßeinheit (UnitOfMeasure)", "unitofmeasure")])
def test_header_keys(header, key):
    assert header_key(header) == key


def test_the_billing_currency_cost_wins_over_usd():
    assert resolve(["costInUsd", "costInBillingCurrency", "PreTaxCost"])["cost"] == "costInBillingCurrency"


def test_tags_without_braces_are_wrapped():
    assert tags_json('"b": "2","a": "1"') == ('{"a":"1","b":"2"}', None)
    assert tags_json("") == (None, None)
