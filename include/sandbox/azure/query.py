"""Cost Management Query API semantics: request validation, window rules, results.

Supported request (billing-formats.md §3.1): ``type`` Usage | ActualCost | AmortizedCost (all
three return the same sandbox numbers); ``timeframe`` Custom (with ``timePeriod``),
MonthToDate, BillingMonthToDate, TheLastMonth, TheLastBillingMonth, TheCurrentMonth,
WeekToDate, relative to the sandbox "today" = last day of the last sandbox month;
``dataset.granularity`` Daily | None; ``dataset.aggregation`` aliases with function Sum over
Cost, PreTaxCost, CostUSD, PreTaxCostUSD or UsageQuantity; ``dataset.grouping`` up to 2 of
``Dimension`` (see DIMENSIONS) or ``TagKey``; ``dataset.filter`` with and / or / not /
dimensions / tags, operator In.

Window rules (§3.4): from > to is swapped; Daily over 31 days truncates ``from`` to
to - 1 month + 1 day (or 400 with azure_daily_window="error"); over 37 months is a 400.
Response columns: aggregations, grouping columns (TagKey -> TagKey, TagValue), UsageDate
(Number yyyymmdd, Daily only), Currency. ResourceId grouping needs subscription scope or
below. Row order: by UsageDate then grouping values, except the record-grain shape (Daily +
ResourceId, no filter) which pages straight from storage order without materializing.
"""
from __future__ import annotations

import bisect
import calendar
import datetime as dt
import hashlib
import itertools
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from include.sandbox.azure.dataset import AzureDataset, Scope
from include.sandbox.azure.records import CostRecord, day_start, late_rows, record
from include.sandbox.periods import days_in, months_between

TYPES = ("Usage", "ActualCost", "AmortizedCost")
MEASURES = {"cost": "cost", "pretaxcost": "cost", "costusd": "cost", "pretaxcostusd": "cost", "usagequantity": "quantity"}
DIMENSIONS: dict[str, Callable[[CostRecord], str]] = {
    "ResourceGroup": lambda r: r.res.resource_group,
    "ResourceGroupName": lambda r: r.res.resource_group,
    "ResourceId": lambda r: r.res.resource_id,
    "ResourceType": lambda r: r.res.service[3],
    "ResourceLocation": lambda r: r.res.location,
    "ServiceName": lambda r: r.res.service[0],
    "MeterCategory": lambda r: r.res.service[1],
    "Meter": lambda r: r.res.service[2],
    "SubscriptionId": lambda r: r.res.subscription_id,
    "SubscriptionName": lambda r: f"Sandbox subscription {r.res.subscription}",
    "ChargeType": lambda r: r.charge_type,
    "PricingModel": lambda r: r.pricing_model,
    "PublisherType": lambda r: "Azure",
}
_DIM_BY_LOWER = {k.lower(): k for k in DIMENSIONS}
DATASET_MISSING = "Invalid query definition, Dataset is invalid or not supplied"


class QueryError(ValueError):
    def __init__(self, message: str, status: int = 400, code: str = "BadRequest") -> None:
        super().__init__(message)
        self.status, self.code = status, code


@dataclass
class QuerySpec:
    type: str
    start: dt.date
    end: dt.date  # inclusive
    daily: bool
    aggregations: list[tuple[str, str]]  # (alias, measure)
    groupings: list[tuple[str, str]]  # (type, canonical name)
    filter: dict[str, Any] | None
    body_hash: str

    @property
    def qpu(self) -> int:
        """One QPU per month of data queried (manage-automation.md)."""
        return months_between(self.start, self.end)

    def columns(self) -> list[dict[str, str]]:
        cols = [{"name": alias, "type": "Number"} for alias, _ in self.aggregations]
        for kind, name in self.groupings:
            cols += [{"name": "TagKey", "type": "String"}, {"name": "TagValue", "type": "String"}] if kind == "TagKey" else [{"name": name, "type": "String"}]
        if self.daily:
            cols.append({"name": "UsageDate", "type": "Number"})
        return cols + [{"name": "Currency", "type": "String"}]


def body_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _date(text: Any, field: str) -> dt.date:
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).date()
    except ValueError:
        raise QueryError(f"Invalid query definition: expected {field} as an ISO date-time (2024-01-01T00:00:00Z), got {text!r}") from None


def window(body: dict[str, Any], today: dt.date) -> tuple[dt.date, dt.date]:
    frame = str(body.get("timeframe", ""))
    first = today.replace(day=1)
    if frame.lower() == "custom":
        period = body.get("timePeriod") or {}
        if "from" not in period or "to" not in period:
            raise QueryError("Invalid query definition: timeframe Custom requires timePeriod with 'from' and 'to'")
        start, end = _date(period["from"], "timePeriod.from"), _date(period["to"], "timePeriod.to")
        return (end, start) if start > end else (start, end)  # Azure swaps silently
    if frame in ("MonthToDate", "BillingMonthToDate"):
        return first, today
    if frame in ("TheLastMonth", "TheLastBillingMonth"):
        last_end = first - dt.timedelta(days=1)
        return last_end.replace(day=1), last_end
    if frame == "TheCurrentMonth":
        return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])
    if frame == "WeekToDate":
        return today - dt.timedelta(days=today.weekday()), today
    raise QueryError(f"Invalid query definition: expected timeframe Custom, MonthToDate, TheLastMonth, TheCurrentMonth, WeekToDate, BillingMonthToDate or TheLastBillingMonth; got {frame!r}")


def _minus_month_plus_day(end: dt.date) -> dt.date:
    year, month = (end.year, end.month - 1) if end.month > 1 else (end.year - 1, 12)
    day = min(end.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day) + dt.timedelta(days=1)


def parse_body(body: Any, today: dt.date, daily_policy: str, scope: Scope) -> QuerySpec:
    if not isinstance(body, dict) or not isinstance(body.get("dataset"), dict):
        raise QueryError(DATASET_MISSING)
    if body.get("type") not in TYPES:
        raise QueryError(f"Invalid query definition: expected type one of {', '.join(TYPES)}; got {body.get('type')!r}")
    dataset = body["dataset"]
    granularity = dataset.get("granularity", "None")
    if granularity not in ("Daily", "None"):
        raise QueryError(f"Invalid query definition: expected granularity Daily or None; got {granularity!r}")
    start, end = window(body, today)
    if months_between(start, end) > 37:
        raise QueryError(f"Invalid query definition: the time period cannot exceed 37 months; got {start} to {end}")
    if granularity == "Daily" and (end - start).days + 1 > 31:
        if daily_policy == "error":
            raise QueryError(f"Invalid query definition: Daily granularity supports at most 31 days; got {(end - start).days + 1} days ({start} to {end}); split the window")
        start = _minus_month_plus_day(end)
    aggregations = []
    for alias, agg in (dataset.get("aggregation") or {}).items():
        if not isinstance(agg, dict) or str(agg.get("function", "")).lower() != "sum" or str(agg.get("name", "")).lower() not in MEASURES:
            raise QueryError(f"Invalid query definition: expected aggregation {{'name': Cost|PreTaxCost|CostUSD|PreTaxCostUSD|UsageQuantity, 'function': 'Sum'}}; got {alias}: {agg}")
        aggregations.append((alias, MEASURES[str(agg["name"]).lower()]))
    groupings = []
    for group in dataset.get("grouping") or []:
        kind, name = group.get("type"), str(group.get("name", ""))
        if kind == "Dimension" and name.lower() in _DIM_BY_LOWER:
            groupings.append(("Dimension", _DIM_BY_LOWER[name.lower()]))
        elif kind == "TagKey" and name:
            groupings.append(("TagKey", name))
        else:
            raise QueryError(f"Invalid query definition: expected grouping type Dimension ({', '.join(DIMENSIONS)}) or TagKey; got {group}")
    if len(groupings) > 2:
        raise QueryError(f"Invalid query definition: at most 2 groupings are allowed; got {len(groupings)}")
    if any(name == "ResourceId" for _, name in groupings) and scope.kind == "billingAccount":
        raise QueryError("Invalid query definition: grouping by ResourceId is supported at subscription or resource group scope only; query a subscription scope")
    flt = dataset.get("filter")
    if flt is not None:
        _check_filter(flt)
    return QuerySpec(body["type"], start, end, granularity == "Daily", aggregations, groupings, flt, body_hash(body))


def _check_filter(node: Any) -> None:
    if not isinstance(node, dict) or len(node) != 1:
        raise QueryError(f"Invalid query definition: expected a filter with one of and/or/not/dimensions/tags; got {node}")
    (key, value), = node.items()
    if key in ("and", "or"):
        if not isinstance(value, list) or len(value) < 2:
            raise QueryError(f"Invalid query definition: '{key}' needs at least 2 expressions; got {value}")
        for child in value:
            _check_filter(child)
    elif key == "not":
        _check_filter(value)
    elif key in ("dimensions", "tags"):
        if value.get("operator") != "In" or not isinstance(value.get("values"), list):
            raise QueryError(f"Invalid query definition: expected operator 'In' with a values list; got {value}")
        if key == "dimensions" and str(value.get("name", "")).lower() not in _DIM_BY_LOWER:
            raise QueryError(f"Invalid query definition: unknown dimension {value.get('name')!r}; expected one of {', '.join(DIMENSIONS)}")
    else:
        raise QueryError(f"Invalid query definition: unknown filter expression {key!r}")


def matches(node: dict[str, Any] | None, rec: CostRecord) -> bool:
    if node is None:
        return True
    (key, value), = node.items()
    if key == "and":
        return all(matches(c, rec) for c in value)
    if key == "or":
        return any(matches(c, rec) for c in value)
    if key == "not":
        return not matches(value, rec)
    wanted = {str(v).casefold() for v in value["values"]}
    if key == "dimensions":
        return DIMENSIONS[_DIM_BY_LOWER[value["name"].lower()]](rec).casefold() in wanted
    tag = dict(rec.res.tags).get(value["name"])
    return tag is not None and tag.casefold() in wanted


# ---- results ---------------------------------------------------------------------------
class ListResult:
    def __init__(self, rows: list[list[Any]]) -> None:
        self._rows = rows
        self.total = len(rows)

    def rows(self, offset: int, count: int) -> list[list[Any]]:
        return self._rows[offset : offset + count]


class RecordResult:
    """Record-grain results paged from storage: blocks of (month, version, first, count, stride)."""

    def __init__(self, ds: AzureDataset, spec: QuerySpec, blocks: list[tuple[str, int, int, int, int]]) -> None:
        self.ds, self.spec, self.blocks = ds, spec, blocks
        self._offsets = list(itertools.accumulate((b[3] for b in blocks), initial=0))
        self.total = self._offsets[-1]

    def rows(self, offset: int, count: int) -> list[list[Any]]:
        out = []
        for k in range(offset, min(offset + count, self.total)):
            b = bisect.bisect_right(self._offsets, k) - 1
            month, version, first, _, stride = self.blocks[b]
            i = first + (k - self._offsets[b]) * stride
            out.append(render(self.spec, record(self.ds.seed, self.ds.account, month, version, self.ds.n, i)))
        return out


def render(spec: QuerySpec, rec: CostRecord) -> list[Any]:
    row: list[Any] = [rec.cost if m == "cost" else rec.quantity for _, m in spec.aggregations]
    row += _group_values(spec, rec)
    if spec.daily:
        row.append(rec.date)
    return row + [rec.currency]


def _group_values(spec: QuerySpec, rec: CostRecord) -> list[str]:
    out: list[str] = []
    for kind, name in spec.groupings:
        out += [name, dict(rec.res.tags).get(name, "")] if kind == "TagKey" else [DIMENSIONS[name](rec)]
    return out


def months_in_window(spec: QuerySpec, ds: AzureDataset) -> list[str]:
    out, cursor = [], spec.start.replace(day=1)
    while cursor <= spec.end:
        month = f"{cursor.year:04d}-{cursor.month:02d}"
        if month in ds.versions:
            out.append(month)
        cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
    return out


def _day_range(spec: QuerySpec, month: str) -> tuple[int, int]:
    """0-based days of ``month`` inside the window, as [lo, hi)."""
    year, mon = int(month[:4]), int(month[5:])
    lo = max(spec.start, dt.date(year, mon, 1))
    hi = min(spec.end, dt.date(year, mon, days_in(month)))
    return (lo.day - 1, hi.day) if lo <= hi else (0, 0)


def record_blocks(ds: AzureDataset, spec: QuerySpec, scope: Scope) -> list[tuple[str, int, int, int, int]]:
    blocks = []
    n = ds.n
    for month in months_in_window(spec, ds):
        version, days = ds.version(month), days_in(month)
        d_lo, d_hi = _day_range(spec, month)
        for day0 in range(d_lo, d_hi):
            lo, hi = day_start(n, days, day0), day_start(n, days, day0 + 1)
            count = max(0, (hi - lo - scope.offset + scope.stride - 1) // scope.stride)
            if count:
                blocks.append((month, version, lo + scope.offset, count, scope.stride))
        for i in range(n, n + version * late_rows(n)):  # late records: few, checked one by one
            j = i  # late record i has resource number j = i (see records.record)
            if j % scope.stride == scope.offset and d_lo < record(ds.seed, ds.account, month, version, n, i).day <= d_hi:
                blocks.append((month, version, i, 1, 1))
    return blocks


def scoped_records(ds: AzureDataset, spec: QuerySpec, scope: Scope):
    for month, version, first, count, stride in record_blocks(ds, spec, scope):
        for k in range(count):
            yield record(ds.seed, ds.account, month, version, ds.n, first + k * stride)


def compute(ds: AzureDataset, spec: QuerySpec, scope: Scope) -> ListResult | RecordResult:
    if spec.daily and any(name == "ResourceId" for _, name in spec.groupings) and spec.filter is None:
        return RecordResult(ds, spec, record_blocks(ds, spec, scope))
    groups: dict[tuple[Any, ...], list[Decimal]] = {}
    for rec in scoped_records(ds, spec, scope):
        if not matches(spec.filter, rec):
            continue
        key = ((rec.date,) if spec.daily else ()) + tuple(_group_values(spec, rec))
        sums = groups.get(key)
        if sums is None:
            sums = groups[key] = [Decimal(0)] * len(spec.aggregations)
        for k, (_, measure) in enumerate(spec.aggregations):
            sums[k] += rec.cost if measure == "cost" else rec.quantity
    rows = []
    for key in sorted(groups):
        date, values = (key[0], list(key[1:])) if spec.daily else (None, list(key))
        rows.append(groups[key] + values + ([date] if spec.daily else []) + ["USD"])
    return ListResult(rows)
