"""GCP Cloud Billing export rows (BigQuery, flattened to dotted text columns) -> FOCUS 1.2.

``normalize_batch(batch, context) -> NormalizedBatch(good, quarantined)``; contract in
``context.py``. Mapping (billing-formats.md §6.2, with its ⚠ resolved):

* BilledCost = ``cost``; ContractedCost = ``cost``; ListCost = ``cost_at_list`` (else cost).
* EffectiveCost = ``cost`` + Σ ``credits.amount`` -- credits (sustained/committed use
  discounts, promotions) are discounts applied on the row (FOCUS discount handling), so
  they live in EffectiveCost, not in rows of their own. *Not* floored at 0: a negating
  correction row must be able to cancel what it corrects, or the month would not add up.
* BillingPeriodStart/End = ``invoice.month`` in America/Los_Angeles (Google's invoice
  months are Pacific), as UTC: 2024-01 -> [2024-01-01T08:00Z, 2024-02-01T08:00Z).
* ChargePeriod = ``usage_start_time`` / ``usage_end_time``. ChargeCategory from
  ``cost_type``: tax -> Tax, regular -> Usage, adjustment / rounding_error -> Adjustment.
* Corrections (rows with ``adjustment_info``) are kept as the rows Google appended;
  ChargeClass = Correction only when the corrected usage lies before the invoice month
  (FOCUS: a correction of a previously invoiced period).
* SubAccount = ``project.id`` / ``project.name``; ServiceName = ``service.description``
  with ServiceCategory from ``lookups/gcp_category_mapping.csv``; Tags = ``labels``.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from include.ingest.billing import decimal_ops
from include.ingest.billing.focus import MONEY, TIMESTAMP
from include.ingest.billing.keys import idempotency_keys
from include.ingest.billing.lookups import service_category
from include.ingest.billing.normalize import arrow_parse
from include.ingest.billing.normalize.arrow_parse import Distinct, map_distinct
from include.ingest.billing.normalize.assemble import finish_batch
from include.ingest.billing.normalize.context import NormalizeContext, NormalizedBatch
from include.ingest.billing.normalize.source import Batch, SourceBatch

PROVIDER = "Google Cloud"
PACIFIC = ZoneInfo("America/Los_Angeles")
_CATEGORY = {"regular": "Usage", "tax": "Tax", "adjustment": "Adjustment", "rounding_error": "Adjustment"}


def invoice_period(month: str | None) -> tuple[dt.datetime, dt.datetime] | None:
    """``'202401'`` -> (2024-01-01 00:00 Pacific, 2024-02-01 00:00 Pacific) as UTC."""
    try:
        start = dt.datetime.strptime(month or "", "%Y%m")
    except ValueError:
        return None
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return tuple(t.replace(tzinfo=PACIFIC).astimezone(dt.timezone.utc) for t in (start, end))  # type: ignore[return-value]


def _credits(text: str | None) -> Decimal | None:
    """Σ credits[].amount exactly (amounts are the API's decimal text); None if unreadable."""
    if not text:
        return Decimal(0)
    try:
        return sum((Decimal(str(c.get("amount") or 0)) for c in json.loads(text)), Decimal(0))
    except (ValueError, TypeError, ArithmeticError, AttributeError):
        return None


def _labels(text: str | None) -> str | None:
    try:
        pairs = json.loads(text) if text else []
        tags = {p["key"]: p.get("value") for p in pairs}
    except (ValueError, TypeError, KeyError):
        return None
    return json.dumps(tags, sort_keys=True, separators=(",", ":")) if tags else None


class _Cols:
    def __init__(self, source: SourceBatch) -> None:
        self.source, self.n, self.reasons = source, source.num_rows, {}

    def flag(self, mask: pa.Array, reason) -> None:
        for i in pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist():
            self.reasons.setdefault(i, []).append(reason(i) if callable(reason) else reason)

    def s(self, name: str) -> pa.Array:
        if name not in self.source.names:
            return pa.nulls(self.n, pa.string())
        return arrow_parse.strings(self.source.column(name))

    def d(self, name: str) -> pa.Array:
        values, problems = arrow_parse.decimals(self.s(name))
        for i, problem in problems.items():
            self.reasons.setdefault(i, []).append(f"{name}: {problem}")
        return values

    def t(self, name: str) -> pa.Array:
        values, problems = arrow_parse.timestamps(self.s(name))
        for i, problem in problems.items():
            self.reasons.setdefault(i, []).append(f"{name}: {problem}")
        return values

    def require(self, name: str, values: pa.Array) -> None:
        self.flag(pc.is_null(values), f"expected {name} to be set, got nothing")


def _build(c: _Cols, ctx: NormalizeContext) -> dict[str, pa.Array]:
    n, none = c.n, pa.nulls(c.n, pa.string())
    cost = c.d("cost")
    c.require("cost", cost)
    credits_text = c.s("credits")
    credits = map_distinct(credits_text, _credits, MONEY)
    c.flag(pc.is_null(credits), lambda i: f"expected credits as a JSON list of {{amount}}, got {credits_text[i].as_py()!r}")
    effective = decimal_ops.add(cost, pc.fill_null(credits, pa.scalar(Decimal(0), MONEY)))
    month = c.s("invoice.month")
    c.flag(pc.not_equal(month, ctx.billing_period.replace("-", "")),
           lambda i: f"expected invoice.month {ctx.billing_period.replace('-', '')} (this slice), got "
                     f"{month[i].as_py()!r}; the row belongs to another invoice month")
    bounds = Distinct(month)
    period_start = bounds.map(lambda m: (invoice_period(m) or (None, None))[0], TIMESTAMP)
    period_end = bounds.map(lambda m: (invoice_period(m) or (None, None))[1], TIMESTAMP)
    account = c.s("billing_account_id")
    c.flag(pc.not_equal(account, ctx.billing_account),
           f"expected billing_account_id {ctx.billing_account!r} (this slice); check the DAG run's billing account")
    start, end = c.t("usage_start_time"), c.t("usage_end_time")
    for name, values in (("usage_start_time", start), ("usage_end_time", end), ("currency", c.s("currency"))):
        c.require(name, values)
    cost_type = c.s("cost_type")
    category = map_distinct(cost_type, lambda t: _CATEGORY.get((t or "regular").lower(), "Usage"), pa.string())
    frequency = map_distinct(category, lambda k: "One-Time" if k == "Adjustment" else "Usage-Based", pa.string())
    corrected = pc.and_(pc.is_valid(c.s("adjustment_info.id")), pc.less(start, period_start))
    usage = pc.equal(category, "Usage")

    def only(mask: pa.Array, values: pa.Array) -> pa.Array:
        return pc.if_else(pc.fill_null(mask, False), values, pa.nulls(n, values.type))

    service = c.s("service.description")
    keys = idempotency_keys(ctx.provider, ctx.billing_account, ctx.billing_period, ctx.version, ctx.chunk_id,
                            ctx.first_row_ordinal, n)
    return {
        "AvailabilityZone": c.s("location.zone"), "BilledCost": cost, "BillingAccountId": account,
        "BillingAccountName": none, "BillingCurrency": c.s("currency"), "BillingPeriodEnd": period_end,
        "BillingPeriodStart": period_start, "ChargeCategory": category,
        "ChargeClass": pc.if_else(pc.fill_null(corrected, False), pa.scalar("Correction"), none),
        "ChargeDescription": c.s("sku.description"), "ChargeFrequency": frequency,
        "ChargePeriodEnd": end, "ChargePeriodStart": start,
        "CommitmentDiscountCategory": none, "CommitmentDiscountId": none, "CommitmentDiscountName": none,
        "CommitmentDiscountStatus": none, "CommitmentDiscountType": none,
        "ConsumedQuantity": only(usage, c.d("usage.amount")), "ConsumedUnit": only(usage, c.s("usage.unit")),
        "ContractedCost": cost, "ContractedUnitPrice": pa.nulls(n, MONEY), "EffectiveCost": effective,
        "InvoiceId": none, "InvoiceIssuerName": pa.repeat(pa.scalar(PROVIDER), n),
        "ListCost": pc.coalesce(c.d("cost_at_list"), cost), "ListUnitPrice": pa.nulls(n, MONEY),
        "PricingCategory": none, "PricingQuantity": only(usage, c.d("usage.amount_in_pricing_units")),
        "PricingUnit": only(usage, c.s("usage.pricing_unit")), "ProviderName": pa.repeat(pa.scalar(PROVIDER), n),
        "PublisherName": pc.coalesce(c.s("seller_name"), pa.scalar(PROVIDER)),
        "RegionId": pc.coalesce(c.s("location.region"), c.s("location.location")),
        "RegionName": none, "ResourceId": c.s("resource.global_name"), "ResourceName": c.s("resource.name"),
        "ResourceType": none,
        "ServiceCategory": map_distinct(service, lambda v: service_category("gcp", v), pa.string()),
        "ServiceName": pc.coalesce(service, c.s("service.id")), "SkuId": only(pc.invert(pc.equal(category, "Tax")),
                                                                             c.s("sku.id")),
        "SkuPriceId": none, "SubAccountId": c.s("project.id"), "SubAccountName": c.s("project.name"),
        "Tags": map_distinct(c.s("labels"), _labels, pa.string()),
        "x_provider": pa.repeat(pa.scalar(ctx.provider), n), "x_billing_account": pa.repeat(pa.scalar(ctx.billing_account), n),
        "x_billing_period": pa.repeat(pa.scalar(ctx.billing_period), n), "x_version": pa.repeat(pa.scalar(ctx.version), n),
        "x_chunk_id": pa.repeat(pa.scalar(ctx.chunk_id), n),
        "x_row_ordinal": pa.array(range(ctx.first_row_ordinal, ctx.first_row_ordinal + n), pa.int64()),
        "x_source_file": pa.repeat(pa.scalar(ctx.source_file, pa.string()), n), "x_source_line": pa.nulls(n, pa.int64()),
        "x_idempotency_key": pa.array(keys, pa.string()), "x_line_item_type": cost_type,
        "x_service_code": c.s("service.id"), "x_usage_type": c.s("adjustment_info.type"),
        "x_operation": c.s("adjustment_info.mode"),
    }  # fmt: skip


def normalize_batch(batch: Batch, context: NormalizeContext) -> NormalizedBatch:
    """Normalize one batch of flattened export rows; bad rows are quarantined with every
    reason. Raises ``TypeError``/``ValueError`` only for a wrong batch shape or context."""
    source = SourceBatch(batch)
    cols = _Cols(source)
    return finish_batch(source, _build(cols, context), cols.reasons, context, lines=False)
