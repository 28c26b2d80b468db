"""The billing export table: append-only segments, row filters, goldens.

The generated table is a list of *segments* appended in export order: one base export per
month, then one correction batch per restatement (``append_correction``). Any row is found
by bisecting segment offsets, so paging 10M rows needs no materialization. Within a segment
export_time never decreases, which turns partition / export_time filters into index ranges.

``StaticTable`` holds user-supplied rows (``--data``) behind the same interface.

Version of a month (billing-formats.md §0): (partition, max export_time); the golden's
``version_number`` counts correction batches, its ``version`` is the max export_time.
"""
from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterator

from sandbox.gcp.rows import (
    Core, base_core, correction_core, correction_size, encode_row, iso_timestamp, month_start_us,
)
from sandbox.golden import GoldenSlice
from sandbox.periods import compact, hours_in

PROVIDER = "gcp"
DAY_US = 86_400_000_000
GOLDEN_COLUMNS = ("cost", "credits", "cost_plus_credits")


@dataclass(frozen=True)
class Segment:
    start: int
    count: int
    month: str  # YYYY-MM
    version: int  # 0 = base export, v >= 1 = correction batch v
    export_us: int  # base: export time of row 0; corrections: the batch's export time


@dataclass
class RowFilter:
    """Conjunction of supported predicates (None = no constraint)."""

    months: set[str] | None = None  # invoice.month values, YYYYMM
    export_lo: int | None = None  # inclusive, micros
    export_hi: int | None = None  # exclusive, micros
    cost_types: set[str] | None = None

    def accepts(self, core: Core) -> bool:
        return ((self.months is None or core.month in self.months)
                and (self.export_lo is None or core.export_us >= self.export_lo)
                and (self.export_hi is None or core.export_us < self.export_hi)
                and (self.cost_types is None or core.cost_type in self.cost_types))


def golden_of(account: str, period: str, version: int, cores: Iterator[Core]) -> GoldenSlice:
    """Fold cores (all of one invoice month) into a golden with micros and max export_time."""
    cost = credits = rows = 0
    max_export = 0
    for core in cores:
        rows += 1
        cost += core.cost_micros
        credits += core.credits_micros
        max_export = max(max_export, core.export_us)
    token = iso_timestamp(max_export) if rows else ""
    golden = GoldenSlice(PROVIDER, account, period, token, version, GOLDEN_COLUMNS, rows=rows)
    golden.sums = {"cost": Decimal(cost).scaleb(-6), "credits": Decimal(credits).scaleb(-6),
                   "cost_plus_credits": Decimal(cost + credits).scaleb(-6)}
    golden.info = {"cost_micros": cost, "credits_micros": credits, "max_export_time": token,
                   "max_partition": token[:10]}
    return golden


class GeneratedTable:
    def __init__(self, seed: int, account: str, months: tuple[str, ...], n: int) -> None:
        self.seed, self.account, self.n = seed, account, n
        self._lock = threading.Lock()
        self.segments: list[Segment] = []
        self._starts: list[int] = []
        self.versions: dict[str, int] = {}
        for month in sorted(months):
            self._append(Segment(self.total_rows, n, month, 0, month_start_us(month) + 6 * 3_600_000_000))
            self.versions[month] = 0

    @property
    def total_rows(self) -> int:
        return self.segments[-1].start + self.segments[-1].count if self.segments else 0

    def _append(self, segment: Segment) -> None:
        self.segments.append(segment)
        self._starts.append(segment.start)

    def max_export_us(self) -> int:
        return max(self._segment_export_range(s)[1] for s in self.segments)

    def append_correction(self, month: str) -> int:
        """Append the next correction batch for ``month``; returns its version number."""
        with self._lock:
            if month not in self.versions:
                raise ValueError(f"expected one of the table's months {sorted(self.versions)}, got {month!r}")
            version = self.versions[month] + 1
            # a day after the newest export, on a whole hour: export_time always increases
            export = (self.max_export_us() // 3_600_000_000 + 25) * 3_600_000_000
            self._append(Segment(self.total_rows, 2 * correction_size(self.n), month, version, export))
            self.versions[month] = version
            return version

    def _segment_export_range(self, seg: Segment) -> tuple[int, int]:
        """(first, last) export_time in the segment."""
        if seg.version:
            return seg.export_us, seg.export_us
        return seg.export_us, seg.export_us + (seg.count - 1) * hours_in(seg.month) * 3_600_000_000 // self.n

    def core(self, index: int) -> Core:
        seg = self.segments[bisect.bisect_right(self._starts, index) - 1]
        local = index - seg.start
        if seg.version == 0:
            return base_core(self.seed, self.account, seg.month, local, self.n)
        return correction_core(self.seed, self.account, seg.month, seg.version, local, self.n, seg.export_us)

    def encoded(self, index: int, int64_timestamps: bool = False) -> list[dict[str, Any]]:
        return encode_row(self.core(index), self.account, int64_timestamps)

    def runs(self, flt: RowFilter, limit: int | None = None) -> list[tuple[int, int]]:
        """Index ranges [start, end) of matching rows, within the first ``limit`` rows."""
        limit = self.total_rows if limit is None else limit
        out: list[tuple[int, int]] = []
        for seg in self.segments:
            if seg.start >= limit or (flt.months is not None and compact(seg.month) not in flt.months):
                continue
            lo, hi = seg.start, min(seg.start + seg.count, limit)
            if flt.export_lo is not None or flt.export_hi is not None:
                lo, hi = self._export_bounds(seg, lo, hi, flt)
            if lo >= hi:
                continue
            if flt.cost_types is None:
                out.append((lo, hi))
            else:
                out.extend(_refine(lo, hi, lambda i: self.core(i).cost_type in flt.cost_types))
        return out

    def _export_bounds(self, seg: Segment, lo: int, hi: int, flt: RowFilter) -> tuple[int, int]:
        export_at = lambda i: self.core(i).export_us  # noqa: E731 - monotone within a segment
        if flt.export_lo is not None:
            lo = _first_at_least(lo, hi, lambda i: export_at(i) >= flt.export_lo)
        if flt.export_hi is not None:
            hi = _first_at_least(lo, hi, lambda i: export_at(i) >= flt.export_hi)
        return lo, hi

    def cores(self, runs: list[tuple[int, int]]) -> Iterator[Core]:
        for lo, hi in runs:
            for i in range(lo, hi):
                yield self.core(i)

    def golden(self, month: str, version: int) -> GoldenSlice:
        segs = [s for s in self.segments if s.month == month and s.version <= version]
        runs = [(s.start, s.start + s.count) for s in segs]
        return golden_of(self.account, month, version, self.cores(runs))


def _first_at_least(lo: int, hi: int, pred: Callable[[int], bool]) -> int:
    """Smallest i in [lo, hi) with pred(i) (pred monotone False..True), else hi."""
    while lo < hi:
        mid = (lo + hi) // 2
        if pred(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _refine(lo: int, hi: int, keep: Callable[[int], bool]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    start = None
    for i in range(lo, hi):
        if keep(i):
            start = i if start is None else start
        elif start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, hi))
    return out


class StaticTable:
    """User rows (``--data``): cores for aggregates plus the rows' own encoding."""

    def __init__(self, account: str, cores: list[Core], encoded: list[list[dict[str, Any]]], schema: dict[str, Any]) -> None:
        self.account, self._cores, self._encoded, self.schema = account, cores, encoded, schema
        self.versions: dict[str, int] = {}

    @property
    def total_rows(self) -> int:
        return len(self._cores)

    def core(self, index: int) -> Core:
        return self._cores[index]

    def encoded(self, index: int, int64_timestamps: bool = False) -> list[dict[str, Any]]:
        return self._encoded[index]

    def runs(self, flt: RowFilter, limit: int | None = None) -> list[tuple[int, int]]:
        return _refine(0, min(self.total_rows, limit or self.total_rows), lambda i: flt.accepts(self._cores[i]))

    def cores(self, runs: list[tuple[int, int]]) -> Iterator[Core]:
        for lo, hi in runs:
            yield from self._cores[lo:hi]

    def golden(self, month: str, version: int = 0) -> GoldenSlice:
        return golden_of(self.account, month, version, (c for c in self._cores if c.month == compact(month)))

    def append_correction(self, month: str) -> int:
        raise ValueError("expected a generated table for restatement, got user data (--data); it is served as given")
