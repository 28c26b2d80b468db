"""Rendering generated line items as legacy CUR CSV rows and CUR 2.0 Parquet batches.

Legacy CUR: ``category/Name`` headers, every value text, Decimals in plain notation, blank for
null. CUR 2.0: fixed snake_case schema, map columns ``product``, ``resource_tags``,
``cost_category`` (map<string,string>) and ``discount`` (map<string,double>). Money in CUR 2.0
Parquet is ``double`` as AWS writes it; every generated amount has at most 15 significant
digits, so ``Decimal(repr(value))`` recovers the exact generated Decimal (goldens rely on it).
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal
from typing import Any, Iterable, Iterator

import pyarrow as pa

from sandbox.aws.generator import COST_COLUMNS, tag_columns

CUR1_BASE_COLUMNS = (
    "identity/LineItemId", "identity/TimeInterval", "bill/InvoiceId", "bill/InvoicingEntity",
    "bill/BillingEntity", "bill/BillType", "bill/PayerAccountId", "bill/BillingPeriodStartDate",
    "bill/BillingPeriodEndDate", "lineItem/UsageAccountId", "lineItem/LineItemType",
    "lineItem/UsageStartDate", "lineItem/UsageEndDate", "lineItem/ProductCode", "lineItem/UsageType",
    "lineItem/Operation", "lineItem/AvailabilityZone", "lineItem/ResourceId", "lineItem/UsageAmount",
    "lineItem/CurrencyCode", "lineItem/UnblendedRate", "lineItem/UnblendedCost", "lineItem/BlendedRate",
    "lineItem/BlendedCost", "lineItem/NetUnblendedCost", "lineItem/LineItemDescription", "lineItem/TaxType",
    "lineItem/LegalEntity", "product/ProductName", "product/region", "product/servicecode", "product/sku",
    "pricing/publicOnDemandCost", "pricing/publicOnDemandRate", "pricing/term", "pricing/unit",
    "savingsPlan/SavingsPlanEffectiveCost", "savingsPlan/SavingsPlanARN",
    "reservation/ReservationARN", "reservation/EffectiveCost",
)
_DATES = {"bill/BillingPeriodStartDate", "bill/BillingPeriodEndDate", "lineItem/UsageStartDate", "lineItem/UsageEndDate"}
_NUMBERS = set(COST_COLUMNS) | {"lineItem/UsageAmount", "lineItem/UnblendedRate", "lineItem/BlendedRate",
                                "pricing/publicOnDemandRate", "savingsPlan/SavingsPlanEffectiveCost",
                                "reservation/EffectiveCost"}


def cur1_columns(month: str) -> tuple[str, ...]:
    return CUR1_BASE_COLUMNS + tag_columns(month)


def cur1_manifest_columns(month: str) -> list[tuple[str, str, str]]:
    """(category, name, type) for the manifest."""
    out = []
    for col in cur1_columns(month):
        category, name = col.split("/", 1)
        kind = "BigDecimal" if col in _NUMBERS else "DateTime" if col in _DATES else "String"
        kind = "Interval" if col == "identity/TimeInterval" else kind
        out.append((category, name, kind))
    return out


def cur1_row(item: dict[str, Any], columns: tuple[str, ...]) -> list[str]:
    return ["" if (v := item[c]) is None else format(v, "f") if isinstance(v, Decimal) else v for c in columns]


@functools.lru_cache(maxsize=1024)
def snake(column: str) -> str:
    """'lineItem/UnblendedCost' -> 'line_item_unblended_cost'."""
    category, name = column.split("/", 1)
    return _camel(category) + "_" + _camel(name)


def _camel(text: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower()


_CUR2_SCALARS = [c for c in CUR1_BASE_COLUMNS if not c.startswith("product/")]
_MONEY = {snake(c) for c in _NUMBERS if "Rate" not in c} | {"line_item_usage_amount"}
_RATES = {snake(c) for c in _NUMBERS if "Rate" in c}
_TS = {snake(c) for c in _DATES}
STR_MAP = pa.map_(pa.string(), pa.string())


def _field(name: str) -> pa.Field:
    if name in _MONEY:
        return pa.field(name, pa.float64())
    if name in _TS:
        return pa.field(name, pa.timestamp("ms", tz="UTC"))
    return pa.field(name, pa.string())


CUR2_SCHEMA = pa.schema(
    [_field(snake(c)) for c in _CUR2_SCALARS]
    + [pa.field("bill_payer_account_name", pa.string()), pa.field("line_item_usage_account_name", pa.string()),
       pa.field("product_servicecode", pa.string()), pa.field("product_sku", pa.string()),
       pa.field("product_region_code", pa.string()), pa.field("product", STR_MAP),
       pa.field("resource_tags", STR_MAP), pa.field("cost_category", STR_MAP),
       pa.field("discount", pa.map_(pa.string(), pa.float64()))]
)
CUR2_COST_COLUMNS = tuple(snake(c) for c in COST_COLUMNS)
_CUR2_NAMES = tuple((c, snake(c)) for c in _CUR2_SCALARS)


@functools.lru_cache(maxsize=64)
def _tag_keys(month: str) -> tuple[tuple[str, str], ...]:
    """resourceTags/user:CostCenter -> user_cost_center (CUR 2.0 map keys)."""
    return tuple(("user_" + _camel(c.split(":", 1)[1]), c)[::-1] for c in tag_columns(month) if c.startswith("resourceTags/"))


def cur2_manifest_columns() -> list[tuple[str, str]]:
    return [(f.name, str(f.type)) for f in CUR2_SCHEMA]


@functools.lru_cache(maxsize=8192)
def _ts(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


def cur2_record(item: dict[str, Any], month: str) -> dict[str, Any]:
    """One CUR 2.0 row (Python values; money as float, exact for our <=15-digit amounts)."""
    rec: dict[str, Any] = {}
    for col, name in _CUR2_NAMES:
        value = item[col]
        if name in _MONEY:
            rec[name] = None if value is None else float(value)
        elif name in _TS:
            rec[name] = _ts(value)
        else:
            rec[name] = None if value is None else format(value, "f") if isinstance(value, Decimal) else value
    rec["bill_payer_account_name"] = f"Sandbox payer {item['bill/PayerAccountId']}"
    rec["line_item_usage_account_name"] = f"Sandbox account {item['lineItem/UsageAccountId']}"
    rec["product_servicecode"] = item["product/servicecode"]
    rec["product_sku"] = item["product/sku"]
    rec["product_region_code"] = item["product/region"]
    rec["product"] = [("product_name", item["product/ProductName"]), ("region", item["product/region"])]
    rec["resource_tags"] = [
        (key, item[c]) for c, key in _tag_keys(month) if item[c]
    ]
    rec["cost_category"] = [("BusinessUnit", item["costCategory/BusinessUnit"])]
    unblended, net = item["lineItem/UnblendedCost"], item["lineItem/NetUnblendedCost"]
    rec["discount"] = [("total_discount", float(net - unblended))] if item["lineItem/LineItemType"] == "Usage" else []
    return rec


def cur2_batches(items: Iterable[dict[str, Any]], month: str, batch_rows: int = 10_000) -> Iterator[pa.RecordBatch]:
    """Stream items as record batches of at most ``batch_rows`` rows."""
    names = CUR2_SCHEMA.names
    columns: dict[str, list[Any]] = {name: [] for name in names}
    count = 0
    for item in items:
        for name, value in cur2_record(item, month).items():
            columns[name].append(value)
        count += 1
        if count >= batch_rows:
            yield pa.RecordBatch.from_pydict(columns, schema=CUR2_SCHEMA)
            columns, count = {name: [] for name in names}, 0
    if count:
        yield pa.RecordBatch.from_pydict(columns, schema=CUR2_SCHEMA)
