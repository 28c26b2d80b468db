"""Deterministic CUR line items for one (payer account, month, version).

Row i is a pure function of (seed, payer, month, i) plus, for restated versions, a re-rating
draw keyed by the version; so any row can be produced alone and the stream never sits in
memory. Version v has ``n + v * late_rows(n)`` rows: each restatement adds late charges and
re-rates about 5 % of the existing rows (a full month-to-date snapshot, as AWS delivers).

Facts mirrored from billing-formats.md §1.3-1.4: identity/LineItemId repeats (it is derived
from resource + usage type + day, not from the row), TimeInterval is hourly, dates carry
milliseconds, BlendedCost is blank on discount lines, InvoiceId is blank until the month is
final, and the resourceTags/* columns vary month to month.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Iterator

from sandbox.detrand import RowRand, u64
from sandbox.periods import hours_in, iso_ms, iso_s, month_end, month_start

TEN_PLACES = Decimal("1E-10")
COST_COLUMNS = ("lineItem/UnblendedCost", "lineItem/BlendedCost", "lineItem/NetUnblendedCost", "pricing/publicOnDemandCost")

# (ProductCode, ProductName, UsageType, Operation, pricing unit, region)
PRODUCTS = (
    ("AmazonEC2", "Amazon Elastic Compute Cloud", "BoxUsage:m5.large", "RunInstances", "Hrs", "us-east-1"),
    ("AmazonS3", "Amazon Simple Storage Service", "TimedStorage-ByteHrs", "StandardStorage", "GB-Mo", "us-east-1"),
    ("AmazonRDS", "Amazon Relational Database Service", "InstanceUsage:db.t3.medium", "CreateDBInstance:0014", "Hrs", "eu-west-1"),
    ("AWSLambda", "AWS Lambda", "Lambda-GB-Second", "Invoke", "Lambda-GB-Second", "us-west-2"),
    ("AmazonCloudWatch", "AmazonCloudWatch", "CW:MetricMonitorUsage", "MetricStorage", "Metrics", "us-east-1"),
    ("AWSDataTransfer", "AWS Data Transfer", "DataTransfer-Out-Bytes", "", "GB", "ca-central-1"),
)
# LineItemType with weights (percent, summing to 100)
LINE_TYPES = (("Usage", 76), ("DiscountedUsage", 5), ("SavingsPlanCoveredUsage", 5), ("Tax", 4),
              ("Credit", 3), ("Fee", 2), ("EdpDiscount", 3), ("Refund", 2))
_TYPE_TABLE = tuple(t for t, w in LINE_TYPES for _ in range(w))
ENVIRONMENTS = ("prod", "staging", "dev", "")
TEAMS = ("data", "web", "ml", "platform")


def late_rows(n: int) -> int:
    """Rows a restatement adds on top of the previous version."""
    return max(1, n // 100)


def row_count(n: int, version: int) -> int:
    return n + version * late_rows(n)


def usage_accounts(payer: str) -> tuple[str, ...]:
    return (payer, f"{(int(payer) + 1) % 10**12:012d}", f"{(int(payer) + 2) % 10**12:012d}")


def tag_columns(month: str) -> tuple[str, ...]:
    """Dynamic columns: the tag set changes between months (odd months gain CostCenter)."""
    base = ("resourceTags/user:Environment", "resourceTags/user:Team")
    extra = ("resourceTags/user:CostCenter",) if int(month[-2:]) % 2 else ()
    return base + extra + ("costCategory/BusinessUnit",)


@functools.lru_cache(maxsize=4096)
def _hour_texts(month: str, hour: int) -> tuple[str, str, str, int]:
    """(interval, start ms, end ms, day) of an hour of the month; cached, rows share hours."""
    t0 = month_start(month) + dt.timedelta(hours=hour)
    t1 = t0 + dt.timedelta(hours=1)
    return f"{iso_s(t0)}/{iso_s(t1)}", iso_ms(t0), iso_ms(t1), t0.day


@functools.lru_cache(maxsize=65536)
def _token(seed: int, *keys: object) -> str:
    return base64.b32encode(u64(seed, *keys).to_bytes(8, "big")).decode().lower().rstrip("=")


@functools.lru_cache(maxsize=256)
def _month_facts(month: str) -> tuple[int, str, str]:
    return hours_in(month), iso_ms(month_start(month)), iso_ms(month_end(month))


def line_item(seed: int, payer: str, month: str, version: int, n: int, i: int, final: bool) -> dict[str, Any]:
    """Row i as {CUR column name: str | Decimal | None}; Decimals are the money/quantities."""
    r = RowRand(seed, "aws", payer, month, i)
    hours, period_start, period_end = _month_facts(month)
    hour = i * hours // n if i < n else r.below(7, hours)
    interval, start_text, end_text, day = _hour_texts(month, hour)
    kind = _TYPE_TABLE[r.below(0, 100)]
    code, name, usage_type, operation, unit, region = r.pick(1, PRODUCTS)
    resource_no = r.below(2, 40)
    lid = _token(seed, "lid", payer, code, resource_no, day)
    amount = r.amount(3, 1, 10**8, 6)  # 0.000001 .. 100 units
    rate = r.amount(4, 1, 5 * 10**8, 10)  # up to 0.05 USD per unit
    if version and RowRand(seed, "aws-rerate", payer, month, version, i).chance(0, 5):
        rate = (rate * Decimal("1.0375")).quantize(TEN_PLACES, ROUND_HALF_EVEN)
    cost = (amount * rate).quantize(TEN_PLACES, ROUND_HALF_EVEN)
    public_cost = (cost * Decimal("1.25")).quantize(TEN_PLACES, ROUND_HALF_EVEN)
    blended: Decimal | None = cost
    net = (cost * Decimal("0.97")).quantize(TEN_PLACES, ROUND_HALF_EVEN)
    if kind in ("Credit", "Refund", "EdpDiscount"):
        cost, net, public_cost = -cost, -net, Decimal(0)
        blended = None if kind == "EdpDiscount" else cost
    elif kind == "Tax":
        amount, rate, public_cost = Decimal(1), Decimal(0), Decimal(0)
    env, team = r.pick(5, ENVIRONMENTS), r.pick(6, TEAMS)
    resource_id = "" if kind in ("Tax", "Credit", "Refund", "EdpDiscount") else _resource_id(code, region, payer, resource_no)
    return {
        "identity/LineItemId": lid,
        "identity/TimeInterval": interval,
        "bill/InvoiceId": _token(seed, "invoice", payer, month).upper()[:10] if final else "",
        "bill/InvoicingEntity": "Amazon Web Services, Inc.",
        "bill/BillingEntity": "AWS",
        "bill/BillType": "Refund" if kind == "Refund" else "Anniversary",
        "bill/PayerAccountId": payer,
        "bill/BillingPeriodStartDate": period_start,
        "bill/BillingPeriodEndDate": period_end,
        "lineItem/UsageAccountId": r.pick(2, usage_accounts(payer)),
        "lineItem/LineItemType": kind,
        "lineItem/UsageStartDate": start_text,
        "lineItem/UsageEndDate": end_text,
        "lineItem/ProductCode": code,
        "lineItem/UsageType": "" if kind == "Tax" else usage_type,
        "lineItem/Operation": "" if kind == "Tax" else operation,
        "lineItem/AvailabilityZone": f"{region}a" if code in ("AmazonEC2", "AmazonRDS") else "",
        "lineItem/ResourceId": resource_id,
        "lineItem/UsageAmount": amount,
        "lineItem/CurrencyCode": "USD",
        "lineItem/UnblendedRate": rate,
        "lineItem/UnblendedCost": cost,
        "lineItem/BlendedRate": None if blended is None else rate,
        "lineItem/BlendedCost": blended,
        "lineItem/NetUnblendedCost": net,
        "lineItem/LineItemDescription": f"{kind} {usage_type} {name}",
        "lineItem/TaxType": "Sales Tax" if kind == "Tax" else "",
        "lineItem/LegalEntity": "Amazon Web Services, Inc.",
        "product/ProductName": name,
        "product/region": region,
        "product/servicecode": code,
        "product/sku": _token(seed, "sku", code).upper(),
        "pricing/publicOnDemandCost": public_cost,
        "pricing/publicOnDemandRate": (rate * Decimal("1.25")).quantize(TEN_PLACES, ROUND_HALF_EVEN),
        "pricing/term": "OnDemand" if kind == "Usage" else ("Reserved" if kind == "DiscountedUsage" else ""),
        "pricing/unit": unit,
        "savingsPlan/SavingsPlanEffectiveCost": cost if kind == "SavingsPlanCoveredUsage" else None,
        # real CUR names the commitment on the lines it covers (and only there)
        "savingsPlan/SavingsPlanARN": (f"arn:aws:savingsplans::{payer}:savingsplan/sp-{seed:04d}"
                                       if kind == "SavingsPlanCoveredUsage" else ""),
        "reservation/ReservationARN": (f"arn:aws:ec2:{region}:{payer}:reserved-instances/ri-{seed:04d}"
                                       if kind == "DiscountedUsage" else ""),
        "reservation/EffectiveCost": cost if kind == "DiscountedUsage" else None,
        "resourceTags/user:Environment": env,
        "resourceTags/user:Team": team,
        "resourceTags/user:CostCenter": f"cc-{resource_no % 7:03d}",
        "costCategory/BusinessUnit": "analytics" if team in ("data", "ml") else "product",
    }


def _resource_id(code: str, region: str, payer: str, no: int) -> str:
    if code == "AmazonEC2":
        return f"i-{no:017x}"
    if code == "AmazonS3":
        return f"sandbox-bucket-{no:03d}"
    return f"arn:aws:{code.lower().replace('amazon', '').replace('aws', '')}:{region}:{payer}:resource/r-{no:05d}"


def line_items(seed: int, payer: str, month: str, version: int, n: int, final: bool) -> Iterator[dict[str, Any]]:
    """Every row of the version, in row order."""
    for i in range(row_count(n, version)):
        yield line_item(seed, payer, month, version, n, i, final)
