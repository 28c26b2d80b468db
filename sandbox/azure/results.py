"""Query API results: aggregated rows, or record-grain rows paged straight from storage.

``compute`` answers a parsed query for a scope. The record-grain shape (Daily + ResourceId
grouping, no filter) is a ``RecordResult``: blocks of record indices (one per day, stepping
by the scope's stride), so page k is computed on demand at any scale. Everything else is
aggregated once into a ``ListResult`` (the server caches it per query and data version).
"""
from __future__ import annotations

import bisect
import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from sandbox.azure.dataset import AzureDataset, Scope
from sandbox.azure.query import DIMENSIONS, QuerySpec, matches
from sandbox.azure.records import CostRecord, day_start, late_rows, record
from sandbox.periods import days_in


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
