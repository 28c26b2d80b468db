"""Azure export CSV dialects (billing-formats.md §3.8) rendered from cost records.

Each dialect is (header, value function) pairs plus the name of its cost column, which the
golden sums. Variants: ``ea`` PascalCase with m/d/yyyy dates and tags *without braces*;
``mca`` camelCase with costInUsd and exchangeRatePricingToBilling; ``de`` localized German
headers with the canonical name in parentheses; ``payg-bom`` pay-as-you-go headers preceded
by a UTF-8 BOM.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from sandbox.azure.records import CostRecord


def _f(value: Decimal) -> str:
    return format(value, "f")


def _us_date(rec: CostRecord) -> str:
    y, m, d = rec.date // 10000, rec.date // 100 % 100, rec.date % 100
    return f"{m:02d}/{d:02d}/{y}"


def _iso_date(rec: CostRecord) -> str:
    return f"{rec.date // 10000}-{rec.date // 100 % 100:02d}-{rec.date % 100:02d}"


def _tags_json(rec: CostRecord) -> str:
    return json.dumps(dict(rec.res.tags)) if rec.res.tags else ""


def _tags_no_braces(rec: CostRecord) -> str:
    return ",".join(f'"{k}": "{v}"' for k, v in rec.res.tags)


Column = tuple[str, Callable[[CostRecord], str]]


@dataclass(frozen=True)
class Dialect:
    name: str
    columns: tuple[Column, ...]
    cost_column: str
    bom: bool = False

    @property
    def header(self) -> list[str]:
        return [name for name, _ in self.columns]

    def row(self, rec: CostRecord) -> list[str]:
        return [fn(rec) for _, fn in self.columns]


def _sub_name(rec: CostRecord) -> str:
    return f"Sandbox subscription {rec.res.subscription}"


def _common(names: dict[str, str]) -> tuple[Column, ...]:
    """Shared fields, renamed per dialect (keys are canonical PascalCase)."""
    fields: dict[str, Callable[[CostRecord], str]] = {
        "SubscriptionId": lambda r: r.res.subscription_id,
        "SubscriptionName": _sub_name,
        "ResourceGroup": lambda r: r.res.resource_group,
        "ResourceLocation": lambda r: r.res.location,
        "MeterCategory": lambda r: r.res.service[1],
        "MeterName": lambda r: r.res.service[2],
        "ConsumedService": lambda r: r.res.service[3].split("/")[0],
        "ResourceId": lambda r: r.res.resource_id,
        "UnitOfMeasure": lambda r: r.res.service[4],
        "Quantity": lambda r: _f(r.quantity),
        "ChargeType": lambda r: r.charge_type,
        "PricingModel": lambda r: r.pricing_model,
    }
    return tuple((names.get(k, k), fn) for k, fn in fields.items() if names.get(k, k))


EA = Dialect("ea", (
    ("BillingAccountId", lambda r: "{account}"), ("Date", _us_date),
    *_common({}), ("CostInBillingCurrency", lambda r: _f(r.cost)), ("BillingCurrencyCode", lambda r: r.currency),
    ("Tags", _tags_no_braces),
), "CostInBillingCurrency")

MCA = Dialect("mca", (
    ("billingAccountId", lambda r: "{account}"), ("date", _us_date),
    *_common({k: k[0].lower() + k[1:] for k in ("SubscriptionName", "ResourceLocation", "MeterCategory", "MeterName",
                                                  "ConsumedService", "UnitOfMeasure", "Quantity", "ChargeType", "PricingModel")}
             | {"SubscriptionId": "SubscriptionId", "ResourceGroup": "resourceGroupName", "ResourceId": "ResourceId"}),
    ("costInBillingCurrency", lambda r: _f(r.cost)), ("costInUsd", lambda r: _f(r.cost)),
    ("exchangeRatePricingToBilling", lambda r: "1"), ("billingCurrency", lambda r: r.currency), ("tags", _tags_json),
), "costInBillingCurrency")

DE = Dialect("de", (
    ("Abonnement-GUID (SubscriptionGuid)", lambda r: r.res.subscription_id),
    ("Abonnementname (SubscriptionName)", _sub_name),
    ("Datum (Date)", _iso_date),
    ("Ressourcengruppe (ResourceGroup)", lambda r: r.res.resource_group),
    ("Ressourcenstandort (ResourceLocation)", lambda r: r.res.location),
    ("Kategorie der Verbrauchseinheit (MeterCategory)", lambda r: r.res.service[1]),
    ("Instanz-ID (InstanceId)", lambda r: r.res.resource_id),
    ("Verbrauchte Menge (ConsumedQuantity)", lambda r: _f(r.quantity)),
    ("Maßeinheit (UnitOfMeasure)", lambda r: r.res.service[4]),
    ("Kosten (Cost)", lambda r: _f(r.cost)),
    ("Währung (Currency)", lambda r: r.currency),
    ("Tags (Tags)", _tags_json),
), "Kosten (Cost)")

PAYG_BOM = Dialect("payg-bom", (
    ("SubscriptionGuid", lambda r: r.res.subscription_id), ("ResourceGroup", lambda r: r.res.resource_group),
    ("ResourceLocation", lambda r: r.res.location), ("UsageDateTime", _iso_date),
    ("MeterCategory", lambda r: r.res.service[1]), ("MeterName", lambda r: r.res.service[2]),
    ("UsageQuantity", lambda r: _f(r.quantity)), ("PreTaxCost", lambda r: _f(r.cost)),
    ("ConsumedService", lambda r: r.res.service[3].split("/")[0]), ("InstanceId", lambda r: r.res.resource_id),
    ("Tags", _tags_json), ("Currency", lambda r: r.currency),
), "PreTaxCost", bom=True)

DIALECTS: dict[str, Dialect] = {d.name: d for d in (EA, MCA, DE, PAYG_BOM)}


def dialect(name: str) -> Dialect:
    if name not in DIALECTS:
        raise ValueError(f"expected an export dialect among {sorted(DIALECTS)}, got {name!r}")
    return DIALECTS[name]


def render_row(d: Dialect, rec: CostRecord, account: str) -> list[str]:
    return [v.replace("{account}", account) if v == "{account}" else v for v in d.row(rec)]


def cost_value(d: Dialect, row: list[str]) -> Decimal:
    return Decimal(row[d.header.index(d.cost_column)])


def describe() -> dict[str, Any]:
    return {name: {"header": d.header, "cost_column": d.cost_column, "bom": d.bom} for name, d in DIALECTS.items()}
