"""The Azure billing account's data: months, current versions, scopes and goldens.

One billing account (config.azure_billing_account) with three subscriptions; each month has
a current *version* (bumped by a restatement). Query API results and export runs are both
drawn from the same records, so their goldens agree.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Iterator

from sandbox.azure.records import RESOURCE_GROUPS, CostRecord, record, row_count, subscription_guid
from sandbox.config import SandboxConfig
from sandbox.detrand import stable_uuid
from sandbox.golden import GoldenSlice

PROVIDER = "azure"
GOLDEN_COLUMNS = ("Cost", "UsageQuantity")


@dataclass(frozen=True)
class Scope:
    """A residue class of resource numbers: records with j % stride == offset."""

    path: str
    kind: str  # billingAccount | subscription | resourceGroup
    stride: int
    offset: int


class AzureDataset:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.seed, self.account, self.n = config.seed, config.azure_billing_account, config.scale
        self.versions: dict[str, int] = {m: 0 for m in config.months}
        self._lock = threading.Lock()

    def subscription_ids(self) -> list[str]:
        return [subscription_guid(self.seed, self.account, s) for s in range(3)]

    def version(self, month: str) -> int:
        with self._lock:
            return self.versions[month]

    def restate(self, month: str) -> int:
        with self._lock:
            if month not in self.versions:
                raise ValueError(f"expected one of the sandbox months {sorted(self.versions)}, got {month!r}")
            self.versions[month] += 1
            return self.versions[month]

    def resolve_scope(self, path: str) -> Scope | None:
        """Scope of an ARM path such as 'subscriptions/<id>/resourceGroups/rg-web' (None: unknown)."""
        parts = [p for p in path.strip("/").split("/") if p]
        lower = [p.lower() for p in parts]
        if lower[:3] == ["providers", "microsoft.billing", "billingaccounts"] and len(parts) >= 4:
            return Scope(path, "billingAccount", 1, 0) if parts[3] == self.account else None
        if lower[:1] == ["subscriptions"] and len(parts) >= 2:
            subs = [s.lower() for s in self.subscription_ids()]
            if parts[1].lower() not in subs:
                return None
            s = subs.index(parts[1].lower())
            if len(parts) == 2:
                return Scope(path, "subscription", 3, s)
            if lower[2] == "resourcegroups" and len(parts) == 4:
                groups = [g.lower() for g in RESOURCE_GROUPS]
                if lower[3] in groups:
                    return Scope(path, "resourceGroup", 3 * len(RESOURCE_GROUPS), s + 3 * groups.index(lower[3]))
        return None

    def records(self, month: str, version: int) -> Iterator[CostRecord]:
        for i in range(row_count(self.n, version)):
            yield record(self.seed, self.account, month, version, self.n, i)

    def golden(self, month: str, version: int) -> GoldenSlice:
        token = stable_uuid(self.seed, "azure-version", self.account, month, version)
        golden = GoldenSlice(PROVIDER, self.account, month, token, version, GOLDEN_COLUMNS)
        for rec in self.records(month, version):
            golden.add({"Cost": rec.cost, "UsageQuantity": rec.quantity})
        golden.info = {"currency": "USD", "scope": f"providers/Microsoft.Billing/billingAccounts/{self.account}"}
        return golden
