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
below. Results (results.py): by UsageDate then grouping values, except the record-grain shape
(Daily + ResourceId, no filter) which pages straight from storage order without materializing.
"""
from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable

from sandbox.azure.dataset import Scope
from sandbox.azure.records import CostRecord
from sandbox.periods import months_between

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
