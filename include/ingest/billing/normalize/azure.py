"""Azure cost rows (Query API pages and export CSVs, every dialect) -> FOCUS 1.2 rows.

``normalize_batch(batch, context) -> NormalizedBatch(good, quarantined)``: contract in
``context.py``; header dialects in ``azure_columns.py``. Mapping (billing-formats.md §6.3,
with its ⚠ fixed):

* BilledCost = EffectiveCost = ContractedCost = the billing-currency cost (actual-cost
  data; amortization needs the amortized dataset). ListCost: Azure's actual-cost data has
  no list price, and FOCUS requires a value, so it is the billed cost too.
* ChargePeriodStart = the row's day (``Date`` / ``UsageDate`` yyyymmdd …), End = +1 day
  (exclusive); BillingPeriod = the slice's month, [1st, 1st of next month) UTC. A row
  dated outside the slice, or of another billing account, is quarantined.
* ChargeCategory from ChargeType: Usage, Purchase, Tax kept; UnusedReservation /
  UnusedSavingsPlan -> Usage (status Unused); anything else (Refund, RoundingAdjustment …)
  -> Adjustment; no ChargeType column (PAYG, German exports) -> Usage.
* ServiceName = ConsumedService (``microsoft.compute``), taken from the resource id's (or
  ResourceType's) provider namespace when the dialect has no ConsumedService column, so
  every dialect names a service the same; ServiceCategory from
  ``lookups/azure_category_mapping.csv``.
* Tags: a JSON object with sorted keys (brace-less tags are wrapped first).

Rows that cannot be parsed or break a FOCUS rule come back quarantined with every reason.
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from include.ingest.billing.focus import TIMESTAMP
from include.ingest.billing.keys import idempotency_keys
from include.ingest.billing.lookups import service_category
from include.ingest.billing.normalize.arrow_parse import Distinct, map_distinct
from include.ingest.billing.normalize.azure_columns import AzureColumns, tags_json
from include.ingest.billing.normalize.assemble import finish_batch
from include.ingest.billing.normalize.context import NormalizeContext, NormalizedBatch
from include.ingest.billing.normalize.source import Batch, SourceBatch

PROVIDER, ISSUER = "Azure", "Microsoft"
_CATEGORY = {"usage": "Usage", "purchase": "Purchase", "tax": "Tax",
             "unusedreservation": "Usage", "unusedsavingsplan": "Usage"}
_FREQUENCY = {"onetime": "One-Time", "recurring": "Recurring", "usagebased": "Usage-Based"}
_PRICING = {"ondemand": "Standard", "spot": "Dynamic", "reservation": "Committed",
            "savingsplan": "Committed", "savingsplans": "Committed"}
_DAY = pa.scalar(dt.timedelta(days=1))


def _key(value: str | None) -> str:
    return "".join(ch for ch in (value or "").lower() if ch.isalnum())


def _const(value: str | None, n: int) -> pa.Array:
    return pa.nulls(n, pa.string()) if value is None else pa.repeat(pa.scalar(value, pa.string()), n)


def _where(mask: pa.Array, then, otherwise: pa.Array) -> pa.Array:
    return pc.if_else(pc.fill_null(mask, False), then, otherwise)


def _resource_parts(resource_id: str | None) -> tuple[str | None, str | None, str | None]:
    """(namespace, type, name) from an ARM id ``/subscriptions/…/providers/microsoft.compute/
    virtualMachines/vm1`` -> (``microsoft.compute``, ``microsoft.compute/virtualmachines``, ``vm1``)."""
    if not resource_id or "/providers/" not in resource_id.lower():
        return None, None, (resource_id.rstrip("/").rsplit("/", 1)[-1] or None) if resource_id else None
    tail = resource_id[resource_id.lower().rindex("/providers/") + len("/providers/"):].strip("/").split("/")
    namespace = tail[0].lower()
    kind = f"{namespace}/{tail[1].lower()}" if len(tail) > 1 else None
    return namespace, kind, tail[-1] if len(tail) > 2 else None


def _subscription_of(resource_id: str | None) -> str | None:
    parts = (resource_id or "").strip("/").split("/")
    return parts[1] if len(parts) > 1 and parts[0].lower() == "subscriptions" else None


def _period(ctx: NormalizeContext) -> tuple[dt.datetime, dt.datetime]:
    try:
        start = dt.datetime.strptime(ctx.billing_period, "%Y-%m").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise ValueError(f"expected context.billing_period as 'YYYY-MM', got {ctx.billing_period!r}") from None
    return start, (start + dt.timedelta(days=32)).replace(day=1)


def _commitment(cols: AzureColumns, charge_key: Distinct, category: pa.Array) -> dict[str, pa.Array]:
    n = cols.num_rows
    benefit = cols.strings("benefit_id")
    kind = map_distinct(benefit, lambda b: None if b is None else "Usage" if "/microsoft.capacity/" in b.lower()
                        else "Spend" if "/microsoft.billingbenefits/" in b.lower() else "?", pa.string())
    cols.flag_mask(pc.equal(kind, "?"), f"expected {cols.label('benefit_id')} under /microsoft.capacity/ or "
                                        "/microsoft.billingbenefits/, got another resource; extend azure.py")
    kind = _where(pc.equal(kind, "?"), pa.scalar(None, pa.string()), kind)
    unused = charge_key.mask(lambda c: _key(c) in ("unusedreservation", "unusedsavingsplan"))
    status = _where(pc.is_valid(benefit), _where(unused, pa.scalar("Unused"),
                    _where(pc.equal(category, "Usage"), pa.scalar("Used"), _const(None, n))), _const(None, n))
    kind_name = map_distinct(kind, lambda k: {"Usage": "Reservation", "Spend": "Savings Plan"}.get(k), pa.string())
    return {"CommitmentDiscountId": benefit, "CommitmentDiscountName": cols.strings("benefit_name"),
            "CommitmentDiscountCategory": kind, "CommitmentDiscountType": kind_name,
            "CommitmentDiscountStatus": status, "unused": unused}


def _build(cols: AzureColumns, ctx: NormalizeContext) -> dict[str, pa.Array]:
    n = cols.num_rows
    none = _const(None, n)
    cost = cols.decimals("cost")
    cols.require("cost", cost)
    currency = cols.strings("currency")
    cols.require("currency", currency)
    day = cols.days("date")
    cols.require("date", day)
    start, end = _period(ctx)
    outside = pc.or_(pc.less(day, pa.scalar(start, TIMESTAMP)), pc.greater_equal(day, pa.scalar(end, TIMESTAMP)))
    cols.flag_mask(outside, f"expected {cols.label('date')} within {ctx.billing_period} (this slice); the row "
                            "belongs to another period: check the query window or export run")
    account = pc.coalesce(cols.strings("billing_account_id"), pa.scalar(ctx.billing_account))
    cols.flag_mask(pc.not_equal(account, ctx.billing_account),
                   f"expected {cols.label('billing_account_id')} {ctx.billing_account!r} (this slice); "
                   "check the billing account of the DAG run")

    charge_type = cols.strings("charge_type")
    charge_key = Distinct(charge_type)
    category = charge_key.map(lambda c: "Usage" if c is None else _CATEGORY.get(_key(c), "Adjustment"), pa.string())
    by_category = map_distinct(category, lambda c: "Usage-Based" if c in ("Usage", "Tax") else "One-Time", pa.string())
    frequency = pc.coalesce(map_distinct(cols.strings("frequency"), lambda f: _FREQUENCY.get(_key(f)), pa.string()),
                            by_category)
    frequency = _where(pc.and_(pc.equal(category, "Purchase"), pc.equal(frequency, "Usage-Based")),
                       pa.scalar("One-Time"), frequency)
    commitment = _commitment(cols, charge_key, category)
    pricing = map_distinct(cols.strings("pricing_model"),
                           lambda p: None if p is None else _PRICING.get(_key(p), "Other"), pa.string())
    pricing = _where(pc.equal(category, "Tax"), pa.scalar(None, pa.string()), pricing)
    consumed = pc.and_(pc.equal(category, "Usage"), pc.invert(commitment.pop("unused")))

    resource_id = cols.strings("resource_id")
    parts = Distinct(resource_id)
    resource_type = pc.coalesce(map_distinct(cols.strings("resource_type"), lambda t: t and t.lower(), pa.string()),
                                parts.map(lambda r: _resource_parts(r)[1], pa.string()))
    service = pc.coalesce(map_distinct(cols.strings("consumed_service"), lambda s: s and s.lower(), pa.string()),
                          parts.map(lambda r: _resource_parts(r)[0], pa.string()),
                          map_distinct(resource_type, lambda t: t and t.split("/")[0], pa.string()),
                          cols.strings("meter_category"))  # last resort: a row without a resource
    cols.require("consumed_service", service)
    location = cols.strings("location")
    tags_text = cols.strings("tags")
    tag_values = Distinct(tags_text)
    tags = tag_values.map(lambda t: tags_json(t)[0], pa.string())
    for i in pc.indices_nonzero(tag_values.mask(lambda t: tags_json(t)[1] is not None)).to_pylist():
        cols.flag(i, tags_json(tags_text[i].as_py())[1])
    quantity = cols.decimals("quantity")
    first, lines = ctx.first_row_ordinal, [ctx.line_of(i) for i in range(n)]
    keys = idempotency_keys(ctx.provider, ctx.billing_account, ctx.billing_period, ctx.version, ctx.chunk_id, first, n)
    return {
        "AvailabilityZone": none, "BilledCost": cost, "BillingAccountId": account,
        "BillingAccountName": cols.strings("billing_account_name"), "BillingCurrency": currency,
        "BillingPeriodEnd": pa.repeat(pa.scalar(end, TIMESTAMP), n),
        "BillingPeriodStart": pa.repeat(pa.scalar(start, TIMESTAMP), n),
        "ChargeCategory": category, "ChargeClass": none, "ChargeDescription": cols.strings("product_name"),
        "ChargeFrequency": frequency, "ChargePeriodEnd": pc.add(day, _DAY), "ChargePeriodStart": day,
        **commitment,
        "ConsumedQuantity": _where(consumed, quantity, pa.nulls(n, quantity.type)),
        "ConsumedUnit": _where(consumed, cols.strings("unit"), none),
        "ContractedCost": cost, "ContractedUnitPrice": pa.nulls(n, cost.type), "EffectiveCost": cost,
        "InvoiceId": cols.strings("invoice_id"), "InvoiceIssuerName": _const(ISSUER, n), "ListCost": cost,
        "ListUnitPrice": pa.nulls(n, cost.type), "PricingCategory": pricing,
        "PricingQuantity": pa.nulls(n, cost.type), "PricingUnit": none, "ProviderName": _const(PROVIDER, n),
        "PublisherName": pc.coalesce(cols.strings("publisher_name"), pa.scalar(ISSUER)),
        "RegionId": map_distinct(location, lambda v: v and v.lower().replace(" ", ""), pa.string()),
        "RegionName": location, "ResourceId": resource_id,
        "ResourceName": pc.coalesce(cols.strings("resource_name"), parts.map(lambda r: _resource_parts(r)[2], pa.string())),
        "ResourceType": resource_type,
        "ServiceCategory": map_distinct(service, lambda s: service_category("azure", s), pa.string()),
        "ServiceName": service, "SkuId": cols.strings("meter_id"), "SkuPriceId": none,
        "SubAccountId": pc.coalesce(cols.strings("subscription_id"), parts.map(_subscription_of, pa.string())),
        "SubAccountName": cols.strings("subscription_name"), "Tags": tags,
        "x_provider": _const(ctx.provider, n), "x_billing_account": _const(ctx.billing_account, n),
        "x_billing_period": _const(ctx.billing_period, n), "x_version": _const(ctx.version, n),
        "x_chunk_id": _const(ctx.chunk_id, n), "x_row_ordinal": pa.array(range(first, first + n), pa.int64()),
        "x_source_file": _const(ctx.source_file, n), "x_source_line": pa.array(lines, pa.int64()),
        "x_idempotency_key": pa.array(keys, pa.string()), "x_line_item_type": charge_type,
        "x_service_code": cols.strings("meter_category"), "x_usage_type": cols.strings("meter_name"),
        "x_operation": none,
    }  # fmt: skip


def normalize_batch(batch: Batch, context: NormalizeContext) -> NormalizedBatch:
    """Normalize one batch of Azure rows (row dicts, columns or Arrow; any dialect).

    Never raises on bad *data* (bad rows are quarantined with their reasons and line);
    raises ``TypeError``/``ValueError`` only for a wrong batch shape or context.
    """
    source = SourceBatch(batch)
    cols = AzureColumns(source)
    for i in source.malformed_rows():
        cols.flag(i, "expected as many fields as the header, got more: the CSV line is malformed")
    return finish_batch(source, _build(cols, context), cols.reasons, context)
