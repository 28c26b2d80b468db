"""Deterministic Azure cost records for one billing account, month and version.

Record i of a month is (UsageDate, resource j) with cost in billing currency (USD, 8 decimal
places, as the Query API reports). Base records are ordered by day; within a day, resource
j = 0, 1, 2, ... so (date, ResourceId) is unique. Resource attributes depend only on j:
subscription = j % 3 and resource group = (j // 3) % 8, which makes every supported scope a
residue class of j (stride 1, 3 or 24) and lets a scope's records be paged without a scan.

Version v (a restatement, Azure's cumulative refresh) re-rates ~5 % of rows and appends
``late_rows`` records on random days.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Iterator

from sandbox.detrand import RowRand, stable_uuid
from sandbox.periods import days_in, month_start

EIGHT = Decimal("1E-8")
RESOURCE_GROUPS = ("rg-web", "rg-data", "rg-ml", "rg-network", "rg-shared", "rg-api", "rg-batch", "rg-ops")
SERVICES = (  # (ServiceName, MeterCategory, Meter, ResourceType, unit)
    ("Virtual Machines", "Virtual Machines", "D2s v5", "microsoft.compute/virtualmachines", "1 Hour"),
    ("Storage", "Storage", "Hot LRS Data Stored", "microsoft.storage/storageaccounts", "1 GB/Month"),
    ("Azure SQL Database", "SQL Database", "vCore", "microsoft.sql/servers", "1 Hour"),
    ("Bandwidth", "Bandwidth", "Standard Data Transfer Out", "microsoft.network/publicipaddresses", "1 GB"),
    ("Azure App Service", "Azure App Service", "P1 v3 App", "microsoft.web/sites", "1 Hour"),
    ("Log Analytics", "Log Analytics", "Pay-as-you-go Data Ingestion", "microsoft.operationalinsights/workspaces", "1 GB"),
)
LOCATIONS = ("East US", "West Europe", "Japan East", "UK South")
CHARGE_TYPES = ("Usage",) * 92 + ("Purchase",) * 3 + ("Refund",) * 2 + ("UnusedReservation",) * 3
PRICING_MODELS = ("OnDemand", "OnDemand", "OnDemand", "Reservation", "Spot", "SavingsPlan")
ENVIRONMENTS = ("Prod", "UAT", "Dev")


def late_rows(n: int) -> int:
    return max(1, n // 100)


def row_count(n: int, version: int) -> int:
    return n + version * late_rows(n)


def subscription_guid(seed: int, account: str, s: int) -> str:
    return stable_uuid(seed, "azsub", account, s)


@dataclass(frozen=True, slots=True)
class Resource:
    subscription: int
    subscription_id: str
    resource_group: str
    resource_id: str
    service: tuple[str, str, str, str, str]
    location: str
    tags: tuple[tuple[str, str], ...]


@functools.lru_cache(maxsize=200_000)
def resource(seed: int, account: str, j: int) -> Resource:
    r = RowRand(seed, "azres", account, j)
    sub = j % 3
    rg = RESOURCE_GROUPS[(j // 3) % len(RESOURCE_GROUPS)]
    service = SERVICES[r.below(0, len(SERVICES))]
    sub_id = subscription_guid(seed, account, sub)
    kind = service[3].split("/")[1]
    rid = f"/subscriptions/{sub_id}/resourceGroups/{rg}/providers/{service[3].split('/')[0]}/{kind}/res-{j:07d}"
    tags: tuple[tuple[str, str], ...] = (("Environment", ENVIRONMENTS[r.below(1, 3)]),)
    if r.chance(2, 60):
        tags += (("CostCenter", f"cc-{r.below(3, 12):03d}"),)
    return Resource(sub, sub_id, rg, rid, service, LOCATIONS[r.below(4, len(LOCATIONS))], tags)


@dataclass(frozen=True, slots=True)
class CostRecord:
    index: int
    day: int  # 1-based day of month
    date: int  # yyyymmdd
    res: Resource
    charge_type: str
    pricing_model: str
    quantity: Decimal
    cost: Decimal  # billing currency (USD), 8 places
    currency: str = "USD"


def day_start(n: int, days: int, day0: int) -> int:
    """Index of the first base record of 0-based day ``day0`` (records spread evenly)."""
    return (day0 * n + days - 1) // days


def record(seed: int, account: str, month: str, version: int, n: int, i: int) -> CostRecord:
    days = days_in(month)
    r = RowRand(seed, "az", account, month, i)
    if i < n:
        day0 = i * days // n
        j = i - day_start(n, days, day0)
    else:
        day0 = r.below(7, days)
        j = n + (i - n)  # late records get resource numbers no base record uses
    charge = CHARGE_TYPES[r.below(0, len(CHARGE_TYPES))]
    cost = r.amount(1, 1, 2 * 10**9, 8)  # up to 20 USD
    if version and RowRand(seed, "az-rerate", account, month, version, i).chance(0, 5):
        cost = (cost * Decimal("1.05")).quantize(EIGHT, ROUND_HALF_EVEN)
    if charge == "Refund":
        cost = -cost
    start = month_start(month)
    return CostRecord(i, day0 + 1, start.year * 10000 + start.month * 100 + day0 + 1, resource(seed, account, j),
                      charge, PRICING_MODELS[r.below(2, len(PRICING_MODELS))], r.amount(3, 1, 10**10, 6), cost)


def records(seed: int, account: str, month: str, version: int, n: int) -> Iterator[CostRecord]:
    for i in range(row_count(n, version)):
        yield record(seed, account, month, version, n, i)
