"""Azure column names in every dialect -> one canonical name, and typed access to them.

Azure cost data arrives as Query API pages (``Cost``, ``UsageDate``, ``ResourceId`` …) and
as export CSVs in several header dialects (billing-formats.md §3.8): EA PascalCase
(``CostInBillingCurrency``), MCA camelCase (``costInBillingCurrency``), pay-as-you-go
(``PreTaxCost``, ``UsageDateTime``, ``InstanceId``, often behind a UTF-8 BOM) and
localized headers that carry the canonical name in parentheses
(``Kosten (Cost)``, ``Abonnement-GUID (SubscriptionGuid)``). ``header_key`` reduces a
header to its canonical spelling (BOM, parenthesised name, case and punctuation
removed); ``ALIASES`` lists, per canonical field, the keys that carry it, best first --
so MCA's ``costInUsd`` is never taken for the billing-currency cost.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from functools import lru_cache
import pyarrow as pa
import pyarrow.compute as pc

from include.ingest.billing.focus import MONEY, TIMESTAMP
from include.ingest.billing.normalize import arrow_parse
from include.ingest.billing.normalize.arrow_parse import map_distinct
from include.ingest.billing.normalize.source import SourceBatch

ALIASES: dict[str, tuple[str, ...]] = {
    "cost": ("costinbillingcurrency", "pretaxcost", "cost"),
    "quantity": ("quantity", "consumedquantity", "usagequantity"),
    "date": ("date", "usagedatetime", "usagedate"),
    "currency": ("billingcurrencycode", "billingcurrency", "currency"),
    "subscription_id": ("subscriptionid", "subscriptionguid"),
    "subscription_name": ("subscriptionname",),
    "resource_id": ("resourceid", "instanceid"),
    "resource_name": ("resourcename",),
    "resource_type": ("resourcetype",),
    "resource_group": ("resourcegroup", "resourcegroupname"),
    "location": ("resourcelocation",),
    "meter_category": ("metercategory",),
    "meter_name": ("metername",),
    "meter_id": ("meterid",),
    "consumed_service": ("consumedservice",),
    "charge_type": ("chargetype",),
    "pricing_model": ("pricingmodel",),
    "frequency": ("frequency",),
    "unit": ("unitofmeasure",),
    "tags": ("tags",),
    "billing_account_id": ("billingaccountid",),
    "billing_account_name": ("billingaccountname",),
    "period_start": ("billingperiodstartdate",),
    "period_end": ("billingperiodenddate",),
    "benefit_id": ("benefitid",),
    "benefit_name": ("benefitname",),
    "publisher_name": ("publishername",),
    "product_name": ("productname",),
    "invoice_id": ("invoiceid",),
}
_PAREN = re.compile(r"\(([^()]+)\)\s*$")
_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%Y%m%d", "%d.%m.%Y")


@lru_cache(maxsize=4096)
def header_key(name: str) -> str:
    """``'\\ufeffKosten (Cost)'`` -> ``'cost'``; ``'costInBillingCurrency'`` -> ``'costinbillingcurrency'``."""
    text = name.strip().lstrip("\ufeff").strip()
    if (m := _PAREN.search(text)) is not None:
        text = m.group(1)
    return re.sub(r"[^0-9a-z]", "", text.lower())


def resolve(names: list[str]) -> dict[str, str]:
    """Canonical field -> the source column that carries it (first alias present wins)."""
    keyed: dict[str, str] = {}
    for name in names:
        keyed.setdefault(header_key(name), name)
    out: dict[str, str] = {}
    for field, aliases in ALIASES.items():
        present = [keyed[alias] for alias in aliases if alias in keyed]
        if present:
            out[field] = present[0]
    return out


def parse_date(text: str | None) -> dt.datetime | None:
    """A day as UTC midnight from m/d/yyyy (EA, MCA), yyyy-mm-dd, yyyymmdd (Query API) or an
    ISO date-time; None when unreadable."""
    if text is None or not str(text).strip():
        return None
    value = str(text).strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            pass
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.datetime(parsed.year, parsed.month, parsed.day, tzinfo=dt.timezone.utc)


def tags_json(text: str | None) -> tuple[str | None, str | None]:
    """(canonical FOCUS Tags JSON, problem). Accepts JSON objects and the brace-less form
    ``"a": "b","c": "d"`` some exports write; keys sorted so every dialect gives the same text."""
    if text is None or not text.strip():
        return None, None
    body = text.strip()
    try:
        value = json.loads(body if body.startswith("{") else "{" + body + "}")
    except ValueError as exc:
        return None, f"expected Tags as a JSON object (with or without braces), got {text[:80]!r} ({exc})"
    if not isinstance(value, dict):
        return None, f"expected Tags as a JSON object, got a JSON {type(value).__name__}"
    if any(isinstance(v, (dict, list)) for v in value.values()):
        return None, f"expected scalar tag values, got nested values in {text[:80]!r}"
    return (json.dumps(value, sort_keys=True, separators=(",", ":")) if value else None), None


class AzureColumns:
    """Typed access by canonical field; parse problems collect in ``reasons`` per row."""

    def __init__(self, source: SourceBatch) -> None:
        self.source, self.num_rows = source, source.num_rows
        self.columns = resolve(source.names)
        self.reasons: dict[int, list[str]] = {}

    def has(self, field: str) -> bool:
        return field in self.columns

    def label(self, field: str) -> str:
        return self.columns.get(field, "/".join(ALIASES[field]))

    def flag(self, i: int, reason: str) -> None:
        self.reasons.setdefault(i, []).append(reason)

    def flag_mask(self, mask: pa.Array, reason: str) -> None:
        if pc.any(pc.fill_null(mask, False)).as_py():
            for i in pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist():
                self.flag(i, reason)

    def strings(self, field: str) -> pa.Array:
        if field not in self.columns:
            return pa.nulls(self.num_rows, pa.string())
        return arrow_parse.strings(self.source.column(self.columns[field]))

    def _problems(self, field: str, problems: dict[int, str]) -> None:
        for i, problem in problems.items():
            self.flag(i, f"{self.label(field)}: {problem}")

    def decimals(self, field: str) -> pa.Array:
        if field not in self.columns:
            return pa.nulls(self.num_rows, MONEY)
        values, problems = arrow_parse.decimals(self.source.column(self.columns[field]))
        self._problems(field, problems)
        return values

    def days(self, field: str) -> pa.Array:
        """The column as UTC midnights (any Azure date spelling); unreadable -> flagged NULL."""
        values = self.strings(field)
        parsed = map_distinct(values, parse_date, TIMESTAMP)
        bad = pc.and_(pc.is_valid(values), pc.is_null(parsed))
        for i in pc.indices_nonzero(pc.fill_null(bad, False)).to_pylist():
            self.flag(i, f"expected {self.label(field)} as a date (m/d/yyyy, yyyy-mm-dd or yyyymmdd), "
                         f"got {values[i].as_py()!r}")
        return parsed

    def require(self, field: str, values: pa.Array) -> None:
        """Flag rows where a required field is NULL (unless a parse problem already explains it)."""
        for i in pc.indices_nonzero(pc.is_null(values)).to_pylist():
            if i not in self.reasons:
                self.flag(i, f"expected {self.label(field)} to be set, got nothing")
