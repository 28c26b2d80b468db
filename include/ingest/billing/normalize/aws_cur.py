"""AWS CUR (legacy CSV and CUR 2.0) -> FOCUS 1.2 rows, one batch at a time.

``normalize_batch(batch, context) -> NormalizedBatch(good, quarantined)``:
contract in ``context.py``, column names and tags in ``aws_cur_columns.py``, the
per-LineItemType mapping table in ``aws_cur_rules.py``.

Everything is computed column-wise with pyarrow: a derived column costs a few
vectorized kernels, and low-cardinality lookups (rules per LineItemType, the
ServiceCategory table, ARN parsing) run once per *distinct* value. Per-row Python
is limited to the idempotency key, Tags (only when tag columns exist) and bad rows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from include.ingest.billing import decimal_ops
from include.ingest.billing.focus import MONEY, TIMESTAMP
from include.ingest.billing.keys import idempotency_keys
from include.ingest.billing.lookups import service_category
from include.ingest.billing.normalize.arrow_parse import Distinct, exclusive_end, map_distinct
from include.ingest.billing.normalize.aws_cur_columns import CurColumns, resource_parts
from include.ingest.billing.normalize.aws_cur_rules import LINE_ITEM_RULES, RuleColumns
from include.ingest.billing.normalize.assemble import finish_batch
from include.ingest.billing.normalize.context import NormalizeContext, NormalizedBatch
from include.ingest.billing.normalize.source import Batch, SourceBatch

PROVIDER = "AWS"
_ZERO = pa.scalar(Decimal(0), MONEY)


def _where(mask: pa.Array, then: pa.Array | pa.Scalar, otherwise: pa.Array) -> pa.Array:
    """``then`` where ``mask`` (NULL = false), else ``otherwise``; skips the copy when the
    mask is all false -- most rules touch no row of a typical batch."""
    if mask.null_count:
        mask = pc.fill_null(mask, False)
    if not pc.any(mask).as_py():
        return otherwise
    return pc.if_else(mask, then, otherwise)


def _const(value: str | None, n: int) -> pa.Array:
    return pa.nulls(n, pa.string()) if value is None else pa.repeat(pa.scalar(value, pa.string()), n)


def _period_start(period: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(period, "%Y-%m").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise ValueError(f"expected context.billing_period as 'YYYY-MM', got {period!r}") from None


def _costs(cols: CurColumns, rules: RuleColumns) -> dict[str, pa.Array]:
    unblended = cols.decimals("line_item_unblended_cost")
    billed = pc.coalesce(cols.decimals("line_item_net_unblended_cost"), unblended)
    cols.require("line_item_unblended_cost", billed)

    effective = _where(rules.is_("effective", "zero"), _ZERO, billed)
    for kind, canon in (
        ("sp_effective", "savings_plan_savings_plan_effective_cost"),
        ("ri_effective", "reservation_effective_cost"),
    ):
        mask, values = rules.is_("effective", kind), cols.decimals(canon)
        cols.require(canon, values, "on this LineItemType", where=mask)
        effective = _where(mask, values, effective)
    sp_unused_mask = rules.is_("effective", "sp_unused")
    if pc.any(sp_unused_mask).as_py():
        committed = cols.decimals("savings_plan_total_commitment_to_date")
        used = cols.decimals("savings_plan_used_commitment")
        sp_unused = decimal_ops.subtract(committed, used)
        why = "and savingsPlan/UsedCommitment on a SavingsPlanRecurringFee row"
        cols.require("savings_plan_total_commitment_to_date", sp_unused, why, where=sp_unused_mask)
        effective = _where(sp_unused_mask, sp_unused, effective)
    ri_unused_mask = rules.is_("effective", "ri_unused")
    if pc.any(ri_unused_mask).as_py():
        ri_unused = decimal_ops.add(
            pc.coalesce(cols.decimals("reservation_unused_amortized_upfront_fee_for_billing_period"), _ZERO),
            pc.coalesce(cols.decimals("reservation_unused_recurring_fee"), _ZERO),
        )
        effective = _where(ri_unused_mask, ri_unused, effective)
    has_ri = pc.is_valid(cols.strings("reservation_reservation_a_r_n"))
    effective = _where(pc.and_(rules.is_("effective", "fee"), has_ri), _ZERO, effective)

    amount = cols.decimals("line_item_usage_amount")
    public_rate = cols.decimals("pricing_public_on_demand_rate")
    public = cols.decimals("pricing_public_on_demand_cost")
    if public.null_count:  # only multiply when some row lacks AWS's own public cost
        rate_times_amount, overflow = decimal_ops.multiply(public_rate, amount)
        for i in overflow:
            cols.flag(i, "expected pricing/publicOnDemandRate x lineItem/UsageAmount below 1e20, got more")
        public = pc.coalesce(public, rate_times_amount, billed)
    list_cost = _where(rules.is_("list_cost", "public"), public, billed)
    list_cost = _where(rules.is_("list_cost", "zero"), _ZERO, list_cost)
    contracted = _where(rules.is_("contracted", "unblended"), pc.coalesce(unblended, billed), billed)
    contracted = _where(rules.is_("contracted", "zero"), _ZERO, contracted)
    return {"billed": billed, "effective": effective, "list": list_cost, "contracted": contracted,
            "amount": amount, "public_rate": public_rate, "has_ri": has_ri}  # fmt: skip


def _build(cols: CurColumns, ctx: NormalizeContext) -> dict[str, pa.Array]:
    n = cols.num_rows
    none = pa.nulls(n, pa.string())
    line_type = cols.strings("line_item_line_item_type")
    cols.require("line_item_line_item_type", line_type)
    rules = RuleColumns(line_type)
    label = cols.label("line_item_line_item_type")
    for i in pc.indices_nonzero(pc.and_(pc.is_valid(line_type), pc.invert(rules.flag("category")))).to_pylist():
        cols.flag(i, f"expected {label} in {sorted(LINE_ITEM_RULES)}, got {line_type[i].as_py()!r}; "
                     "add it to LINE_ITEM_RULES in aws_cur_rules.py")  # fmt: skip
    if cols.has("split_line_item_parent_resource_id"):
        # Split cost allocation rows repeat their parent's cost; summing both triples
        # totals (billing-formats.md §2, §7.12). Until they map to allocation columns,
        # keep them out of the published slice -- visibly, in quarantine.
        cols.flag_mask(
            pc.is_valid(cols.strings("split_line_item_parent_resource_id")),
            f"expected no split cost allocation row, got one ({cols.label('split_line_item_parent_resource_id')} "
            "is set); its cost repeats the parent line item's, so publishing it would double count",
        )
    cost = _costs(cols, rules)
    category = rules.value("category")

    bill_start = cols.timestamps("bill_billing_period_start_date")
    bill_end = exclusive_end(cols.timestamps("bill_billing_period_end_date"))
    charge_start = cols.timestamps("line_item_usage_start_date")
    charge_end = exclusive_end(cols.timestamps("line_item_usage_end_date"))
    cols.require("bill_billing_period_start_date", bill_start)
    cols.require("bill_billing_period_end_date", bill_end)
    cols.require("line_item_usage_start_date", charge_start)
    cols.require("line_item_usage_end_date", charge_end)
    cols.flag_mask(
        pc.not_equal(bill_start, pa.scalar(_period_start(ctx.billing_period), TIMESTAMP)),
        f"expected {cols.label('bill_billing_period_start_date')} at the start of {ctx.billing_period} "
        "(this slice); the row belongs to another billing period: check the manifest the chunk came from",
    )
    account = cols.strings("bill_payer_account_id")
    cols.flag_mask(
        pc.not_equal(account, ctx.billing_account),
        f"expected {cols.label('bill_payer_account_id')} {ctx.billing_account!r} (this slice); "
        "check the billing account of the DAG run",
    )

    by_bill = map_distinct(
        cols.strings("bill_bill_type"), lambda b: "Recurring" if b == "Anniversary" else "One-Time", pa.string()
    )
    frequency = pc.coalesce(rules.value("frequency"), _where(rules.flag("category"), by_bill, none))
    correcting = pc.and_(rules.type_is("Credit", "Refund"), pc.less(charge_start, bill_start))
    charge_class = _where(correcting, pa.scalar("Correction"), none)

    usage_type = cols.strings("line_item_usage_type")
    spot = pc.or_(Distinct(usage_type).mask(lambda u: u is not None and "SpotUsage" in u),
                  pc.equal(pc.fill_null(cols.strings("pricing_term"), ""), "Spot"))  # fmt: skip
    pricing = _where(rules.is_("pricing", "Committed"), pa.scalar("Committed"), none)
    pricing = _where(rules.is_("pricing", "usage"), pc.if_else(spot, "Dynamic", "Standard"), pricing)
    pricing = _where(rules.is_("pricing", "fee"), pc.if_else(cost["has_ri"], "Committed", "Standard"), pricing)

    consumed, priced, unit_prices = rules.flag("consumed"), rules.flag("priced"), rules.flag("unit_prices")
    unit = cols.strings("pricing_unit")
    pricing_quantity = cost["amount"]
    if cols.has("reservation_total_reserved_units"):
        reserved = cols.decimals("reservation_total_reserved_units")
        pricing_quantity = _where(rules.type_is("RIFee"), pc.coalesce(reserved, cost["amount"]), cost["amount"])

    sp_arn, ri_arn = cols.strings("savings_plan_savings_plan_a_r_n"), cols.strings("reservation_reservation_a_r_n")
    cd_id = pc.coalesce(sp_arn, ri_arn)
    has_sp = pc.is_valid(sp_arn)
    cd_category = _where(has_sp, pa.scalar("Spend"), _where(cost["has_ri"], pa.scalar("Usage"), none))
    cd_type = _where(has_sp, pa.scalar("Savings Plan"), _where(cost["has_ri"], pa.scalar("Reserved Instance"), none))
    cd_status = _where(pc.and_(pc.is_valid(cd_id), rules.is_("category", "Usage")), pa.scalar("Used"), none)

    def only(mask: pa.Array, values: pa.Array) -> pa.Array:
        return _where(mask, values, pa.nulls(n, values.type))

    product_code = cols.strings("line_item_product_code")
    invoice_issuer = pc.coalesce(
        cols.strings("bill_invoicing_entity"), cols.strings("bill_billing_entity"), pa.scalar(PROVIDER)
    )
    resource = Distinct(cols.strings("line_item_resource_id"))
    first, first_line = ctx.first_row_ordinal, ctx.first_line
    if ctx.line_numbers is not None:
        lines = pa.array(ctx.line_numbers, pa.int64())
    elif first_line is None:
        lines = pa.nulls(n, pa.int64())
    else:
        lines = pa.array(range(first_line, first_line + n), pa.int64())
    keys = idempotency_keys(ctx.provider, ctx.billing_account, ctx.billing_period, ctx.version, ctx.chunk_id, first, n)
    return {
        "AvailabilityZone": cols.strings("line_item_availability_zone"),
        "BilledCost": cost["billed"],
        "BillingAccountId": account,
        "BillingAccountName": cols.strings("bill_payer_account_name"),
        "BillingCurrency": cols.strings("line_item_currency_code"),
        "BillingPeriodEnd": bill_end,
        "BillingPeriodStart": bill_start,
        "ChargeCategory": category,
        "ChargeClass": charge_class,
        "ChargeDescription": cols.strings("line_item_line_item_description"),
        "ChargeFrequency": frequency,
        "ChargePeriodEnd": charge_end,
        "ChargePeriodStart": charge_start,
        "CommitmentDiscountCategory": cd_category,
        "CommitmentDiscountId": cd_id,
        "CommitmentDiscountName": none,  # CUR has no commitment names
        "CommitmentDiscountStatus": cd_status,
        "CommitmentDiscountType": cd_type,
        "ConsumedQuantity": only(consumed, cost["amount"]),
        "ConsumedUnit": only(consumed, unit),
        "ContractedCost": cost["contracted"],
        "ContractedUnitPrice": only(unit_prices, cols.decimals("line_item_unblended_rate")),
        "EffectiveCost": cost["effective"],
        "InvoiceId": cols.strings("bill_invoice_id"),
        "InvoiceIssuerName": invoice_issuer,
        "ListCost": cost["list"],
        "ListUnitPrice": only(unit_prices, cost["public_rate"]),
        "PricingCategory": pricing,
        "PricingQuantity": only(priced, pricing_quantity),
        "PricingUnit": only(priced, unit),
        "ProviderName": _const(PROVIDER, n),
        "PublisherName": pc.coalesce(cols.strings("line_item_legal_entity"), pa.scalar(PROVIDER)),
        "RegionId": pc.coalesce(cols.strings("product_region"), cols.strings("product_region_code")),
        "RegionName": cols.strings("product_location"),
        "ResourceId": cols.strings("line_item_resource_id"),
        "ResourceName": resource.map(lambda r: resource_parts(r)[0], pa.string()),
        "ResourceType": resource.map(lambda r: resource_parts(r)[1], pa.string()),
        "ServiceCategory": map_distinct(product_code, lambda c: service_category("aws", c), pa.string()),
        "ServiceName": pc.coalesce(cols.strings("product_product_name"), product_code),
        "SkuId": only(priced, cols.strings("product_sku")),
        "SkuPriceId": only(priced, pc.coalesce(cols.strings("pricing_rate_code"), cols.strings("pricing_rate_id"))),
        "SubAccountId": cols.strings("line_item_usage_account_id"),
        "SubAccountName": cols.strings("line_item_usage_account_name"),
        "Tags": cols.tags_json(),
        "x_provider": _const(ctx.provider, n),
        "x_billing_account": _const(ctx.billing_account, n),
        "x_billing_period": _const(ctx.billing_period, n),
        "x_version": _const(ctx.version, n),
        "x_chunk_id": _const(ctx.chunk_id, n),
        "x_row_ordinal": pa.array(range(first, first + n), pa.int64()),
        "x_source_file": _const(ctx.source_file, n),
        "x_source_line": lines,
        "x_idempotency_key": pa.array(keys, pa.string()),
        "x_line_item_type": line_type,
        "x_service_code": product_code,
        "x_usage_type": usage_type,
        "x_operation": cols.strings("line_item_operation"),
    }  # fmt: skip


def normalize_batch(batch: Batch, context: NormalizeContext) -> NormalizedBatch:
    """Normalize one batch of CUR rows (legacy or CUR 2.0; row dicts, columns or Arrow).

    Never raises on bad *data*: a row with an unparseable number or date, a missing
    required field, an unknown LineItemType, a row of another slice, a malformed tag
    map or a FOCUS rule violation comes back in ``quarantined`` with every reason found
    and its line. Raises ``TypeError``/``ValueError`` only for a wrong batch shape or
    context (programming errors). Fastest with Arrow input of string columns
    (see ``source.csv_convert_options``).
    """
    source = SourceBatch(batch)
    cols = CurColumns(source)
    for i in source.malformed_rows():
        cols.flag(i, "expected as many fields as the header, got more: the CSV line is malformed (unquoted delimiter?)")
    return finish_batch(source, _build(cols, context), cols.reasons, context)
