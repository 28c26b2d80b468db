"""Golden expectations: exact row counts and Decimal sums per slice and version.

A *slice* is (provider, billing account, billing period); each delivery of it has a *version*
(CUR assemblyId, CUR 2.0 executionId, Azure runId / query version, GCP max export_time).
Generators fold their rows into a ``GoldenSlice`` while they stream, so the expectation is
computed from exactly the values that are served. JSON form keeps Decimals as strings.

Money is Decimal end to end; sums use a 60-digit context so 10M rows never round.
"""
from __future__ import annotations

import decimal
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping

SUM_CONTEXT = decimal.Context(prec=60, traps=[decimal.Inexact, decimal.InvalidOperation])


def decimal_text(value: Decimal) -> str:
    """Plain (non-exponent) text of a Decimal, e.g. Decimal('1E-10') -> '0.0000000001'."""
    return format(value, "f")


@dataclass
class GoldenSlice:
    """Expected totals of one version of one slice.

    ``sums`` maps a cost column name (as the provider names it) to its exact total; a blank
    (None) value counts as absent, not as zero. ``info`` carries provider facts that tests
    reconcile against (e.g. reportKeys, blobCount, max export_time).
    """

    provider: str
    account: str
    period: str
    version: str
    version_number: int
    columns: tuple[str, ...]
    rows: int = 0
    sums: dict[str, Decimal] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.columns:
            self.sums.setdefault(name, Decimal(0))

    def add(self, values: Mapping[str, Decimal | None]) -> None:
        """Fold one row: +1 row, and each non-blank cost value into its column sum."""
        self.rows += 1
        sums = self.sums
        for name in self.columns:
            value = values.get(name)
            if value is not None:
                sums[name] = SUM_CONTEXT.add(sums[name], value)

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "account": self.account,
            "period": self.period,
            "version": self.version,
            "version_number": self.version_number,
            "rows": self.rows,
            "sums": {k: decimal_text(v) for k, v in self.sums.items()},
            "info": self.info,
        }


def sum_decimals(values: Iterable[Decimal]) -> Decimal:
    """Exact sum of Decimals (helper for tests that re-add served values)."""
    total = Decimal(0)
    for value in values:
        total = SUM_CONTEXT.add(total, value)
    return total


class GoldenRegistry:
    """Thread-safe store of published goldens, queried by the admin endpoint and the API."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str, str, int], GoldenSlice | Callable[[], GoldenSlice]] = {}

    def put(self, golden: GoldenSlice) -> None:
        key = (golden.provider, golden.account, golden.period, golden.version_number)
        with self._lock:
            self._items[key] = golden

    def put_lazy(
        self, provider: str, account: str, period: str, version: int, factory: Callable[[], GoldenSlice]
    ) -> None:
        """Register a golden that is computed (streamed) only when first asked for."""
        with self._lock:
            self._items[(provider, account, period, version)] = factory

    def _resolve(self, key: tuple[str, str, str, int]) -> GoldenSlice:
        with self._lock:
            item = self._items[key]
        if isinstance(item, GoldenSlice):
            return item
        golden = item()
        with self._lock:
            self._items[key] = golden
        return golden

    def find(
        self,
        provider: str | None = None,
        period: str | None = None,
        account: str | None = None,
        version: int | None = None,
        latest: bool = False,
    ) -> list[GoldenSlice]:
        """Goldens matching every given filter, ordered by (provider, account, period, version).

        ``latest=True`` keeps only the newest version of each slice.
        """
        with self._lock:
            keys = sorted(self._items)
        found = [
            self._resolve((p, a, per, v))
            for (p, a, per, v) in keys
            if (provider is None or p == provider)
            and (period is None or per == period)
            and (account is None or a == account)
            and (version is None or v == version)
        ]
        if latest:
            newest: dict[tuple[str, str, str], GoldenSlice] = {}
            for g in found:
                newest[(g.provider, g.account, g.period)] = g
            found = list(newest.values())
        return found
