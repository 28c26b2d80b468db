"""The seed-style baseline the pipeline is measured against: one pydantic model per row,
then executemany `INSERT … ON CONFLICT DO NOTHING` (what a first implementation does).

It does the pipeline's job on the same rows: the FOCUS columns the pipeline fills for a CUR
line (45 of them, nulls left out), read from the same file, all of it, into a table indexed
like a published partition. (Until 2026-11-22 it wrote 32 columns of the first 50,000 rows
into an empty table: less work than the pipeline, on the cheapest part of the index.)"""
from __future__ import annotations

import csv
import gzip
import itertools
import json
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import psycopg
from pydantic import BaseModel

from include.ingest.billing.keys import idempotency_key
from include.ingest.billing.store.columns import sql_name


class FocusRow(BaseModel):
    BilledCost: Decimal
    EffectiveCost: Decimal
    ListCost: Decimal
    ContractedCost: Decimal
    BillingAccountId: str
    BillingCurrency: str
    BillingPeriodStart: datetime
    BillingPeriodEnd: datetime
    ChargePeriodStart: datetime
    ChargePeriodEnd: datetime
    ChargeCategory: str
    ChargeFrequency: str
    ChargeDescription: str | None
    InvoiceIssuerName: str
    ProviderName: str
    PublisherName: str
    ServiceCategory: str
    ServiceName: str
    SubAccountId: str | None
    ResourceId: str | None
    RegionId: str | None
    SkuId: str | None
    ConsumedQuantity: Decimal | None
    PricingUnit: str | None
    Tags: str | None
    x_provider: str
    x_billing_account: str
    x_billing_period: str
    x_version: str
    x_chunk_id: str
    x_row_ordinal: int
    x_idempotency_key: str
    AvailabilityZone: str | None
    ConsumedUnit: str | None
    ContractedUnitPrice: Decimal | None
    ListUnitPrice: Decimal | None
    PricingCategory: str | None
    PricingQuantity: Decimal | None
    ResourceName: str | None
    x_source_file: str
    x_source_line: int
    x_line_item_type: str
    x_service_code: str
    x_usage_type: str
    x_operation: str


def _decimal(text: str) -> Decimal | None:
    return Decimal(text) if text else None


def to_model(row: dict, ordinal: int, version: str, source: str) -> FocusRow:
    kind = row["lineItem/LineItemType"]
    billed = _decimal(row.get("lineItem/NetUnblendedCost", "")) or Decimal(row["lineItem/UnblendedCost"])
    effective = _decimal(row.get("reservation/EffectiveCost", "")) if kind == "DiscountedUsage" else billed
    tags = {k.split(":", 1)[1]: v for k, v in row.items() if k.startswith("resourceTags/user:") and v}
    return FocusRow(
        BilledCost=billed, EffectiveCost=effective or billed,
        ListCost=_decimal(row["pricing/publicOnDemandCost"]) or billed, ContractedCost=billed,
        BillingAccountId=row["bill/PayerAccountId"], BillingCurrency=row["lineItem/CurrencyCode"],
        BillingPeriodStart=row["bill/BillingPeriodStartDate"].replace("Z", "+00:00"),
        BillingPeriodEnd=row["bill/BillingPeriodEndDate"].replace("Z", "+00:00"),
        ChargePeriodStart=row["lineItem/UsageStartDate"].replace("Z", "+00:00"),
        ChargePeriodEnd=row["lineItem/UsageEndDate"].replace("Z", "+00:00"),
        ChargeCategory="Tax" if kind == "Tax" else "Usage", ChargeFrequency="Usage-Based",
        ChargeDescription=row["lineItem/LineItemDescription"], InvoiceIssuerName="AWS",
        ProviderName="AWS", PublisherName="AWS", ServiceCategory="Compute",
        ServiceName=row["lineItem/ProductCode"], SubAccountId=row["lineItem/UsageAccountId"],
        ResourceId=row["lineItem/ResourceId"] or None, RegionId=row["product/region"] or None,
        SkuId=row["product/sku"] or None, ConsumedQuantity=_decimal(row["lineItem/UsageAmount"]),
        PricingUnit=row["pricing/unit"] or None, Tags=json.dumps(tags) if tags else None,
        x_provider="aws", x_billing_account=row["bill/PayerAccountId"], x_billing_period="2024-01",
        x_version=version, x_chunk_id="00000", x_row_ordinal=ordinal,
        x_idempotency_key=idempotency_key("aws", row["bill/PayerAccountId"], "2024-01", version,
                                          "00000", ordinal),
        AvailabilityZone=row["lineItem/AvailabilityZone"] or None,
        ConsumedUnit=row["pricing/unit"] or None,
        ContractedUnitPrice=_decimal(row["lineItem/UnblendedRate"]),
        ListUnitPrice=_decimal(row["pricing/publicOnDemandRate"]),
        PricingCategory="Standard", PricingQuantity=_decimal(row["lineItem/UsageAmount"]),
        ResourceName=row["lineItem/ResourceId"] or None, x_source_file=source,
        x_source_line=ordinal + 2, x_line_item_type=kind,
        x_service_code=row["lineItem/ProductCode"], x_usage_type=row["lineItem/UsageType"],
        x_operation=row["lineItem/Operation"])


def run(path: Path, url: str, rows: int, make_table: Callable) -> dict:
    """Baseline on the first `rows` rows of the file, into a table made by
    `make_table(conn, name)` (shaped and indexed like a published partition); returns rows
    and seconds."""
    version = f"baseline-{time.time_ns()}"
    fields = list(FocusRow.model_fields)
    with psycopg.connect(url) as conn:
        make_table(conn, "bench_baseline")
    sql = (f"INSERT INTO bench_baseline ({', '.join(sql_name(f) for f in fields)}) VALUES "
           f"({', '.join(['%s'] * len(fields))}) ON CONFLICT (x_idempotency_key) DO NOTHING")
    started = time.perf_counter()
    with gzip.open(path, "rt", newline="") as text, psycopg.connect(url) as conn:
        reader = enumerate(itertools.islice(csv.DictReader(text), rows))
        with conn.cursor() as cur:
            for batch in iter(lambda: list(itertools.islice(reader, 1000)), []):
                models = [to_model(row, ordinal, version, str(path)) for ordinal, row in batch]
                cur.executemany(sql, [[getattr(m, f) for f in fields] for m in models])
        conn.commit()
    return {"rows": rows, "seconds": time.perf_counter() - started}
