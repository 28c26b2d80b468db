"""Valid FOCUS rows for persistence tests (the normalizers have their own tests)."""
from datetime import datetime, timezone
from decimal import Decimal

import pyarrow as pa

from include.ingest.billing.focus import SCHEMA, empty_row
from include.ingest.billing.keys import idempotency_key
from include.ingest.billing.store.ledger import SliceVersion

UTC = timezone.utc


def slice_version(version="A", at_day=3, account="111122223333", period="2023-11"):
    return SliceVersion("aws", account, period, version, datetime(2023, 12, at_day, tzinfo=UTC))


def focus_rows(sv: SliceVersion, chunk_id: str, costs: list[str]) -> list[dict]:
    rows = []
    for ordinal, cost in enumerate(costs):
        row = empty_row()
        row.update({
            "BilledCost": Decimal(cost), "EffectiveCost": Decimal(cost),
            "ListCost": Decimal(cost), "ContractedCost": Decimal(cost),
            "BillingAccountId": sv.billing_account, "BillingCurrency": "USD",
            "BillingPeriodStart": datetime(2023, 11, 1, tzinfo=UTC),
            "BillingPeriodEnd": datetime(2023, 12, 1, tzinfo=UTC),
            "ChargePeriodStart": datetime(2023, 11, 2, tzinfo=UTC),
            "ChargePeriodEnd": datetime(2023, 11, 3, tzinfo=UTC),
            "ChargeCategory": "Usage", "ChargeFrequency": "Usage-Based",
            "ChargeDescription": f"row {ordinal}, with \"quotes\", commas\nand a newline",
            "InvoiceIssuerName": "AWS", "ProviderName": "AWS", "PublisherName": "AWS",
            "ServiceCategory": "Compute", "ServiceName": "Amazon EC2",
            "Tags": '{"team": "data"}',
            "x_provider": sv.provider, "x_billing_account": sv.billing_account,
            "x_billing_period": sv.billing_period, "x_version": sv.version,
            "x_chunk_id": chunk_id, "x_row_ordinal": ordinal,
            "x_source_line": ordinal + 2,
            "x_idempotency_key": idempotency_key(sv.provider, sv.billing_account,
                                                 sv.billing_period, sv.version, chunk_id,
                                                 ordinal)})
        rows.append(row)
    return rows


def batches(sv, chunk_id, costs, size=2):
    rows = focus_rows(sv, chunk_id, costs)
    return [pa.RecordBatch.from_pylist(rows[i:i + size], schema=SCHEMA)
            for i in range(0, len(rows), size)]
