"""Rows of a generated ``gcp_billing_export_v1_*`` table and their BigQuery REST encoding.

A row is first produced as a light ``Core`` (what aggregates need: invoice month, export
time, cost and credits in integer micros, cost_type, service, project) and only encoded in
full (``encode_row``) when served. Money is integer micros, so every sum is exact; FLOAT
columns are served as exact decimal strings, which is what the REST API sends for FLOAT.

Corrections follow billing-formats.md §4.2: appended rows that negate an original row
(cost, credits and usage.amount negated) plus a re-monetized row, both carrying
``adjustment_info`` (mode COMPLETE_NEGATION_WITH_REMONETIZATION, type USAGE_CORRECTION),
on the same invoice month and with a later ``export_time``.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.detrand import RowRand
from sandbox.periods import UTC, compact, hours_in, month_start

HOUR_US = 3_600_000_000
SERVICES = (  # (service.id, service.description, sku.id, sku.description, usage unit, pricing unit)
    ("6F81-5844-456A", "Compute Engine", "CF4E-A0C7-E3BF", "N2 Instance Core running in Americas", "seconds", "hour"),
    ("95FF-2EF5-5EA1", "Cloud Storage", "E5F0-6A5D-7BAD", "Standard Storage US Multi-region", "byte-seconds", "gibibyte month"),
    ("24E6-581D-38E5", "BigQuery", "3362-E469-6BEF", "Analysis", "bytes", "tebibyte"),
    ("9662-B51E-5089", "Cloud SQL", "D973-5D65-BAB2", "Cloud SQL for PostgreSQL: Zonal - vCPU", "seconds", "hour"),
    ("E505-1604-58F8", "Networking", "984A-1F5A-0B5F", "Network Internet Egress from Americas", "bytes", "gibibyte"),
)
PROJECTS = (("sandbox-prod-8841", "884100000001"), ("sandbox-stage-2210", "221000000002"),
            ("sandbox-data-5532", "553200000003"), ("sandbox-ml-7710", "771000000004"))
REGIONS = ("us-central1", "europe-west1", "asia-east1")
CREDIT_TYPES = (("SUSTAINED_USAGE_DISCOUNT", "Sustained Usage Discount"),
                ("COMMITTED_USAGE_DISCOUNT", "Committed Usage Discount: CPU"),
                ("PROMOTION", "Free trial credit"))
COST_TYPES = ("regular",) * 92 + ("tax",) * 5 + ("adjustment",) * 2 + ("rounding_error",)


@dataclass(slots=True)
class Core:
    month: str  # invoice.month, YYYYMM
    usage_start_us: int
    export_us: int
    cost_micros: int
    credits: tuple[tuple[int, int], ...]  # (credit type index, amount micros <= 0)
    usage_micros: int
    cost_type: str
    service: int
    project: int
    region: int
    labels: tuple[tuple[str, str], ...]
    adjustment: tuple[str, str, str, str] | None = None  # (id, description, mode, type)

    @property
    def credits_micros(self) -> int:
        return sum(a for _, a in self.credits)

    @property
    def cost(self) -> Decimal:
        return Decimal(self.cost_micros).scaleb(-6)

    @property
    def credits_total(self) -> Decimal:
        return Decimal(self.credits_micros).scaleb(-6)


@functools.lru_cache(maxsize=256)
def month_start_us(month: str) -> int:
    return int(month_start(month).timestamp()) * 1_000_000


def base_core(seed: int, account: str, month: str, i: int, n: int) -> Core:
    """Row i of the month's first export (usage ordered by hour, export_time increasing)."""
    r = RowRand(seed, "gcp", account, month, i)
    hours = hours_in(month)
    start = month_start_us(month)
    usage_start = start + (i * hours // n) * HOUR_US
    export = start + 6 * HOUR_US + i * hours * HOUR_US // n
    cost_type = COST_TYPES[r.below(0, len(COST_TYPES))]
    if cost_type == "regular":
        cost = 1 + r.below(1, 5_000_000)
    elif cost_type == "tax":
        cost = 1 + r.below(1, 400_000)
    elif cost_type == "adjustment":
        cost = -(1 + r.below(1, 800_000))
    else:
        cost = r.below(1, 11) - 5
    credits: tuple[tuple[int, int], ...] = ()
    if cost_type == "regular" and r.chance(2, 35):
        first = (r.below(3, 3), -(cost * (5 + r.below(4, 26)) // 100))
        credits = (first, (2, -(cost // 20))) if r.chance(5, 15) else (first,)
    labels = (("env", ("prod", "stage", "dev")[r.below(6, 3)]), ("team", ("data", "web", "ml")[r.below(7, 3)]))
    return Core(compact(month), usage_start, export, cost, credits, 1 + r.below(4, 10**9), cost_type,
                r.below(5, len(SERVICES)), r.below(6, len(PROJECTS)), r.below(7, len(REGIONS)), labels)


def correction_core(seed: int, account: str, month: str, version: int, j: int, n: int, export_us: int) -> Core:
    """Row j of correction batch ``version`` (>= 1): even j negates, odd j re-monetizes."""
    batch = correction_size(n)
    original_index = ((j // 2) * n // batch + 7 * version) % n
    orig = base_core(seed, account, month, original_index, n)
    adjustment = (f"adj-{compact(month)}-{version}-{j // 2}", "Correction of usage metering",
                  "COMPLETE_NEGATION_WITH_REMONETIZATION", "USAGE_CORRECTION")
    if j % 2 == 0:
        cost, credits, usage = -orig.cost_micros, tuple((t, -a) for t, a in orig.credits), -orig.usage_micros
    else:
        factor = 50 + RowRand(seed, "gcp-fix", account, month, version, j).below(0, 101)  # 50..150 %
        cost = orig.cost_micros * factor // 100
        credits = tuple((t, a * factor // 100) for t, a in orig.credits)
        usage = orig.usage_micros
    return Core(orig.month, orig.usage_start_us, export_us, cost, credits, usage, orig.cost_type,
                orig.service, orig.project, orig.region, orig.labels, adjustment)


def correction_size(n: int) -> int:
    """Originals corrected per restatement (each yields a negation and a re-monetized row)."""
    return max(1, n // 50)


# ---- BigQuery REST encoding ------------------------------------------------------------
def bq_timestamp(us: int) -> str:
    """TIMESTAMP as the REST API sends it: seconds in E notation, e.g. '1.7040672E9'."""
    d = Decimal(us).scaleb(-6).normalize()
    sign, digits, exponent = d.as_tuple()
    text = "".join(map(str, digits))
    power = len(digits) - 1 + int(exponent)
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"


def bq_micros(micros: int) -> str:
    """FLOAT from integer micros as exact decimal text (e.g. -1.25, 0.000001)."""
    if micros == 0:
        return "0.0"
    text = format(Decimal(micros).scaleb(-6).normalize(), "f")
    return text if "." in text else text + ".0"


def _v(value: Any) -> dict[str, Any]:
    return {"v": value}


def _rec(*values: Any) -> dict[str, Any]:
    return {"v": {"f": [_v(x) for x in values]}}


def _rep(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"v": items}


def iso_timestamp(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_row(core: Core, account: str, int64_timestamps: bool = False) -> list[dict[str, Any]]:
    """The row's ``f`` list in STANDARD_SCHEMA order."""
    ts = (lambda us: str(us)) if int64_timestamps else bq_timestamp
    sid, sdesc, skuid, skudesc, unit, punit = SERVICES[core.service]
    pid, pnum = PROJECTS[core.project]
    region = REGIONS[core.region]
    labels = [{"v": {"f": [_v(k), _v(v)]}} for k, v in core.labels]
    credits = [
        {"v": {"f": [_v(CREDIT_TYPES[t][1]), _v(bq_micros(a)), _v(CREDIT_TYPES[t][1]),
                     _v(f"{CREDIT_TYPES[t][0].lower()}-{pid}"), _v(CREDIT_TYPES[t][0])]}}
        for t, a in core.credits
    ]
    adj = _rec(*core.adjustment) if core.adjustment else _v(None)
    return [
        _v(account),
        _rec(sid, sdesc),
        _rec(skuid, skudesc),
        _v(ts(core.usage_start_us)),
        _v(ts(core.usage_start_us + HOUR_US)),
        {"v": {"f": [_v(pid), _v(pnum), _v(pid.replace("-", " ").title()), _rep(labels[:1]),
                     _v(f"/{pnum[:4]}/{pnum}/"), _rep([])]}},
        _rep(labels),
        _rep([]),
        _rec(region, "US" if region.startswith("us") else "BE" if region.startswith("europe") else "TW", region, f"{region}-a"),
        _v(ts(core.export_us)),
        _v(bq_micros(core.cost_micros)),
        _v("USD"),
        _v("1.0"),
        _rec(bq_micros(core.usage_micros), unit, bq_micros(core.usage_micros), punit),
        _rep(credits),
        _rec(core.month, "GOOGLE"),
        _v(core.cost_type),
        adj,
        _v(bq_micros(core.cost_micros * 5 // 4)),
        _v("GOOGLE"),
        _v("Google LLC"),
    ]


def _f(name: str, kind: str, mode: str = "NULLABLE", fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "type": kind, "mode": mode}
    if fields:
        out["fields"] = fields
    return out


_KV = [_f("key", "STRING"), _f("value", "STRING")]
STANDARD_SCHEMA = {"fields": [
    _f("billing_account_id", "STRING"),
    _f("service", "RECORD", fields=[_f("id", "STRING"), _f("description", "STRING")]),
    _f("sku", "RECORD", fields=[_f("id", "STRING"), _f("description", "STRING")]),
    _f("usage_start_time", "TIMESTAMP"),
    _f("usage_end_time", "TIMESTAMP"),
    _f("project", "RECORD", fields=[_f("id", "STRING"), _f("number", "STRING"), _f("name", "STRING"),
                                    _f("labels", "RECORD", "REPEATED", _KV), _f("ancestry_numbers", "STRING"),
                                    _f("ancestors", "RECORD", "REPEATED", [_f("resource_name", "STRING"),
                                                                           _f("display_name", "STRING")])]),
    _f("labels", "RECORD", "REPEATED", _KV),
    _f("system_labels", "RECORD", "REPEATED", _KV),
    _f("location", "RECORD", fields=[_f("location", "STRING"), _f("country", "STRING"),
                                     _f("region", "STRING"), _f("zone", "STRING")]),
    _f("export_time", "TIMESTAMP"),
    _f("cost", "FLOAT"),
    _f("currency", "STRING"),
    _f("currency_conversion_rate", "FLOAT"),
    _f("usage", "RECORD", fields=[_f("amount", "FLOAT"), _f("unit", "STRING"),
                                  _f("amount_in_pricing_units", "FLOAT"), _f("pricing_unit", "STRING")]),
    _f("credits", "RECORD", "REPEATED", [_f("name", "STRING"), _f("amount", "FLOAT"), _f("full_name", "STRING"),
                                         _f("id", "STRING"), _f("type", "STRING")]),
    _f("invoice", "RECORD", fields=[_f("month", "STRING"), _f("publisher_type", "STRING")]),
    _f("cost_type", "STRING"),
    _f("adjustment_info", "RECORD", fields=[_f("id", "STRING"), _f("description", "STRING"),
                                            _f("mode", "STRING"), _f("type", "STRING")]),
    _f("cost_at_list", "FLOAT"),
    _f("transaction_type", "STRING"),
    _f("seller_name", "STRING"),
]}
FIELD_NAMES = [f["name"] for f in STANDARD_SCHEMA["fields"]]
